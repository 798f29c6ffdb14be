"""``scrapy reextract`` on other crawlers' WARC files (wget's, CC-NEWS's): any WARC into a
corpus. On a fresh crawl's own WARCs: tests/e2e/test_reextract.py."""

from __future__ import annotations

import gzip
import json
from io import BytesIO
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.archive.directory import Archive
from crawler.core.identity import url_id
from crawler.tools.verify import verify
from tests.support.crawl import run_scrapy, write_url_list
from tests.support.paths import SITE, WARCS

WGET_WARC = WARCS / "wget-bundled-site.warc.gz"


def reextract(*args: str) -> dict:
    result = run_scrapy("reextract", *args, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_a_wget_warc_becomes_a_corpus(tmp_path: Path):
    """wget --warc-file of the bundled site: chunked and gzip payloads, redirects, <URIs>."""
    summary = reextract(str(WGET_WARC), "--out", str(tmp_path / "out"))
    assert (summary["ok"], summary["no_text"], summary["skipped/not 200"]) == (6, 1, 2)
    archive = Archive(tmp_path / "out")
    lines = {x["url"].split("/", 3)[3]: x for x in archive.manifest_records()}
    assert lines["nav.html"]["outcome"] == "no_text"
    for path, fragment in [
        ("chunked/marathon.html", "Marathon"),  # chunked transfer coding undone
        ("gzip/mars-rover.html", "lake"),  # Content-Encoding undone
        ("europe/latin1-news.html", "Förde"),  # charset from the HTTP header
        ("asia/tokyo-bridge.html", "湾岸橋"),
    ]:
        line = lines[path]
        assert line["outcome"] == "ok" and line["id"] == url_id(line["url"]), line
        meta, body = archive.read_dump(line["text_file"])
        assert fragment in body + meta["title"], path
    assert sorted(x["seq"] for x in lines.values()) == [f"{i:03d}" for i in range(7)]
    assert verify(archive).ok


def test_names_follow_a_url_list(tmp_path: Path):
    wanted = [
        "http://127.0.0.1:18431/asia/tokyo-bridge.html",
        "http://127.0.0.1:18431/news/2024/03/harbor-bridge-reopens.html",
    ]
    url_file = write_url_list(tmp_path / "urls.txt", wanted)
    reextract(str(WGET_WARC), "--out", str(tmp_path / "out"), "--urls", str(url_file))
    names = {x["url"]: x["seq"] for x in Archive(tmp_path / "out").manifest_records()}
    assert names[wanted[0]] == "000" and names[wanted[1]] == "001"
    assert sorted(names.values())[2:] == [f"{i:03d}" for i in range(2, 7)]  # after the list


def http_block(status: str, headers: list[tuple[str, str]]) -> StatusAndHeaders:
    return StatusAndHeaders(status, headers, protocol="HTTP/1.1")


def chunked(data: bytes, size: int = 700) -> bytes:
    parts = [data[i : i + size] for i in range(0, len(data), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


@pytest.fixture
def cc_news_warc(tmp_path: Path) -> Path:
    """A WARC/1.1 file as Common Crawl's CC-NEWS writes them: response records only (no
    request records), one payload chunked, one gzip-encoded, and a revisit record."""
    path = tmp_path / "CC-NEWS-20240315000000-00001.warc.gz"
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True, warc_version="1.1")
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "test"}))
        pages = [
            ("https://news.example/harbor.html", "news/2024/03/harbor-bridge-reopens.html",
             [("Transfer-Encoding", "chunked")], chunked),
            ("https://news.example/rover.html", "science/mars-rover.html",
             [("Content-Encoding", "gzip")], lambda data: gzip.compress(data, mtime=0)),
            ("https://news.example/bangkok.html", "asia/bangkok-canal.html", [], lambda d: d),
        ]  # fmt: skip
        for url, source, extra, encode in pages:
            payload = encode((SITE / source).read_bytes())
            headers = [("Content-Type", "text/html; charset=utf-8"), *extra]
            writer.write_record(writer.create_warc_record(
                url, "response", payload=BytesIO(payload), length=len(payload),
                http_headers=http_block("200 OK", headers),
            ))  # fmt: skip
        writer.write_record(writer.create_revisit_record(
            "https://news.example/harbor.html", "sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "https://news.example/harbor.html", "2024-03-14T00:00:00Z",
            http_headers=http_block("200 OK", [("Content-Type", "text/html")]),
        ))  # fmt: skip
    return path


def test_a_cc_news_warc_becomes_a_corpus(cc_news_warc: Path, tmp_path: Path):
    summary = reextract(str(cc_news_warc), "--out", str(tmp_path / "out"))
    assert (summary["ok"], summary["skipped/revisit"]) == (3, 1)
    archive = Archive(tmp_path / "out")
    lines = {x["url"]: x for x in archive.manifest_records()}
    expected = {
        "https://news.example/harbor.html": ("000", "The Harbor Bridge reopened", "en"),
        "https://news.example/rover.html": ("001", "lake", "en"),
        "https://news.example/bangkok.html": ("002", "เรือโดยสาร", "th"),
    }
    for url, (seq, fragment, language) in expected.items():
        line = lines[url]
        assert (line["seq"], line["language"], line["id"]) == (seq, language, url_id(url))
        meta, body = archive.read_dump(line["text_file"])
        assert fragment in body or fragment in meta["title"]
        assert line["fetched_at"].endswith("Z") and len(line["fetched_at"]) == 20
    assert verify(archive).ok
