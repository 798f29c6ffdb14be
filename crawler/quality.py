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

SOFT_404_MAX_WORDS = 50
# Enough of a page to hold its <head> and the start of its text.
SNIFF_BYTES = 256 * 1024

_ERROR_TITLE = re.compile(
    r"\b(404|410)\b|not found|page (is )?(missing|gone|unavailable)|no longer (exists|available)"
    r"|doesn'?t exist|does not exist|cannot be found|can'?t be found",
    re.IGNORECASE,
)
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
# Page furniture, not the page's own text.
_FURNITURE = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form")


def page_words(body: bytes) -> int:
    """Words of visible text outside the page's furniture (navigation, footer, ...)."""
    try:
        tree = lxml_html.fromstring(body[:SNIFF_BYTES])
    except (etree.ParserError, ValueError):
        return 0
    for element in list(tree.iter(*_FURNITURE)):
        element.drop_tree()
    body_element = tree.find(".//body")
    root = body_element if body_element is not None else tree
    return prose_words(" ".join(root.itertext()))  # (elements' texts kept apart)


def soft_404_evidence(body: bytes) -> str | None:
    """Why a 200 page is an error page (``title "...", N words of text``), or None."""
    match = _TITLE.search(body[:SNIFF_BYTES])
    if not match:
        return None
    title = " ".join(html.unescape(match.group(1).decode("utf-8", "replace")).split())
    if not _ERROR_TITLE.search(title):
        return None
    words = page_words(body)
    if words > SOFT_404_MAX_WORDS:
        return None  # a headline that happens to say "404" or "not found"
    return f'title "{title[:120]}", {words} words of text'
