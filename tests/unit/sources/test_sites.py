"""Sources files for the feeds spider: site_from_dict and load_sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.sources.sites import Site, load_sources, site_from_dict
from crawler.sources.urllists import InputFormatError

WHERE = "sources.toml site 1"

FULL = {
    "name": "The Loopback Courier",
    "homepage": "https://news.example/",
    "feeds": ["https://feeds.news.example/rss", "https://news.example/atom.xml"],
    "sitemaps": ["https://static.news.example/sitemap.xml"],
    "allow": [r"/20\d\d/"],
    "deny": ["/opinion/", "/live/"],
    "download_delay": 2,
    "concurrency": 1,
}


def site(**kw) -> dict:
    """A minimal valid site, with *kw* added (a value of None removes the key)."""
    data = {"name": "Courier", "homepage": "https://news.example/", **kw}
    return {k: v for k, v in data.items() if v is not None}


def problem(data: dict) -> str:
    with pytest.raises(InputFormatError) as info:
        site_from_dict(data, WHERE)
    return str(info.value)


# -- site_from_dict: valid sites -----------------------------------------------------------
def test_a_full_site():
    parsed = site_from_dict(FULL, WHERE)
    assert parsed == Site(
        name="The Loopback Courier",
        homepage="https://news.example/",
        feeds=("https://feeds.news.example/rss", "https://news.example/atom.xml"),
        sitemaps=("https://static.news.example/sitemap.xml",),
        allow=(r"/20\d\d/",),
        deny=("/opinion/", "/live/"),
        download_delay=2.0,
        concurrency=1,
    )
    assert isinstance(parsed.download_delay, float)
    assert parsed.hosts == {"news.example", "feeds.news.example", "static.news.example"}


def test_defaults_of_a_minimal_site():
    parsed = site_from_dict({"name": "Courier", "homepage": "https://news.example/"}, WHERE)
    assert parsed == Site("Courier", "https://news.example/")
    assert (parsed.feeds, parsed.sitemaps, parsed.allow, parsed.deny) == ((), (), (), ())
    assert parsed.download_delay is None and parsed.concurrency is None
    assert parsed.hosts == {"news.example"}


def test_the_name_and_urls_are_stripped():
    parsed = site_from_dict(
        {
            "name": "  Courier ",
            "homepage": " https://news.example/ ",
            "feeds": [" http://a.example/rss"],
        },
        WHERE,
    )
    assert parsed.name == "Courier"
    assert parsed.homepage == "https://news.example/"
    assert parsed.feeds == ("http://a.example/rss",)


@pytest.mark.parametrize(
    "data",
    [
        {"name": "Feeds only", "feeds": ["https://news.example/rss"]},
        {"name": "Sitemaps only", "sitemaps": ["https://news.example/sitemap.xml"]},
        {"name": "Homepage only", "homepage": "https://news.example/"},
    ],
)
def test_any_one_of_homepage_feeds_sitemaps_is_enough(data):
    assert site_from_dict(data, WHERE).hosts == {"news.example"}


def test_a_single_string_is_a_one_item_list():
    parsed = site_from_dict(
        {
            "name": "Courier",
            "feeds": "https://news.example/rss",
            "sitemaps": "https://news.example/sitemap.xml",
            "allow": "/news/",
            "deny": "/opinion/",
        },
        WHERE,
    )
    assert parsed.feeds == ("https://news.example/rss",)
    assert parsed.sitemaps == ("https://news.example/sitemap.xml",)
    assert parsed.allow == ("/news/",)
    assert parsed.deny == ("/opinion/",)
    assert parsed.homepage is None


def test_hosts_are_lowercase_hostnames_without_port_or_credentials():
    parsed = site_from_dict(
        {
            "name": "Courier",
            "homepage": "https://News.Example:8443/",
            "feeds": ["http://user:pw@feeds.example/rss"],
        },
        WHERE,
    )
    assert parsed.hosts == {"news.example", "feeds.example"}


@pytest.mark.parametrize(("delay", "expected"), [(0, 0.0), (0.5, 0.5), (3, 3.0)])
def test_download_delay_is_a_float(delay, expected):
    assert site_from_dict(site(download_delay=delay), WHERE).download_delay == expected


@pytest.mark.parametrize("concurrency", [1, 8])
def test_concurrency(concurrency):
    assert site_from_dict(site(concurrency=concurrency), WHERE).concurrency == concurrency


# -- site_from_dict: invalid sites ---------------------------------------------------------
def test_an_unknown_key_is_named():
    message = problem(site(feed="https://news.example/rss"))
    assert message.startswith(WHERE)
    assert "unknown key(s) ['feed']" in message
    assert "'feeds'" in message  # the known keys are listed


@pytest.mark.parametrize("name", [None, "", "   ", 42, ["Courier"]])
def test_every_site_needs_a_name(name):
    message = problem(site(name=name))  # None: no name key at all
    assert message == f"{WHERE}: every site needs a name"


def test_a_site_without_homepage_feeds_or_sitemaps():
    message = problem({"name": "Courier", "feeds": [], "allow": ["/news/"]})
    assert message == f"{WHERE} (Courier): give a homepage, feeds or sitemaps"


@pytest.mark.parametrize(
    ("key", "value", "bad"),
    [
        ("homepage", "ftp://news.example/", "unsupported scheme 'ftp'"),
        ("homepage", "news.example/home", "not an absolute URL"),
        ("homepage", "https:///path-only", "no host"),
        ("feeds", ["https://news.example/rss", "file:///etc/passwd"], "unsupported scheme 'file'"),
        ("sitemaps", ["javascript:alert(1)"], "unsupported scheme 'javascript'"),
        ("feeds", ["https://news.example/a feed"], "whitespace"),
    ],
)
def test_a_non_http_url_is_named(key, value, bad):
    message = problem(site(**{key: value}))
    assert message.startswith(f"{WHERE} (Courier) {key}: ")
    assert bad in message


def test_a_homepage_that_is_not_a_string():
    message = problem(site(homepage=["https://news.example/"]))
    assert message.startswith(f"{WHERE} (Courier) homepage: expected a URL string")


@pytest.mark.parametrize("key", ["allow", "deny"])
def test_a_bad_regex_is_named(key):
    message = problem(site(**{key: ["/ok/", "/news/(unclosed"]}))
    assert message.startswith(f"{WHERE} (Courier): ")
    assert f"invalid {key} pattern '/news/(unclosed'" in message


@pytest.mark.parametrize("delay", [-1, -0.5, "2", [2], True, float("nan"), float("inf")])
def test_a_bad_download_delay(delay):
    message = problem(site(download_delay=delay))
    assert message == f"{WHERE} (Courier): download_delay must be a number >= 0"


@pytest.mark.parametrize("concurrency", [0, -2, 1.0, 2.5, "4", True])
def test_a_bad_concurrency(concurrency):
    message = problem(site(concurrency=concurrency))
    assert message == f"{WHERE} (Courier): concurrency must be a whole number >= 1"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("feeds", {"url": "https://news.example/rss"}),
        ("feeds", ["https://news.example/rss", 3]),
        ("sitemaps", 5),
        ("allow", [1]),
        ("deny", [None]),
    ],
)
def test_lists_must_be_of_strings(key, value):
    message = problem(site(**{key: value}))
    assert message.startswith(f"{WHERE} (Courier) {key}: ")  # names the site and the key
    assert f"expected a list of strings, got {value!r}" in message


# -- load_sources --------------------------------------------------------------------------
SOURCES = """\
# two news sites
[[site]]
name = "The Loopback Courier"
homepage = "https://news.example/"
feeds = ["https://news.example/rss"]
sitemaps = ["https://news.example/sitemap.xml"]
allow = ['/20\\d\\d/']
deny = ["/opinion/"]
download_delay = 2.0
concurrency = 1

[[site]]
name = "Daily Feed"
feeds = "https://daily.example/atom"
"""


def write(tmp_path: Path, text: str, name: str = "sources.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_sources(tmp_path):
    sites = load_sources(write(tmp_path, SOURCES))
    assert sites == [
        Site(
            "The Loopback Courier",
            "https://news.example/",
            ("https://news.example/rss",),
            ("https://news.example/sitemap.xml",),
            ("/20\\d\\d/",),
            ("/opinion/",),
            2.0,
            1,
        ),
        Site("Daily Feed", feeds=("https://daily.example/atom",)),
    ]


def test_load_sources_accepts_a_str_path(tmp_path):
    assert [s.name for s in load_sources(str(write(tmp_path, SOURCES)))] == [
        "The Loopback Courier",
        "Daily Feed",
    ]


def test_load_sources_names_the_site_by_position_and_name(tmp_path):
    path = write(
        tmp_path, SOURCES + '\n[[site]]\nname = "Third"\nhomepage = "gopher://x.example/"\n'
    )
    with pytest.raises(InputFormatError) as info:
        load_sources(path)
    assert str(info.value).startswith(f"{path} site 3 (Third) homepage: ")
    assert "unsupported scheme 'gopher'" in str(info.value)


def test_load_sources_rejects_text_that_is_not_toml(tmp_path):
    path = write(tmp_path, "[[site]\nname = Courier\n")
    with pytest.raises(InputFormatError, match="not valid TOML") as info:
        load_sources(path)
    assert str(info.value).startswith(str(path))


def test_load_sources_rejects_a_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "sources.toml"
    path.write_bytes(b'[[site]]\nname = "Caf\xe9"\n')
    with pytest.raises(InputFormatError, match="not valid TOML"):
        load_sources(path)


def test_load_sources_of_a_missing_file(tmp_path):
    path = tmp_path / "nowhere.toml"
    with pytest.raises(InputFormatError, match="cannot read sources file") as info:
        load_sources(path)
    assert repr(str(path)) in str(info.value)


def test_load_sources_of_a_directory(tmp_path):
    with pytest.raises(InputFormatError, match="cannot read sources file"):
        load_sources(tmp_path)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# nothing here\n",
        "site = []\n",
        '[site]\nname = "Courier"\nhomepage = "https://news.example/"\n',
    ],
)
def test_load_sources_without_site_entries(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(InputFormatError) as info:
        load_sources(path)
    assert str(info.value) == f"{path}: no [[site]] entries"


def test_load_sources_rejects_an_unknown_top_level_table(tmp_path):
    path = write(tmp_path, SOURCES + '\n[[sites]]\nname = "Typo"\n')
    with pytest.raises(InputFormatError) as info:
        load_sources(path)
    assert str(info.value) == f"{path}: unknown table(s) ['sites']; use [[site]]"


def test_load_sources_rejects_an_unknown_top_level_key(tmp_path):
    path = write(tmp_path, "delay = 1\n" + SOURCES)
    with pytest.raises(InputFormatError, match=r"unknown table\(s\) \['delay'\]"):
        load_sources(path)


@pytest.mark.parametrize("second", ["Daily Feed", "  Daily Feed  "])
def test_load_sources_rejects_duplicate_names(tmp_path, second):
    path = write(
        tmp_path, SOURCES + f'\n[[site]]\nname = "{second}"\nhomepage = "https://b.example/"\n'
    )
    with pytest.raises(InputFormatError) as info:
        load_sources(path)
    assert str(info.value) == f"{path}: site names must be unique: ['Daily Feed'] repeated"


@pytest.mark.parametrize("entries", ["site = [1]", 'site = ["x"]'])
def test_load_sources_rejects_sites_that_are_no_tables(tmp_path, entries):
    path = tmp_path / "sources.toml"
    path.write_text(entries + "\n", encoding="utf-8")
    with pytest.raises(InputFormatError, match=r"site 1: not a table; use \[\[site\]\]"):
        load_sources(path)


def test_load_sources_names_differing_only_in_case_are_distinct(tmp_path):
    path = write(
        tmp_path, SOURCES + '\n[[site]]\nname = "daily feed"\nhomepage = "https://b.example/"\n'
    )
    assert [s.name for s in load_sources(path)][-2:] == ["Daily Feed", "daily feed"]


@pytest.mark.parametrize(
    ("capture", "expected"),
    [("requisites", "requisites"), (" HTML ", "html"), ("browser", "browser")],
)
def test_a_sites_own_capture_mode(capture, expected):
    site = site_from_dict({"name": "S", "homepage": "https://s.example/", "capture": capture}, "f")
    assert site.capture == expected
    assert site_from_dict({"name": "S", "homepage": "https://s.example/"}, "f").capture is None


@pytest.mark.parametrize("capture", ["everything", 1, ["html"]])
def test_a_bad_capture_mode_is_named(capture):
    with pytest.raises(InputFormatError, match=r"f site 1 \(S\): capture"):
        site_from_dict(
            {"name": "S", "homepage": "https://s.example/", "capture": capture}, "f site 1"
        )
