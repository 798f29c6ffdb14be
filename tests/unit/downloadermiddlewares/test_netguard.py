"""AddressGuardMiddleware (crawler.downloadermiddlewares.netguard), built through
from_crawler and exercised without a network."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import HtmlResponse, Request

from crawler.downloadermiddlewares.netguard import AddressGuardMiddleware


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


def test_named_hosts_are_let_through_and_no_other(make_crawler):
    guard = AddressGuardMiddleware.from_crawler(make_crawler(ALLOW_PRIVATE_HOSTS=["127.0.0.1"]))
    allowed = Request("http://127.0.0.1:8080/page.html")
    assert asyncio.run(guard.process_request(allowed)) is None
    response = HtmlResponse(
        allowed.url, body=b"x", request=allowed, ip_address=ipaddress.ip_address("127.0.0.1")
    )
    assert guard.process_response(allowed, response) is response
    for url in ("http://[::1]:8080/a.png", "http://0.0.0.0:8080/b.png", "http://127.0.0.2/c"):
        with pytest.raises(IgnoreRequest):
            asyncio.run(guard.process_request(Request(url)))
