"""The extraction rules' version (light: the crawler process reads it without importing
trafilatura).

Bumped whenever a rule of :mod:`crawler.extract.article`, :mod:`crawler.extract.metadata`
or the access rules changes what a dump or a manifest line holds, so each dump names
the rules that made it (front matter ``extractor``) and each run record too
(``versions.extraction_rules``); ``scrapy reextract`` brings an older archive to them.
"""

RULES_VERSION = "2026.12.1"
