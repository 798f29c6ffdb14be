"""``scrapy crawl seeds -a seeds=PATH [-a depth=N] [-a media=1]``: the citation crawl.

Seed documents (front-matter markdown like the project's seeds, plain text, markdown,
HTML) cite sources; this fetches and archives them. PATH is a file, a directory (read
recursively) or a glob. ``depth=1`` (default) fetches what the seeds link to; ``depth=2``
also what those articles link to in their main content, and so on. Each link is
recorded in ``links.jsonl``; each URL is fetched once per run and, once archived, not
again (``-a refresh=1`` or ``RECRAWL_AFTER`` to re-fetch). Unreadable seeds (binary,
empty, not UTF-8, larger than ``SEEDS_MAX_BYTES``) are skipped with a log line.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals

from crawler.core.items import FetchedPage, FoundLink, LinkRecord
from crawler.core.keys import (
    STAT_INPUT_COMPLETE,
    STAT_MEDIA_LINKS_SKIPPED,
    STAT_RELATIVE_LINKS_SKIPPED,
    STAT_SEEDS_LENIENT,
    STAT_SEEDS_READ,
    STAT_SEEDS_SKIPPED_PREFIX,
)
from crawler.core.outcomes import OK
from crawler.extract.links import LinkRules
from crawler.sources.seeds import SeedSkipped, find_seed_files, read_seed
from crawler.sources.urllists import InputFormatError
from crawler.spiders.base import truthy
from crawler.spiders.discovering import DiscoveringSpider

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class SeedsSpider(DiscoveringSpider):
    name = "seeds"
    uses_wayback = True

    def __init__(
        self,
        seeds: str | None = None,
        depth: str = "1",
        media: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if not seeds:
            raise InputFormatError("the seeds spider needs documents: -a seeds=PATH")
        try:
            self.depth = int(depth)
        except ValueError:
            raise InputFormatError(f"depth must be a whole number >= 1, got {depth!r}") from None
        if self.depth < 1:
            raise InputFormatError(f"depth must be >= 1, got {self.depth}")
        self.seeds_path = seeds
        self.rules = LinkRules(media=truthy(media))  # which links are taken, and a count
        self.files = find_seed_files(seeds)
        root = Path(seeds)
        self.seed_root = root if root.is_dir() else None

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SeedsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.max_bytes = crawler.settings.getint("SEEDS_MAX_BYTES")
        crawler.signals.connect(spider.page_done, signal=signals.item_scraped)
        return spider

    def run_arguments(self) -> dict[str, Any]:
        arguments = {"seeds": self.seeds_path, "depth": self.depth, "media": self.rules.media}
        return {**arguments, **super().run_arguments()}

    def seed_name(self, path: Path) -> str:
        """How a seed is named in ``via`` and ``links.jsonl``: relative to PATH if a dir."""
        return str(path.relative_to(self.seed_root)) if self.seed_root else path.name

    async def start(self) -> AsyncIterator[Any]:
        stats = self.crawler.stats
        stats.set_value(STAT_SEEDS_READ, 0)
        for path in self.files:
            name = self.seed_name(path)
            try:
                document = read_seed(path, max_bytes=self.max_bytes, rules=self.rules)
            except SeedSkipped as exc:
                stats.inc_value(STAT_SEEDS_SKIPPED_PREFIX + exc.kind)
                logger.warning("Skipped seed %s: %s", path, exc)
                continue
            stats.inc_value(STAT_SEEDS_READ)
            if document.lenient:
                stats.inc_value(STAT_SEEDS_LENIENT)
                logger.info("Seed %s is not UTF-8: read as %s", path, document.lenient)
            seen_here: set[str] = set()
            date = self.entry_date(document.date, path)  # the date the seed cites them
            for link in document.links:
                for output in self.follow(link, via=name, depth=1, seen_here=seen_here, date=date):
                    yield output
        stats.set_value(STAT_RELATIVE_LINKS_SKIPPED, self.rules.relative_skipped)
        stats.set_value(STAT_MEDIA_LINKS_SKIPPED, self.rules.media_skipped)
        stats.set_value(STAT_INPUT_COMPLETE, True)

    def follow(
        self,
        link: FoundLink,
        *,
        via: str,
        depth: int,
        seen_here: set[str] | None = None,
        date: str | None = None,
    ) -> Iterator[Any]:
        """For a link in a seed: its link record (once per seed), and a request if new."""
        if seen_here is not None:
            id_ = link.id
            if id_ in seen_here:
                return
            seen_here.add(id_)
            yield LinkRecord(via, id_, link.url, link.anchor)
        request = self.discovered_request(link.url, via=via, depth=depth, date=date)
        if request is not None:
            yield request

    def page_done(self, item: Any) -> None:
        """Follow the main-content links of an article that is not yet at full depth."""
        if not isinstance(item, FetchedPage) or item.outcome != OK:
            return
        depth = item.page.depth
        if depth >= self.depth:
            return
        for link in item.links:
            if self.rules.skips_media(link.url):
                continue
            for request in self.follow(link, via=item.id, depth=depth + 1):
                self.crawler.engine.crawl(request)
