"""``scrapy crawl ccnews`` against a stand-in for Common Crawl on loopback
(tests.support.ccnewsserver: monthly listings, CC-NEWS-like WARC files of six sites served
in ranges, a connection dropped and a 503 now and then): every page of the chosen sites
and period, and no other, gets one line and one dump; the dumps are what ``reextract``
gives; the copied records are the source's bytes; a killed run resumes with nothing lost
or doubled; ``verify`` and ``warcio check`` pass."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.archive.directory import Archive
from crawler.tools.replay import url as replay_url
from crawler.tools.verify import verify
from crawler.warc.reader import read_member
from crawler.warc.stream import scan_chunk
from tests.support.browser import free_port, replay_tool, serving
from tests.support.ccnewsserver import CcNewsServer, Corpus, Faults, build_corpus
from tests.support.crawl import BIN, ROOT, TEST_SETTINGS, CrawlResult, run_crawl, run_scrapy

SITES = "courier.example,herald.example"
START, END = datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 2, 3, tzinfo=UTC)
ARGS = {"since": "2024-02-01", "until": "2024-02-02", "sites": SITES}
# Files started on Jan 30, Jan 31 noon (both before the period), Jan 31 22:00 (runs into
# it), Feb 1 and 2 (in it) and Feb 3 (after it).
STARTS = [datetime(2024, 1, 30, tzinfo=UTC), datetime(2024, 1, 31, 12, tzinfo=UTC),
          datetime(2024, 1, 31, 22, tzinfo=UTC), datetime(2024, 2, 1, 6, tzinfo=UTC),
          datetime(2024, 2, 2, tzinfo=UTC), datetime(2024, 2, 3, tzinfo=UTC)]  # fmt: skip
IN_PERIOD = {2, 3, 4}  # indexes of the files the period needs


def settings(server: CcNewsServer, **more: str) -> dict[str, str]:
    return {"CCNEWS_BASE": server.base, "CCNEWS_CHUNK_SIZE": "16384",
            "EXTRACT_WORKERS": "1", "CCNEWS_RETRY_TIMES": "4", **more}  # fmt: skip


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return build_corpus(tmp_path_factory.mktemp("commoncrawl"), STARTS, captures_per_file=60)


@pytest.fixture(scope="module")
def server(corpus: Corpus):
    with CcNewsServer(corpus.root, Faults(drop_every=7, unavailable_every=11)) as server:
        yield server


@pytest.fixture(scope="module")
def crawl(server: CcNewsServer, tmp_path_factory: pytest.TempPathFactory) -> CrawlResult:
    result = run_crawl(tmp_path_factory.mktemp("ccnews") / "archive", "ccnews", args=ARGS,
                       settings=settings(server))  # fmt: skip
    assert result.returncode == 0, result.log[-5000:]
    return result


def expected(corpus: Corpus) -> dict:
    return corpus.pages(SITES.split(","), START, END)


def test_every_page_of_the_sites_and_period_and_no_other_gets_one_line_and_one_dump(
    crawl: CrawlResult, corpus: Corpus, server: CcNewsServer
):
    pages = expected(corpus)
    lines = crawl.manifest
    assert len(pages) >= 20
    assert Counter(line["url"] for line in lines) == Counter(list(pages))  # each once, no other
    for line in lines:
        capture = pages[line["url"]]
        assert line["source"] == "ccnews" and line["status"] == 200
        assert (line["source_file"], line["source_offset"]) == (capture.file, capture.offset)
        assert line["fetched_at"] == capture.date.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert line["outcome"] == "ok" and line["text_file"]
        fields, body = Archive(crawl.archive).read_dump(line["text_file"])
        assert fields["source_file"] == capture.file and fields["source"] == "ccnews"
        assert body.strip()
    assert len(list((crawl.archive / "text").iterdir())) == len(pages)
    # only the period's files were read, and the dropped connections and 503s were survived
    read = server.files_read()
    assert read == {corpus.files[i] for i in IN_PERIOD}
    assert server.log.dropped and server.log.unavailable
    record = crawl.run_record
    assert record["status"] == "complete", record
    assert record["arguments"]["sites"] == SITES


def test_the_copied_records_are_the_source_bytes(crawl: CrawlResult, corpus: Corpus):
    ours = {}  # response record id -> the capture's records (ours read as captures)
    count = 0
    for path in crawl.warc_files():
        data = path.read_bytes()
        captures, _ = scan_chunk(data, 0, final=True)
        count += len(captures)
        for capture in captures:
            if capture.response is not None:
                members = [data[r.offset : r.offset + r.length] for r in capture.records]
                ours[capture.response.record_id] = (capture.records, members)
    for line in crawl.manifest:
        source = (corpus.root / line["source_file"]).read_bytes()
        found, _ = scan_chunk(source, 0, final=True)
        capture = next(
            c for c in found if c.response and c.response.offset == line["source_offset"]
        )
        original = [source[r.offset : r.offset + r.length] for r in capture.records]
        records, members = ours[capture.response.record_id]
        # request, response and metadata as Common Crawl wrote them, byte for byte, then
        # ours: a metadata record naming the source file and offset
        assert members[:3] == original
        provenance = records[3]
        assert provenance.record_type == "metadata"
        assert provenance.headers["warc-refers-to"] == capture.response.record_id
        block = read_member(members[3]).content_stream().read().decode()
        assert f"source-file: {line['source_file']}\r\n" in block
        assert f"source-offset: {line['source_offset']}\r\n" in block
        # the manifest points at the copied response
        record, _ = Archive(crawl.archive).warc_record(line["warc_file"], line["warc_offset"])
        assert record.rec_headers.get_header("WARC-Record-ID") == capture.response.record_id
    # nothing else: a warcinfo record, robots.txt and the two listings, and the pages'
    # captures (no range of the source files was archived as a response)
    assert count == 1 + 3 + len(crawl.manifest)


def test_the_dumps_are_what_reextract_gives(crawl: CrawlResult, corpus: Corpus, tmp_path: Path):
    # from this archive: byte for byte
    out = run_scrapy("reextract", str(crawl.archive), "--out", str(tmp_path / "again"),
                     "--json")  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    summary = json.loads(out.stdout)
    assert summary["changed"] == 0 and summary["written"] == len(crawl.manifest)
    for path in (crawl.archive / "text").iterdir():
        assert (tmp_path / "again" / "text" / path.name).read_bytes() == path.read_bytes()
    # from Common Crawl's own files: the same articles (names and provenance aside)
    files = [str(corpus.root / corpus.files[i]) for i in sorted(IN_PERIOD)]
    out = run_scrapy("reextract", *files, "--out", str(tmp_path / "cc"), "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    theirs = {line["url"]: line for line in Archive(tmp_path / "cc").manifest_records()}
    provenance = {"fetched_at", "warc_file", "warc_record_id", "source", "source_file",
                  "source_offset"}  # fmt: skip
    for line in crawl.manifest:
        other = theirs[line["url"]]
        ours_fields, ours_body = Archive(crawl.archive).read_dump(line["text_file"])
        their_fields, their_body = Archive(tmp_path / "cc").read_dump(other["text_file"])
        assert ours_body == their_body
        strip = lambda fields: {k: v for k, v in fields.items() if k not in provenance}  # noqa: E731
        assert strip(ours_fields) == strip(their_fields)
        assert line["text_sha256"] == other["text_sha256"]


def test_verify_and_warcio_check_pass(crawl: CrawlResult):
    report = verify(Archive(crawl.archive))
    assert report.ok, report.summary_lines()
    for path in crawl.warc_files():
        check = subprocess.run([BIN / "warcio", "check", str(path)], capture_output=True)
        assert check.returncode == 0, check.stdout + check.stderr
    done = json.loads((crawl.archive / "ccnews.json").read_text())["files"]
    assert all(entry["done"] for entry in done.values()) and len(done) == len(IN_PERIOD)


def test_a_killed_run_resumes_with_nothing_lost_or_doubled(corpus: Corpus, tmp_path: Path):
    archive = tmp_path / "archive"
    faults = Faults(delay=0.15)
    with CcNewsServer(corpus.root, faults) as server:
        cmd = [sys.executable, "-m", "scrapy", "crawl", "ccnews"]
        for key, value in ARGS.items():
            cmd += ["-a", f"{key}={value}"]
        more = {**TEST_SETTINGS, **settings(server), "ARCHIVE_DIR": str(archive)}
        for key, value in more.items():
            cmd += ["-s", f"{key}={value}"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPY_")}
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        manifest = archive / "manifest.jsonl"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if manifest.exists() and manifest.read_bytes().count(b"\n") >= 8:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the crawl ended before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)  # the crawl, its extraction and WARC workers
        proc.wait(timeout=30)
        before = manifest.read_bytes().count(b"\n")
        assert before < len(expected(corpus))
        ranges_before = len(server.log.ranges)
        faults.delay = 0.0
        again = run_crawl(archive, "ccnews", args=ARGS, settings=settings(server))
        assert again.returncode == 0, again.log[-5000:]
        resumed = server.log.ranges[ranges_before:]
    lines = again.manifest
    assert Counter(line["url"] for line in lines) == Counter(list(expected(corpus)))
    assert len(list((archive / "text").iterdir())) == len(lines)
    assert "Resuming" in again.log  # a file was taken up where it was left, not from 0
    assert any(first > 0 for _, first, _ in resumed[:3])
    assert verify(Archive(archive)).ok


def test_languages_and_limit(server: CcNewsServer, corpus: Corpus, tmp_path: Path):
    every_site = {"since": "2024-01-30", "until": "2024-02-03"}
    japanese = run_crawl(tmp_path / "ja", "ccnews", args={**every_site, "languages": "ja"},
                         settings=settings(server))  # fmt: skip
    assert japanese.returncode == 0, japanese.log[-3000:]
    lines = japanese.manifest
    assert lines and {line.get("language") for line in lines} == {"ja"}
    limited = run_crawl(tmp_path / "five", "ccnews", args={**ARGS, "limit": "5"},
                        settings=settings(server))  # fmt: skip
    assert limited.returncode == 0, limited.log[-3000:]
    assert len(limited.manifest) == 5


def test_a_file_that_cannot_be_read_is_an_error_line_naming_it(corpus: Corpus, tmp_path: Path):
    root = tmp_path / "damaged"
    for relative in [corpus.files[i] for i in IN_PERIOD] + [
        f"crawl-data/CC-NEWS/2024/0{m}/warc.paths.gz" for m in (1, 2)
    ]:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes((corpus.root / relative).read_bytes())
    missing, damaged = corpus.files[3], corpus.files[4]
    (root / missing).unlink()
    data = bytearray((root / damaged).read_bytes())
    found, _ = scan_chunk(bytes(data), 0, final=True)
    bad = found[len(found) // 2].records[1].offset
    data[bad + 40 : bad + 80] = b"\x00" * 40
    (root / damaged).write_bytes(bytes(data))
    with CcNewsServer(root) as server:
        result = run_crawl(tmp_path / "archive", "ccnews", args=ARGS, settings=settings(server))
    errors = [line for line in result.manifest if line["outcome"] == "error"]
    assert sorted(line["url"] for line in errors) == sorted(
        server.base + path for path in (missing, damaged)
    )
    by_url = {line["url"]: line for line in errors}
    assert "HTTP 404" in by_url[server.base + missing]["error"]
    assert f"byte {bad}" in by_url[server.base + damaged]["error"]
    # the pages before the damage are kept
    kept = {line["source_file"] for line in result.manifest if line["outcome"] == "ok"}
    assert damaged in kept and corpus.files[2] in kept


def test_two_workers_share_the_period_and_merge_into_one_archive(
    corpus: Corpus, redis_server, tmp_path: Path
):
    archive = tmp_path / "archive"
    with CcNewsServer(corpus.root, Faults(delay=0.05)) as server:
        cmd = [sys.executable, "-m", "scrapy", "crawl", "ccnews"]
        for key, value in ARGS.items():
            cmd += ["-a", f"{key}={value}"]
        job = {**TEST_SETTINGS, **settings(server), "ARCHIVE_DIR": str(archive), "JOB": "cc",
               "REDIS_URL": redis_server.url, "REDIS_LEASE": "5",
               "CCNEWS_FILES_AT_ONCE": "1"}  # fmt: skip
        workers = []
        for name in ("w1", "w2"):
            options = [f"{k}={v}" for k, v in {**job, "REDIS_WORKER": name}.items()]
            with (tmp_path / f"{name}.log").open("w") as log:
                workers.append(subprocess.Popen(
                    cmd + [x for option in options for x in ("-s", option)], cwd=ROOT,
                    stdout=log, stderr=subprocess.STDOUT,
                ))  # fmt: skip
        statuses = [w.wait(240) for w in workers]
        assert statuses == [0, 0], (tmp_path / "w1.log").read_text()[-3000:]
        ranges = list(server.log.ranges)
    merged = run_scrapy("merge", str(archive), "--job", "cc", "--redis", redis_server.url)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    lines = list(Archive(archive).manifest_records())
    assert Counter(line["url"] for line in lines) == Counter(list(expected(corpus)))
    # each file was read by one worker, once (no range asked for twice), and both worked
    read_by = {}
    for name in ("w1", "w2"):
        progress = json.loads((archive / "workers" / name / "ccnews.json").read_text())
        for path, entry in progress["files"].items():
            assert entry["done"] and path not in read_by
            read_by[path] = name
    assert set(read_by) == {corpus.files[i] for i in IN_PERIOD}
    assert set(read_by.values()) == {"w1", "w2"}
    assert len(ranges) == len(set(ranges))
    assert verify(Archive(archive)).ok


def test_a_worker_killed_mid_file_loses_nothing(corpus: Corpus, redis_server, tmp_path: Path):
    """A worker SIGKILLed while it reads a file, restarted beside a second one: whoever
    takes the file over once its lease lapses (the restarted worker from where it left
    it, the other from its start) skips the pages already recorded; the merge has each
    page once."""
    archive = tmp_path / "archive"
    faults = Faults(delay=0.1)
    with CcNewsServer(corpus.root, faults) as server:
        cmd = [sys.executable, "-m", "scrapy", "crawl", "ccnews"]
        for key, value in ARGS.items():
            cmd += ["-a", f"{key}={value}"]
        job = {**TEST_SETTINGS, **settings(server), "ARCHIVE_DIR": str(archive), "JOB": "ck",
               "REDIS_URL": redis_server.url, "REDIS_LEASE": "2",
               "CCNEWS_FILES_AT_ONCE": "1"}  # fmt: skip

        def worker(name: str) -> subprocess.Popen:
            options = [f"{k}={v}" for k, v in {**job, "REDIS_WORKER": name}.items()]
            with (tmp_path / f"{name}.log").open("a") as log:
                return subprocess.Popen(
                    cmd + [x for option in options for x in ("-s", option)], cwd=ROOT,
                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                )  # fmt: skip

        w1 = worker("w1")
        part = archive / "workers" / "w1" / "manifest.jsonl"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and w1.poll() is None:
            if part.exists() and part.read_bytes().count(b"\n") >= 4:
                break
            time.sleep(0.05)
        assert w1.poll() is None, "w1 ended before it could be killed"
        os.killpg(w1.pid, signal.SIGKILL)
        w1.wait(30)
        faults.delay = 0.0
        w1, w2 = worker("w1"), worker("w2")  # (the killed one repairs its part on start)
        assert [w1.wait(240), w2.wait(240)] == [0, 0], (tmp_path / "w1.log").read_text()[-3000:]
    merged = run_scrapy("merge", str(archive), "--job", "ck", "--redis", redis_server.url)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    lines = list(Archive(archive).manifest_records())
    assert Counter(line["url"] for line in lines) == Counter(list(expected(corpus)))
    assert verify(Archive(archive)).ok


@pytest.mark.browser
def test_replay_and_pack_work_on_the_copied_records(crawl: CrawlResult, tmp_path: Path):
    """pywb replays a page from its copied records at its CC-NEWS date; the archive packs
    into a WACZ that py-wacz validates (both from the replay virtualenv)."""
    wacz = tmp_path / "cc.wacz"
    packed = run_scrapy("pack", str(crawl.archive), "--out", str(wacz), "--with-text")
    assert packed.returncode == 0, packed.stdout + packed.stderr
    validate = [str(replay_tool("wacz")), "validate", "-f", str(wacz)]
    validated = subprocess.run(validate, capture_output=True, text=True, timeout=300, check=False)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    line = crawl.manifest[0]
    stamp = "".join(c for c in line["fetched_at"] if c.isdigit())
    port = free_port()
    cmd = [sys.executable, "-m", "scrapy", "replay", str(crawl.archive), "--port", str(port)]
    page = replay_url(port, line["url"], f"{stamp}id_")
    with serving(cmd, port, cwd=ROOT), urllib.request.urlopen(page) as resp:
        body, dates = resp.read(), resp.headers.get_all("Memento-Datetime")
    record, _ = Archive(crawl.archive).warc_record(line["warc_file"], line["warc_offset"])
    assert {parsedate_to_datetime(d).strftime("%Y%m%d%H%M%S") for d in dates} == {stamp}
    with (crawl.archive / "warc" / line["warc_file"]).open("rb") as fh:
        fh.seek(line["warc_offset"])
        payload = next(iter(ArchiveIterator(fh))).content_stream().read()
    assert body == payload and record.rec_headers.get_header("WARC-Target-URI") == line["url"]
