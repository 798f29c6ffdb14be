"""Session fixtures: the loopback news site, one crawl of it shared by the end-to-end
tests, a redis-server, and Scrapy crawlers built as ``scrapy crawl`` builds them.

Helpers live in :mod:`tests.support`; nothing imports this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler

from crawler import settings as project_settings
from crawler.extensions.archive import ArchiveExtension
from crawler.spiders.urls import UrlsSpider
from tests.support.crawl import CrawlResult, run_crawl, write_url_list
from tests.support.redisserver import RedisServer
from tests.support.siteserver import EXPECTED, SiteServer

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


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of its own on a free loopback port (append-only file under tmp_path)."""
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


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
