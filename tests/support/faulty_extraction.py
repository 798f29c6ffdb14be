"""An extractor for tests (EXTRACT_FUNCTION): the real one, except on marked pages.

``<!--crash-worker-->`` kills the worker process; ``<!--hang-worker-->`` never returns.
"""

from __future__ import annotations

import os
import time

from crawler.extract.article import extract_page as real_extract_page


def extract_page(body: bytes, content_type: str | None, url: str, options=None):
    if b"<!--crash-worker-->" in body:
        os._exit(13)
    if b"<!--hang-worker-->" in body:
        time.sleep(3600)
    return real_extract_page(body, content_type, url, options)
