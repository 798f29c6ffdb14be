"""Download time per host (stats ``hosts/<host>/*``), for the run record and the report."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.utils.httpobj import urlparse_cached

from crawler.core.keys import (
    STAT_HOST_PREFIX,
)

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


logger = logging.getLogger(__name__)


class HostTimes:
    """Counts, per host, the responses downloaded and the seconds they took (Scrapy's
    ``download_latency``): stats ``hosts/<host>/requests``, ``/seconds``, ``/slowest``,
    which the run record and the report's slowest hosts read."""

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats
        crawler.signals.connect(self.response_received, signal=signals.response_received)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostTimes:
        return cls(crawler)

    def response_received(self, response: Any, request: Any) -> None:
        latency = request.meta.get("download_latency")
        host = urlparse_cached(request).netloc
        if latency is None or not host:
            return
        prefix = f"{STAT_HOST_PREFIX}{host}/"
        self.stats.inc_value(prefix + "requests")
        self.stats.inc_value(prefix + "seconds", latency, start=0.0)
        self.stats.max_value(prefix + "slowest", latency)
