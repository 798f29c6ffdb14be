"""Names as pages state them: authors cleaned of bylines, roles and e-mail addresses
(and told apart from the site), titles cut of the site's name, the name a host says.

Plain functions on strings: crawler.extract.metadata applies them to what a page states.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

_SPACES = re.compile(r"\s+")
_DASHES = " ,;|-\u2013\u2014:"  # (en and em dashes)
_SEPARATOR_CHARS = " |-\u2013\u2014:\u00b7\u2022\u00bb/"


_DOMAIN = re.compile(r"[\w-]+(?:\.[\w-]+)*\.[a-z]{2,6}", re.IGNORECASE)
_BY = re.compile(
    r"^(?:by|von|par|por|di|da|de|door|av|af|przez|от|автор|tekst|text|written by|"
    r"reported by|posted by|story by|words by|photos? by)\s*[:\-]?\s+",
    re.IGNORECASE,
)
_ROLES = re.compile(
    r"\b(?:correspondent|reporter|editor|writer|journalist|columnist|contributor|staff|"
    r"redakteur(?:in)?|korrespondent(?:in)?|journaliste|rédact(?:eur|rice)|periodista|"
    r"redactor(?:a)?|giornalista|inviat[oa]|autor(?:in)?|chief|senior|deputy|associate|"
    r"producer|analyst|photographer|news agency|agency)\b",
    re.IGNORECASE,
)
_SPLIT_NAMES = re.compile(r"\s*(?:;|\||,?\s+(?:and|und|et|y|e|en|og|och|i|и)\s+|&)\s*")


def clean_author(raw: str, *, exclude: Iterable[str] = ()) -> list[str]:
    """The names in one stated author: "By Jane Doe, Senior correspondent" -> Jane Doe;
    "A and B" -> A, B; nothing for a URL, an e-mail address, a role alone or a name in
    *exclude* (the site's)."""
    excluded = {fold(e) for e in exclude if e}
    text = re.sub(r"[(<\[]?\S+@\S+\.\w+[)>\]]?", " ", raw)
    text = re.sub(r"https?://\S+", " ", text)
    text = _SPACES.sub(" ", text).strip(_DASHES)
    names: list[str] = []
    for part in _SPLIT_NAMES.split(text):
        part = _BY.sub("", part.strip(_DASHES))
        # a role after a comma, a dash or in brackets: "Jane Doe, Senior correspondent"
        part = re.split(r"\s*(?:,|\s[-\u2013\u2014|]\s|\(|/)\s*", part, maxsplit=1)[0].strip()
        if not part or _ROLES.fullmatch(part) or (_ROLES.match(part) and len(part.split()) <= 2):
            continue
        if len(part) > 80 or len(part.split()) > 6 or not any(c.isalpha() for c in part):
            continue  # a sentence or a number, not a name
        if fold(part) in excluded or part.lower().startswith(("www.", "http")):
            continue
        if _DOMAIN.fullmatch(part):  # "mdr.de", "nieuwsblad.be": the site, not a person
            continue
        if part not in names:
            names.append(part)
    return names


def fold(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


_TITLE_SEPARATORS = re.compile(r"\s+[|\-\u2013\u2014:\u00b7\u2022\u00bb/]\s+")


def strip_site_name(title: str, sitenames: Iterable[str]) -> str:
    """*title* without a leading or trailing site name (``Story | CNN``)."""
    names = {fold(s) for s in sitenames if s}
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) < 2 or not names:
        return title
    if fold(parts[-1]) in names or any(n and n in fold(parts[-1]) for n in names):
        return title[: title.rfind(parts[-1])].rstrip(_SEPARATOR_CHARS)
    if fold(parts[0]) in names:
        return title[len(parts[0]) :].lstrip(_SEPARATOR_CHARS)
    return title


_SECOND_LEVEL = frozenset({"co", "com", "org", "net", "ac", "gov", "or", "ne", "go"})


def site_label(url: str) -> str:
    """The name a site's host says: ``https://www.vnexpress.net/x`` -> ``vnexpress``,
    ``bbc.co.uk`` -> ``bbc`` (an author by that name is the site)."""
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    labels = host.split(".")[:-1]
    while len(labels) > 1 and labels[-1] in _SECOND_LEVEL:
        labels.pop()
    return labels[-1] if labels else host
