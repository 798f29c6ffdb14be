"""Scrapy extensions: the archive's owner (opens first, closes last) and the end of a
run, download times per host, progress.
"""
