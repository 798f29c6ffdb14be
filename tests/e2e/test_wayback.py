"""End to end: dead links recovered from a (fake, loopback) Internet Archive; as-of rebuilds."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from crawler.archive.directory import Archive
from crawler.warc.reader import iter_records
from tests.support.crawl import CrawlResult, run_crawl, write_url_list
from tests.support.siteserver import SiteServer
from tests.support.waybackserver import FakeWayback, article

VERSIONS = {
    "20190601000000": "the 2019 version",
    "20200201000000": "the 2020 version",
    "20230101000000": "the 2023 version",
}


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def archive(site: SiteServer) -> Iterator[FakeWayback]:
    with FakeWayback() as wayback:
        for stamp, version in VERSIONS.items():
            body = article(
                f"Harbor Tunnel Plan Shelved ({version})",
                f"This is {version} of a story about the harbor tunnel, which the city "
                "shelved after the bridge repair ran over budget and over time.",
            )
            wayback.add(site.url("/gone/tunnel.html"), stamp, body)
        wayback.add(
            site.url("/gone/removed.html"),
            "20210315120000",
            article("Ferry Timetable Changes", "The ferry timetable changes on Monday for " * 3),
        )
        wayback.add(
            site.url("/old/ferry-strike"),
            "20240301000000",
            article("Ferry Strike Ends", "The ferry crews return to work on Monday after " * 3),
        )
        wayback.add(
            site.url("/soft404.html"),
            "20200505000000",
            article("Lighthouse Restored", "Volunteers restored the old lighthouse lamp " * 3),
        )
        yield wayback


def settings_for(wayback: FakeWayback) -> dict[str, str]:
    return {"WAYBACK_ENABLED": "1", "WAYBACK_ENDPOINT": wayback.endpoint, "WAYBACK_DELAY": "0.05"}


def front_matter(result: CrawlResult, line: dict) -> tuple[dict, str]:
    text = (result.archive / line["text_file"]).read_text(encoding="utf-8")
    header, _, body = text[4:].partition("\n---\n")
    return yaml.safe_load(header), body


def test_dead_links_recovered_with_provenance(
    site: SiteServer, archive: FakeWayback, tmp_path: Path
):
    refused = f"http://127.0.0.1:{dead_port()}/story.html"
    archive.add(
        refused, "20220101000000", article("Night Market Opens", "Stalls open at dusk " * 5)
    )
    archive.throttle_once.add(site.url("/gone/removed.html"))
    urls = {
        "tunnel": site.url("/gone/tunnel.html"),  # 404
        "removed": site.url("/gone/removed.html"),  # 410, and the archive says 429 once
        "refused": refused,  # connection refused
        "soft": site.url("/soft404.html"),  # 200 "Page not found"
        "never": site.url("/gone/never-archived.html"),  # 404, no capture
        "live": site.url("/news/2024/03/ferry-strike-ends.html"),
    }
    result = run_crawl(
        tmp_path / "a",
        args={"urls": str(write_url_list(tmp_path / "urls.txt", list(urls.values())))},
        settings=settings_for(archive),
    )
    assert result.returncode == 0, result.log[-4000:]
    lines = result.by_url()
    assert set(lines) == set(urls.values())
    expected_error = {
        "tunnel": "HTTP 404 Not Found",
        "removed": "HTTP 410 Gone",
        "refused": "ConnectionRefused",
        "soft": 'soft 404: title "Page not found | The Loopback Courier", 7 words of text',
    }
    expected_stamp = {
        "tunnel": "20230101000000",  # closest to now
        "removed": "20210315120000",
        "refused": "20220101000000",
        "soft": "20200505000000",
    }
    for key, fragment in expected_error.items():
        line = lines[urls[key]]
        assert line["outcome"] == "ok", line
        assert line["source"] == "wayback"
        assert fragment in line["error"]
        stamp = expected_stamp[key]
        assert line["memento_url"] == f"{archive.endpoint}/web/{stamp}id_/{urls[key]}"
        assert line["memento_datetime"] == (
            f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[8:10]}:{stamp[10:12]}:{stamp[12:]}Z"
        )
        meta, body = front_matter(result, line)
        assert meta["source"] == "wayback" and meta["memento_url"] == line["memento_url"]
        assert meta["memento_datetime"] == line["memento_datetime"]
        assert meta["source_url"] == urls[key]
        assert meta["url"] == urls[key]  # the page's own URL; the memento is provenance
    _, body = front_matter(result, lines[urls["tunnel"]])
    assert "the 2023 version" in body
    never = lines[urls["never"]]
    assert never["outcome"] == "error" and never["source"] == "live"
    assert never["error"] == (f"live: HTTP 404 Not Found; wayback: no capture of {urls['never']}")
    # the live attempt's evidence stays on the line: its status, time and WARC record
    assert never["status"] == 404 and never["final_url"] == urls["never"]
    record, _ = Archive(result.archive).warc_record(never["warc_file"], never["warc_offset"])
    assert record.rec_headers.get_header("WARC-Target-URI") == urls["never"]
    assert record.http_headers.get_statuscode() == "404" and never["fetched_at"]
    assert lines[urls["live"]]["source"] == "live" and "memento_url" not in lines[urls["live"]]

    # both the failed live exchange and the capture are in the WARC
    responses = {}
    for path in result.warc_files():
        for record in iter_records(path):
            if record.rec_type == "response":
                uri = record.rec_headers.get_header("WARC-Target-URI")
                responses[uri] = record.http_headers.get_statuscode()
    assert responses[urls["tunnel"]] == "404" and responses[urls["removed"]] == "410"
    assert responses[lines[urls["tunnel"]]["memento_url"]] == "200"
    assert any(uri.startswith(f"{archive.endpoint}/cdx/search/cdx?") for uri in responses)

    # the archive's 429 was honoured: the retry came after Retry-After (1 s)
    first, second = archive.log.cdx_times(urls["removed"])[:2]
    assert second - first >= 0.95


def test_as_of_picks_the_closest_capture_and_never_goes_live(
    site: SiteServer, archive: FakeWayback, tmp_path: Path
):
    tunnel = site.url("/gone/tunnel.html")
    fallback = site.url("/news/2024/03/harbor-bridge-reopens.html?asof=live-fallback")
    unarchived = site.url("/news/2024/03/city-council-budget.html?asof=unarchived")
    csv = tmp_path / "list.csv"
    csv.write_text(f"url,date\n{tunnel},\n{unarchived},\n")
    tunnel_hits = site.log.paths().count("/gone/tunnel.html")  # (the site serves every test)
    result = run_crawl(
        tmp_path / "a", args={"urls": str(csv), "as_of": "20200101"}, settings=settings_for(archive)
    )
    assert result.returncode == 0, result.log[-4000:]
    lines = result.by_url()
    assert lines[tunnel]["memento_url"].startswith(f"{archive.endpoint}/web/20200201000000id_/")
    assert lines[tunnel]["error"] is None  # nothing failed: the archive was asked first
    _, body = front_matter(result, lines[tunnel])
    assert "the 2020 version" in body
    assert lines[unarchived]["outcome"] == "error"
    assert lines[unarchived]["error"].startswith("live: not fetched (as_of); wayback: no capture")
    assert not [p for p in site.log.paths() if "asof=" in p]  # never went live
    assert site.log.paths().count("/gone/tunnel.html") == tunnel_hits

    # per-URL dates win over as_of; live_fallback=1 goes live when the archive has nothing
    soft = site.url("/soft404.html?asof=soft-live")  # not archived: fetched live
    csv.write_text(f"url,date\n{tunnel},2023-06-01\n{fallback},\n{soft},\n")
    again = run_crawl(
        tmp_path / "b",
        args={"urls": str(csv), "as_of": "20200101", "live_fallback": "1"},
        settings=settings_for(archive),
    )
    assert again.returncode == 0, again.log[-4000:]
    arguments = again.run_record["arguments"]
    assert arguments["as_of"] == "20200101000000" and arguments["live_fallback"] is True
    lines = again.by_url()
    assert "/web/20230101000000id_/" in lines[tunnel]["memento_url"]
    assert lines[fallback]["outcome"] == "ok" and lines[fallback]["source"] == "live"
    # a soft 404 fetched live after the archive had nothing is the live page, extracted
    assert lines[soft]["outcome"] == "no_text" and lines[soft]["status"] == 200
    assert "/news/2024/03/harbor-bridge-reopens.html?asof=live-fallback" in site.log.paths()


def test_failures_above_the_flow_and_refreshing_a_recovered_page(
    site: SiteServer, archive: FakeWayback, tmp_path: Path
):
    """A redirect limit (raised above the wayback flow, on the way back) still sends the
    page to the archive; refreshing a page recovered from the archive recovers it again
    (a capture is never a revisit of the live page)."""
    urls = [site.url("/gone/tunnel.html"), site.url("/old/ferry-strike")]
    url_file = write_url_list(tmp_path / "urls.txt", urls)
    settings = {**settings_for(archive), "REDIRECT_MAX_TIMES": "1"}
    for run, args in enumerate(({"urls": str(url_file)}, {"urls": str(url_file), "refresh": "1"})):
        result = run_crawl(tmp_path / "a", args=args, settings=settings)
        assert result.returncode == 0, result.log[-4000:]
        lines = result.manifest[2 * run :]
        assert len(lines) == 2
        by_url = {line["url"]: line for line in lines}
        tunnel, ferry = by_url[urls[0]], by_url[urls[1]]
        for line in (tunnel, ferry):
            assert (line["outcome"], line["source"]) == ("ok", "wayback"), line
            assert line["memento_url"].startswith(f"{archive.endpoint}/web/")
        assert tunnel["error"] == "HTTP 404 Not Found"
        assert ferry["error"] == "IgnoreRequest: max redirections reached"
        _, body = front_matter(result, ferry)
        assert "ferry crews return to work" in body


def test_unreachable_archive_is_given_up_once(site: SiteServer, tmp_path: Path):
    urls = [site.url(f"/gone/unreachable-{i}.html") for i in range(4)]
    result = run_crawl(
        tmp_path / "a",
        args={"urls": str(write_url_list(tmp_path / "urls.txt", urls))},
        settings={"WAYBACK_ENABLED": "1", "WAYBACK_ENDPOINT": f"http://127.0.0.1:{dead_port()}"},
    )
    assert result.returncode == 0, result.log[-4000:]
    errors = [line["error"] for line in result.manifest]
    assert len(errors) == 4
    for error in errors:
        assert error.startswith("live: HTTP 404 Not Found; wayback: ")
        assert "ConnectionRefused" in error
    assert result.log.count("is unreachable") == 1
    # the archive's robots.txt could not be fetched either: a warning, not a traceback
    assert "Traceback" not in result.log and "could not be fetched" in result.log
    record = result.run_record
    assert record["outcomes"]["error"] == 4
