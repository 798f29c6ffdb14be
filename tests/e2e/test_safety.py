"""End to end: the address guard and bad input, through the real ``scrapy crawl``."""

from __future__ import annotations

import hashlib
import socket
import subprocess
from pathlib import Path

from w3lib.url import canonicalize_url

from crawler.warc.reader import iter_records
from tests.support.crawl import BIN, run_crawl, write_url_list
from tests.support.siteserver import SiteServer


def test_loopback_refused_by_default(site: SiteServer, tmp_path: Path):
    port = site.url("").rsplit(":", 1)[1]
    urls = [
        site.url("/news/2024/03/harbor-bridge-reopens.html?guard=ip"),
        f"http://localhost:{port}/nav.html?guard=name",
        f"http://[::1]:{port}/nav.html?guard=v6",
    ]
    result = run_crawl(
        tmp_path / "archive",
        args={"urls": str(write_url_list(tmp_path / "urls.txt", urls))},
        settings={"ALLOW_PRIVATE_ADDRESSES": "0"},
    )
    assert result.returncode == 0, result.log[-3000:]
    lines = result.by_url()
    assert set(lines) == set(urls)
    for url in urls:
        assert lines[url]["outcome"] == "blocked"
        assert "loopback" in lines[url]["error"]
        assert lines[url]["warc_file"] is None
    assert not [p for p in site.log.paths() if "guard=" in p]
    # nothing was fetched, so nothing was archived, not even robots.txt
    assert not list((result.archive / "warc").glob("*.warc.gz"))


def test_hostile_url_list(site: SiteServer, tmp_path: Path):
    """Every line of a messy list gets exactly one manifest line with a reason."""
    good = site.url("/news/2024/03/city-council-budget.html")
    raw = b"\n".join(
        [
            b"# a comment, then a blank line",
            b"",
            good.encode(),
            b"mailto:editor@example.org",
            b"javascript:alert(1)",
            b"ftp://files.example.org/a.txt",
            b"http://",
            b"http://exa mple.org/spaces",
            b"http://example.org/\x07bell",
            b"http://example.org/" + b"a" * 3000,
            b"http://example.org/\xff\xfe-not-utf8",
            b"www.example.org/no-scheme",
            b"http://example.org:99999/bad-port",
            good.encode() + b"#same-page-other-fragment",
        ]
    )
    path = tmp_path / "urls.txt"
    path.write_bytes(raw + b"\n")
    result = run_crawl(tmp_path / "archive", args={"urls": str(path)})
    assert result.returncode == 0, result.log[-3000:]
    lines = sorted(result.manifest, key=lambda line: line["seq"])
    assert [line["seq"] for line in lines] == [f"{i:03d}" for i in range(12)]
    outcomes = [line["outcome"] for line in lines]
    assert outcomes == ["ok"] + ["error"] * 10 + ["duplicate"]
    errors = [line["error"] for line in lines[1:11]]
    expected = [
        "unsupported scheme 'mailto'",
        "unsupported scheme 'javascript'",
        "unsupported scheme 'ftp'",
        "no host",
        "whitespace or control characters",
        "whitespace or control characters",
        "over the limit of 2083",
        "not valid UTF-8",
        "not an absolute URL",
        "malformed URL",
    ]
    for error, fragment in zip(errors, expected, strict=True):
        assert fragment in error
    assert lines[11]["error"] == f"duplicate of seq 000 (id {lines[0]['id']})"
    assert lines[11]["id"] == lines[0]["id"]
    assert "\\xff" in lines[8]["url"]  # undecodable bytes shown, not dropped
    # ids as the README says: an entry canonicalize_url cannot parse (the bad port) is
    # hashed as its manifest `url` shows it; others (undecodable bytes) canonicalised first
    assert lines[10]["id"] == hashlib.sha256(lines[10]["url"].encode()).hexdigest()[:16]
    canonical = canonicalize_url(lines[8]["url"]).encode()
    assert lines[8]["id"] == hashlib.sha256(canonical).hexdigest()[:16]


def test_hostile_servers_end_as_errors_and_leave_no_bogus_records(site: SiteServer, tmp_path: Path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/gone.html"
    cases = {
        dead: "ConnectionRefused",
        site.url("/hostile/slow.html"): "took longer than 1",
        site.url("/hostile/huge.html"): "larger than download max size",
        site.url("/hostile/huge-chunked.html"): "larger than download max size",
        site.url("/hostile/garbage"): "non-integer status code",
        site.url("/hostile/reset"): "Connection was closed",
    }
    urls = [*cases, site.url("/news/2024/03/harbor-bridge-reopens.html")]
    result = run_crawl(
        tmp_path / "archive",
        args={"urls": str(write_url_list(tmp_path / "urls.txt", urls))},
        settings={"DOWNLOAD_TIMEOUT": "1", "DOWNLOAD_MAXSIZE": "100000", "RETRY_TIMES": "1"},
    )
    assert result.returncode == 0, result.log[-3000:]
    lines = result.by_url()
    assert set(lines) == set(urls)
    for url, fragment in cases.items():
        assert lines[url]["outcome"] == "error", lines[url]
        assert fragment.lower() in lines[url]["error"].lower(), lines[url]["error"]
        assert lines[url]["warc_file"] is None and lines[url]["status"] is None
    assert lines[urls[-1]]["outcome"] == "ok"  # the crawl went on
    assert "Traceback" not in result.log  # (the dead host's robots.txt included)
    archived = {
        record.rec_headers.get_header("WARC-Target-URI")
        for path in result.warc_files()
        for record in iter_records(path)
        if record.rec_type == "response"
    }
    assert not archived & set(cases)
    for path in result.warc_files():
        assert subprocess.run([BIN / "warcio", "check", str(path)]).returncode == 0
