"""What happened to a URL, in the manifest's words: outcomes and error messages."""

from __future__ import annotations

from http import HTTPStatus

OK = "ok"  # article extracted (or archived, with extraction off)
NO_TEXT = "no_text"  # archived, no article: navigation page, image, empty
ERROR = "error"  # invalid input, network failure, HTTP 4xx/5xx, extraction failure
BLOCKED = "blocked"  # robots.txt, or a non-public address
DUPLICATE = "duplicate"  # same canonical URL as an earlier entry of the list
UNCHANGED = "unchanged"  # re-fetched, same payload as the last capture (a revisit record)
OUTCOMES = (OK, NO_TEXT, ERROR, BLOCKED, DUPLICATE, UNCHANGED)

# Outcomes that mean "archived": not fetched again unless refreshed or older than
# RECRAWL_AFTER.
ARCHIVED = frozenset({OK, NO_TEXT, UNCHANGED})
ROBOTS_TXT = "robots.txt"  # the error of a page robots.txt forbids


def http_error(status: int) -> str | None:
    """The manifest error for a final status, or None when the page is usable (2xx)."""
    if 200 <= status < 300:
        return None
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "unknown status"
    return f"HTTP {status} {phrase}"


def describe_exception(exc: BaseException, *, size_limit: int | None = None) -> str:
    """``Name: message`` for a download failure.

    *size_limit* is given for a download cut off at ``DOWNLOAD_MAXSIZE``: Scrapy cancels
    a streamed body past the limit without a message, so the message says it here.
    """
    name = type(exc).__name__
    text = str(exc).strip()
    if not text and size_limit is not None:
        text = f"body larger than download max size ({size_limit} bytes)"
    return f"{name}: {text}" if text else name
