"""End to end: a page captured with ``CAPTURE=requisites`` or ``CAPTURE=browser`` looks,
replayed, as it did live.

The Looking Glass's script-free article (tests/site/looks/plain.html: imported
stylesheets, fonts, backgrounds, responsive images, a picture, a frame, a video poster,
a "CDN" on another origin) with its requisites, and its app-shell article (written by a
script from JSON, with a box of related stories loaded by another request) in the
browser, are each crawled, loaded live in headless Chromium, then replayed
by ``scrapy replay`` (pywb) in Chromium: every resource the live page loaded must be
served by the replay from the archive (pywb's access log says what it served; the live
site must not be asked for anything), and the two screenshots must match: at most
``MAX_DIFFERING`` of their pixels may differ by more than ``PIXEL_TOLERANCE`` in a
channel (anti-aliasing; measured: one pixel, the tracking pixel robots.txt kept out).
``scrapy pack``'s WACZ lists them all in its index. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
import re
import sys
import zipfile
from pathlib import Path
from urllib.parse import unquote

import pytest
from PIL import Image, ImageChops

from tests.support.browser import ARTIFACTS, free_port, render, serving
from tests.support.crawl import ROOT, run_crawl, run_scrapy, write_url_list
from tests.support.siteserver import SiteServer

pytestmark = pytest.mark.browser

# What a live page loads and the crawl leaves out, by design: robots.txt disallows the
# tracking pixel; requisites follow frames one level (the frame's own frame, and its
# stylesheet), where a browser loads them all.
LEFT_OUT = {
    "requisites": {"/looks/tracking/pixel.png", "/looks/frames/inner.html",
                   "/looks/css/inner-only.css"},
    "browser": {"/looks/tracking/pixel.png"},
}  # fmt: skip
CASES = [("requisites", "/looks/plain.html", 20), ("browser", "/looks/app.html?story=tides", 8)]
PIXEL_TOLERANCE = 16  # of 255, in any channel
MAX_DIFFERING = 0.005  # of the pixels

# pywb's access log: what the browser asked the replay for, and the answer
SERVED = re.compile(
    r'"(?:GET|POST) /archive/(?:resource/postreq\?url=(?P<post>[^&\s]+)\S*'
    r'|\d{14}[a-z]{0,2}_?/(?P<get>\S+)) HTTP/1\.1" (?P<status>\d{3})'
)


def differing(a: Path, b: Path) -> float:
    """The share of pixels of two same-size screenshots that differ noticeably."""
    first, second = Image.open(a).convert("RGB"), Image.open(b).convert("RGB")
    assert first.size == second.size
    red, green, blue = ImageChops.difference(first, second).split()
    largest = ImageChops.lighter(ImageChops.lighter(red, green), blue)  # per pixel
    over = sum(largest.histogram()[PIXEL_TOLERANCE + 1 :])
    return over / (first.size[0] * first.size[1])


@pytest.mark.parametrize(("mode", "page", "resources"), CASES)
def test_a_captured_page_replays_as_it_looked_live(
    tmp_path: Path, mode: str, page: str, resources: int
):
    with SiteServer() as site:
        urls = write_url_list(tmp_path / "urls.txt", [site.url(page)])
        archive = tmp_path / "archive"
        crawl = run_crawl(archive, args={"urls": str(urls)}, settings={"CAPTURE": mode})
        assert crawl.returncode == 0, crawl.log[-5000:]
        (line,) = crawl.manifest
        assert line["outcome"] == "ok"

        seen = len(site.log.requests)
        live_png = ARTIFACTS / f"{mode}-live.png"
        render(site.url(page), screenshot=live_png, hosts=("localhost",))
        port = site.httpd.server_address[1]
        live = {f"http://{r.host}:{port}{r.path}" for r in site.log.requests[seen:]
                if r.path != page and r.path not in LEFT_OUT[mode]}  # fmt: skip
        assert len(live) >= resources  # stylesheets, fonts, images, frames, scripts, JSON

        replay_port = free_port()
        cmd = [sys.executable, "-m", "scrapy", "replay", str(archive), "--port", str(replay_port)]
        with serving(cmd, replay_port, cwd=ROOT) as server:
            stamp = "".join(c for c in line["fetched_at"] if c.isdigit())[:14]
            seen = len(site.log.requests)
            replay_png = ARTIFACTS / f"{mode}-replay.png"
            render(f"http://127.0.0.1:{replay_port}/archive/{stamp}/{line['url']}",
                   screenshot=replay_png)  # fmt: skip
            assert site.log.requests[seen:] == []  # everything came from the archive
            served: dict[str, set[str]] = {}
            for found in SERVED.finditer(server.output()):
                url = unquote(found["post"]) if found["post"] else found["get"]
                served.setdefault(url, set()).add(found["status"])
        missing = {url: served.get(url) for url in live if "200" not in served.get(url, set())}
        assert not missing, missing
        share = differing(live_png, replay_png)
        assert share <= MAX_DIFFERING, f"{share:.2%} of the pixels differ"

    if mode == "browser":
        assert "Spring Tides Flood the Fish Market" in line["title"]
    wacz = tmp_path / "page.wacz"
    packed = run_scrapy("pack", str(archive), "--out", str(wacz))
    assert packed.returncode == 0, packed.stderr
    with zipfile.ZipFile(wacz) as package:
        index = package.read("indexes/index.cdx").decode().splitlines()
    indexed = {json.loads(row.split(" ", 2)[2])["url"] for row in index}
    assert live <= indexed
