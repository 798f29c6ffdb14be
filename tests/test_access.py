"""Access-state rules: every built-in rule fires on its example, and ordinary articles
(one about cookies and subscriptions, a short brief) fire none."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.access import (
    BUILTIN_RULES,
    AccessRules,
    AccessRulesError,
    PageFacts,
    rules_for,
)

SITE = Path(__file__).parent / "site"


def page(name: str) -> str:
    return (SITE / "access" / name).read_text(encoding="utf-8")


def holdout(name: str) -> str:
    return (SITE / "holdout" / name).read_text(encoding="utf-8")


SOFT_404 = ("<html><head><title>Page not found | The Loopback Courier</title></head>"
            "<body><p>Sorry, we could not find that page.</p></body></html>")  # fmt: skip

# rule name -> a page it must fire on: (html, status, words of the extracted article)
EXAMPLES = {
    "challenge-title": (page("challenge-cf.html"), 503, 0),
    "challenge-cloudflare": (page("challenge-cf.html"), 503, 0),
    "challenge-akamai": (page("challenge-akamai.html"), 403, 0),
    "challenge-datadome": (page("challenge-datadome.html"), 403, 0),
    "challenge-perimeterx": (page("challenge-perimeterx.html"), 200, 0),
    "challenge-enable-javascript": (page("challenge-js.html"), 200, 12),
    "rate-limited-status": ("<html><body>slow down</body></html>", 429, 0),
    "rate-limited-page": (page("rate-limited.html"), 200, 14),
    "rate-limited-title": (holdout("rate_limited-branded-200.html"), 200, 105),
    "consent-wall": (page("consent-wall.html"), 200, 0),
    "consent-wall-text": (
        holdout("consent_wall-tcf-overlay.html"),
        200,
        161,
        "We and our [842 partners](#vendors) store and/or access information on a device, "
        "such as cookies, and process personal data...",
    ),
    "teaser-jsonld-not-free": (page("paywall-jsonld.html"), 200, 75),
    "teaser-microdata-not-free": (
        '<article><meta itemprop="isAccessibleForFree" content="false"><p>Two lines.</p></article>',
        200,
        60,
    ),
    "teaser-declared-length": (page("paywall-wordcount.html"), 200, 110),
    "teaser-paywall-container": (page("paywall-container.html"), 200, 70),
    "teaser-meter-message": (holdout("teaser-metered.html"), 200, 72),
    "soft-404": (SOFT_404, 200, 0),
}

# Pages no built-in rule may fire on (words as trafilatura extracts them, roughly).
ORDINARY = {
    "an article about cookies and subscriptions": (page("cookies-article.html"), 220),
    "a short brief under a cookie banner": (page("brief.html"), 48),
    "an article under a consent overlay": (page("consent-overlay-article.html"), 230),
    "a headline with 404 in it": ((SITE / "news/2024/03/flight-404-lands.html").read_text(), 120),
    "a headline that says not found": (
        (SITE / "news/2024/03/missing-climbers.html").read_text(),
        110,
    ),
}


def test_every_builtin_rule_has_an_example():
    names = [rule.name for rule in AccessRules.load(BUILTIN_RULES).rules]
    assert len(names) == len(set(names))
    assert set(names) == set(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_rule_fires_on_its_example_with_evidence(name):
    [rule] = [r for r in AccessRules.load(BUILTIN_RULES).rules if r.name == name]
    html, status, words, *text = EXAMPLES[name]  # text: the extracted article, if a rule reads it
    evidence = rule.evidence(PageFacts(html, status=status, words=words, text=(text or [None])[0]))
    assert evidence is not None and evidence.startswith(f"{name}: ")
    assert len(evidence) < 300


@pytest.mark.parametrize("what", sorted(ORDINARY))
def test_ordinary_articles_are_full(what):
    html, words = ORDINARY[what]
    access = rules_for().classify(PageFacts(html, status=200, words=words))
    assert (access.label, access.evidence) == ("full", None)


def test_the_article_behind_a_consent_gate_decides():
    wall = page("consent-wall.html")
    assert rules_for().classify(PageFacts(wall, words=0)).label == "consent_wall"
    assert rules_for().classify(PageFacts(wall, words=400)).label == "full"


def test_word_counts_are_asked_only_when_a_rule_gets_that_far():
    asked = []

    def count() -> int:
        asked.append(1)
        return 10

    rules_for().only(["challenge"]).classify(PageFacts("<p>plain</p>", count_words=count))
    assert asked == []
    facts = PageFacts(page("challenge-js.html"), count_words=count)
    assert rules_for().only(["challenge"]).classify(facts).label == "challenge"
    assert asked == [1]


def test_user_rules_come_first_and_are_checked(tmp_path):
    own = tmp_path / "mine.toml"
    own.write_text(
        '[[rule]]\nname = "courier-metered"\nlabel = "teaser"\nhtml = \'data-meter="on"\'\n'
        '[[rule]]\nname = "courier-gate-is-harmless"\nlabel = "full"\n'
        "html = 'class=\"courier-gate\"'\n"
    )
    rules = rules_for(str(own))
    access = rules.classify(PageFacts('<div data-meter="on"><p>x</p></div>', words=300))
    assert access.label == "teaser" and access.evidence.startswith("courier-metered: ")
    gated = page("challenge-js.html").replace("<body>", '<body class="courier-gate">')
    assert rules.classify(PageFacts(gated, words=10)).label == "full"  # overrules a built-in
    for bad, message in [
        ('[[rule]]\nname = "x"\nlabel = "blocked"\nhtml = "a"\n', "label"),
        ('[[rule]]\nname = "x"\nlabel = "teaser"\n', "none at all"),
        ('[[rule]]\nname = "x"\nlabel = "teaser"\nhtml = "("\n', "bad regex"),
        ('[[rule]]\nname = "x"\nlabel = "teaser"\nxpath = "//a"\n', "unknown"),
        ("[[rule]\n", "cannot read"),
    ]:
        own.write_text(bad)
        with pytest.raises(AccessRulesError, match=message):
            AccessRules.load(own)


def test_a_text_rule_reads_the_article_not_the_page():
    """The consent dialog as the extracted article is a wall; the same dialog on the page
    of a real article (extracted as the article) is not, and before extraction (the
    downloader) a text rule cannot fire at all."""
    [rule] = [r for r in AccessRules.load(BUILTIN_RULES).rules if r.name == "consent-wall-text"]
    dialog = holdout("consent_wall-tcf-overlay.html")
    wall = "We and our 842 partners store and/or access information on a device."
    article = page("consent-overlay-article.html")
    assert rule.evidence(PageFacts(dialog, words=161, text=wall)) is not None
    assert rule.evidence(PageFacts(article, words=171, text="More than three hundred "
                                   "volunteers spent Saturday morning ...")) is None  # fmt: skip
    assert rule.evidence(PageFacts(dialog, words=161)) is None
