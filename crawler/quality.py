"""What a captured page really is, beyond its HTTP status: here, the soft 404.

A soft 404 is an error page served with status 200 ("Page not found", "This story no
longer exists"). Its title alone is no evidence: "Flight 404 lands safely", "Not found:
the missing climbers" and "Why a vaccine does not exist yet" are real headlines. A page
is a soft 404 only when its title says so **and** it holds almost no text: at most
``SOFT_404_MAX_WORDS`` words outside its navigation, header, footer, asides, forms and
scripts (an error page says "sorry" in a sentence or two; an article says more).
"""

from __future__ import annotations

import html
import re

from lxml import etree
from lxml import html as lxml_html

from crawler.prose import prose_words

SOFT_404_MAX_WORDS = 80  # Spanish says sorry in ~50 words; a real brief has more
# Enough of a page to hold its <head> and the start of its text.
SNIFF_BYTES = 256 * 1024

_ERROR_TITLE = re.compile(
    r"\b(404|410)\b|not found|page (is )?(missing|gone|unavailable)|no longer (exists|available)"
    r"|doesn'?t exist|does not exist|cannot be found|can'?t be found|couldn'?t be found"
    # the same in the languages of the news sites most crawled after English
    r"|no encontrad[ao]|no existe|introuvable|non trouv[ée]e|n'existe (pas|plus)"
    r"|nicht gefunden|existiert nicht|nicht mehr verf[üu]gbar|n[ãa]o encontrad[ao]"
    r"|non trovat[ao]|niet gevonden|nie znaleziono|не найден",
    re.IGNORECASE,
)
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
# The page's first heading: an error page whose title is only the site's name, or
# "Oops!", says what it is there.
_H1 = re.compile(rb"<h1[^>]*>(.*?)</h1", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")
# Page furniture, not the page's own text.
_FURNITURE = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form")


def page_words(body: bytes, *, links: bool = True) -> int:
    """Words of visible text outside the page's furniture (navigation, footer, ...);
    without the text of links when *links* is false (an error page's "most read" list is
    headlines, links all; an article's text is not)."""
    try:
        tree = lxml_html.fromstring(body[:SNIFF_BYTES])
    except (etree.ParserError, ValueError):
        return 0
    for element in list(tree.iter(*_FURNITURE, *(() if links else ("a",)))):
        element.drop_tree()  # (its tail, the text after it, stays)
    body_element = tree.find(".//body")
    root = body_element if body_element is not None else tree
    return prose_words(" ".join(root.itertext()))  # (elements' texts kept apart)


def soft_404_evidence(body: bytes) -> str | None:
    """Why a 200 page is an error page (``title "...", N words of text``), or None."""
    said = _error_heading(body[:SNIFF_BYTES])
    if said is None:
        return None
    where, text = said
    words = page_words(body, links=False)
    if words > SOFT_404_MAX_WORDS:
        return None  # a headline that happens to say "404" or "not found"
    return f'{where} "{text[:120]}", {words} words of text'


def _error_heading(head: bytes) -> tuple[str, str] | None:
    """("title" or "heading", its text) when the page's title, or else its first
    heading, says it is an error page."""
    for where, pattern in (("title", _TITLE), ("heading", _H1)):
        match = pattern.search(head)
        text = match.group(1).decode("utf-8", "replace") if match else ""
        text = " ".join(html.unescape(_TAGS.sub(" ", text)).split())
        if _ERROR_TITLE.search(text):
            return where, text
    return None
