"""The Internet Archive flow (WaybackMiddleware), path by path, built as a crawl builds it."""

from __future__ import annotations

import json

import pytest
from scrapy.exceptions import DownloadTimeoutError, IgnoreRequest
from scrapy.http import HtmlResponse, Request, TextResponse
from twisted.internet.error import DNSLookupError

from crawler.core.items import CDX, LIVE, EarlierCapture, PageRef, WarcPointer, WaybackPlan
from crawler.core.keys import (
    META_BLOCKED,
    META_EARLIER,
    META_FETCHED_AT,
    META_MEMENTO,
    META_PAGE,
    META_WARC,
    META_WAYBACK,
    META_WAYBACK_HANDOFF,
    META_WAYBACK_MISS,
    META_WAYBACK_STEP,
)
from crawler.downloadermiddlewares.wayback import SLOT, WaybackMiddleware

ENDPOINT = "http://127.0.0.1:9"
URL = "http://127.0.0.1:8/gone/story.html"
PAGE = PageRef(URL, "0123456789abcdef", "000", date="20200101000000")
WARC = WarcPointer("a.warc.gz", 10, "<urn:uuid:1>")
SOFT_404 = b"<html><head><title>Page not found</title></head><body>Sorry</body></html>"


@pytest.fixture
def flow(make_crawler) -> WaybackMiddleware:
    crawler = make_crawler(WAYBACK_ENABLED=True, WAYBACK_ENDPOINT=ENDPOINT)
    return WaybackMiddleware.from_crawler(crawler)


def page_request(plan: WaybackPlan | None = None, **meta) -> Request:
    meta = {META_PAGE: PAGE, META_WAYBACK: plan or WaybackPlan(), **meta}
    return Request(URL, meta=meta, headers={"Cookie": "site=1"})


def answer(request: Request, status: int, body: bytes = b"<html></html>", **kw) -> HtmlResponse:
    return HtmlResponse(request.url, status=status, body=body, request=request, **kw)


def miss_of(request: Request, call) -> tuple[str, object]:
    with pytest.raises(IgnoreRequest):
        call()
    miss = request.meta[META_WAYBACK_MISS]
    return miss.error, miss.live


def test_a_dead_link_becomes_a_lookup_carrying_the_page_not_the_site(flow):
    request = page_request(**{META_EARLIER: EarlierCapture(URL, "d", None, "sha1:X")})
    request.meta.update({META_WARC: WARC, META_FETCHED_AT: "2026-01-01T00:00:00Z"})
    lookup = flow.process_response(request, answer(request, 404))
    assert isinstance(lookup, Request) and lookup.url.startswith(f"{ENDPOINT}/cdx/search/cdx?")
    assert "closest=20200101000000" in lookup.url  # the page's own date
    assert lookup.meta["download_slot"] == SLOT and lookup.meta["max_retry_times"] == 1
    assert META_EARLIER not in lookup.meta  # an archive capture is never a revisit
    assert b"Cookie" not in lookup.headers  # the site's cookies stay with the site
    step = lookup.meta[META_WAYBACK_STEP]
    assert step.kind == CDX and step.live.error == "HTTP 404 Not Found"
    assert (step.live.status, step.live.warc, step.live.fetched_at) == (
        404, WARC, "2026-01-01T00:00:00Z"
    )  # fmt: skip


@pytest.mark.parametrize("status", [200, 301, 403, 429])
def test_other_answers_pass_through(flow, status):
    request = page_request()
    response = answer(request, status, b"<title>Harbor Bridge Reopens</title>")
    assert flow.process_response(request, response) is response


def test_cdx_answer_gives_the_capture_then_the_memento(flow):
    request = page_request()
    lookup = flow.process_response(request, answer(request, 404))
    rows = [["timestamp", "original", "statuscode", "digest", "mimetype"],
            ["20190101000000", URL, "200", "D", "text/html"],
            ["20200301000000", URL, "200", "D", "text/html"]]  # fmt: skip
    cdx = TextResponse(lookup.url, body=json.dumps(rows).encode(), request=lookup)
    fetch = flow.process_response(lookup, cdx)
    assert fetch.url == f"{ENDPOINT}/web/20200301000000id_/{URL}"
    memento = answer(fetch, 200, headers={"Memento-Datetime": "Sun, 01 Mar 2020 00:00:00 GMT"})
    assert flow.process_response(fetch, memento) is memento
    recovered = fetch.meta[META_MEMENTO]
    assert recovered.datetime == "2020-03-01T00:00:00Z"
    assert recovered.live_error == "HTTP 404 Not Found" and recovered.url == fetch.url


def test_no_capture_is_a_miss_with_the_live_evidence(flow):
    request = page_request(**{META_WARC: WARC})
    lookup = flow.process_response(request, answer(request, 410))
    cdx = TextResponse(lookup.url, body=b"[]", request=lookup)
    error, live = miss_of(lookup, lambda: flow.process_response(lookup, cdx))
    assert error == f"live: HTTP 410 Gone; wayback: no capture of {URL}"
    assert live.status == 410 and live.warc == WARC


def test_network_failure_then_unreachable_archive(flow):
    request = page_request()
    lookup = flow.process_exception(request, DownloadTimeoutError("took too long"))
    assert lookup.meta[META_WAYBACK_STEP].live.error == "DownloadTimeoutError: took too long"
    error, _ = miss_of(lookup, lambda: flow.process_exception(lookup, DNSLookupError("no dns")))
    assert error.startswith("live: DownloadTimeoutError: took too long; wayback: DNSLookupError")
    assert flow.unreachable
    # from now on the archive is not asked: a dead link is a miss at once ...
    again = page_request()
    error, _ = miss_of(again, lambda: flow.process_response(again, answer(again, 404)))
    assert error == "live: HTTP 404 Not Found; wayback: archive unreachable: " + flow.unreachable
    # ... and a soft 404 is left to the spider, which extracts what the page has
    soft = page_request()
    response = answer(soft, 200, SOFT_404)
    assert flow.process_response(soft, response) is response


def test_soft_404_asks_the_archive(flow):
    request = page_request()
    lookup = flow.process_response(request, answer(request, 200, SOFT_404))
    assert lookup.meta[META_WAYBACK_STEP].live.error.startswith("soft 404")


def test_blocked_pages_are_left_to_the_spider(flow):
    request = page_request(**{META_BLOCKED: "robots.txt"})
    assert flow.process_exception(request, IgnoreRequest("Forbidden by robots.txt")) is None


def test_as_of_asks_the_archive_first_and_falls_back_live(flow):
    plan = WaybackPlan(as_of="20150101000000", live_fallback=True)
    request = page_request(plan)
    lookup = flow.process_request(request)
    assert "closest=20200101000000" in lookup.url  # the page's own date wins over as_of
    assert lookup.meta[META_WAYBACK_STEP].live is None
    cdx = TextResponse(lookup.url, body=b"[]", request=lookup)
    live = flow.process_response(lookup, cdx)
    assert live.url == URL and live.meta[META_WAYBACK_STEP].kind == LIVE
    assert flow.process_request(live) is None  # goes out live now
    # fetched live, a soft 404 is the live page; a hard error says both reasons
    soft = answer(live, 200, SOFT_404)
    assert flow.process_response(live, soft) is soft
    error, _ = miss_of(live, lambda: flow.process_response(live, answer(live, 404)))
    assert error == f"live: HTTP 404 Not Found; wayback: no capture of {URL}"


def test_as_of_without_fallback_never_goes_live(flow):
    request = page_request(WaybackPlan(as_of="20150101000000"))
    lookup = flow.process_request(request)
    cdx = TextResponse(lookup.url, body=b"[]", request=lookup)
    error, live = miss_of(lookup, lambda: flow.process_response(lookup, cdx))
    assert error == f"live: not fetched (as_of); wayback: no capture of {URL}" and live is None


def test_a_failure_handed_back_by_the_spider(flow):
    """What a middleware above the flow raised on the way back comes back through here."""
    request = page_request(**{META_WAYBACK_HANDOFF: "IgnoreRequest: max redirections reached"})
    lookup = flow.process_request(request)
    assert lookup.meta[META_WAYBACK_STEP].live.error == "IgnoreRequest: max redirections reached"
    # the same on an archive request: no capture, and the miss is final
    handed = lookup.replace(meta={**lookup.meta, META_WAYBACK_HANDOFF: "IgnoreRequest: too big"})
    error, _ = miss_of(handed, lambda: flow.process_request(handed))
    assert error == "live: IgnoreRequest: max redirections reached; wayback: IgnoreRequest: too big"
    assert flow.process_exception(handed, IgnoreRequest(error)) is None


def test_requests_without_a_plan_are_left_alone(flow):
    request = Request(URL, meta={META_PAGE: PAGE})
    response = answer(request, 404)
    assert flow.process_request(request) is None
    assert flow.process_response(request, response) is response
    assert flow.process_exception(request, DownloadTimeoutError()) is None
