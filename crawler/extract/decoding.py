"""Bytes to text for HTML pages: the declared charset when it fits the bytes, else detection.

The order browsers use (BOM, HTTP ``charset``, ``<meta>`` declaration, then a guess) is
w3lib's ``html_to_unicode``. It decodes with replacement characters when the declared
charset does not fit the bytes; older news sites often serve Latin-1/cp1252 text under a
UTF-8 label, and that would be a dump full of U+FFFD. When the declared charset fails
on the bytes, the charset is detected instead (see :func:`_detected`) -- unless the page
is UTF-8 with a few stray bytes, which are then read as cp1252. The
decision depends on the bytes and the Content-Type alone, so a page re-extracted from
its WARC record is decoded the same way.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer
from w3lib.encoding import html_to_unicode

from crawler.extract.language import likeliest_language

WEB_DEFAULT = "cp1252"

# Single-byte Latin code pages a page in a Latin script may be in, the web's default
# first. Detection tells them apart poorly on short texts; which of them reads the
# bytes as letters (not ³ ¹ ¿ where ł ą ż were meant) tells them apart better.
LATIN_PAGES = ("cp1252", "cp1250", "iso8859-2", "cp1254", "cp1257")

# Below this many non-ASCII bytes, detection's guess of a non-Latin script (a Big5
# character in "It\x92s") is noise.
MIN_EVIDENCE = 16

# The languages each Latin code page was made for (py3langid codes).
LANGUAGES_OF = {
    "cp1252": ("en", "fr", "de", "es", "it", "pt", "nl", "da", "sv", "no", "nb", "fi", "is",
               "ca", "eu", "gl", "ga", "af", "id", "ms", "sw", "lb", "oc", "wa"),
    "cp1250": ("cs", "sk", "pl", "hu", "sl", "hr", "bs", "sr", "ro", "sq"),
    "iso8859-2": ("cs", "sk", "pl", "hu", "sl", "hr", "bs", "sr", "ro", "sq"),
    "cp1254": ("tr", "az"),
    "cp1257": ("lt", "lv", "et"),
}  # fmt: skip
_TAG = re.compile(r"<[^>]*>")
_C1 = re.compile("[\x80-\x9f]")
_BETWEEN_LETTERS = re.compile(r"(?<=[^\W\d_])[^\x00-\x7f](?=[^\W\d_])")


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
    """(text, encoding) by detection, or None when nothing reads the bytes.

    A non-Latin script (Cyrillic, Greek, CJK, ...) is taken from charset-normalizer when
    there is evidence enough. Otherwise the page is in one of LATIN_PAGES: the one that
    reads the most of its non-ASCII bytes as letters (not ³ ¹ ¿ where ł ą ż were meant);
    among those that read as many, the one for the language the text is in (è or č?
    French or Czech), else cp1252.
    """
    evidence = sum(1 for byte in body if byte > 0x7F)
    best = charset_normalizer.from_bytes(body).best()
    guess = codecs.lookup(best.encoding).name if best else None
    if guess and guess not in LATIN_PAGES and evidence >= MIN_EVIDENCE:
        text = _strict(body, guess)
        if text is not None:
            return text, guess
    readings = {
        name: text
        for name in LATIN_PAGES
        if (text := _strict(body, name)) is not None and not _C1.search(text)
    }  # (C1 control characters: what an ISO 8859 page reads where cp1252 has quotes)
    if not readings:
        return None
    scores = {name: _letters(text) for name, text in readings.items()}
    tied = [name for name in readings if scores[name] == max(scores.values())]
    if len(tied) > 1:
        languages = {lang for name in tied for lang in LANGUAGES_OF.get(name, ())}
        sample = _TAG.sub(" ", readings[tied[0]])
        language = likeliest_language(sample, languages)
        tied = [name for name in tied if language in LANGUAGES_OF.get(name, ())] or tied
    return readings[tied[0]], tied[0]


def _letters(text: str) -> int:
    """How much a reading looks like a Latin script: a non-ASCII character between two
    letters counts for it when it is a letter too, against it when it is a symbol (a
    wrong reading gives ``zatwierdzi³a`` where ``zatwierdziła`` was meant)."""
    return sum(1 if ch.isalpha() else -1 for ch in _BETWEEN_LETTERS.findall(text))


def _stray_bytes_as_cp1252(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    stray = error.object[error.start : error.end]
    return stray.decode(WEB_DEFAULT, "replace"), error.end


STRAY_BYTES = "newsarchiver-stray-bytes-as-cp1252"


codecs.register_error(STRAY_BYTES, _stray_bytes_as_cp1252)


def decode_html(body: bytes, content_type: str | None) -> tuple[str, str]:
    """The page's text and the encoding it was read with (a Python codec name)."""
    encoding, text = html_to_unicode(content_type or "", body, auto_detect_fun=_undeclared)
    if "\ufffd" not in text or _strict(body, encoding) is not None:
        return text, encoding  # the declared encoding fits (U+FFFD may be the page's own)
    if encoding == "utf-8" and _mostly_utf8(text):
        # A UTF-8 page with a few stray bytes (an ad script, an alt text pasted from a
        # Latin-1 source): UTF-8 it is; the stray bytes are read as cp1252.
        return body.decode("utf-8", STRAY_BYTES).removeprefix("\ufeff"), encoding
    return _detected(body) or (text, encoding)


def _mostly_utf8(text: str) -> bool:
    """More well-formed non-ASCII characters than bytes UTF-8 could not read (U+FFFD)."""
    bad = text.count("\ufffd")
    return sum(1 for ch in text if ch > "\x7f") - bad > bad
