"""Scrapy components built through from_crawler, exercised without a network."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest
from scrapy import Spider
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import HtmlResponse, Request

from crawler.downloadermiddlewares.netguard import AddressGuardMiddleware
from crawler.downloadermiddlewares.retry import BackoffRetryMiddleware
from crawler.downloadermiddlewares.warc import WarcCaptureMiddleware


def test_guard_refuses_ip_literals_and_other_schemes(make_crawler):
    guard = AddressGuardMiddleware.from_crawler(make_crawler())
    for url in ("http://127.0.0.1:8080/a", "http://[::1]/a", "http://[fd00::1]/a"):
        request = Request(url)
        with pytest.raises(IgnoreRequest):
            asyncio.run(guard.process_request(request))
        assert "non-public address refused" in request.meta["blocked_reason"]
    request = Request("http://example.invalid/")
    request._set_url("file:///etc/passwd")
    with pytest.raises(IgnoreRequest, match="unsupported scheme 'file'"):
        asyncio.run(guard.process_request(request))


def test_guard_checks_the_peer_actually_connected_to(make_crawler):
    crawler = make_crawler()
    guard = AddressGuardMiddleware.from_crawler(crawler)
    request = Request("http://news.example/a")
    response = HtmlResponse(
        request.url, body=b"x", request=request, ip_address=ipaddress.ip_address("::1")
    )
    with pytest.raises(IgnoreRequest):
        guard.process_response(request, response)
    assert crawler.stats.get_value("netguard/blocked") == 1


def test_guard_off_when_private_addresses_allowed(make_crawler):
    with pytest.raises(NotConfigured):
        AddressGuardMiddleware.from_crawler(make_crawler(ALLOW_PRIVATE_ADDRESSES=True))


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


@pytest.mark.parametrize(
    ("setting", "value"),
    [("WARC_VERSION", "2.0"), ("WARC_MAX_SIZE", 0), ("WARC_GZIP_LEVEL", 12)],
)
def test_invalid_warc_settings_fail_at_start(setting, value, make_crawler):
    crawler = make_crawler(**{setting: value})
    with pytest.raises(ValueError, match=setting):
        WarcCaptureMiddleware.from_crawler(crawler)


def test_contact_goes_into_the_user_agent(make_crawler):
    crawler = make_crawler(CRAWLER_CONTACT="archivist@example.org")
    assert crawler.settings["USER_AGENT"].endswith("; archivist@example.org)")
    assert crawler.settings["USER_AGENT"].startswith("newsarchiver/")


def test_compressed_html_is_not_charset_sniffed_before_decompression(make_crawler, monkeypatch):
    """A gzip body typed HtmlResponse from its URL reaches HttpCompressionMiddleware as a
    plain Response: nothing guesses the charset of compressed bytes, and the decompressed
    response is HTML with the charset its page declares."""
    import gzip

    from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
    from scrapy.http import Response, TextResponse

    from crawler.downloadermiddlewares.compression import CompressedBodyMiddleware

    sniffed: list[bytes] = []
    real = TextResponse._auto_detect_fun

    def detect(self: TextResponse, text: bytes) -> str | None:
        sniffed.append(text)
        return real(self, text)

    monkeypatch.setattr(TextResponse, "_auto_detect_fun", detect)
    html = '<html><head><meta charset="windows-1251"></head><p>Новости</p></html>'
    request = Request("http://news.example/page.html")
    wire = HtmlResponse(
        request.url,
        body=gzip.compress(html.encode("cp1251")),
        headers={"Content-Encoding": "gzip", "Content-Type": "text/html"},
        request=request,
    )
    plain = CompressedBodyMiddleware().process_response(request, wire)
    assert type(plain) is Response and plain.body == wire.body and plain.headers == wire.headers
    decompress = HttpCompressionMiddleware.from_crawler(make_crawler())
    page = decompress.process_response(request, plain)
    assert isinstance(page, HtmlResponse) and page.encoding == "cp1251"
    assert "Новости" in page.text and "Content-Encoding" not in page.headers
    assert sniffed == []
    # Unencoded and already-plain responses pass through untouched.
    unencoded = HtmlResponse(request.url, body=b"<p>x</p>", request=request)
    assert CompressedBodyMiddleware().process_response(request, unencoded) is unencoded
