"""The address guard: no request to a loopback, private, link-local or reserved address
(crawler.fetch.netguard decides), redirect targets included."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request, Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet import reactor
from twisted.internet.error import DNSLookupError

from crawler.core.keys import META_BLOCKED
from crawler.fetch.netguard import BlockedAddressError, check_address, parse_ip

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


logger = logging.getLogger(__name__)


class AddressGuardMiddleware:
    """Refuses requests to non-public addresses unless ``ALLOW_PRIVATE_ADDRESSES``.

    Reads the request URL (every hop: redirects come back through here) and the peer
    address of the response. Hosts named in ``ALLOW_PRIVATE_HOSTS`` (your own intranet
    site, by name) are let through; every other non-public address stays refused.
    Writes ``request.meta[META_BLOCKED]`` and the stat ``netguard/blocked``, then raises
    IgnoreRequest (the spider's outcome ``blocked``). The host is resolved with the
    crawler's caching resolver, the one the connection then uses, so the checked address
    is the address connected to.
    """

    def __init__(self, crawler: Crawler) -> None:
        if crawler.settings.getbool("ALLOW_PRIVATE_ADDRESSES"):
            raise NotConfigured
        self.crawler = crawler
        self.stats = crawler.stats
        allowed = crawler.settings.getlist("ALLOW_PRIVATE_HOSTS")
        self.allowed = {host.strip().lower() for host in allowed}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressGuardMiddleware:
        return cls(crawler)

    def _block(self, request: Request, reason: str) -> IgnoreRequest:
        request.meta[META_BLOCKED] = reason
        self.stats.inc_value("netguard/blocked")
        logger.warning("Blocked %s: %s", request.url, reason)
        return IgnoreRequest(reason)

    async def process_request(self, request: Request) -> None:
        parts = urlparse_cached(request)
        if parts.scheme not in ("http", "https"):
            raise self._block(request, f"unsupported scheme {parts.scheme!r}")
        host = parts.hostname or ""
        if host in self.allowed:
            return
        address = parse_ip(host)
        if address is None:
            try:
                address = await maybe_deferred_to_future(reactor.resolve(host))
            except DNSLookupError:
                return  # the download fails with the DNS error: outcome `error`
        try:
            check_address(host, address)
        except BlockedAddressError as exc:
            raise self._block(request, str(exc)) from None

    def process_response(self, request: Request, response: Response) -> Response:
        # Second line of defence: the peer actually connected to.
        if (
            response.ip_address is not None
            and urlparse_cached(request).hostname not in self.allowed
        ):
            try:
                check_address(urlparse_cached(request).hostname or "", response.ip_address)
            except BlockedAddressError as exc:
                raise self._block(request, str(exc)) from None
        return response
