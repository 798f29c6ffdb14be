r"""News sources for the ``feeds`` spider: a TOML file of sites, validated at start.

```toml
[[site]]
name = "The Loopback Courier"          # required, unique
homepage = "https://news.example/"     # feeds from <link rel=alternate>, sitemaps from robots.txt
feeds = ["https://news.example/rss"]   # RSS 2.0, RSS 1.0, Atom
sitemaps = ["https://news.example/sitemap.xml"]   # urlset, sitemapindex, .xml.gz, news
allow = ["/20\d\d/"]                 # regexes: keep URLs matching one of these
deny = ["/opinion/"]                   #          and none of these
download_delay = 2.0                   # politeness for this site's host(s), seconds
concurrency = 1                        # requests at once to this site's host(s)
capture = "requisites"                 # html, requisites, browser (default: CAPTURE)
```
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.core.capture import CaptureModeError, capture_mode
from crawler.core.urls import InvalidURL, validate_url
from crawler.sources.feeds import compile_patterns
from crawler.sources.urllists import InputFormatError

_KEYS = {
    "name", "homepage", "feeds", "sitemaps", "allow", "deny", "download_delay", "concurrency",
    "capture",
}  # fmt: skip


@dataclass(frozen=True)
class Site:
    name: str
    homepage: str | None = None
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    download_delay: float | None = None
    concurrency: int | None = None
    capture: str | None = None  # its pages' capture mode (None: the CAPTURE setting)

    @property
    def hosts(self) -> frozenset[str]:
        """The hosts of the site's homepage, feeds and sitemaps: its politeness applies there."""
        urls = [self.homepage, *self.feeds, *self.sitemaps]
        return frozenset(urlsplit(u).hostname or "" for u in urls if u)


def _url(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InputFormatError(f"{where}: expected a URL string, got {value!r}")
    try:
        return validate_url(value.strip())
    except InvalidURL as exc:
        raise InputFormatError(f"{where}: {exc}: {value!r}") from None


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputFormatError(f"{where}: expected a list of strings, got {value!r}")
    return tuple(value)


def site_from_dict(data: dict[str, Any], where: str) -> Site:
    unknown = set(data) - _KEYS
    if unknown:
        raise InputFormatError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(_KEYS)}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InputFormatError(f"{where}: every site needs a name")
    where = f"{where} ({name})"
    homepage = _url(data["homepage"], f"{where} homepage") if "homepage" in data else None
    feeds = tuple(
        _url(u, f"{where} feeds") for u in _strings(data.get("feeds", []), f"{where} feeds")
    )
    sitemaps = tuple(
        _url(u, f"{where} sitemaps")
        for u in _strings(data.get("sitemaps", []), f"{where} sitemaps")
    )
    if not (homepage or feeds or sitemaps):
        raise InputFormatError(f"{where}: give a homepage, feeds or sitemaps")
    allow = _strings(data.get("allow", []), f"{where} allow")
    deny = _strings(data.get("deny", []), f"{where} deny")
    try:
        compile_patterns(allow, "allow")
        compile_patterns(deny, "deny")
    except ValueError as exc:
        raise InputFormatError(f"{where}: {exc}") from None
    delay = data.get("download_delay")
    # (TOML true is a Python int too: not a number here)
    if delay is not None and (
        isinstance(delay, bool) or not isinstance(delay, int | float)
        or not math.isfinite(delay) or delay < 0
    ):  # fmt: skip
        raise InputFormatError(f"{where}: download_delay must be a number >= 0")
    concurrency = data.get("concurrency")
    if concurrency is not None and (
        isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1
    ):
        raise InputFormatError(f"{where}: concurrency must be a whole number >= 1")
    capture = data.get("capture")
    if capture is not None:
        if not isinstance(capture, str):
            raise InputFormatError(f"{where}: capture must be a string, got {capture!r}")
        try:
            capture = capture_mode(capture)
        except CaptureModeError as exc:
            raise InputFormatError(f"{where}: {exc}") from None
    return Site(
        name.strip(), homepage, feeds, sitemaps, allow, deny,
        float(delay) if delay is not None else None, concurrency, capture,
    )  # fmt: skip


def load_sources(path: str | Path) -> list[Site]:
    """Sites of a sources file; any problem is an InputFormatError naming the site and key."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputFormatError(f"cannot read sources file {str(path)!r}: {exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputFormatError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(data) - {"site"}
    if unknown:
        raise InputFormatError(f"{path}: unknown table(s) {sorted(unknown)}; use [[site]]")
    entries = data.get("site")
    if not isinstance(entries, list) or not entries:
        raise InputFormatError(f"{path}: no [[site]] entries")
    sites = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise InputFormatError(f"{path} site {i + 1}: not a table; use [[site]]")
        sites.append(site_from_dict(entry, f"{path} site {i + 1}"))
    names = [s.name for s in sites]
    if repeated := sorted({name for name in names if names.count(name) > 1}):
        raise InputFormatError(f"{path}: site names must be unique: {repeated} repeated")
    return sites
