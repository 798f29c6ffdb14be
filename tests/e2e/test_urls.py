"""End to end: ``scrapy crawl urls`` against the loopback site, judged by the files it writes."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from w3lib.url import canonicalize_url

from crawler.warc.reader import iter_records, read_record_at
from tests.support.crawl import BIN, CrawlResult, run_crawl
from tests.support.siteserver import EXPECTED, SiteServer


def split_dump(text: str) -> tuple[dict, str]:
    assert text.startswith("---\n")
    header, _, body = text[4:].partition("\n---\n")
    return yaml.safe_load(header), body


def expected_id(url: str) -> str:
    return hashlib.sha256(canonicalize_url(url).encode()).hexdigest()[:16]


def responses(result: CrawlResult) -> list:
    found = []
    for path in result.warc_files():
        for record in iter_records(path):
            if record.rec_type == "response":
                found.append((path, record, record.raw_stream.read()))
    return found


def response_for(result: CrawlResult, url_suffix: str) -> tuple[Path, object, bytes]:
    found = [
        r for r in responses(result)
        if r[1].rec_headers.get_header("WARC-Target-URI").endswith(url_suffix)
    ]  # fmt: skip
    assert len(found) == 1, url_suffix
    return found[0]


def test_one_manifest_line_per_input_with_expected_outcome(crawl: CrawlResult, site: SiteServer):
    lines = crawl.manifest
    assert len(lines) == len(EXPECTED)
    by_url = crawl.by_url()
    for position, (path, outcome) in enumerate(EXPECTED):
        line = by_url[site.url(path)]
        assert line["outcome"] == outcome, (path, line)
        assert line["seq"] == f"{position:03d}"
        assert line["id"] == expected_id(site.url(path))
    assert by_url[site.url("/missing.html")]["status"] == 404
    assert by_url[site.url("/missing.html")]["error"] == "HTTP 404 Not Found"
    assert by_url[site.url("/private/secret-report.html")]["error"] == "robots.txt"
    assert by_url[site.url("/media/photo.jpg")]["error"] == "not an HTML page (image/jpeg)"
    redirected = by_url[site.url("/old/ferry-strike")]
    assert redirected["final_url"] == site.url("/news/2024/03/ferry-strike-ends.html")
    for line in lines:
        assert set(line) >= {
            "id", "seq", "url", "final_url", "status", "outcome", "error", "text_file",
            "warc_file", "warc_offset", "fetched_at", "title", "date", "author", "sitename",
            "language", "words", "text_sha256", "source",
        }  # fmt: skip
        assert line["source"] == "live"


def test_disallowed_page_never_requested(crawl: CrawlResult, site: SiteServer):
    assert "/robots.txt" in site.log.paths()
    assert not [p for p in site.log.paths() if p.startswith("/private/")]


def test_text_dumps_names_front_matter_and_body(crawl: CrawlResult, site: SiteServer):
    ok = [line for line in crawl.manifest if line["outcome"] == "ok"]
    dumps = sorted(p.name for p in (crawl.archive / "text").iterdir())
    assert dumps == sorted(f"{line['seq']}_{line['id']}.txt" for line in ok)
    for line in ok:
        path = crawl.archive / line["text_file"]
        meta, body = split_dump(path.read_text(encoding="utf-8"))
        assert meta["source_url"] == line["url"]
        assert meta["warc_file"] == line["warc_file"]
        assert meta["fetched_at"] == line["fetched_at"]
        assert line["text_sha256"] == hashlib.sha256(body.strip().encode()).hexdigest()
        assert None not in meta.values()
        assert not body.lstrip().startswith("# ")  # no duplicated title heading

    by_url = crawl.by_url()
    council = by_url[site.url("/news/2024/03/city-council-budget.html")]
    meta, body = split_dump((crawl.archive / council["text_file"]).read_text(encoding="utf-8"))
    assert meta["title"] == 'Council: "Budget" passes 7-2'  # ': ' and quotes round-trip
    assert meta["author"] == "Daniel Reyes"
    assert meta["date"] == "2024-03-12T19:05:00+00:00"  # with the time and zone stated
    assert (meta["authors"], meta["authors_source"]) == (["Daniel Reyes"], "meta")
    assert meta["sitename"] == "The Loopback Courier"
    # the manifest line carries the same metadata, typed
    assert council["date"] == meta["date"] and council["authors"] == ["Daniel Reyes"]
    assert council["extractor"] == meta["extractor"]
    assert meta["language"] == "en"
    assert "seven votes to two" in body and "340 pages" in body
    assert "Subscribe" not in body and "All rights reserved" not in body

    bridge = by_url[site.url("/news/2024/03/harbor-bridge-reopens.html")]
    _, body = split_dump((crawl.archive / bridge["text_file"]).read_text(encoding="utf-8"))
    # links kept as markdown, emphasis and headings kept
    assert (
        f"[report from the transport authority]({site.url('/reports/harbor-bridge-2024.html')})"
        in body
    )
    assert "*Lena Marsh*" in body
    assert "## Tolls return in April" in body
    assert "\n\n" in body  # paragraphs separated by blank lines
    assert "Most read" not in body


def test_charset_from_http_header_only(crawl: CrawlResult, site: SiteServer):
    line = crawl.by_url()[site.url("/europe/latin1-news.html")]
    meta, body = split_dump((crawl.archive / line["text_file"]).read_text(encoding="utf-8"))
    assert meta["title"] == "Stadtrat beschließt neue Brücke über die Förde"
    assert meta["language"] == "de"
    assert "Fußgänger- und Fahrradbrücke über die Förde" in body


def test_every_warc_passes_warcio_check_and_cdxj_indexer(crawl: CrawlResult):
    files = crawl.warc_files()
    assert files
    assert not list((crawl.archive / "warc").glob("*.open"))
    for path in files:
        check = subprocess.run([BIN / "warcio", "check", str(path)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        index = subprocess.run(
            [BIN / "cdxj-indexer", str(path)], capture_output=True, text=True, check=True
        )
        statuses = [json.loads(row.split(" ", 2)[2])["status"] for row in index.stdout.splitlines()]
        assert "200" in statuses and "301" in statuses and "404" in statuses
        first = next(iter_records(path))
        assert first.rec_type == "warcinfo"
        info = first.raw_stream.read().decode()
        assert "software: newsarchiver/" in info and "robots: obey" in info


def test_request_and_response_records_are_linked(crawl: CrawlResult, site: SiteServer):
    requests, responses_ = {}, {}
    for path in crawl.warc_files():
        for record in iter_records(path):
            headers = record.rec_headers
            if record.rec_type == "request":
                requests[headers.get_header("WARC-Concurrent-To")] = record
            elif record.rec_type == "response":
                responses_[headers.get_header("WARC-Record-ID")] = record
                assert headers.get_header("WARC-IP-Address") == "127.0.0.1"
                assert headers.get_header("WARC-Payload-Digest")
    assert responses_ and set(responses_) == set(requests)
    for record_id, response in responses_.items():
        uri = response.rec_headers.get_header("WARC-Target-URI")
        assert requests[record_id].rec_headers.get_header("WARC-Target-URI") == uri
    uris = Counter(r.rec_headers.get_header("WARC-Target-URI") for r in responses_.values())
    # every hop of the redirect chain, the robots.txt fetch, and the 429 before its retry
    for path in ("/robots.txt", "/old/ferry-strike", "/redirect/step2"):
        assert uris[site.url(path)] == 1
    assert uris[site.url("/flaky/retry-after.html?key=suite")] == 2


def test_payloads_are_the_bytes_on_the_wire(crawl: CrawlResult, site: SiteServer):
    found = responses(crawl)
    # one per input URL but the robots.txt-disallowed one, plus robots.txt, the two hops
    # of the redirect chain and the 429 before its retry
    assert len(found) == len(EXPECTED) - 1 + 1 + 2 + 1
    for _, record, payload in found:
        url = record.rec_headers.get_header("WARC-Target-URI")
        target = urlsplit(url).path + (f"?{urlsplit(url).query}" if urlsplit(url).query else "")
        assert payload in site.log.sent[target], url
        length = record.http_headers.get_header("Content-Length")
        assert length == str(len(payload)), url


def test_gzip_payload_kept_compressed(crawl: CrawlResult, site: SiteServer):
    _, record, payload = response_for(crawl, "/gzip/mars-rover.html")
    assert record.http_headers.get_header("Content-Encoding") == "gzip"
    assert payload[:2] == b"\x1f\x8b"
    assert payload == site.log.sent["/gzip/mars-rover.html"][0]


def test_chunked_response_stored_with_its_length(crawl: CrawlResult):
    _, record, payload = response_for(crawl, "/chunked/marathon.html")
    assert record.http_headers.get_header("Transfer-Encoding") is None
    assert record.http_headers.get_header("Content-Length") == str(len(payload))
    assert b"Marathon Record Falls" in payload


def test_repeated_headers_and_query_string_survive(crawl: CrawlResult, site: SiteServer):
    path, response, _ = response_for(crawl, "/world/elections.html?id=42&lang=en")
    cookies = [v for k, v in response.http_headers.headers if k.lower() == "set-cookie"]
    assert cookies == ["session=abc123; Path=/", "region=coast; Path=/"]
    assert response.http_headers.protocol == "HTTP/1.1"
    assert response.http_headers.statusline == "200 OK"
    response_id = response.rec_headers.get_header("WARC-Record-ID")
    [request] = [
        r for r in iter_records(path)
        if r.rec_type == "request" and r.rec_headers.get_header("WARC-Concurrent-To") == response_id
    ]  # fmt: skip
    assert request.http_headers.protocol == "GET"
    assert request.http_headers.statusline == "/world/elections.html?id=42&lang=en HTTP/1.1"


def test_request_records_match_what_the_server_received(crawl: CrawlResult, site: SiteServer):
    """The request record holds the headers actually sent (names case-insensitive)."""
    seen: dict[str, list[Counter]] = {}
    for request in site.log.requests:
        headers = Counter((k.lower(), v) for k, v in request.headers)
        seen.setdefault(request.requestline, []).append(headers)
    checked = 0
    for path in crawl.warc_files():
        for record in iter_records(path):
            if record.rec_type != "request":
                continue
            line = f"{record.http_headers.protocol} {record.http_headers.statusline}"
            if line not in seen:
                continue  # a later crawl of the same site may have sent another variant
            stored = Counter((k.lower(), v) for k, v in record.http_headers.headers)
            assert stored in seen[line], line
            checked += 1
    assert checked >= len(EXPECTED) - 1


def test_manifest_offset_seeks_to_the_response_record(crawl: CrawlResult):
    pointed = 0
    for line in crawl.manifest:
        if line["warc_file"] is None:
            assert line["outcome"] in ("blocked", "error", "duplicate")
            continue
        record, _ = read_record_at(crawl.archive / "warc" / line["warc_file"], line["warc_offset"])
        assert record.rec_type == "response"
        assert record.rec_headers.get_header("WARC-Target-URI") == line["final_url"]
        assert record.http_headers.get_statuscode() == str(line["status"])
        if line["text_file"]:
            meta, _ = split_dump((crawl.archive / line["text_file"]).read_text(encoding="utf-8"))
            assert meta["warc_record_id"] == record.rec_headers.get_header("WARC-Record-ID")
        pointed += 1
    assert pointed == sum(1 for _, outcome in EXPECTED if outcome != "blocked")


def test_clean_log(crawl: CrawlResult):
    # no traceback, no error line: e.g. tldextract fetching the public-suffix list
    assert "Traceback" not in crawl.log
    assert "] ERROR:" not in crawl.log
    assert "publicsuffix" not in crawl.log


def test_run_record(crawl: CrawlResult, url_list: Path):
    [record_path] = list((crawl.archive / "runs").glob("*.json"))
    record = json.loads(record_path.read_text())
    assert record["spider"] == "urls"
    assert record["arguments"] == {
        "urls": str(url_list), "refresh": False, "as_of": None, "live_fallback": False,
    }  # fmt: skip
    assert record["status"] == "complete" and record["problems"] == []
    assert record["finish_reason"] == "finished"
    assert record["input_entries"] == record["manifest_lines"] == len(EXPECTED)
    expected = Counter(outcome for _, outcome in EXPECTED)
    assert {k: v for k, v in record["outcomes"].items() if v} == dict(expected)
    assert record["warc_files"] == [p.name for p in crawl.warc_files()]
    assert {"scrapy", "trafilatura", "warcio", "newsarchiver"} <= set(record["versions"])
    assert record["settings"]["ROBOTSTXT_OBEY"] is True
    assert record["recovery"] == {}  # a fresh archive: nothing to repair
    counters = record["counters"]
    assert counters["manifest/lines"] == len(EXPECTED)
    # a warcinfo record per file, then a response and a request record per exchange
    warcinfos = len(record["warc_files"])
    assert record["warc_records"] == warcinfos + 2 * counters["warc/exchanges"]
    assert counters["text/files"] == record["text_files"] == expected["ok"]
    # where the CPU went: every stage measured, storage is part of the crawler process
    cpu = record["cpu_seconds"]
    assert set(cpu) == {"crawler", "extraction", "storage", "warc"}
    assert all(seconds > 0 for seconds in cpu.values()), cpu
    assert cpu["storage"] < cpu["crawler"]


def test_rerun_same_names_same_bodies_and_warc_rotation(
    crawl: CrawlResult, url_list: Path, tmp_path: Path
):
    """Same list, new directory: same file names, same article text; small WARC_MAX_SIZE rotates."""
    again = run_crawl(
        tmp_path / "again", args={"urls": str(url_list)}, settings={"WARC_MAX_SIZE": "6000"}
    )
    assert again.returncode == 0, again.log[-3000:]
    first = {p.name: p for p in (crawl.archive / "text").iterdir()}
    second = {p.name: p for p in (again.archive / "text").iterdir()}
    assert set(first) == set(second)
    volatile = {"fetched_at", "warc_file", "warc_record_id"}
    for name in first:
        meta1, body1 = split_dump(first[name].read_text(encoding="utf-8"))
        meta2, body2 = split_dump(second[name].read_text(encoding="utf-8"))
        assert body1 == body2
        assert {k: v for k, v in meta1.items() if k not in volatile} == {
            k: v for k, v in meta2.items() if k not in volatile
        }
    files = again.warc_files()
    assert len(files) >= 3
    for path in files:
        assert next(iter_records(path)).rec_type == "warcinfo"
        check = subprocess.run([BIN / "warcio", "check", str(path)], capture_output=True)
        assert check.returncode == 0


@pytest.mark.parametrize("form", ["csv", "tsv", "jsonl"])
def test_structured_url_lists(form: str, site: SiteServer, tmp_path: Path):
    urls = [site.url("/news/2024/03/harbor-bridge-reopens.html"), site.url("/nav.html")]
    if form == "jsonl":
        rows = [json.dumps({"url": u, "date": "2024-03-01"}) for u in urls]
        rows.insert(1, "{not json")
        text = "\n".join(rows) + "\n"
    else:
        sep = "," if form == "csv" else "\t"
        text = f"date{sep}URL\n" + "".join(f"2024-03-01{sep}{u}\n" for u in urls)
        text += f"2024-03-02{sep}javascript:alert(1)\n"
    path = tmp_path / f"list.{form}"
    path.write_text(text, encoding="utf-8")
    result = run_crawl(tmp_path / "archive", args={"urls": str(path)})
    assert result.returncode == 0, result.log[-3000:]
    outcomes = sorted(line["outcome"] for line in result.manifest)
    assert outcomes == ["error", "no_text", "ok"]
    [bad] = [line for line in result.manifest if line["outcome"] == "error"]
    assert "invalid" in bad["error"]
    assert bad["seq"] == "001" if form == "jsonl" else bad["seq"] == "002"


def test_missing_input_file_fails_with_exit_status(tmp_path: Path):
    result = run_crawl(tmp_path / "archive", args={"urls": str(tmp_path / "nope.txt")})
    assert result.returncode == 1
    assert "does not exist" in result.log


def test_csv_without_url_column_fails_at_start(tmp_path: Path):
    path = tmp_path / "list.csv"
    path.write_text("link,date\nhttp://localhost/,2024\n")
    result = run_crawl(tmp_path / "archive", args={"urls": str(path)})
    assert result.returncode == 1
    assert "no 'url' column" in result.log


def test_unwritable_archive_fails_with_exit_status(site: SiteServer, tmp_path: Path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the archive directory should be")
    urls = tmp_path / "urls.txt"
    urls.write_text(site.url("/nav.html") + "\n")
    result = run_crawl(blocker / "archive", args={"urls": str(urls)})
    assert result.returncode == 1


def test_torn_manifest_line_is_repaired(site: SiteServer, tmp_path: Path):
    archive = tmp_path / "archive"
    archive.mkdir()
    good = json.dumps({"id": "0" * 16, "seq": "000", "url": "http://localhost/x", "outcome": "ok"})
    (archive / "manifest.jsonl").write_text(good + "\n" + '{"id": "torn', encoding="utf-8")
    urls = tmp_path / "urls.txt"
    urls.write_text(site.url("/nav.html") + "\n")
    result = run_crawl(archive, args={"urls": str(urls)})
    assert result.returncode == 0, result.log[-3000:]
    lines = result.manifest  # every line parses
    assert [line["url"] for line in lines] == ["http://localhost/x", site.url("/nav.html")]
    # the torn tail cut, the whole line before it read into the state store
    assert result.run_record["recovery"] == {
        "manifest_bytes_cut": len('{"id": "torn'),
        "manifest_lines_recorded": 1,
    }
