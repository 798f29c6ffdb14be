"""What a capture gives access to: the full article, or a challenge, a consent wall, a
paywall teaser, a rate-limit page, a soft 404 in its place.

The rules are data (``crawler/extract/rules/access.toml``, plus a user file named by
``ACCESS_EXTRA_RULES`` whose rules come first), so a site rule needs no code. A rule
fires when every condition it gives holds; the first that fires labels the page, with
its evidence: the rule's name and the text its regex matched (short). A label that
costs the article (challenge, rate limit, consent wall) is for a page that lacks one,
measured on the page itself, and a teaser for text that is missing. Runs where the
article is extracted (the extraction worker: it has the decoded page and the article)
and, on small non-article responses, in the downloader (crawler.downloadermiddlewares.access), which
retries challenges and rate limits later.
"""

from __future__ import annotations

import html as html_lib
import math
import re
import sys
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from crawler.core.items import Access
from crawler.extract.prose import prose_words
from crawler.extract.soft404 import soft_404_evidence

FULL = "full"
TEASER = "teaser"
CONSENT_WALL = "consent_wall"
CHALLENGE = "challenge"
RATE_LIMITED = "rate_limited"
SOFT_404 = "soft_404"
LABELS = (FULL, TEASER, CONSENT_WALL, CHALLENGE, RATE_LIMITED, SOFT_404)

# Labels that mean the server gave no page at all: retried later, then an error.
BLOCKING = (CHALLENGE, RATE_LIMITED)
BUILTIN_RULES = Path(__file__).resolve().parent / "rules" / "access.toml"

# How much of a page the regexes read: its head and the start of its body.
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"\*\*|__|(?<!\w)[*_](?=\w)|(?<=\w)[*_](?!\w)")
SNIFF_CHARS = 256 * 1024
INTERSTITIAL_CHARS = 64 * 1024
EVIDENCE_CHARS = 80
_CONDITIONS = {"title", "html", "visible", "text", "contains", "status", "max_words",
               "min_words", "max_page_words", "declared_ratio", "below_declared", "unless",
               "builtin"}  # fmt: skip
_COUNTS = ("max_words", "min_words", "max_page_words")
# What a page does not show: its scripts (JSON-LD and other data included), styles,
# templates and comments, contents and all; and, for its words, its links (found by
# outside(), in one pass).
_HIDDEN_START = re.compile(r"<(script|style|template)\b|<!--", re.IGNORECASE)
_ENDS = {
    "script": re.compile(r"</script\s*>", re.IGNORECASE),
    "style": re.compile(r"</style\s*>", re.IGNORECASE),
    "template": re.compile(r"</template\s*>", re.IGNORECASE),
    "a": re.compile(r"</a\s*>", re.IGNORECASE),
    None: re.compile(r"-->"),
}
_LINK_START = re.compile(r"<(a)\b", re.IGNORECASE)
_TAG = re.compile(r"<[^<>]*>")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
_TITLE_START = re.compile(r"<title\b", re.IGNORECASE)
# what follows "wordCount" where a page declares it (JSON-LD, microdata, a meta tag)
_DECLARED_WORDS = re.compile(r"""["']?\s*(?::|content=)\s*["']?(\d{2,6})""")


class AccessRulesError(ValueError):
    """A rules file that cannot be read or holds an invalid rule."""


class PageFacts:
    """What the rules look at: the page's HTML and status, and its words: the extracted
    article's (0: none), or, where nothing is extracted (the downloader), what
    *count_words* says, asked only when a rule gets that far."""

    def __init__(
        self,
        html: str,
        *,
        status: int | None = None,
        words: int | None = None,
        body: bytes | None = None,  # for the builtin soft-404 test
        count_words: Callable[[], int] | None = None,
        text: str | None = None,  # the extracted article (None: not extracted yet)
    ) -> None:
        self.html = html
        self.text = text
        self._prose: str | None = None
        self.status = status
        self.body = body
        self._words = words
        self._count_words = count_words

        self._title: str | None = None
        self._lower: str | None = None
        self._visible: str | None = None
        self._visible_lower: dict[int, str] = {}
        self._page_words: int | None = None  # (a lower bound unless _page_words_whole)
        self._page_words_whole = False
        self._declared: int | bool | None = False  # False: not looked for yet

    @property
    def lower(self) -> str:
        """The HTML sniffed, lower-cased once (for ``contains`` tests)."""
        if self._lower is None:
            self._lower = self.html[:SNIFF_CHARS].lower()
        return self._lower

    @property
    def visible(self) -> str:
        """The page's HTML without what it does not show (its scripts, JSON data, styles,
        templates and comments), as much as the regexes read: what ``visible`` rules
        read, tags kept."""
        if self._visible is None:
            parts, size = [], 0
            for part in outside(self.html, _HIDDEN_START):
                parts.append(part)
                size += len(part) + 1
                if size >= SNIFF_CHARS:
                    break
            self._visible = " ".join(parts)
        return self._visible

    def visible_lower(self, chars: int) -> str:
        """The first *chars* of :attr:`visible`, lower-cased (for ``contains`` anchors)."""
        if chars not in self._visible_lower:
            self._visible_lower[chars] = self.visible[:chars].lower()
        return self._visible_lower[chars]

    @property
    def page_words(self) -> int:
        """Words the page itself shows outside its links (menus and lists of headlines
        are links; an article is not), measured on the whole page whatever the extractor
        made of it: what tells an interstitial (a few dozen) from a page that holds an
        article (hundreds)."""
        return self.page_words_upto(sys.maxsize)

    def page_words_upto(self, limit: int) -> int:
        """:attr:`page_words`, counted only until there are more than *limit* (then some
        number above it): a page that shows an article is not read to its end."""
        if self._page_words is not None and (self._page_words_whole or self._page_words > limit):
            return self._page_words
        count = 0
        for part in outside(self.html, _HIDDEN_START):
            for text in outside(part, _LINK_START):
                count += prose_words(html_lib.unescape(_TAG.sub(" ", text)))
                if count > limit:
                    self._page_words = count
                    return count
        self._page_words, self._page_words_whole = count, True
        return count

    @property
    def prose(self) -> str:
        """The extracted article as plain text: markdown links reduced to their words,
        emphasis marks dropped (what ``text`` rules read)."""
        if self._prose is None:
            self._prose = _EMPHASIS.sub("", _MD_LINK.sub(r"\1", self.text or ""))
        return self._prose

    @property
    def words_known(self) -> bool:
        return self._words is not None

    @property
    def words(self) -> int:
        if self._words is None:
            self._words = self._count_words() if self._count_words else 0
        return self._words

    @property
    def title(self) -> str:
        if self._title is None:
            head = self.html[:SNIFF_CHARS]
            # (the first <title> only: the regex alone retries at every unclosed one)
            start = _TITLE_START.search(head)
            match = _TITLE.match(head, start.start()) if start else None
            self._title = " ".join(html_lib.unescape(match.group(1)).split()) if match else ""
        return self._title

    @property
    def declared_words(self) -> int | None:
        if self._declared is False:
            # The first wordCount that gives a number (wordCount, wordcount, WORDCOUNT):
            # found with str.find and the regex tried there only, not over the page (nor
            # the page lower-cased: most pages are decided with this alone).
            self._declared, first = None, SNIFF_CHARS
            for spelling in ("ordCount", "ordcount", "ORDCOUNT"):
                at = self.html.find(spelling, 0, first)
                while at >= 0:
                    match = None
                    if self.html[at - 1 : at] in ("w", "W"):  # (not a recordCount)
                        match = _DECLARED_WORDS.match(self.html, at + len(spelling))
                    if match:
                        self._declared, first = int(match.group(1)), at
                        break
                    at = self.html.find(spelling, at + 1, first)
        return self._declared  # type: ignore[return-value]


def outside(html: str, start: re.Pattern[str]) -> Iterator[str]:
    """The parts of *html* outside the elements *start* finds (its group 1 names the
    element, ending at its end tag; no group: a comment). One pass: an element never
    closed hides nothing, and none after it is looked for (a page of unclosed tags costs
    no more than any other)."""
    at = 0
    while (found := start.search(html, at)) is not None:
        name = found.group(1)
        end = _ENDS[name.lower() if name else None].search(html, found.end())
        if end is None:
            break
        yield html[at : found.start()]
        at = end.end()
    yield html[at:]


@dataclass(frozen=True)
class Rule:
    name: str
    label: str
    title: re.Pattern[str] | None = None
    html: re.Pattern[str] | None = None
    visible: re.Pattern[str] | None = None
    text: re.Pattern[str] | None = None
    unless: re.Pattern[str] | None = None  # the page's HTML says otherwise
    contains: tuple[str, ...] | None = None  # lower-cased; any of them
    status: frozenset[int] | None = None
    max_words: int | None = None
    min_words: int | None = None
    max_page_words: int | None = None
    declared_ratio: float | None = None
    below_declared: float | None = None
    builtin: str | None = None

    @classmethod
    def parse(cls, raw: dict[str, Any], where: str) -> Rule:
        name, label = raw.get("name"), raw.get("label")
        if not isinstance(name, str) or label not in LABELS:
            raise AccessRulesError(f"{where}: a rule needs a name and a label in {LABELS}")
        unknown = set(raw) - _CONDITIONS - {"name", "label"}
        if unknown or not set(raw) & _CONDITIONS:
            raise AccessRulesError(f"{where}: rule {name!r}: unknown conditions "
                                   f"{sorted(unknown)} or none at all")  # fmt: skip
        if raw.get("builtin") not in (None, "soft_404"):
            raise AccessRulesError(f"{where}: rule {name!r}: unknown builtin {raw['builtin']!r}")
        try:
            patterns = {key: re.compile(raw[key], re.IGNORECASE | re.DOTALL)
                        for key in ("title", "html", "visible", "text", "unless")
                        if key in raw}  # fmt: skip
        except (re.error, TypeError) as exc:
            raise AccessRulesError(f"{where}: rule {name!r}: bad regex: {exc}") from None
        for key in _COUNTS:
            if key in raw and (type(raw[key]) is not int or raw[key] < 0):
                raise AccessRulesError(f"{where}: rule {name!r}: {key} must be a whole "
                                       f"number of words, not {raw[key]!r}")  # fmt: skip
        for key in ("declared_ratio", "below_declared"):
            ratio = raw.get(key)
            if ratio is not None and (type(ratio) not in (int, float) or not 0 < ratio <= 1):
                raise AccessRulesError(f"{where}: rule {name!r}: {key} must be a share "
                                       f"(0 < ratio <= 1), not {ratio!r}")  # fmt: skip
        status = raw.get("status")
        if status is not None and (not isinstance(status, list) or not status
                                   or not all(type(s) is int for s in status)):  # fmt: skip
            raise AccessRulesError(f"{where}: rule {name!r}: status must be a list of HTTP "
                                   f"statuses, not {status!r}")  # fmt: skip
        try:
            contains = _anchors(raw["contains"]) if "contains" in raw else None
        except AccessRulesError as exc:
            raise AccessRulesError(f"{where}: rule {name!r}: {exc}") from None
        return cls(
            name, label, **patterns, contains=contains,
            status=frozenset(status) if status is not None else None,
            max_words=raw.get("max_words"), min_words=raw.get("min_words"),
            max_page_words=raw.get("max_page_words"), declared_ratio=raw.get("declared_ratio"),
            below_declared=raw.get("below_declared"),
            builtin=raw.get("builtin"),
        )  # fmt: skip

    def evidence(self, page: PageFacts) -> str | None:
        """The evidence this rule fires with on *page*, or None. The cheap tests first
        (status, the article's words, substrings), the regexes next, and what needs the
        page measured (its words) last: most pages are decided by the first."""
        if self.status is not None and page.status not in self.status:
            return None
        if page.words_known and not self._words_fit(page.words):
            return None  # an article too long for an interstitial: no regex to run
        if self.contains is not None and not any(a in page.lower for a in self.contains):
            return None
        if self.text is not None and page.text is None:
            return None  # a test of the article, before there is one (the downloader)
        found: list[str] = []
        if self.status is not None:
            found.append(f"HTTP {page.status}")
        short_of = None  # the words the article falls short of (a share of those declared)
        if self.declared_ratio is not None:
            declared = page.declared_words
            short_of = self.declared_ratio * declared if declared else 0
            if page.words >= short_of:
                return None
            found.append(f"{page.words} of {declared} declared words")
        if self.below_declared is not None:
            declared = page.declared_words  # (none declared: no test)
            if declared and page.words >= self.below_declared * declared:
                return None  # the text the page says it has
        # An interstitial (a rule with max_words) is small: its first 64 KB hold it.
        window = INTERSTITIAL_CHARS if self.max_words is not None else SNIFF_CHARS
        tests = ((self.title, lambda: page.title), (self.html, lambda: page.html[:window]),
                 (self.visible, lambda: page.visible[:window]),
                 (self.text, lambda: page.prose[:window]))  # fmt: skip
        for pattern, text in tests:
            if pattern is None:
                continue
            if pattern is self.visible and self.contains is not None:
                # (the anchors in what the page shows, not only in its scripts: a lower-
                # cased copy is cheap, a regex over the page is not)
                shown = page.visible_lower(window)
                if not any(anchor in shown for anchor in self.contains):
                    return None
            match = pattern.search(text())
            if match is None:
                return None
            found.append(repr(" ".join(match.group(0).split())[:EVIDENCE_CHARS]))
        if self.unless is not None and self.unless.search(page.html[:SNIFF_CHARS]):
            return None  # what the page says of itself overrules the rest
        if self.builtin == "soft_404":
            soft = soft_404_evidence(page.body if page.body is not None else page.html.encode())
            if soft is None:
                return None
            found.append(soft)
        # Words last when they must be counted: only pages that matched pay for it.
        if self.max_page_words is not None or short_of is not None:
            # What the page itself shows, whatever the extractor made of it: a page that
            # shows an article is neither an interstitial nor a teaser of it.
            limit = self.max_page_words if self.max_page_words is not None else sys.maxsize
            if short_of is not None:  # (fewer than short_of: at most its ceiling - 1)
                limit = min(limit, math.ceil(short_of) - 1)
            shown = page.page_words_upto(limit)
            if shown > limit:
                return None
            found.append(f"{shown} words on the page")
        if not self._words_fit(page.words):  # (the downloader: the page parsed, last)
            return None
        return f"{self.name}: {', '.join(found)}"

    def _words_fit(self, words: int) -> bool:
        if self.max_words is not None and words > self.max_words:
            return False
        return self.min_words is None or words >= self.min_words


def _anchors(value: Any) -> tuple[str, ...]:
    anchors = [value] if isinstance(value, str) else value
    if not isinstance(anchors, list) or not anchors or not all(isinstance(a, str) and a
                                                               for a in anchors):  # fmt: skip
        raise AccessRulesError(f"contains: a text or a list of texts, not {value!r}")
    return tuple(a.lower() for a in anchors)


class AccessRules:
    """An ordered list of rules; :meth:`classify` labels a page."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = tuple(rules)

    @classmethod
    def load(cls, *paths: str | Path) -> AccessRules:
        rules: list[Rule] = []
        for path in paths:
            try:
                with open(path, "rb") as fh:
                    data = tomllib.load(fh)
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise AccessRulesError(f"cannot read access rules {path}: {exc}") from None
            raws = data.get("rule", [])
            if not isinstance(raws, list):
                raise AccessRulesError(f"{path}: [[rule]] tables expected")
            rules += [Rule.parse(raw, f"{path} rule {n + 1}") for n, raw in enumerate(raws)]
        return cls(rules)

    def only(self, labels: Iterable[str]) -> AccessRules:
        wanted = set(labels)
        return AccessRules(r for r in self.rules if r.label in wanted)

    def classify(self, page: PageFacts) -> Access:
        for rule in self.rules:
            evidence = rule.evidence(page)
            if evidence is not None:
                return Access(rule.label, evidence)
        return Access(FULL)


@cache
def rules_for(extra: str = "") -> AccessRules:
    """The built-in rules, after the user's own (``ACCESS_EXTRA_RULES``) when given."""
    return AccessRules.load(*([extra] if extra else []), BUILTIN_RULES)
