"""Shared fixtures: the loopback news site and a helper that runs the real ``scrapy crawl``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler

from crawler import settings as project_settings
from crawler.archive.directory import Archive
from crawler.extensions.archive import ArchiveExtension
from crawler.spiders.urls import UrlsSpider
from tests.siteserver import EXPECTED, SiteServer

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# Settings every end-to-end run uses: the site is on loopback (refused by default), and
# retries should not make the suite slow.
TEST_SETTINGS = {
    "ALLOW_PRIVATE_ADDRESSES": "1",
    "RETRY_BACKOFF_BASE": "0.05",
    "AUTOTHROTTLE_START_DELAY": "0.05",
    "LOG_LEVEL": "INFO",
    # On by default, and pointed at the real Internet Archive: tests that use it start a
    # fake archive on loopback and point WAYBACK_ENDPOINT there.
    "WAYBACK_ENABLED": "0",
}


@dataclass
class CrawlResult:
    archive: Path
    returncode: int
    log: str

    @property
    def manifest(self) -> list[dict]:
        return list(Archive(self.archive).manifest_records())

    @property
    def run_record(self) -> dict:
        """The latest run record of the archive."""
        return Archive(self.archive).run_records()[-1]

    def by_url(self) -> dict[str, dict]:
        return {line["url"]: line for line in self.manifest}

    def warc_files(self) -> list[Path]:
        return sorted((self.archive / "warc").glob("*.warc.gz"))


def run_crawl(
    archive: Path,
    spider: str = "urls",
    args: dict[str, str] | None = None,
    settings: dict[str, str] | None = None,
    timeout: float = 240,
) -> CrawlResult:
    """Run ``python -m scrapy crawl`` in the project root, as a user would."""
    cmd = [sys.executable, "-m", "scrapy", "crawl", spider]
    for key, value in (args or {}).items():
        cmd += ["-a", f"{key}={value}"]
    for key, value in {**TEST_SETTINGS, "ARCHIVE_DIR": str(archive), **(settings or {})}.items():
        cmd += ["-s", f"{key}={value}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPY_")}
    # A fresh tldextract cache, as on a new machine: anything that would download the
    # public-suffix list tries to here (and the test of a clean log catches it).
    env["TLDEXTRACT_CACHE"] = str(archive.parent / f"{archive.name}-tldextract-cache")
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    return CrawlResult(archive, proc.returncode, proc.stdout + proc.stderr)


def write_url_list(path: Path, urls: list[str]) -> Path:
    path.write_text("".join(u + "\n" for u in urls), encoding="utf-8")
    return path


PROJECT_SETTINGS = {k: getattr(project_settings, k) for k in dir(project_settings) if k.isupper()}


@pytest.fixture
def make_crawler(tmp_path: Path) -> Iterator:
    """Crawlers built as ``scrapy crawl`` builds them (with the project's settings and
    extensions, so each opens an archive of its own under tmp_path), closed at teardown."""
    made = []

    def make(spidercls: type = UrlsSpider, **overrides: object):
        archive = tmp_path / f"archive-{len(made)}"
        settings = {**PROJECT_SETTINGS, "ARCHIVE_DIR": str(archive), **overrides}
        crawler = get_crawler(spidercls, settings_dict=settings)
        made.append(crawler)
        return crawler

    yield make
    for crawler in made:
        extension = crawler.get_extension(ArchiveExtension)
        if extension is not None:
            extension.archive.close()


@pytest.fixture(scope="session")
def site() -> Iterator[SiteServer]:
    with SiteServer() as server:
        yield server


@pytest.fixture(scope="session")
def url_list(site: SiteServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    lines = [site.url(path) for path, _ in EXPECTED]
    return write_url_list(tmp_path_factory.mktemp("input") / "urls.txt", lines)


@pytest.fixture(scope="session")
def crawl(
    site: SiteServer, url_list: Path, tmp_path_factory: pytest.TempPathFactory
) -> CrawlResult:
    """One crawl of the whole test site, shared by the end-to-end assertions."""
    result = run_crawl(tmp_path_factory.mktemp("archive"), args={"urls": str(url_list)})
    assert result.returncode == 0, result.log[-5000:]
    return result
