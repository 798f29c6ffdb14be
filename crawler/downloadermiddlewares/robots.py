"""robots.txt, obeyed for every request (Scrapy's middleware, with its waiters fixed), and
shared by the workers of a distributed job."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from crawler.core.keys import META_BLOCKED
from crawler.core.outcomes import ROBOTS_TXT, describe_exception
from crawler.extensions.archive import job_of

if TYPE_CHECKING:
    pass


logger = logging.getLogger(__name__)


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's RobotsTxtMiddleware, with every waiter getting the parsed robots.txt, and
    a robots.txt that cannot be fetched said in one line.

    Scrapy 2.19 lets all requests that arrive while robots.txt is downloading await the
    same Deferred; only the first gets the parser, the others get None and go through
    unchecked (disallowed pages fetched). Once that Deferred has fired, the parser
    (or None when robots.txt could not be fetched) is in ``_parsers``: read it there.
    Scrapy logs an unreachable robots.txt as an ERROR with a traceback; here it is one
    WARNING per host (stat ``robotstxt/unreachable``): the host's pages then fail, or
    not, on their own. A forbidden request gets ``request.meta[META_BLOCKED]``.
    In a distributed job, a robots.txt another worker fetched is read from Redis
    (crawler.distributed.politeness.SharedRobots, stat ``robotstxt/shared``) instead of
    fetched again.
    """

    _shared: Any = False  # not looked up yet

    def shared_robots(self) -> Any:
        """The job's shared robots.txt answers (None outside distributed jobs)."""
        if self._shared is False:
            job = job_of(self.crawler)
            self._shared = job.robots if job is not None else None
        return self._shared

    async def robot_parser(self, request: Request) -> Any:
        netloc = urlparse_cached(request).netloc
        if netloc not in self._parsers:
            self._parsers[netloc] = Deferred()
            await self._fetch_robots_txt(request, netloc)
        parser = self._parsers[netloc]
        if isinstance(parser, Deferred):
            await maybe_deferred_to_future(parser)  # fires once robots.txt is in,
            parser = self._parsers[netloc]  # and every waiter reads the result here
        return parser

    async def _fetch_robots_txt(self, request: Request, netloc: str) -> None:
        scheme = urlparse_cached(request).scheme
        robots = Request(
            f"{scheme}://{netloc}/robots.txt", priority=self.DOWNLOAD_PRIORITY,
            meta={"dont_obey_robotstxt": True}, callback=NO_CALLBACK,
        )  # fmt: skip
        shared = self.shared_robots()
        answer = self._shared_answer(shared, netloc)
        if answer is not None:  # another worker of the job asked the site already
            self._stats.inc_value("robotstxt/shared")
            status, body = answer
            await self._parse_robots(Response(robots.url, status, body=body), netloc, request)
            return
        try:
            response = await self.crawler.engine.download_async(robots)
            await self._parse_robots(response, netloc, request)
        except Exception as exc:
            if not isinstance(exc, IgnoreRequest):
                self._stats.inc_value("robotstxt/unreachable")
                logger.warning(
                    "robots.txt of %s could not be fetched (%s): its pages are tried as if "
                    "it allowed them", netloc, describe_exception(exc),
                )  # fmt: skip
            self._robots_error(exc, netloc)
        else:
            if shared is not None:
                try:
                    shared.put(netloc, response.status, response.body)
                except Exception as exc:  # redis-py's errors: this worker has its answer
                    logger.warning("robots.txt of %s not shared: %s", netloc, exc)
        self._stats.inc_value("robotstxt/request_count")

    def _shared_answer(self, shared: Any, netloc: str) -> tuple[int, bytes] | None:
        """The job's shared answer for *netloc*; None (fetch it) when there is none or
        Redis cannot give it (a lost answer must not turn robots.txt off)."""
        if shared is None:
            return None
        try:
            return shared.get(netloc)
        except Exception as exc:  # redis-py's errors, a damaged value
            logger.warning("shared robots.txt of %s unreadable (%s): fetching it", netloc, exc)
            return None

    def process_request_2(self, rp: Any, request: Request) -> None:
        try:
            super().process_request_2(rp, request)
        except IgnoreRequest:
            request.meta[META_BLOCKED] = ROBOTS_TXT
            raise
