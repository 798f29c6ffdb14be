"""AccessRetryMiddleware (crawler.downloadermiddlewares.access): challenge and rate-limit
pages are fetched again and count towards pausing their host; pages that show an article
never are, whatever markers their code carries."""

from __future__ import annotations

import asyncio

import pytest
from scrapy import Spider
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Request

from crawler.core.keys import META_ACCESS, META_ACCESS_RETRIES, META_PAGE
from crawler.downloadermiddlewares.access import AccessRetryMiddleware
from tests.support.paths import SITE
from tests.unit.extract.test_access import CONTENT_PAGES


def middleware(make_crawler, **overrides) -> AccessRetryMiddleware:
    settings = {"ACCESS_RETRY_DELAY": 0, "ACCESS_HOST_PAUSE_AFTER": 2, **overrides}
    crawler = make_crawler(Spider, **settings)
    crawler.spider = crawler._create_spider(name="test")
    return AccessRetryMiddleware.from_crawler(crawler)


def respond(mw: AccessRetryMiddleware, url: str, html: str, status: int = 200):
    request = Request(url, meta={META_PAGE: object()})
    response = HtmlResponse(url, status=status, body=html.encode(), encoding="utf-8",
                            request=request)  # fmt: skip
    return request, response, asyncio.run(mw.process_response(request, response))


@pytest.mark.parametrize("what", sorted(CONTENT_PAGES))
def test_a_page_that_shows_its_article_is_neither_retried_nor_counted(make_crawler, what):
    mw = middleware(make_crawler)
    for n in range(3):  # more than ACCESS_HOST_PAUSE_AFTER
        request, response, got = respond(mw, f"https://news.example/a/{n}", CONTENT_PAGES[what])
        assert got is response and META_ACCESS not in request.meta
    assert mw.per_host == {} and mw.paused == {}
    assert mw.stats.get_value("access/retries") is None


def test_a_challenge_page_is_retried_then_passes_on_labelled_and_pauses_its_host(make_crawler):
    mw = middleware(make_crawler, ACCESS_RETRY_TIMES=1)
    challenge = (SITE / "access" / "challenge-js.html").read_text()
    request, _, again = respond(mw, "https://news.example/a", challenge)
    assert isinstance(again, Request) and again.meta[META_ACCESS_RETRIES] == 1
    request, response, got = respond(mw, "https://news.example/b", challenge)
    assert mw.paused  # the second such page: paused (retries stop too)
    assert got is response and request.meta[META_ACCESS].label == "challenge"
    with pytest.raises(IgnoreRequest, match="host paused: 2 challenge or rate-limit pages"):
        mw.process_request(Request("https://news.example/c", meta={META_PAGE: object()}))


def test_a_users_full_rule_overrules_a_builtin_one_in_the_downloader_too(make_crawler, tmp_path):
    own = tmp_path / "mine.toml"
    own.write_text('[[rule]]\nname = "our-gate"\nlabel = "full"\nhtml = \'class="our-gate"\'\n')
    mw = middleware(make_crawler, ACCESS_EXTRA_RULES=str(own))
    gated = (SITE / "access" / "challenge-js.html").read_text()
    gated = gated.replace("<body>", '<body class="our-gate">')
    request, response, got = respond(mw, "https://news.example/a", gated)
    assert got is response and META_ACCESS not in request.meta and mw.per_host == {}
