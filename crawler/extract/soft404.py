"""What a captured page really is, beyond its HTTP status: here, the soft 404.

A soft 404 is an error page served with status 200 ("Page not found", "This story no
longer exists"). Its title alone is no evidence: "Flight 404 lands safely", "Not found:
the missing climbers" and "Why a vaccine does not exist yet" are real headlines. A page
is a soft 404 only when its title says so **and** it holds almost no text: at most
``SOFT_404_MAX_WORDS`` words outside its navigation, header, footer, asides, forms and
scripts (an error page says "sorry" in a sentence or two; an article says more). A form
that holds the page's text (ASP.NET wraps whole pages in one) is not furniture.
"""

from __future__ import annotations

import html
import itertools
import re

from lxml import etree
from lxml import html as lxml_html

from crawler.extract.prose import prose_words

SOFT_404_MAX_WORDS = 80  # Spanish says sorry in ~50 words; a real brief has more

# Enough of a page to hold its <head> and the start of its text.
SNIFF_BYTES = 256 * 1024
_ERROR_TITLE = re.compile(
    # a status number only where it names the error ("404 | Site", "Error 404", "404 -
    # Not found"), not in a headline ("Flight 404 lands", "Tesla recalls 410,000 cars")
    r"^\W*(?:error\s*)?(?:404|410)\b(?![.,]?\d)|\b(?:error|http)\s*(?:404|410)\b"
    r"|\b(?:404|410)\s*(?:error|[-\u2013\u2014|:!]|not found|page)"
    r"|not found|page (is )?(missing|gone|unavailable)|no longer (exists|available)"
    r"|doesn'?t exist|does not exist|cannot be found|can'?t be found|couldn'?t be found"
    # other languages: what their error pages say of the page (a headline's "introuvable"
    # or "no existe" is about something else)
    r"|p[\u00e1a]gina no encontrada|la p[\u00e1a]gina (?:que busca )?no existe"
    r"|page (?:introuvable|non trouv[\u00e9e]e)|cette page n'existe (?:pas|plus)"
    r"|seite (?:wurde )?nicht gefunden|diese seite existiert nicht"
    r"|p[\u00e1a]gina n[\u00e3a]o encontrada|pagina non trovata|pagina niet gevonden"
    r"|strona nie (?:zosta\u0142a )?znaleziona|страница не найдена",
    re.IGNORECASE,
)

# A heading says "error page" only about the page itself ("That page can't be found"),
# read only when the title does not say what the page is (the site's name, "Oops!").
_ERROR_HEADING = re.compile(
    r"^\W*(?:error\s*)?(?:404|410)\b(?![.,]?\d)"
    r"|\b(?:page|seite|p[\u00e1a]gina|pagina|strona)\b[^.!?]{0,40}?(?:not found|can'?t be found"
    r"|cannot be found|couldn'?t be found|no longer (?:exists|available)|does not exist"
    r"|doesn'?t exist|nicht gefunden|no encontrada|introuvable|non trovata|n[\u00e3a]o encontrada"
    r"|niet gevonden)",
    re.IGNORECASE,
)
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
_H1 = re.compile(rb"<h1[^>]*>(.*?)</h1", re.IGNORECASE | re.DOTALL)
_TITLE_START = re.compile(rb"<title\b", re.IGNORECASE)
_H1_START = re.compile(rb"<h1\b", re.IGNORECASE)
_TITLE_PARTS = re.compile(r"\s+[|\u2013\u2014:-]\s+|\s*\|\s*")
_TAGS = re.compile(r"<[^>]+>")

# Page furniture, not the page's own text.
_FURNITURE = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form")


def page_words(body: bytes, *, links: bool = True) -> int:
    """Words of visible text outside the page's furniture (navigation, footer, ...);
    without the links of lists when *links* is false (an error page's "most read" list is
    headlines, links all; an article's text is not)."""
    try:
        tree = lxml_html.fromstring(body[:SNIFF_BYTES])
    except (etree.ParserError, ValueError):
        return 0
    for element in list(tree.iter(*_FURNITURE)):
        if element.tag == "form" and _holds_the_page(element):
            continue  # ASP.NET wraps a whole page in one form: its furniture inside goes
        element.drop_tree()
    if not links:  # lists of links: other stories' headlines (a photo caption stays)
        for element in tree.xpath("//li//a"):
            element.drop_tree()  # (its tail, the text after it, stays)
    body_element = tree.find(".//body")
    root = body_element if body_element is not None else tree
    return prose_words(" ".join(root.itertext()))  # (elements' texts kept apart)


def _holds_the_page(form: etree._Element) -> bool:
    """A form around the page's text (an <article>, <main> or paragraphs), not a search
    box or a newsletter sign-up."""
    return (form.find(".//article") is not None or form.find(".//main") is not None
            or len(form.findall(".//p")) >= 3)  # fmt: skip


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
    """("title" or "heading", its text) when the page's title, or else (a title that is
    only the site's name or a word or two) one of its first headings, says it is an
    error page."""
    # (each regex tried where its element starts, not at every unclosed tag: linear)
    start = _TITLE_START.search(head)
    match = _TITLE.match(head, start.start()) if start else None
    title = _text(match.group(1)) if match else ""
    if _ERROR_TITLE.search(title):
        return "title", title
    if len(_TITLE_PARTS.split(title)[0].split()) > 3:
        return None  # a title that says what the page is: a headline
    for start in itertools.islice(_H1_START.finditer(head), 3):  # (the first may be the logo)
        found = _H1.match(head, start.start())
        if found is None:
            continue
        heading = _text(found.group(1))
        if _ERROR_HEADING.search(heading):
            return "heading", heading
    return None


def _text(raw: bytes) -> str:
    return " ".join(html.unescape(_TAGS.sub(" ", raw.decode("utf-8", "replace"))).split())
