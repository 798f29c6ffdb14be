"""BackoffRetryMiddleware (crawler.downloadermiddlewares.retry), built through from_crawler."""

from __future__ import annotations

import asyncio

from scrapy import Spider
from scrapy.http import HtmlResponse, Request

from crawler.downloadermiddlewares.retry import BackoffRetryMiddleware


def test_retry_after_beyond_the_limit_gives_up(make_crawler):
    overrides = {"RETRY_AFTER_MAX": 10, "RETRY_BACKOFF_BASE": 0}
    crawler = make_crawler(Spider, **overrides)
    crawler.spider = crawler._create_spider(name="test")
    retry = BackoffRetryMiddleware.from_crawler(crawler)
    request = Request("http://news.example/a")
    too_long = HtmlResponse(
        request.url, status=429, headers={"Retry-After": "3600"}, request=request
    )
    assert asyncio.run(retry.process_response(request, too_long)) is too_long
    assert crawler.stats.get_value("retry/retry_after_too_long") == 1
    soon = HtmlResponse(request.url, status=503, headers={"Retry-After": "0"}, request=request)
    again = asyncio.run(retry.process_response(request, soon))
    assert isinstance(again, Request) and again.meta["retry_times"] == 1
    assert crawler.stats.get_value("retry/retry_after_honoured") == 1
