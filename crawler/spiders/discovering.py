"""What the spiders that find their URLs (in seed documents, in feeds) share."""

from __future__ import annotations

from typing import Any

from scrapy.http import Request

from crawler.core.identity import url_id
from crawler.core.items import PageRef
from crawler.core.keys import STAT_INPUT_ENTRIES
from crawler.spiders.base import ArchiveSpider


class DiscoveringSpider(ArchiveSpider):
    """A spider whose inputs are URLs found in documents or feeds: each is requested once
    per run, unless the archive holds it already (stat ``discovered/already_archived``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scheduled: set[int] = set()  # ids (as ints) of discovered URLs requested this run

    def discovered_request(
        self,
        url: str,
        *,
        via: str,
        depth: int = 1,
        date: str | None = None,
        capture: str | None = None,
    ) -> Request | None:
        """A request for a URL found in a document or feed, or None when it is not new.

        Its seq comes from the state store (the same on every run); ``via`` names the
        seed file or the id of the document that first linked it.
        """
        id_ = url_id(url)
        if int(id_, 16) in self.scheduled:
            return None
        self.scheduled.add(int(id_, 16))
        archive = self.archive
        state = archive.previous(id_)
        if archive.is_done(state, refresh=self.refresh):
            self.crawler.stats.inc_value("discovered/already_archived")
            return None
        if not self.crawler.settings.get("JOB"):
            # (in a distributed job an entry counts where it is finished: RedisScheduler)
            self.crawler.stats.inc_value(STAT_INPUT_ENTRIES)
        seq = archive.state.seq_for(id_, url)
        return self.page_request(PageRef(url, id_, seq, via, date, depth), state, capture)
