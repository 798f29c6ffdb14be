"""Bytes to text: the declared charset when it fits, detection when it lies."""

from __future__ import annotations

import pytest

from crawler.extract.decoding import decode_html, detect_encoding

ARTICLES = {  # language -> a paragraph, and the legacy charset it is often served in
    "fr": ("« C’est une décision attendue », a déclaré la maire – 12 millions d’euros.", "cp1252"),
    "de": ("Der Stadtrat beschließt eine Fußgängerbrücke über die Förde für 12 Mio. €.", "cp1252"),
    "pl": ("Rada miasta zatwierdziła budowę mostu; mieszkańcy czekają na łatwiejszy dojazd.",
           "cp1250"),
    "ru": ("Городской совет утвердил строительство нового моста через реку.", "cp1251"),
    "el": ("Το δημοτικό συμβούλιο ενέκρινε την κατασκευή νέας γέφυρας στο λιμάνι.", "cp1253"),
    "ja": ("政府は水曜日、干ばつの影響を受けた農家を支援する新たな計画を発表した。", "shift_jis"),
    "cs": ("Zastupitelstvo schválilo stavbu nového mostu přes řeku.", "cp1250"),
    "tr": ("Belediye meclisi limanın üzerinde yeni bir köprü yapılmasını onayladı.", "cp1254"),
    "es": ("El ayuntamiento aprobó el puente; «es una decisión histórica», dijo.", "cp1252"),
}  # fmt: skip


def page(text: str, meta: str = "utf-8") -> str:
    head = f'<head><meta charset="{meta}"><title>t</title></head>'
    return f"<html>{head}<body><p>{text}</p></body></html>"


@pytest.mark.parametrize("language", list(ARTICLES))
@pytest.mark.parametrize("label", ["header", "meta"])
def test_a_page_labelled_utf8_in_another_charset_is_read_in_that_charset(language, label):
    text, charset = ARTICLES[language]
    html = page(text)
    content_type = "text/html; charset=utf-8" if label == "header" else "text/html"
    decoded, used = decode_html(html.encode(charset), content_type)
    assert decoded == html and "\ufffd" not in decoded
    # (Shift_JIS is read as cp932, its superset, which reads these bytes the same)
    assert used == {"shift_jis": "cp932"}.get(charset, charset)


def test_a_declared_charset_that_fits_is_kept():
    text, _ = ARTICLES["fr"]
    assert decode_html(page(text).encode("utf-8"), "text/html; charset=utf-8")[1] == "utf-8"
    latin = page("Stadtrat beschließt Brücke", "iso-8859-1").encode("iso-8859-1")
    assert decode_html(latin, None) == (latin.decode("cp1252"), "cp1252")  # as browsers do
    # a replacement character the page really holds is the page's own
    own = page("a literal \ufffd in the text").encode("utf-8")
    assert decode_html(own, "text/html; charset=utf-8")[1] == "utf-8"


def test_utf8_with_a_few_stray_bytes_stays_utf8():
    """An ad script pasted from a Latin-1 source must not turn the article into mojibake."""
    text, _ = ARTICLES["pl"]
    body = (
        page(text).encode("utf-8").replace(b"</body>", b"<script>var a='caf\xe9';</script></body>")
    )
    decoded, used = decode_html(body, "text/html; charset=utf-8")
    assert used == "utf-8" and text in decoded and "café" in decoded


def test_one_curly_quote_in_ascii_is_cp1252():
    decoded, used = decode_html(
        b"<p>It\x92s a deal, the union said.</p>", "text/html; charset=utf-8"
    )
    assert (decoded, used) == ("<p>It\u2019s a deal, the union said.</p>", "cp1252")


def test_undeclared_pages():
    assert decode_html("<p>café</p>".encode(), None) == ("<p>café</p>", "utf-8")
    assert decode_html(b"<p>caf\xe9</p>", None) == ("<p>café</p>", "cp1252")


@pytest.mark.parametrize("language", ["fr", "pl", "ru"])
def test_detect_encoding_of_a_seed(language):
    text, charset = ARTICLES[language]
    assert detect_encoding(text.encode(charset)) == charset


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("text/html; charset=iso-8859-1", "Brücke".encode("latin-1"), "Brücke"),
        ("text/html", '<meta charset="windows-1252"><p>caf\xe9'.encode("latin-1"), "café"),
        ("text/html", "<p>Förde</p>".encode(), "Förde"),
        (None, b"<p>caf\xe9</p>", "café"),  # undeclared, not UTF-8: cp1252
        ("text/html; charset=utf-8", b"\xef\xbb\xbf<p>x</p>", "<p>x</p>"),
    ],
)
def test_decode_html(content_type, body, expected):
    assert expected in decode_html(body, content_type)[0]
