"""The keys stages share: ``request.meta`` keys, and the stats that decide a run's status.

Stages talk only through ``request.meta`` and items; a key is written by one component
and read by others, so each is defined once, here, with what it holds and who writes
it. Counters that only their own component writes and only the run record reads
(``extract/no_text``, ``wayback/lookups``, ...) stay next to the code that counts them.
"""

from __future__ import annotations

# -- request.meta ----------------------------------------------------------------------
META_PAGE = "page"


"""PageRef of the input URL a request is for (spiders; read by every later stage)."""


META_WAYBACK = "wayback_plan"


"""WaybackPlan: the page may be taken from the Internet Archive (spiders -> wayback flow)."""


META_EARLIER = "earlier_capture"


"""EarlierCapture of the URL: WARC capture writes a revisit when the payload is the same."""


META_CAPTURE = "capture"


"""The page's own capture mode, a site's ``capture`` key (feeds spider -> spider -> pipelines)."""


META_REQUISITE = "requisite"


"""FoundRequisite: the request fetches a page's requisite (RequisitesPipeline)."""


META_WARC = "warc"


"""WarcPointer to the response record of the exchange (WARC capture -> spider)."""


META_FETCHED_AT = "fetched_at"


"""ISO 8601 UTC time of the response, its WARC-Date (WARC capture -> spider)."""


META_BLOCKED = "blocked_reason"


"""Why a request was refused: non-public address, robots.txt (middlewares -> spider)."""


META_MEMENTO = "memento"


"""Memento: the response is a capture from the Internet Archive (wayback flow -> spider)."""


META_WAYBACK_MISS = "wayback_miss"


"""WaybackMiss: neither the live web nor the archive had the page (wayback flow -> spider)."""


META_WAYBACK_HANDOFF = "wayback_handoff"


"""A failure a middleware above the wayback flow raised on the way back (a redirect limit,
a body too large once decompressed), handed back to the flow (spider errback -> flow)."""


META_WAYBACK_STEP = "wayback_step"


"""Where a page request is in the wayback flow (``cdx``, ``memento``, ``live``); its own."""


META_FEED_SITE = "feed_site"


"""Name of the site a feed, sitemap or homepage request belongs to (feeds spider, its own)."""


META_INDEX_DEPTH = "index_depth"


"""Sitemap-index nesting depth of a sitemap request (feeds spider, its own)."""


META_ACCESS = "access"


"""Access: a challenge or rate-limit page still answered after the retries (access
middleware -> spider -> extraction, whose own label it overrides)."""


META_ACCESS_RETRIES = "access_retries"


"""How many times a page answered with a challenge or rate limit was retried (its own)."""


META_FRONTIER_ENTRY = "frontier_entry"


"""Stream id of the distributed job's entry a request is for (Redis scheduler, its own:
a retry or redirect carrying it stays with the worker that holds the entry)."""


META_WARC_SKIP = "warc_skip"


"""True: the response is not archived by WARC capture (the bytes of a source archive read
in ranges, CC-NEWS: the records a page came from are copied instead; ccnews spider)."""


META_SOURCE_READ = "source_read"


"""The source file a ranged request reads, and from which byte (ccnews spider, its own)."""


# -- stats that decide the run's status and fill the run record ---------------------------
STAT_INPUT_TOTAL = "input/total"


"""Entries a URL list has (counted before the crawl, for progress and ETA)."""


STAT_INPUT_ENTRIES = "input/entries"


"""Input entries handed to the crawl: list entries, and discovered URLs to fetch."""


STAT_INPUT_COMPLETE = "input/complete"


"""True once the spider has read all of its input (start() ran to the end)."""


STAT_INPUT_SKIPPED = "input/skipped"


"""List entries archived by an earlier run: their earlier manifest line stands."""


STAT_MANIFEST_LINES = "manifest/lines"


"""Manifest lines written this run."""


STAT_OUTCOME_PREFIX = "manifest/outcome/"


"""+ outcome: manifest lines with that outcome."""


STAT_ARCHIVE_WRITE_ERRORS = "archive/write_errors"


"""Text dump, manifest, links or run record writes that failed: the run failed."""


STAT_WARC_WRITE_ERRORS = "warc/write_errors"


"""WARC writes that failed: the run failed."""


STAT_WARC_FILES = "warc/files"


"""Names of the WARC files closed this run."""


STAT_WARC_RECORDS = "warc/records"


"""WARC records written this run."""


STAT_TEXT_FILES = "text/files"


"""Text dumps written this run."""


STAT_SOURCES = "discovery/sources"


"""One report per feed or sitemap fetched (feeds spider)."""


STAT_SOURCES_FAILED = "discovery/sources_failed"


"""Feeds or sitemaps that could not be fetched or read: the run is incomplete."""


STAT_SEEDS_READ = "seeds/read"


"""Seed documents read (seeds spider)."""


STAT_SEEDS_LENIENT = "seeds/read_leniently"


"""Seed documents that were not UTF-8, read in a detected charset or with bad bytes replaced."""


STAT_SEEDS_SKIPPED_PREFIX = "seeds/skipped/"


"""+ reason: seed documents skipped (binary, empty, too large, unreadable)."""


STAT_RELATIVE_LINKS_SKIPPED = "seeds/relative_links_skipped"


"""Relative links in seeds with no base URL to resolve them against."""


STAT_MEDIA_LINKS_SKIPPED = "seeds/media_links_skipped"


"""Links to media and documents in seeds, skipped without ``media=1``."""


STAT_PAGES_FAILED_PREFIX = "pages/failed/"


"""+ exception class: page downloads that failed (spider errback, or the wayback flow)."""


STAT_HOST_PREFIX = "hosts/"


"""+ host/requests, /seconds, /slowest: responses per host and their download time."""


STAT_INDEX_FILES = "index/files_added"


"""WARC files added to the CDXJ index at the end of the run."""


STAT_INDEX_ERRORS = "index/errors"


"""Run ends whose WARC files could not be indexed (``scrapy index`` rebuilds it)."""


STAT_REPORT_ERRORS = "report/errors"


"""Run reports that could not be written (``scrapy report`` writes them again)."""


STAT_CPU_PREFIX = "cpu/"
STAT_CPU_EXTRACTION = "cpu/extraction"


"""CPU seconds the extractions took (in the workers, or inline)."""


STAT_CPU_WARC = "cpu/warc"


"""CPU seconds the WARC writer took (building, compressing, hashing, writing records)."""


STAT_CPU_STORAGE = "cpu/storage"


"""CPU seconds writing dumps, links, manifest lines and state took."""


STAT_CPU_CRAWLER = "cpu/crawler"


"""CPU seconds of the crawler process itself (Scrapy, the pipelines, storage)."""


STAT_RECOVERY_PREFIX = "recovery/"


"""+ what: repairs made when the archive was opened after an interrupted run."""


STAT_RUN_STATUS = "run/status"


"""complete | incomplete | failed: the crawl command's exit status comes from it."""


# Scrapy's own stats the run status reads.
STAT_FINISH_REASON = "finish_reason"
STAT_SPIDER_EXCEPTIONS = "spider_exceptions/count"
STAT_LOG_CRITICAL = "log_count/CRITICAL"
STAT_REQUESTS = "downloader/request_count"
STAT_RESPONSES = "downloader/response_count"

# Prefixes of this project's counters, all of which the run record keeps.
PROJECT_STAT_PREFIXES = (
    "input/", "discovered/", "pages/", "manifest/", "extract/", "text/", "links/", "warc/",
    "wayback/", "discovery/", "seeds/", "recovery/", "netguard/", "retry/", "robotstxt/",
    "index/", "cpu/", "job/", "access/", "groups/", "ccnews/", "requisites/", "browser/",
)  # fmt: skip


STAT_REQUISITES_LINES = "requisites/lines/"


"""Prefix of the sums of the manifest lines' requisite counts: ``pages`` (lines that
have them), ``total``, ``fetched``, ``failed``, ``skipped`` (ManifestPipeline -> run record)."""


def outcome_stat(outcome: str) -> str:
    """The stats key counting manifest lines with *outcome*."""
    return STAT_OUTCOME_PREFIX + outcome
