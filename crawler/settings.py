"""Every default of the project, once, with the reason for it.

Override any of them per run with ``scrapy crawl ... -s NAME=VALUE``. Component
settings are prefixed per component (``WARC_*``, ``EXTRACT_*``, ``TEXT_*``,
``RETRY_BACKOFF_*``); invalid values stop the crawl at start-up with a message.
"""

from pathlib import Path

from scrapy.settings import default_settings as _scrapy_defaults

import crawler

BOT_NAME = "newsarchiver"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
# `scrapy crawl` from crawler/commands/crawl.py: the same command with an exit status
# that says whether every input URL got its manifest line.
COMMANDS_MODULE = "crawler.commands"

# --- output -----------------------------------------------------------------------------
# Root of everything a crawl writes (warc/, text/, manifest.jsonl, links.jsonl, runs/,
# state.sqlite); crawler.archive.directory.Archive owns it.
ARCHIVE_DIR = str(Path(__file__).resolve().parent.parent / "archive")

# Who runs the crawl: an e-mail or URL. Goes into the User-Agent and every warcinfo record.
CRAWLER_CONTACT = ""
# Base User-Agent; the contact, when set, is appended by the spiders at start-up.
USER_AGENT = f"newsarchiver/{crawler.__version__} (+https://github.com/newsarchiver/newsarchiver)"

# WARC capture (crawler.downloadermiddlewares.warc.WarcCaptureMiddleware).
WARC_ENABLED = True
WARC_PREFIX = "crawl"
# Rotate to a new file once the current one reaches this many bytes.
WARC_MAX_SIZE = 1024**3
# 1.0 is what every WARC tool reads; 1.1 adds microsecond dates.
WARC_VERSION = "1.0"
# zlib level of each record's gzip member: 6 compresses within a few percent of 9 at a
# fraction of the CPU time (warcio's own writer uses 9).
WARC_GZIP_LEVEL = 6
# Compress, hash and write records in a process of its own (off the reactor thread, on
# another core). False: in the crawler process.
WARC_WRITER_PROCESS = True

# Article extraction with trafilatura (crawler.pipelines.ExtractPipeline). Off = archive only.
EXTRACT_ENABLED = True
# A page is an article only if some paragraph has at least this many words: navigation
# and section pages (lists of one- to five-word links) become `no_text`. Words of
# Chinese, Japanese, Thai, Lao, Khmer and Myanmar text are counted from its characters.
EXTRACT_MIN_PARAGRAPH_WORDS = 10
# Reader comments: left out of the dump (they are not the article); True keeps them
# after the article, under a "## Reader comments" heading.
EXTRACT_COMMENTS = False
# Extraction runs in this many worker processes, off the reactor thread (empty: one per
# CPU; 0: inline, on the reactor thread).
EXTRACT_WORKERS = ""
# Pages being extracted at once (0: twice the workers). Pages waiting for a place keep
# their responses in Scrapy's scraper slot, so downloads pause when extraction lags.
EXTRACT_MAX_IN_FLIGHT = 0
# A page whose extraction runs longer is abandoned (outcome `error`), its worker killed.
EXTRACT_TIMEOUT = 60.0
# The extractor: (bytes, Content-Type, URL, crawler.core.items.ExtractOptions) ->
# crawler.core.items.Extraction. A different one (another library, a site-specific parser)
# plugs in here; it runs in the worker processes, so it must be importable there.
EXTRACT_FUNCTION = "crawler.extract.article.extract_page"
# Text dumps under ARCHIVE_DIR/text/ (crawler.pipelines.TextDumpPipeline).
TEXT_ENABLED = True

# How much of each page is captured (crawler.pipelines.RequisitesPipeline): html (the
# page alone), requisites (and the stylesheets, images, fonts, scripts and frames it
# needs, fetched by the crawler), browser (loaded in headless Chromium). A sources file
# can set it per site (`capture = "requisites"`).
CAPTURE = "html"
# Limits per page with requisites: how many are taken, their bytes, and how many levels
# below the page (1: what the page references; 2: what its stylesheets and frames
# reference; ...). What is left out is counted (manifest `requisites_skipped`, stats
# `requisites/skipped/<why>`). A news page needs 50-150 requisites and a few MB.
CAPTURE_REQUISITES_MAX = 300
CAPTURE_REQUISITES_MAX_BYTES = 64 * 1024 * 1024
CAPTURE_REQUISITES_MAX_DEPTH = 4
# CAPTURE=browser: Chromium to run (a path or a name on the PATH; empty: chromium or
# chromium-browser on the PATH). Never downloaded: Debian's `chromium` package.
CAPTURE_BROWSER = ""
# Pages loaded at once, in one browser. Two keep two cores busy with rendering while
# the extraction workers take the rest.
CAPTURE_BROWSER_PAGES = 2
# Seconds a page may take to load; what has loaded by then is captured. A browser that
# leaves a command unanswered this long hangs: it is restarted.
CAPTURE_BROWSER_TIMEOUT = 30.0
# Requests a page may make beyond its own (what is over is refused and counted skipped).
CAPTURE_BROWSER_MAX_REQUESTS = 500
# Also keep the rendered DOM, what the article was extracted from (a WARC resource record
# urn:dom:<url>, beside the screenshot's urn:view:<url>): `scrapy reextract` reads it.
# False: reextract reads the page's HTML as fetched (a script-written article is lost).
CAPTURE_BROWSER_DOM = True
# What the crawl captured, kept in memory to answer the browser's requests for it again
# (a site's stylesheets and logos on every page) without fetching them again.
CAPTURE_BROWSER_CACHE_BYTES = 256 * 1024 * 1024

# Seed documents bigger than this are skipped (they are read streaming, so this guards
# against mistakes such as a disk image passed as a seed, not against memory use).
SEEDS_MAX_BYTES = 256 * 1024 * 1024

# State store (ARCHIVE_DIR/state.sqlite): what earlier runs archived. A URL archived
# before (ok/no_text/unchanged) is fetched again only after this long ("30d", "12h",
# seconds) or with -a refresh=1. Empty: never.
RECRAWL_AFTER = ""
# Seconds between commits of the state store (and the syndication index in it) during a
# crawl: one commit per page costs more than the rest of its bookkeeping. A kill loses at
# most this much of it, which the next run reads back from the manifest and the dumps.
STATE_COMMIT_INTERVAL = 1.0

# The Internet Archive (crawler.downloadermiddlewares.wayback; urls and seeds spiders): a
# dead link (DNS failure, refused, timeout, 404, 410, 5xx after retries, soft 404) is
# looked up in the CDX API and the capture closest to the target date is fetched, archived
# and extracted (source "wayback"). -a as_of=YYYYMMDD[hhmmss] fetches from the archive first.
WAYBACK_ENABLED = True
WAYBACK_ENDPOINT = "https://web.archive.org"
# The archive rate-limits hard: its own download slot with these limits.
WAYBACK_CONCURRENCY = 1
WAYBACK_DELAY = 2.0
WAYBACK_TIMEOUT = 60.0
# CDX rows asked for; the closest one to the target date is used.
WAYBACK_CDX_LIMIT = 5

# --- safety -----------------------------------------------------------------------------
# Refuse hosts that are, or resolve to, loopback/private/link-local/reserved addresses
# (outcome `blocked`), redirect targets included. Turn on only to crawl your own network.
ALLOW_PRIVATE_ADDRESSES = False
# Host names (exactly as in URLs) let through all the same: your own intranet site, while
# its pages' references to other non-public addresses stay refused.
ALLOW_PRIVATE_HOSTS: list[str] = []
# Only http(s) is ever fetched: no file://, ftp://, s3:// or data: through a redirect.
DOWNLOAD_HANDLERS = {
    "file": None, "ftp": None, "s3": None, "data": None,
    # Scrapy's HTTP handler; in distributed jobs it also spaces requests per host across
    # workers (REDIS_HOST_RATE): a no-op outside them.
    "http": "crawler.scheduler.HostRateDownloadHandler",
    "https": "crawler.scheduler.HostRateDownloadHandler",
}  # fmt: skip
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
# Scrapy's base extensions without the remote control: off as above, it would still be
# imported to be told so, and with it aiohttp (0.3 s of every run's start-up).
EXTENSIONS_BASE = {
    path: order
    for path, order in _scrapy_defaults.EXTENSIONS_BASE.items()
    if path != "scrapy.extensions.remote_control.RemoteControl"
}

# --- politeness -------------------------------------------------------------------------
ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_TIMEOUT = 30
DNS_TIMEOUT = 20
# News pages are well under a few MB; a bigger body is a trap or not an article.
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en;q=1.0,*;q=0.5",
    # br and zstd payloads break parts of the WARC toolchain (pywb, cdxj-indexer),
    # so only gzip and deflate are offered. HttpCompressionMiddleware keeps this value.
    "Accept-Encoding": "gzip, deflate",
}

# Retries (crawler.downloadermiddlewares.retry.BackoffRetryMiddleware replaces Scrapy's
# RetryMiddleware).
RETRY_TIMES = 2
# Wait base * 2**(attempt-1) seconds before attempt N, capped at RETRY_BACKOFF_MAX.
RETRY_BACKOFF_BASE = 1.0
RETRY_BACKOFF_MAX = 60.0
# Honour Retry-After on 429/503 up to this many seconds; a longer wait gives up instead.
RETRY_AFTER_MAX = 120.0

# --- access state (crawler.extract.access; rules in crawler/extract/rules/access.toml) ---
# Every extracted page is labelled full / teaser / consent_wall / challenge / rate_limited
# / soft_404 with its evidence (manifest `access`, `access_evidence`; dump front matter).
ACCESS_ENABLED = True  # the downloader's retries and host pauses (labels are always given)
ACCESS_EXTRA_RULES = ""  # a TOML file of your own rules, tried before the built-in ones
ACCESS_RETRY_TIMES = 2  # a challenge or rate-limit page is fetched again this many times
ACCESS_RETRY_DELAY = 30.0  # seconds before the first retry, doubling after
ACCESS_HOST_PAUSE_AFTER = 20  # such pages from one host before it is paused for the run
ACCESS_SNIFF_MAX_BYTES = 65536  # larger responses are articles, not interstitials

# --- syndication groups (crawler.archive.groups) -------------------------------------------
# Every extracted article is grouped with its copies (the same wire story at other
# outlets): manifest `group`, `similarity`, `group_kind`; ARCHIVE_DIR/groups.jsonl.
GROUPS_ENABLED = True
DEDUP_THRESHOLD = 0.8  # estimated Jaccard similarity of bodies from which two are one story

# --- distributed jobs (crawler.distributed.job; `scrapy enqueue`, `scrapy job`, `scrapy merge`) --
# A job name turns a crawl into one worker of that job: its URLs come from Redis (the
# RedisScheduler), its outputs go to ARCHIVE_DIR/workers/<REDIS_WORKER>/, its state to Redis.
JOB = ""
REDIS_URL = ""  # e.g. redis://127.0.0.1:6379/0
# This worker's fixed name (its part is ARCHIVE_DIR/workers/<name>/). Empty: the first free
# of the host name, host-2, host-3, ... (claimed in Redis: two workers can start alike).
REDIS_WORKER = ""
REDIS_PREFIX = "newsarchiver"  # of every key the jobs use
# An entry a worker took and has not finished within this many seconds (it renews the
# lease of what it holds every third of it) is taken over by another worker.
REDIS_LEASE = 60.0
# Taken this many times without an outcome (it kills its workers): `error: poison`.
REDIS_MAX_DELIVERIES = 3
REDIS_BATCH = 16  # entries taken per Redis read
REDIS_POLL_INTERVAL = 0.5  # seconds between looks at the job while this worker is idle
# Requests per second per host across all the job's workers (token bucket in Redis;
# 0: off, each worker keeps only its own AutoThrottle/DOWNLOAD_DELAY spacing).
REDIS_HOST_RATE = 8.0
REDIS_HOST_BURST = 4.0
# Entries a worker holds at once (0: at least twice CONCURRENT_REQUESTS). The ccnews spider
# sets it to CCNEWS_FILES_AT_ONCE: its entries are whole files.
REDIS_MAX_HELD = 0

# --- CC-NEWS (the ccnews spider: Common Crawl's news archive as a source) -----------------
# Base URL of Common Crawl's data: the monthly listings and WARC files are under
# crawl-data/CC-NEWS/ there (a mirror, or a stand-in on loopback in the tests).
CCNEWS_BASE = "https://data.commoncrawl.org/"
# Bytes asked for per ranged request. Scrapy holds a response whole: a few MB keeps memory
# bounded and makes a dropped connection cheap to resume (a range larger than one record
# is grown as needed, up to DOWNLOAD_MAXSIZE).
CCNEWS_CHUNK_SIZE = 4 * 1024 * 1024
# Files read at once by one crawl (each one range at a time, in order).
CCNEWS_FILES_AT_ONCE = 2
# Retries of a range that fails (a dropped connection, a 503), waiting as RETRY_BACKOFF_*
# says, before the file is given up for this run (an `error` line naming it).
CCNEWS_RETRY_TIMES = 8

# --- components -------------------------------------------------------------------------
DOWNLOADER_MIDDLEWARES = {
    # First on the way out, last on the way back: sees a page's final live answer (after
    # redirects and retries) and turns a dead link into a capture from the archive.
    "crawler.downloadermiddlewares.wayback.WaybackMiddleware": 40,
    # Before robots.txt (100), so a refused host does not even get a robots.txt request.
    "crawler.downloadermiddlewares.netguard.AddressGuardMiddleware": 90,
    # Fixes disallowed pages slipping through while robots.txt is being fetched.
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.downloadermiddlewares.robots.SharedRobotsTxtMiddleware": 100,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.downloadermiddlewares.retry.BackoffRetryMiddleware": 550,
    # Under the back-off retries: challenges and rate-limit pages retried later, hosts
    # that keep sending them paused.
    "crawler.downloadermiddlewares.access.AccessRetryMiddleware": 540,
    # Just before HttpCompressionMiddleware (590) on the way back: spares it sniffing the
    # charset of compressed bytes (Scrapy 2.19).
    "crawler.downloadermiddlewares.compression.CompressedBodyMiddleware": 595,
    # Above RedirectMiddleware (600) and HttpCompressionMiddleware (590): sees every hop,
    # and bodies still compressed as they came off the wire.
    "crawler.downloadermiddlewares.warc.WarcCaptureMiddleware": 960,
}
ITEM_PIPELINES = {
    # Before extraction: a page captured in a browser is extracted from its rendered DOM.
    "crawler.pipelines.BrowserPipeline": 250,
    "crawler.pipelines.ExtractPipeline": 300,
    # Pages read from another archive (ccnews): the languages asked for, records copied.
    "crawler.pipelines.SourceRecordsPipeline": 340,
    # Holds each page until its requisites are fetched or given up, so its manifest
    # line, written last, says what became of them.
    "crawler.pipelines.RequisitesPipeline": 350,
    "crawler.pipelines.LinksPipeline": 400,
    "crawler.pipelines.TextDumpPipeline": 500,
    "crawler.pipelines.GroupPipeline": 600,
    "crawler.pipelines.ManifestPipeline": 800,
}
EXTENSIONS = {
    # Opens ARCHIVE_DIR (lock, recovery) before anything is fetched, writes the run record
    # and closes it after every other component is done.
    "crawler.extensions.archive.ArchiveExtension": 100,
    "crawler.extensions.hosttimes.HostTimes": 500,
    "crawler.extensions.progress.Progress": 510,
}
# At the end of each run: the WARC files it closed go into ARCHIVE_DIR/indexes/index.cdxj
# (pywb's CDXJ; `scrapy index` rebuilds it), and reports/<run>.html is written (`scrapy
# report` rewrites them).
INDEX_ENABLED = True
REPORT_ENABLED = True
# pywb's `wayback` for `scrapy replay` (empty: .venv-replay/bin/wayback, which `make
# replay-env` installs: pywb's pinned dependencies clash with Scrapy's).
REPLAY_PYWB = ""
# A progress line every this many seconds in logs (a live bar, refreshed every second,
# when stderr is a terminal); 0 turns progress reporting off.
PROGRESS_INTERVAL = 10.0
# Scrapy's own periodic "Crawled N pages" line says less than ours.
LOGSTATS_INTERVAL = 0

# Every status reaches the spider: a 404 is an outcome to record, not a silent drop.
HTTPERROR_ALLOW_ALL = True
LOG_LEVEL = "INFO"
