"""The browser's pieces that need no browser: crawler.fetch.browser."""

from __future__ import annotations

import pytest

from crawler.fetch.browser import (
    Answer,
    AnswerCache,
    BrowserNotFoundError,
    BrowserOptions,
    BrowserPool,
    chromium_flags,
    find_chromium,
)


def answer(size: int) -> Answer:
    return Answer(200, (("Content-Type", "image/png"),), b"x" * size)


def test_the_cache_drops_the_least_recently_used_past_its_size():
    cache = AnswerCache(max_bytes=250)
    cache.put("a", answer(100))
    cache.put("b", answer(100))
    assert cache.get("a") is not None  # a is now the most recent
    cache.put("c", answer(100))
    assert cache.get("b") is None and cache.get("a") and cache.get("c")
    assert cache.size == 200
    cache.put("huge", answer(300))  # bigger than the whole cache: not kept
    assert cache.get("huge") is None and cache.size == 200
    cache.put("a", answer(10))
    assert cache.size == 110


def test_a_missing_chromium_says_how_to_install_it(tmp_path):
    with pytest.raises(BrowserNotFoundError, match="chromium"):
        find_chromium(str(tmp_path / "no-such-browser"))


def test_the_browser_has_no_network_of_its_own():
    flags = chromium_flags("/tmp/profile")
    assert "--host-resolver-rules=MAP * ~NOTFOUND" in flags
    assert "--proxy-server=127.0.0.1:9" in flags and "--proxy-bypass-list=<-loopback>" in flags
    assert "--remote-debugging-pipe" in flags and "--block-new-web-contents" in flags
    assert not [f for f in flags if f.startswith("--remote-debugging-port")]


def test_pages_at_once_must_be_positive():
    with pytest.raises(ValueError, match="pages"):
        BrowserPool(BrowserOptions("chromium"), 0)
