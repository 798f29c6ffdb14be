"""Downloader middlewares, one per module: netguard (the address guard), robots, retry
(back-off), access (challenges and rate limits), compression, warc (capture at 960),
wayback (the Internet Archive fallback at 40).

Importing any of them also keeps Scrapy's CookiesMiddleware off the network: it splits
cookie domains with a TLDExtract that downloads the public-suffix list over HTTP on
first use (network I/O outside Scrapy: no robots, no WARC, no throttling; a stall on
machines without internet). The snapshot bundled with tldextract is used instead.
"""

from scrapy.downloadermiddlewares import cookies as _scrapy_cookies
from tldextract import TLDExtract

_scrapy_cookies._split_domain = TLDExtract(suffix_list_urls=(), include_psl_private_domains=True)
