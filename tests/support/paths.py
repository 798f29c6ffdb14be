"""Where things are: the project root and the data the tests read (checked in under tests/)."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
ROOT = TESTS.parent  # the project: `scrapy` commands run here, as a user runs them
BIN = Path(sys.executable).parent  # the virtualenv's executables (warcio, lint-imports, ...)

SITE = TESTS / "site"  # the loopback news site (tests.support.siteserver serves it)
SEEDS = TESTS / "seeds"  # seed documents, {{BASE}} for the site's base URL
GOLDEN = TESTS / "golden"  # golden text dumps of the site (tests/unit/extract/test_golden.py)
WARCS = TESTS / "warcs"  # other crawlers' WARC files (tests/warcs/README.md)
