"""The extraction stage, as the crawl and ``reextract`` both run it: a fetched page in, the
page with its outcome (and article) out.

Checks first (a page that is not HTML, or empty, holds no article), then the extractor
(``EXTRACT_FUNCTION``) in worker processes, at most ``max_in_flight`` pages at a time
(callers wait for a place), or inline with no workers; a page whose extraction fails,
runs past the time limit or kills its worker costs that page an ``error``. Every
decision is counted through ``count`` (keys ``extract/*``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crawler.core.items import Extraction, ExtractOptions, FetchedPage
from crawler.core.outcomes import ERROR, NO_TEXT, OK
from crawler.extract.access import BLOCKING, CONSENT_WALL
from crawler.extract.minhash import signed
from crawler.extract.prose import prose_words
from crawler.extract.requisites import html_requisites
from crawler.extract.workers import (
    FunctionLoadError,
    FunctionRef,
    WorkerCrashedError,
    WorkerPool,
    WorkerTimeoutError,
    load_function,
    timed_call,
    warm,
)

logger = logging.getLogger(__name__)

# Media types trafilatura can read; anything else is archived but not extracted.
HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xml", "text/xml", "text/plain")


class ExtractionError(Exception):
    """trafilatura failed on a page (a bug or a pathological document), not 'no article'."""


def quiet_trafilatura_logging() -> None:
    """trafilatura logs empty pages at WARNING/ERROR; for a crawler they are an outcome
    (``no_text``), so they must not count as crawl errors. (By logger name: this process
    need not import trafilatura.)"""
    for name in ("trafilatura", "htmldate", "courlan", "justext"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def blocked_page(item: FetchedPage) -> FetchedPage | None:
    """*item* as an error when it is still a challenge or rate-limit page after the
    retries (not the article; the evidence is the error), else None."""
    if item.access is None or item.access.label not in BLOCKING:
        return None
    error = f"{item.access.label}: {item.access.evidence}"
    return dataclasses.replace(item, outcome=ERROR, error=error)


def sign(extraction: Extraction) -> Extraction:
    """*extraction* with its article's words (when the extractor did not count them) and
    MinHash signature, computed where the article is made (a worker), not in the
    crawler process."""
    article = extraction.article
    if article is None:
        return extraction
    words = article.words or prose_words(article.text)
    minhash, shingles = signed(article.text)
    article = dataclasses.replace(article, words=words, minhash=minhash, shingles=shingles)
    return dataclasses.replace(extraction, article=article)


@dataclass(frozen=True)
class SignedExtractor:
    """The job the workers run: ``EXTRACT_FUNCTION``, then :func:`sign`, and the page's
    requisites when the options ask (pickles as the function's path when given a
    FunctionRef)."""

    function: Callable[..., Extraction]

    def __call__(
        self, body: bytes, content_type: str | None, url: str, options: ExtractOptions
    ) -> Extraction:
        extraction = sign(self.function(body, content_type, url, options))
        if options.requisites:
            found = html_requisites(body, url, extraction.encoding)
            extraction = dataclasses.replace(extraction, requisites=found)
        return extraction

    def load(self) -> None:
        warm(self.function)


def worker_count(value: Any) -> int:
    """``EXTRACT_WORKERS``: empty means one per CPU; 0 inline."""
    workers = (os.cpu_count() or 1) if value in (None, "") else int(value)
    if workers < 0:
        raise ValueError(f"EXTRACT_WORKERS must be >= 0, got {workers}")
    return workers


class PageExtractor:
    """Extracts fetched pages (the crawl's ExtractPipeline and ``reextract`` alike)."""

    @classmethod
    def from_settings(
        cls, settings: Any, *, enabled: bool = True, count: Callable[[str], Any] | None = None
    ) -> PageExtractor:
        """Built from the ``EXTRACT_*`` settings (any object with Scrapy's typed getters),
        invalid values refused; not *enabled*: no workers are started."""
        options = ExtractOptions(
            min_paragraph_words=settings.getint("EXTRACT_MIN_PARAGRAPH_WORDS"),
            comments=settings.getbool("EXTRACT_COMMENTS"),
            access_rules=settings.get("ACCESS_EXTRA_RULES") or "",
        )
        if options.min_paragraph_words < 0:
            raise ValueError("EXTRACT_MIN_PARAGRAPH_WORDS must be >= 0")
        workers = worker_count(settings.get("EXTRACT_WORKERS"))  # validated even when off
        workers = workers if enabled else 0
        path = settings.get("EXTRACT_FUNCTION")
        return cls(
            # Workers import the extractor (trafilatura) themselves; this process need not.
            FunctionRef(path) if workers else load_function(path),
            options,
            workers=workers,
            timeout=settings.getfloat("EXTRACT_TIMEOUT"),
            max_in_flight=settings.getint("EXTRACT_MAX_IN_FLIGHT") or 2 * max(workers, 1),
            count=count or (lambda key: None),
        )

    def __init__(
        self,
        function: Callable[..., Extraction],
        options: ExtractOptions,
        *,
        workers: int,
        timeout: float,
        max_in_flight: int,
        count: Callable[[str], Any] = lambda key: None,
    ) -> None:
        self.function = SignedExtractor(function)
        self.options = options
        self.count = count
        self.pool: WorkerPool | None = None
        self.inline_cpu_seconds = 0.0
        if workers > 0:
            self.pool = WorkerPool(
                self.function,
                workers,
                timeout=timeout,
                max_in_flight=max_in_flight,
                initializer=quiet_trafilatura_logging,
            )
        quiet_trafilatura_logging()

    async def extract(self, item: FetchedPage, requisites: bool = False) -> FetchedPage:
        """*item* with its outcome: ok (an article), no_text, or error; with
        *requisites*, also the requisites found in it (``found_requisites``)."""
        media_type = (item.content_type or "text/html").split(";")[0].strip().lower()
        if media_type not in HTML_TYPES:
            self.count("extract/not_html")
            return dataclasses.replace(
                item, outcome=NO_TEXT, error=f"not an HTML page ({media_type})"
            )
        if not item.body:
            self.count("extract/empty_body")
            return dataclasses.replace(item, outcome=NO_TEXT, error="empty body")
        # A capture from the archive is read as the page at its own URL: its metadata
        # and relative links belong to the original, not to the memento.
        url = item.url if item.memento is not None else (item.final_url or item.url)
        options = dataclasses.replace(self.options, requisites=True) if requisites else self.options
        args = (item.body, item.content_type, url, options)
        try:
            if self.pool is None:
                extraction, cpu = timed_call(self.function, *args)
                self.inline_cpu_seconds += cpu
            else:
                extraction = await self.pool.run(*args)
        except (ExtractionError, FunctionLoadError, WorkerTimeoutError, WorkerCrashedError) as exc:
            kind = type(exc).__name__.removesuffix("Error").lower()
            self.count(f"extract/errors/{kind}")
            logger.error("Extraction failed for %s: %s", item.url, exc)
            return dataclasses.replace(item, outcome=ERROR, error=f"extraction failed: {exc}")
        # The downloader's verdict on a challenge or rate limit (made before it retried)
        # stands; otherwise the page's, read with its article.
        access = item.access if item.access and item.access.label in BLOCKING else None
        item = dataclasses.replace(item, encoding=extraction.encoding,
                                   access=access or extraction.access,
                                   found_requisites=extraction.requisites)  # fmt: skip
        if (failed := blocked_page(item)) is not None:
            return failed
        if item.access is not None and item.access.label == CONSENT_WALL:
            # A gate with no article behind it (one with the article is `full`).
            self.count("extract/no_text")
            error = f"consent wall: {item.access.evidence}"
            return dataclasses.replace(item, outcome=NO_TEXT, error=error)
        if extraction.article is None:
            self.count("extract/no_text")
            return dataclasses.replace(item, outcome=NO_TEXT)
        self.count("extract/articles")
        return dataclasses.replace(
            item, outcome=OK, article=extraction.article, links=extraction.links
        )

    @property
    def cpu_seconds(self) -> float:
        """CPU the extractions took, in the workers or inline."""
        return self.inline_cpu_seconds + (self.pool.cpu_seconds if self.pool else 0.0)

    @property
    def restarts(self) -> int:
        return self.pool.restarts if self.pool else 0

    @property
    def most_in_flight(self) -> int:
        return self.pool.most_in_flight if self.pool else 0

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
