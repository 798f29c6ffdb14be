"""Offline work on an archive, behind the ``scrapy`` commands: verify, reextract,
export, pack (WACZ), replay (pywb), reports (+ svg), regroup, progress text. Plain:
never imports a Scrapy-facing package.
"""
