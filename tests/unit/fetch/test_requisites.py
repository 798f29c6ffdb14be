"""Which requisites are fetched, once per crawl, within a page's limits:
crawler.fetch.requisites.RequisiteWalker, with a fake download."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from crawler.core.items import FoundRequisite, RequisiteCounts
from crawler.fetch.requisites import (
    FAILED,
    FETCHED,
    SKIPPED,
    Fetched,
    RequisiteLimits,
    RequisiteWalker,
)

PAGE = "https://news.example/story.html"


def req(name: str, kind: str = "image") -> FoundRequisite:
    return FoundRequisite(f"https://news.example/{name}", kind)


class FakeSite:
    """Downloads that answer from a table: name -> Fetched (default: fetched, 100 bytes)."""

    def __init__(self, answers: dict[str, Fetched] | None = None, delay: float = 0) -> None:
        self.answers = answers or {}
        self.delay = delay
        self.downloads: Counter[str] = Counter()
        self.budgets: dict[str, int] = {}

    async def __call__(self, requisite: FoundRequisite, referer: str, budget: int) -> Fetched:
        name = requisite.url.rsplit("/", 1)[-1]
        self.downloads[name] += 1
        self.budgets[name] = budget
        if self.delay:
            await asyncio.sleep(self.delay)
        return self.answers.get(name, Fetched(FETCHED, size=100))


def walker(site: FakeSite, **limits: int) -> tuple[RequisiteWalker, Counter[str]]:
    stats: Counter[str] = Counter()

    def count(key: str, n: int) -> None:
        stats[key] += n

    return RequisiteWalker(site, RequisiteLimits(**limits), count), stats


def walk(w: RequisiteWalker, found: list[FoundRequisite], page: str = PAGE) -> RequisiteCounts:
    return asyncio.run(w.walk(page, tuple(found)))


def test_nested_stylesheets_are_followed_and_each_url_downloaded_once():
    site = FakeSite({
        "main.css": Fetched(FETCHED, size=10, children=(req("base.css", "stylesheet"),
                                                        req("bg.png"))),
        "base.css": Fetched(FETCHED, size=10, children=(req("font.woff2", "font"),
                                                        req("main.css", "stylesheet"))),
    })  # fmt: skip
    w, stats = walker(site)
    counts = walk(w, [req("main.css", "stylesheet"), req("bg.png"), req("logo.png")])
    assert counts == RequisiteCounts(fetched=5)  # main, bg, logo, base, font (main once)
    assert set(site.downloads.values()) == {1}
    # a second page needing the same ones downloads nothing again
    again = walk(w, [req("main.css", "stylesheet"), req("logo.png")], PAGE + "?2")
    assert again == RequisiteCounts(fetched=5)
    assert set(site.downloads.values()) == {1} and stats["requisites/shared"] == 5


def test_pages_at_once_share_one_download_in_flight():
    site = FakeSite(delay=0.05)
    w, _ = walker(site)

    async def two_pages():
        return await asyncio.gather(
            w.walk(PAGE, (req("a.png"), req("b.png"))), w.walk(PAGE + "?2", (req("a.png"),))
        )

    first, second = asyncio.run(two_pages())
    assert first == RequisiteCounts(fetched=2) and second == RequisiteCounts(fetched=1)
    assert site.downloads == {"a.png": 1, "b.png": 1}


def test_failures_and_refusals_are_counted_with_why():
    site = FakeSite({
        "gone.png": Fetched(FAILED, "http_404"),
        "robots.png": Fetched(SKIPPED, "refused"),
    })  # fmt: skip
    w, stats = walker(site)
    counts = walk(w, [req("gone.png"), req("robots.png"), req("ok.png")])
    assert counts == RequisiteCounts(fetched=1, failed=1, skipped=1)
    assert stats["requisites/failed/http_404"] == 1 and stats["requisites/skipped/refused"] == 1


def test_a_download_that_raises_costs_one_requisite():
    async def broken(requisite, referer, budget):
        if requisite.url.endswith("bad.png"):
            raise RuntimeError("bug")
        return Fetched(FETCHED, size=1)

    w = RequisiteWalker(broken, RequisiteLimits())
    assert walk(w, [req("bad.png"), req("good.png")]) == RequisiteCounts(fetched=1, failed=1)


def test_count_limit():
    site = FakeSite()
    w, stats = walker(site, count=3)
    counts = walk(w, [req(f"{i}.png") for i in range(10)])
    assert counts == RequisiteCounts(fetched=3, skipped=7)
    assert stats["requisites/skipped/count"] == 7 and sum(site.downloads.values()) == 3


def test_depth_limit():
    site = FakeSite({
        "a.css": Fetched(FETCHED, children=(req("b.css", "stylesheet"),)),
        "b.css": Fetched(FETCHED, children=(req("c.css", "stylesheet"),)),
    })  # fmt: skip
    w, stats = walker(site, depth=2)
    assert walk(w, [req("a.css", "stylesheet")]) == RequisiteCounts(fetched=2, skipped=1)
    assert stats["requisites/skipped/depth"] == 1 and "c.css" not in site.downloads


def test_byte_budget_is_the_pages_and_what_is_over_it_is_skipped():
    site = FakeSite({"big.png": Fetched(FETCHED, size=900)})
    w, _ = walker(site, bytes=1000)
    counts = walk(w, [req("big.png")])
    assert counts == RequisiteCounts(fetched=1) and site.budgets["big.png"] == 1000
    site.answers["big.css"] = Fetched(FETCHED, size=200, children=(req("late.png"),))
    w2, stats2 = walker(site, bytes=1000)
    # 900 + 200 bytes on the first level: nothing left for the second
    assert walk(w2, [req("big.png"), req("big.css", "stylesheet")]) == RequisiteCounts(
        fetched=2, skipped=1
    )
    assert stats2["requisites/skipped/bytes"] == 1


def test_too_big_for_one_page_is_tried_again_for_another():
    site = FakeSite({"huge.png": Fetched(SKIPPED, "bytes")})
    w, _ = walker(site)
    walk(w, [req("huge.png")])
    walk(w, [req("huge.png")], PAGE + "?2")
    assert site.downloads["huge.png"] == 2


def test_frames_one_level():
    site = FakeSite({
        "frame.html": Fetched(FETCHED, children=(req("f.css", "stylesheet"),
                                                 req("inner.html", "frame"))),
    })  # fmt: skip
    w, stats = walker(site)
    counts = walk(w, [req("frame.html", "frame")])
    assert counts == RequisiteCounts(fetched=2, skipped=1)  # the frame and its stylesheet
    assert stats["requisites/skipped/frame_depth"] == 1


def test_limits_are_checked():
    with pytest.raises(ValueError, match="count"):
        RequisiteLimits(count=-1)


def test_the_seen_set_is_bounded_and_a_forgotten_url_is_fetched_again():
    site = FakeSite()
    w = RequisiteWalker(site, RequisiteLimits(), max_seen=2)
    walk(w, [req("a.png"), req("b.png")])
    walk(w, [req("c.png")], PAGE + "?2")  # a is forgotten
    walk(w, [req("b.png"), req("a.png")], PAGE + "?3")
    assert site.downloads == {"a.png": 2, "b.png": 1, "c.png": 1}
    assert len(w.seen) == 2
