"""Which of a page's requisites are fetched, once per crawl, within the page's limits.

:class:`RequisiteWalker` walks a page's requisites level by level (the page's own, then
what its stylesheets and frames reference, ...), fetching each through a *download*
function the crawl gives it (Scrapy's downloader: the address guard, robots.txt,
politeness, retries and WARC capture apply), and counts what became of each:
fetched, failed or skipped. A URL is downloaded once per crawl: a page that needs one
already fetched (or being fetched) for another page waits for that fetch and shares
its result. Limits per page (:class:`RequisiteLimits`): how many, how many bytes, how
deep; frames are followed one level (a frame's frames are skipped).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from crawler.core.items import FoundRequisite, RequisiteCounts

FETCHED, FAILED, SKIPPED = "fetched", "failed", "skipped"
FRAME = "frame"  # (crawler.extract.requisites.FRAME; fetch does not import extract)


@dataclass(frozen=True, slots=True)
class RequisiteLimits:
    """Per page: requisites taken, bytes of them, and levels below the page (1: what the
    page references; 2: what those reference, ...)."""

    count: int = 300
    bytes: int = 64 * 1024 * 1024
    depth: int = 4

    def __post_init__(self) -> None:
        for name in ("count", "bytes", "depth"):
            if getattr(self, name) < 0:
                raise ValueError(f"requisite limit {name} must be >= 0")


@dataclass(frozen=True, slots=True)
class Fetched:
    """What one requisite's download gave (shared by every page that needs it)."""

    outcome: str  # fetched | failed | skipped
    reason: str | None = None  # failed/skipped: a stats key part (http_404, robots, ...)
    size: int = 0  # bytes of the body
    children: tuple[FoundRequisite, ...] = ()  # what a stylesheet or frame references


Download = Callable[[FoundRequisite, str, int], Awaitable[Fetched]]


class RequisiteWalker:
    """One per crawl: its seen-set makes each requisite a single download.

    *download(requisite, referer, max_bytes)* fetches one and never raises for a
    network or HTTP failure (it returns a failed Fetched); *count(key, n)* counts
    ``requisites/*`` stats.
    """

    def __init__(
        self,
        download: Download,
        limits: RequisiteLimits,
        count: Callable[[str, int], object] = lambda key, n: None,
        max_seen: int = 500_000,
    ) -> None:
        self.download = download
        self.limits = limits
        self.count = count
        # Each URL's download, the oldest forgotten past max_seen (a long crawl's memory
        # stays bounded: one forgotten and needed again is fetched again, and stored as
        # a revisit when unchanged).
        self.seen: OrderedDict[str, asyncio.Future[Fetched]] = OrderedDict()
        self.max_seen = max_seen

    async def _shared(self, requisite: FoundRequisite, referer: str, budget: int) -> Fetched:
        """The result of *requisite*'s one download in this crawl."""
        future = self.seen.get(requisite.url)
        if future is not None:
            self.seen.move_to_end(requisite.url)
            self.count("requisites/shared", 1)
            return await asyncio.shield(future)
        future = asyncio.get_running_loop().create_future()
        self.seen[requisite.url] = future
        while len(self.seen) > self.max_seen:
            self.seen.popitem(last=False)  # (a download in flight keeps its own future)
        try:
            result = await self.download(requisite, referer, budget)
        except Exception as exc:  # a bug below must cost one requisite, not the page
            result = Fetched(FAILED, type(exc).__name__)
        if result.outcome == SKIPPED and result.reason == "bytes":
            self.seen.pop(requisite.url, None)  # too big for this page: another may have room
        future.set_result(result)
        self.count(f"requisites/{result.outcome}", 1)
        if result.outcome != FETCHED:
            self.count(f"requisites/{result.outcome}/{result.reason}", 1)
        else:
            self.count(f"requisites/kind/{requisite.kind}", 1)
            self.count("requisites/bytes", result.size)
        return result

    async def walk(self, page_url: str, found: tuple[FoundRequisite, ...]) -> RequisiteCounts:
        """Fetch the requisites of the page at *page_url* (its own are *found*);
        returns what became of them."""
        limits = self.limits
        fetched = failed = skipped = 0
        used = 0  # bytes of this page's requisites so far
        taken: set[str] = {page_url.partition("#")[0]}
        level = [(r, page_url, False) for r in found]  # (requisite, referer, in a frame)
        depth = 1
        while level:
            batch: list[tuple[FoundRequisite, str, bool]] = []
            for requisite, referer, in_frame in level:
                if requisite.url in taken:
                    continue
                taken.add(requisite.url)
                if depth > limits.depth:
                    skipped += 1
                    self.count("requisites/skipped/depth", 1)
                elif in_frame and requisite.kind == FRAME:
                    skipped += 1
                    self.count("requisites/skipped/frame_depth", 1)
                elif fetched + failed + len(batch) >= limits.count:
                    skipped += 1
                    self.count("requisites/skipped/count", 1)
                else:
                    batch.append((requisite, referer, in_frame))
            budget = max(limits.bytes - used, 0)
            results = await asyncio.gather(
                *(self._budgeted(r, referer, budget) for r, referer, _ in batch)
            )
            level = []
            for (requisite, _, in_frame), result in zip(batch, results, strict=True):
                if result.outcome == FETCHED:
                    fetched += 1
                    used += result.size
                    inside = in_frame or requisite.kind == FRAME
                    level += [(child, requisite.url, inside) for child in result.children]
                elif result.outcome == FAILED:
                    failed += 1
                else:
                    skipped += 1
            depth += 1
        return RequisiteCounts(fetched, failed, skipped)

    async def _budgeted(self, requisite: FoundRequisite, referer: str, budget: int) -> Fetched:
        if budget <= 0:
            self.count("requisites/skipped/bytes", 1)
            return Fetched(SKIPPED, "bytes")
        return await self._shared(requisite, referer, budget)
