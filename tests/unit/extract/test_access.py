"""Access-state rules: every built-in rule fires on its example, and ordinary articles
(one about cookies and subscriptions, a short brief) fire none."""

from __future__ import annotations

import pytest

from crawler.extract.access import (
    BUILTIN_RULES,
    AccessRules,
    AccessRulesError,
    PageFacts,
    rules_for,
)
from tests.support.paths import SITE


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


# -- headlines and pages that look like the rules' targets and are not ---------------------
_FILLER = 40 * (
    "The council met on Tuesday evening and voted to approve the budget after a long "
    "debate about road repairs, school funding and the new library building. "
)


def _words(n: int) -> str:
    return " ".join(_FILLER.split()[:n])


def _page(title: str, body: str, h1: str = "") -> str:
    heading = f"<h1>{h1}</h1>" if h1 else ""
    return (
        f"<html><head><title>{title}</title></head><body><header><nav><a href='/'>Home</a>"
        f"</nav></header><main><article>{heading}{body}</article></main>"
        f"<footer>(c) Courier</footer></body></html>"
    )


_GALLERY = "".join(
    f"<a href='/g/{i}'><figure><img src='{i}.jpg'><figcaption>{_words(25)}"
    f"</figcaption></figure></a>"
    for i in range(12)
)
_QUOTE = (
    'Regulators said the pop-up, which reads "We and our partners store and/or access '
    'information on a device", misleads readers.'
)
LOOKALIKES = {  # what: (html, words of the article, its text)
    "a brief about 410,000 recalled cars": (
        _page("Tesla recalls 410,000 cars over seat belts | Courier", f"<p>{_words(70)}</p>"),
        70,
    ),
    "a French brief: the suspect 'introuvable'": (
        _page("Le suspect reste introuvable - Le Courrier", f"<p>{_words(75)}</p>"),
        75,
    ),
    "a Spanish brief: the cure 'no existe'": (
        _page("La cura milagrosa no existe | Diario", f"<p>{_words(78)}</p>"),
        78,
    ),
    "a video page whose heading says 'does not exist'": (
        _page("Courier Video", f"<p>{_words(60)}</p>", h1="Why a vaccine does not exist yet"),
        60,
    ),
    "a gallery of linked captions, 'not found' in its heading": (
        _page(
            "Courier",
            f"<p>{_words(30)}</p>{_GALLERY}",
            h1="Photos: missing climbers still not found",
        ),
        330,
    ),
    "an article 429 days after a quake": (
        _page("429 days after the quake, Antakya rebuilds | Courier", f"<p>{_words(250)}</p>"),
        250,
    ),
    "an article titled 'Too many requests, too few judges'": (
        _page("Too many requests, too few judges: backlog grows", f"<p>{_words(280)}</p>"),
        280,
    ),
    "a brief with 'Too many requests' in a script": (
        _page(
            "Council approves budget",
            f"<script>var m={{429:'Too many requests'}}</script><p>{_words(140)}</p>",
        ),
        140,
    ),
    "an article with a newsletter promo": (
        _page(
            "Council approves budget",
            f"<p>{_words(380)}</p><div>Love local news? Subscribe "
            "to keep reading our newsletter every morning.</div>",
        ),
        380,
    ),
    "an article with paywall strings in its scripts": (
        _page(
            "Council approves budget",
            f"<p>{_words(350)}</p><script>i18n={{paywall:"
            "'Subscribe to continue reading'}</script>",
        ),
        350,
    ),
    "an article whose lede quotes a consent banner": (
        _page("EU fines publisher | Courier", f"<p>{_QUOTE}</p><p>{_words(280)}</p>"),
        300,
        f"{_QUOTE}\n\n{_words(280)}",
    ),
}


@pytest.mark.parametrize("what", sorted(LOOKALIKES))
def test_lookalikes_of_error_wall_and_limit_pages_are_full(what):
    html, words, *text = LOOKALIKES[what]
    facts = PageFacts(
        html, status=200, words=words, body=html.encode(), text=text[0] if text else _words(words)
    )
    access = rules_for().classify(facts)
    assert (access.label, access.evidence) == ("full", None)


@pytest.mark.parametrize(
    "html",
    [
        "<html><head><title>Oops!</title></head><body><header><h1>Courier</h1></header><main>"
        "<h1>Page not found</h1><p>Sorry.</p></main></body></html>",
        _page(
            "Council | Courier", f"<p>{_words(60)}</p><div>To continue reading, subscribe.</div>"
        ),
        _page(
            "Council | Courier",
            f"<p>{_words(60)}</p><div>You\u2019ve read your 3 free articles this month.</div>",
        ),
    ],
)
def test_error_pages_and_meters_in_other_wordings_are_found(html):
    assert (
        rules_for()
        .classify(PageFacts(html, status=200, words=60, body=html.encode(), text=_words(60)))
        .label
        != "full"
    )
