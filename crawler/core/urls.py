"""The URL validity rule: which input entries are fetchable http(s) URLs, and why not."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from w3lib.url import canonicalize_url

DEFAULT_MAX_URL_LENGTH = 2083
ALLOWED_SCHEMES = ("http", "https")
SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


class InvalidURL(ValueError):
    """One input entry is not a fetchable http(s) URL; the message says why."""


def validate_url(text: str, max_length: int = DEFAULT_MAX_URL_LENGTH) -> str:
    """Return *text* if it is an absolute http(s) URL a crawler may fetch, else raise InvalidURL."""
    if not text:
        raise InvalidURL("empty URL")
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise InvalidURL("not valid UTF-8")
    if len(text) > max_length:
        raise InvalidURL(f"URL is {len(text)} characters long, over the limit of {max_length}")
    if any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf") for ch in text):
        raise InvalidURL("URL contains whitespace or control characters")
    match = SCHEME_RE.match(text)
    if not match:
        raise InvalidURL("not an absolute URL (no scheme)")
    scheme = match.group(1).lower()
    if scheme not in ALLOWED_SCHEMES:
        raise InvalidURL(f"unsupported scheme {scheme!r} (only http and https are fetched)")
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError on a non-numeric or out-of-range port
        host = parts.hostname
    except ValueError as exc:
        raise InvalidURL(f"malformed URL: {exc}") from None
    if not host:
        raise InvalidURL("URL has no host")
    if port == 0:
        raise InvalidURL("URL has port 0")
    try:
        canonicalize_url(text)
        host.encode("idna")
    except (ValueError, UnicodeError) as exc:
        raise InvalidURL(f"invalid host name {host!r}: {exc}") from None
    return text
