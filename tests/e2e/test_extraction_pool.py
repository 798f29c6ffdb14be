"""End to end: extraction in worker processes: same output as inline, faults contained."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.crawl import CrawlResult, run_crawl, write_url_list
from tests.support.siteserver import SiteServer

VOLATILE = ("fetched_at", "warc_file", "warc_record_id")


def stable_dump(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    return "\n".join(line for line in text.splitlines() if not line.startswith(VOLATILE))


def test_pool_output_is_identical_to_inline(crawl: CrawlResult, url_list: Path, tmp_path: Path):
    assert crawl.run_record["counters"]["extract/max_in_flight"] >= 1  # it used the pool
    inline = run_crawl(
        tmp_path / "inline", args={"urls": str(url_list)}, settings={"EXTRACT_WORKERS": "0"}
    )
    assert inline.returncode == 0, inline.log[-3000:]
    assert "extract/max_in_flight" not in inline.run_record["counters"]
    pooled = {p.name: p for p in (crawl.archive / "text").iterdir()}
    inlined = {p.name: p for p in (inline.archive / "text").iterdir()}
    assert pooled.keys() == inlined.keys() and pooled
    for name in pooled:
        assert stable_dump(pooled[name]) == stable_dump(inlined[name]), name
    fields = ("id", "outcome", "title", "date", "author", "language", "words", "text_sha256")
    first = {line["id"]: {k: line[k] for k in fields} for line in crawl.manifest}
    second = {line["id"]: {k: line[k] for k in fields} for line in inline.manifest}
    assert first == second


def test_crashing_and_hanging_pages_cost_only_themselves(site: SiteServer, tmp_path: Path):
    good = [site.url(f"/paced/pool-{i}.html") for i in range(6)]
    urls = [site.url("/faulty/crash.html"), site.url("/faulty/hang.html"), *good]
    result = run_crawl(
        tmp_path / "a",
        args={"urls": str(write_url_list(tmp_path / "urls.txt", urls))},
        settings={
            "EXTRACT_FUNCTION": "tests.support.faulty_extraction.extract_page",
            "EXTRACT_TIMEOUT": "4",
            "EXTRACT_WORKERS": "2",
        },
        timeout=180,
    )
    assert result.returncode == 0, result.log[-4000:]
    lines = result.by_url()
    crash, hang = lines[urls[0]], lines[urls[1]]
    assert crash["outcome"] == "error" and "worker process died" in crash["error"]
    assert hang["outcome"] == "error" and "took longer than 4 s" in hang["error"]
    assert [lines[u]["outcome"] for u in good] == ["ok"] * len(good)
    assert result.run_record["counters"]["extract/worker_restarts"] >= 1


def test_in_flight_pages_are_bounded(site: SiteServer, tmp_path: Path):
    urls = [site.url(f"/paced/bound-{i}.html") for i in range(30)]
    result = run_crawl(
        tmp_path / "a",
        args={"urls": str(write_url_list(tmp_path / "urls.txt", urls))},
        settings={"EXTRACT_WORKERS": "1", "EXTRACT_MAX_IN_FLIGHT": "2", "PROGRESS_INTERVAL": "0.2"},
    )
    assert result.returncode == 0, result.log[-3000:]
    assert len(result.manifest) == 30
    assert result.run_record["counters"]["extract/max_in_flight"] == 2
    # progress lines while it runs (stderr is no terminal here), a summary table at the end
    progress = re.findall(r"Progress: (\d+)/30 \([\d.]+%\) [\d.-]+ pages/s", result.log)
    assert progress and int(progress[-1]) <= 30
    assert re.search(
        r"Run finished in \S+: 30 pages, [\d.]+ pages/s\n  outcome +count\n  ok +30", result.log
    )
