import hashlib

import pytest
from w3lib.url import canonicalize_url

from crawler.core.identity import format_seq, text_filename, url_id


def test_id_is_sha256_of_canonical_url():
    url = "http://Example.org/a/b?z=1&a=2#frag"
    # sha256("http://example.org/a/b?a=2&z=1"), first 16 hex digits: pinned, so a change of
    # canonicalisation (a w3lib upgrade) that would rename every archived file fails here
    assert url_id(url) == "951e1ead43880929"
    assert url_id(url) == hashlib.sha256(canonicalize_url(url).encode()).hexdigest()[:16]


def test_same_url_in_other_spellings_same_id():
    assert url_id("http://example.org/a?b=1&a=2") == url_id("http://example.org/a?a=2&b=1")
    assert url_id("http://example.org/a#x") == url_id("http://example.org/a")
    assert url_id("http://example.org/a") != url_id("http://example.org/b")


def test_id_of_text_that_is_no_url_is_stable():
    # canonicalize_url leaves a mailto: as it is: sha256("mailto:someone@example.org")
    assert url_id("mailto:someone@example.org") == "920a4e2a38d17fd0"
    # not even UTF-8 (a lone surrogate, as a decoding error leaves it): hashed as given,
    # its surrogate escaped back to the byte it came from
    assert url_id("\udcff broken") == hashlib.sha256(b"\xff broken").hexdigest()[:16]
    assert url_id("\udcff broken") == "e9ac658c96142fab"


@pytest.mark.parametrize(
    ("position", "seq"), [(0, "000"), (7, "007"), (999, "999"), (1000, "1000")]
)
def test_seq_is_padded_to_three_digits(position, seq):
    assert format_seq(position) == seq


def test_seq_rejects_negative():
    with pytest.raises(ValueError):
        format_seq(-1)


def test_text_filename():
    assert text_filename("000", "c698d0e9cfb2b68c") == "000_c698d0e9cfb2b68c.txt"


@pytest.mark.parametrize(
    "text", ["http://example.org:99999/bad-port", "http://[::1/x", "http://[zz]/a"]
)
def test_id_of_an_entry_canonicalize_url_cannot_parse_is_of_the_text_as_given(text):
    """As the README says: SHA-256 of the UTF-8 bytes of the entry as the manifest shows it."""
    with pytest.raises(ValueError):
        canonicalize_url(text)
    assert url_id(text) == hashlib.sha256(text.encode()).hexdigest()[:16]
