"""Access-state rules: every built-in rule fires on its example, and ordinary articles
(one about cookies and subscriptions, a short brief; pages that show their article
whatever the extractor made of them) fire none."""

from __future__ import annotations

import pytest

from crawler.core.items import Access
from crawler.extract.access import (
    BLOCKING,
    BUILTIN_RULES,
    AccessRules,
    AccessRulesError,
    PageFacts,
    Rule,
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


# -- real-looking pages that show their article: never a blocking label, never a teaser -----
# (What real pages carry: Cloudflare injects its bot-detection script into ordinary pages
# of the sites behind it; sites ship their error messages in an inline script; paywalled
# sites declare `isAccessibleForFree: false` on pages that hold the whole article.)
CF_JSD = (
    "<script>(function(){function c(){var b=a.contentDocument||a.contentWindow.document;"
    "if(b){var d=b.createElement('script');d.innerHTML=\"window.__CF$cv$params={r:"
    "'8f2a91c4be7d3a12',t:'MTcxMTM2MDAwMC4wMDAwMDA='};var a=document.createElement("
    "'script');a.nonce='';a.src='/cdn-cgi/challenge-platform/scripts/jsd/main.js';"
    "document.getElementsByTagName('head')[0].appendChild(a);\";b.getElementsByTagName("
    "'head')[0].appendChild(d)}}if(document.body){var a=document.createElement('iframe');"
    "a.height=1;a.width=1;a.style.visibility='hidden';document.body.appendChild(a);c()}})();"
    "</script>"
)
ERROR_MESSAGES = (
    '<script>window.__i18n={"errors":{"403":"You do not have access","404":"Page not found",'
    '"429":"429: Too Many Requests","500":"Something went wrong"},"consent":"Accept all '
    'cookies to continue"};</script>'
)
NOT_FREE = (
    '<script type="application/ld+json">{"@context":"https://schema.org","@type":'
    '"NewsArticle","headline":"Council approves budget","isAccessibleForFree":false,'
    '"wordCount":600,"hasPart":{"@type":"WebPageElement","isAccessibleForFree":false,'
    '"cssSelector":".article-body"}}</script>'
)


def article_page(head: str = "", body_end: str = "", paragraphs: int = 12) -> str:
    """An article as news sites serve it: navigation, 50-word paragraphs, related links,
    a footer."""
    nav = "".join(f"<li><a href='/s/{i}'>Section {i}</a></li>" for i in range(30))
    related = "".join(f"<li><a href='/r/{i}'>{_words(10)}</a></li>" for i in range(8))
    body = "".join(f"<p>{_words(50)}</p>" for _ in range(paragraphs))
    return (
        f"<!DOCTYPE html><html><head><title>Council approves budget | Courier</title>{head}"
        f"</head><body><header><nav><ul>{nav}</ul></nav></header><main><article>"
        f"<h1>Council approves budget</h1><div class='article-body'>{body}</div></article>"
        f"<aside><h2>Related</h2><ul>{related}</ul></aside></main><footer><p>(c) 2024 The "
        f"Courier, 1 Harbour Street</p></footer>{body_end}</body></html>"
    )


PAYWALL_UI = (
    '<div class="paywall-header-wrap"><a class="paywall-login-link" href="/login">Log in</a>'
    '<a class="btn btn-paywall" href="/subscribe">Subscribe</a></div>'
)
CONTENT_PAGES = {
    "an article with Cloudflare's bot-detection script": article_page(body_end=CF_JSD),
    "an article under a site's paywall login bar": article_page(body_end=PAYWALL_UI),
    "an article whose body has the class paywall": article_page().replace(
        "class='article-body'", "class='article-body__content paywall'"
    ),
    "an article with '429: Too Many Requests' among a script's messages": article_page(
        head=ERROR_MESSAGES
    ),
    "an article that declares isAccessibleForFree false and holds its text": article_page(
        head=NOT_FREE
    ),
}


@pytest.mark.parametrize("extracted", [600, 40, 0], ids=["extracted", "cut-short", "missed"])
@pytest.mark.parametrize("what", sorted(CONTENT_PAGES))
def test_a_page_that_shows_its_article_is_full_whatever_was_extracted(what, extracted):
    """The extractor can fail on a real page (nothing, or a fragment): the page itself,
    not only what was extracted, says whether the article is there."""
    html = CONTENT_PAGES[what]
    facts = PageFacts(html, status=200, words=extracted, body=html.encode(),
                      text=_words(extracted))  # fmt: skip
    assert rules_for().classify(facts) == Access("full")
    # the downloader's view: no article extracted yet, its words counted on the page
    downloader = (
        rules_for()
        .only(BLOCKING)
        .classify(PageFacts(html, status=200, body=html.encode(), count_words=lambda: 0))
    )
    assert downloader == Access("full")


def test_a_challenge_page_with_the_same_scripts_is_still_a_challenge():
    """Cloudflare's challenge page (its _cf_chl_opt, the orchestrate script) is one,
    with the bot-detection script or without."""
    html = page("challenge-cf.html").replace("</body>", f"{CF_JSD}</body>")
    access = rules_for().classify(PageFacts(html, status=503, words=0, body=html.encode()))
    assert access.label == "challenge"
    assert "words on the page" in access.evidence
    assert "scripts/jsd" not in access.evidence


def test_a_rate_limit_page_is_still_one_with_messages_in_its_scripts():
    html = page("rate-limited.html").replace("</head>", f"{ERROR_MESSAGES}</head>")
    access = rules_for().classify(PageFacts(html, status=200, words=0, body=html.encode()))
    assert access.label == "rate_limited" and "words on the page" in access.evidence


def test_a_teaser_is_short_of_what_its_page_declares():
    """Not free and short (75 words, the page shows ~100): a teaser; not free and the
    whole text on the page: full. Short of the declared wordCount: a teaser, unless the
    page shows the words the extractor missed."""
    teaser = page("paywall-jsonld.html")
    assert rules_for().classify(PageFacts(teaser, words=75)).label == "teaser"
    whole = article_page(head=NOT_FREE)
    assert rules_for().classify(PageFacts(whole, words=600)).label == "full"
    declared = page("paywall-wordcount.html")
    access = rules_for().classify(PageFacts(declared, words=110))
    assert access.label == "teaser"
    assert access.evidence.startswith("teaser-declared-length: 110 of 1450 declared words")
    long_declared = whole.replace('"wordCount":600', '"wordCount":650')
    assert rules_for().classify(PageFacts(long_declared, words=120)).label == "full"
    # a wordCount seven times the text (characters, perhaps), on a page showing it all
    characters = whole.replace('"wordCount":600', '"wordCount":4200')
    assert rules_for().classify(PageFacts(characters, words=600)).label == "full"


def test_a_short_brief_that_is_all_it_declares_is_no_teaser():
    """Not free, 129 words, and the page declares 129: a wire brief, whole."""
    brief = article_page(head=NOT_FREE.replace('"wordCount":600', '"wordCount":129'), paragraphs=3)
    assert rules_for().classify(PageFacts(brief, words=129)) == Access("full")
    longer = brief.replace('"wordCount":129', '"wordCount":900')
    assert rules_for().classify(PageFacts(longer, words=129)).label == "teaser"


def test_a_page_that_says_it_is_free_is_no_teaser_of_a_wrong_word_count():
    """A wordCount four times the text (seen on a real site), on a page that declares
    itself free: full. The same page without the declaration: a teaser."""
    free = article_page(
        head='<script type="application/ld+json">{"@type":"NewsArticle",'
        '"isAccessibleForFree":true,"wordCount":2737}</script>',
        paragraphs=4,
    )
    assert rules_for().classify(PageFacts(free, words=200)) == Access("full")
    unsaid = free.replace('"isAccessibleForFree":true,', "")
    assert rules_for().classify(PageFacts(unsaid, words=200)).label == "teaser"


# -- the conditions ------------------------------------------------------------------------
def _rule(**conditions) -> Rule:
    return Rule.parse({"name": "r", "label": "challenge", **conditions}, "test")


def test_visible_reads_what_the_page_shows_not_its_scripts_styles_or_comments():
    rule = _rule(visible="too many requests")
    hidden = (
        "<script>m='Too many requests'</script><style>/* too many requests */</style>"
        "<!-- too many requests --><template><p>Too many requests</p></template>"
        '<script type="application/ld+json">{"x": "too many requests"}</script><p>Hello</p>'
    )
    assert rule.evidence(PageFacts(hidden)) is None
    assert _rule(html="too many requests").evidence(PageFacts(hidden)) is not None
    shown = hidden + "<h1>Too Many Requests</h1>"
    assert rule.evidence(PageFacts(shown)) == "r: 'Too Many Requests'"


def test_max_page_words_counts_the_page_itself_outside_its_links():
    rule = _rule(html="cf-turnstile", max_page_words=150)
    widget = '<div class="cf-turnstile"></div>'
    links = "".join(f"<a href='/{i}'>{_words(10)}</a>" for i in range(40))  # 400 words, links
    small = (
        f"<html><body>{widget}<p>{_words(60)}</p>{links}<script>{_FILLER}</script></body></html>"
    )
    assert rule.evidence(PageFacts(small, words=0)) == "r: 'cf-turnstile', 60 words on the page"
    big = small.replace("</body>", f"<p>{_words(100)}</p></body>")
    assert rule.evidence(PageFacts(big, words=0)) is None  # 160 words: the page shows more


def test_unless_overrules_the_rest_where_the_page_says_otherwise():
    rule = _rule(html="cf-turnstile", unless='data-site="ours"')
    assert rule.evidence(PageFacts('<div class="cf-turnstile"></div>')) is not None
    assert rule.evidence(PageFacts('<div class="cf-turnstile" data-site="ours"></div>')) is None


def test_below_declared_holds_where_nothing_is_declared():
    rule = Rule.parse({"name": "b", "label": "teaser", "html": "locked",
                       "below_declared": 0.8}, "test")  # fmt: skip
    declared = '<meta itemprop="wordCount" content="300"><div class="locked"></div>'
    assert rule.evidence(PageFacts(declared, words=100)) == "b: 'locked'"
    assert rule.evidence(PageFacts(declared, words=250)) is None  # 250 of 300: the text
    assert rule.evidence(PageFacts('<div class="locked"></div>', words=250)) == "b: 'locked'"


def test_declared_ratio_needs_the_page_short_too():
    rule = Rule.parse({"name": "d", "label": "teaser", "declared_ratio": 0.5}, "test")
    declared = '<script type="application/ld+json">{"wordCount": 400}</script>'
    teaser = f"<html><head>{declared}</head><body><p>{_words(100)}</p></body></html>"
    assert rule.evidence(PageFacts(teaser, words=100)) == (
        "d: 100 of 400 declared words, 100 words on the page"
    )
    whole = teaser.replace("</body>", f"<p>{_words(300)}</p></body>")
    assert rule.evidence(PageFacts(whole, words=100)) is None  # the extractor missed text
    assert rule.evidence(PageFacts(whole, words=380)) is None


def test_pages_are_mostly_decided_by_cheap_tests():
    """An article whose words are known passes every rule without its page being
    measured or stripped of its scripts."""
    measured = []

    class Watched(PageFacts):
        @property
        def visible(self) -> str:
            measured.append("visible")
            return super().visible

        @property
        def page_words(self) -> int:
            measured.append("page_words")
            return super().page_words

    for html in CONTENT_PAGES.values():
        assert rules_for().classify(Watched(html, status=200, words=600, text="")).label == "full"
    assert measured == []


@pytest.mark.parametrize(
    "condition, message",
    [
        ('max_page_words = "few"', "max_page_words must be a whole number"),
        ("max_page_words = -1", "max_page_words must be a whole number"),
        ("max_words = 1.5", "max_words must be a whole number"),
        ("max_page_words = true", "max_page_words must be a whole number"),
        ("declared_ratio = 2", "declared_ratio must be a share"),
        ('declared_ratio = "half"', "declared_ratio must be a share"),
        ("below_declared = 0", "below_declared must be a share"),
        ("visible = '('", "bad regex"),
        ("unless = '['", "bad regex"),
        ('status = "429"', "status must be a list"),
        ("contains = []", "contains: a text or a list"),
    ],
)
def test_invalid_conditions_are_refused_with_the_rule_named(tmp_path, condition, message):
    own = tmp_path / "mine.toml"
    own.write_text(f'[[rule]]\nname = "mine"\nlabel = "challenge"\n{condition}\n')
    with pytest.raises(AccessRulesError, match=message) as caught:
        AccessRules.load(own)
    assert "'mine'" in str(caught.value)


@pytest.mark.timeout(20)  # (each took minutes when every unclosed tag was a new search)
@pytest.mark.parametrize("tag", ["<script>", "<!--", "<a href='/'>", "<title>", "<h1>", "<"])
def test_a_page_of_unclosed_tags_costs_one_pass(tag):
    html = tag * (300_000 // len(tag))
    access = rules_for().classify(PageFacts(html, words=0, body=html.encode(), text=""))
    assert access.label == "full"


def test_an_element_never_closed_hides_nothing():
    facts = PageFacts("<p>one two</p><script>var x; <p>three four</p><!-- five")
    assert facts.page_words == 7  # all of it (a browser would hide the rest: this errs to full)
    assert PageFacts("<p>one</p><script>x</script><p>two</p>").page_words == 2
