"""Bytes to an article with its labels: decoding, trafilatura, main-content links,
access labels, soft 404s, language, words, MinHash, the worker pool and the extraction
stage. Runs in spawned worker processes: imports only ``core`` (never Scrapy, the
archive or WARC code).
"""
