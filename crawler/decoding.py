"""Bytes to text for HTML pages: the declared charset when it fits the bytes, else detection.

The order browsers use (BOM, HTTP ``charset``, ``<meta>`` declaration, then a guess) is
w3lib's ``html_to_unicode``. It decodes with replacement characters when the declared
charset does not fit the bytes; older news sites often serve Latin-1/cp1252 text under a
UTF-8 label, and that would be a dump full of U+FFFD. When the declared charset fails
on the bytes, the charset is detected instead (charset-normalizer; cp1252, the web's
default, when it reads the text as well as the best guess, or nothing is detected). The
decision depends on the bytes and the Content-Type alone, so a page re-extracted from
its WARC record is decoded the same way.
"""

from __future__ import annotations

import codecs

import charset_normalizer
from w3lib.encoding import html_to_unicode

WEB_DEFAULT = "cp1252"


def _undeclared(body: bytes) -> str:
    # No declaration at all: UTF-8 when the bytes are valid UTF-8, else cp1252, the
    # de-facto default of the undeclared web (what browsers fall back to).
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return WEB_DEFAULT
    return "utf-8"


def _strict(body: bytes, encoding: str) -> str | None:
    try:
        return body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def detect_encoding(data: bytes) -> str | None:
    """The encoding that reads *data* cleanly, by detection, or None."""
    found = _detected(data)
    return found[1] if found else None


def _detected(body: bytes) -> tuple[str, str] | None:
    """(text, encoding) from charset detection, or None when nothing reads the bytes.

    Among the code pages detection ranks best (on a short text several read it equally
    well, cp1250 and cp1252 for a French sentence), cp1252 wins: it is the web's default.
    """
    matches = charset_normalizer.from_bytes(body)
    best = matches.best()
    if best is None:
        latin = _strict(body, WEB_DEFAULT)
        return (latin, WEB_DEFAULT) if latin is not None else None
    tied = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
    readers = {codecs.lookup(name).name for m in tied for name in m.could_be_from_charset}
    if WEB_DEFAULT in readers and (latin := _strict(body, WEB_DEFAULT)) is not None:
        return latin, WEB_DEFAULT
    name = codecs.lookup(best.encoding).name
    text = _strict(body, name)
    return (text, name) if text is not None else None


def decode_html(body: bytes, content_type: str | None) -> tuple[str, str]:
    """The page's text and the encoding it was read with (a Python codec name)."""
    encoding, text = html_to_unicode(content_type or "", body, auto_detect_fun=_undeclared)
    if "\ufffd" not in text or _strict(body, encoding) is not None:
        return text, encoding  # the declared encoding fits (U+FFFD may be the page's own)
    return _detected(body) or (text, encoding)
