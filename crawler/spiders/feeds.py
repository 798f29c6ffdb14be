"""``scrapy crawl feeds``: news discovery for scheduled runs.

``-a feeds=URL[,URL...]`` (RSS, Atom or sitemap URLs) and/or ``-a sources=FILE`` (a TOML
file of sites; see crawler/sources/sites.py). A site given by its homepage gets its feeds
from ``<link rel="alternate">`` and its sitemaps from robots.txt ``Sitemap:`` lines.
Filters: ``-a since=YYYY-MM-DD`` (by the date a feed or sitemap gives, where it gives
one), ``-a allow=REGEX`` and ``-a deny=REGEX`` on article URLs (on top of a site's own).

Feeds and sitemaps are fetched on every run with a conditional GET (ETag /
Last-Modified from the state store); a 304 is archived and means nothing new. Articles
archived by an earlier run are not fetched again. A feed or sitemap that cannot be
fetched or read makes the run incomplete (exit status 1) and is listed in the run record.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.http import Request, Response
from twisted.python.failure import Failure

from crawler.core.identity import url_id
from crawler.core.items import LinkRecord
from crawler.core.keys import (
    META_FEED_SITE,
    META_INDEX_DEPTH,
    STAT_INPUT_COMPLETE,
    STAT_SOURCES,
    STAT_SOURCES_FAILED,
)
from crawler.core.outcomes import describe_exception
from crawler.core.urls import InvalidURL, validate_url
from crawler.sources.feeds import (
    Candidate,
    DiscoveryError,
    compile_patterns,
    feed_links,
    maybe_gunzip,
    parse_date,
    parse_feed,
    parse_sitemap,
    robots_sitemaps,
    root_kind,
    url_allowed,
)
from crawler.sources.sites import Site, load_sources
from crawler.sources.urllists import InputFormatError
from crawler.spiders.discovering import DiscoveringSpider

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

MAX_INDEX_DEPTH = 5  # sitemap indexes pointing at indexes: enough for real sites, no loops


class FeedsSpider(DiscoveringSpider):
    name = "feeds"

    def __init__(
        self,
        feeds: str | None = None,
        sources: str | None = None,
        since: str | None = None,
        allow: str | None = None,
        deny: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.sites: list[Site] = load_sources(sources) if sources else []
        self.arguments = {"feeds": feeds, "sources": sources, "since": since,
                          "allow": allow, "deny": deny}  # fmt: skip
        if feeds:
            urls = []
            for raw in feeds.split(","):
                try:
                    urls.append(validate_url(raw.strip()))
                except InvalidURL as exc:
                    raise InputFormatError(f"feeds: {exc}: {raw.strip()!r}") from None
            self.sites.append(Site("command line", feeds=tuple(urls)))
        if not self.sites:
            raise InputFormatError("give -a feeds=URL[,URL...] and/or -a sources=FILE")
        self.since: datetime | None = None
        if since:
            self.since = parse_date(since)
            if self.since is None:
                raise InputFormatError(f"since must be an ISO 8601 date, got {since!r}")
        try:
            self.allow = compile_patterns([allow] if allow else [], "allow")
            self.deny = compile_patterns([deny] if deny else [], "deny")
            self.site_filters = {
                site.name: (
                    compile_patterns(site.allow, "allow"),
                    compile_patterns(site.deny, "deny"),
                )
                for site in self.sites
            }
        except DiscoveryError as exc:
            raise InputFormatError(str(exc)) from None
        self.fixed_delay_hosts: set[str] = set()  # hosts whose delay AutoThrottle must not touch
        for site in self.sites:
            if site.download_delay is not None:
                self.fixed_delay_hosts |= site.hosts
        self.requested_sources: set[str] = set()
        self.report: list[dict[str, Any]] = []  # one entry per feed/sitemap fetch

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> FeedsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.apply_site_politeness, signal=signals.spider_opened)
        return spider

    def run_arguments(self) -> dict[str, Any]:
        return {**self.arguments, **super().run_arguments()}

    def apply_site_politeness(self) -> None:
        """Per-site download_delay / concurrency become the download slots of its hosts."""
        slots = self.crawler.engine.downloader.per_slot_settings
        for site in self.sites:
            overrides: dict[str, Any] = {}
            if site.download_delay is not None:
                overrides["delay"] = site.download_delay
            if site.concurrency is not None:
                overrides["concurrency"] = site.concurrency
            for host in site.hosts if overrides else ():
                slots[host] = {**slots.get(host, {}), **overrides}

    # -- sources ---------------------------------------------------------------------------
    async def start(self) -> AsyncIterator[Any]:
        for site in self.sites:
            for url in (*site.feeds, *site.sitemaps):
                if (request := self.source_request(url, site)) is not None:
                    yield request
            if site.homepage:
                meta = {META_FEED_SITE: site.name}
                yield Request(
                    site.homepage, callback=self.parse_homepage, errback=self.source_failed,
                    meta=meta, dont_filter=True,
                )  # fmt: skip
                parts = urlsplit(site.homepage)
                yield Request(
                    f"{parts.scheme}://{parts.netloc}/robots.txt",
                    callback=self.parse_robots,
                    errback=self.source_failed,
                    meta={**meta, "dont_obey_robotstxt": True},
                    dont_filter=True,
                )
        self.crawler.stats.set_value(STAT_INPUT_COMPLETE, True)

    def site(self, response_or_request: Response | Request) -> Site:
        name = response_or_request.meta[META_FEED_SITE]
        return next(s for s in self.sites if s.name == name)

    def source_request(self, url: str, site: Site, index_depth: int = 0) -> Request | None:
        """A conditional GET of a feed or sitemap, once per run."""
        if url in self.requested_sources:
            return None
        self.requested_sources.add(url)
        headers = {}
        etag, last_modified = self.archive.state.validators(url)
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return Request(
            url,
            headers=headers,
            callback=self.parse_source,
            errback=self.source_failed,
            meta={
                META_FEED_SITE: site.name,
                META_INDEX_DEPTH: index_depth,
                "autothrottle_dont_adjust_delay": self.fixed_delay(url),
            },
            dont_filter=True,
        )

    def _report(self, url: str, **fields: Any) -> None:
        self.report.append({"url": url, "id": url_id(url), **fields})
        if fields.get("error"):
            self.crawler.stats.inc_value(STAT_SOURCES_FAILED)
            logger.error("Feed or sitemap %s failed: %s", url, fields["error"])

    def parse_homepage(self, response: Response) -> Iterator[Request]:
        site = self.site(response)
        found = feed_links(response.body, response.url) if response.status == 200 else []
        self.crawler.stats.inc_value("discovery/homepage_feeds", len(found))
        for url in found:
            if (request := self.source_request(url, site)) is not None:
                yield request

    def parse_robots(self, response: Response) -> Iterator[Request]:
        if response.status != 200:
            return
        site = self.site(response)
        for url in robots_sitemaps(response.body, response.url):
            if (request := self.source_request(url, site)) is not None:
                yield request

    def source_failed(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        if request.url.endswith("/robots.txt") or request.callback == self.parse_homepage:
            logger.warning("Could not fetch %s: %s", request.url, describe_exception(failure.value))
            return
        self._report(request.url, status=None, error=describe_exception(failure.value))

    def parse_source(self, response: Response) -> Iterator[Any]:
        url = response.request.url if response.request else response.url
        site = self.site(response)
        if response.status == 304:
            self.crawler.stats.inc_value("discovery/not_modified")
            self._report(url, status=304, entries=0, new=0)
            return
        if response.status != 200:
            self._report(url, status=response.status, error=f"HTTP {response.status}")
            return
        try:
            data = maybe_gunzip(response.body)
            kind = root_kind(data)
            if kind == "feed":
                candidates = parse_feed(data, response.url)
            elif kind in ("urlset", "sitemapindex"):
                kind, candidates = parse_sitemap(data)
            else:
                raise DiscoveryError("neither a feed nor a sitemap")
        except DiscoveryError as exc:
            self._report(url, status=response.status, error=str(exc))
            return
        self.archive.state.set_validators(
            url,
            _header(response, b"ETag"),
            _header(response, b"Last-Modified"),
        )
        if kind == "sitemapindex":
            depth = response.meta.get(META_INDEX_DEPTH, 0) + 1
            children = [c for c in candidates if not self._too_old(c)]
            self._report(url, status=200, kind=kind, entries=len(candidates), new=0)
            if depth <= MAX_INDEX_DEPTH:
                for child in children:
                    if (request := self.source_request(child.url, site, depth)) is not None:
                        yield request
            return
        source_id = url_id(url)
        new = 0
        for candidate in candidates:
            if self._too_old(candidate) or not self._allowed(candidate.url, site):
                self.crawler.stats.inc_value("discovery/filtered")
                continue
            yield LinkRecord(source_id, url_id(candidate.url), candidate.url, candidate.title or "")
            request = self.discovered_request(candidate.url, via=source_id, capture=site.capture)
            if request is not None:
                if self.fixed_delay(candidate.url):
                    request.meta["autothrottle_dont_adjust_delay"] = True
                new += 1
                yield request
        self._report(url, status=200, kind=kind, entries=len(candidates), new=new)

    def fixed_delay(self, url: str) -> bool:
        """A site's own download_delay holds for its hosts: AutoThrottle must not lower it."""
        return urlsplit(url).hostname in self.fixed_delay_hosts

    def _too_old(self, candidate: Candidate) -> bool:
        return bool(self.since and candidate.date and candidate.date < self.since)

    def _allowed(self, url: str, site: Site) -> bool:
        try:
            validate_url(url)
        except InvalidURL:
            return False
        site_allow, site_deny = self.site_filters[site.name]
        return url_allowed(url, [*self.allow, *site_allow], [*self.deny, *site_deny])

    def closed(self, reason: str) -> None:
        self.crawler.stats.set_value(STAT_SOURCES, self.report)


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
