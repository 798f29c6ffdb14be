"""The archive's owner in a crawl (crawler.extensions.archive): opening ARCHIVE_DIR (and a
job's part), reporting what a killed run left, the state store's batches, and the
accessors every other component reaches the archive by."""

from __future__ import annotations

import gzip
import logging
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from crawler.archive.directory import Archive, Recovery
from crawler.archive.state import SqliteStateStore
from crawler.distributed.state import RedisStateStore
from crawler.extensions.archive import (
    ArchiveExtension,
    StateBatches,
    archive_of,
    job_of,
    open_archive,
    report_recovery,
)
from crawler.spiders.urls import UrlsSpider
from tests.support.builders import manifest_line, ok_record
from tests.support.redisserver import RedisServer


def settings(**values: object) -> Settings:
    """The project's settings, as a crawl has them, with *values* on top."""
    built = Settings()
    built.setmodule("crawler.settings")
    built.setdict(values)
    return built


@pytest.fixture
def opened() -> Iterator[list[Archive]]:
    """Archives a test opened, closed at teardown."""
    archives: list[Archive] = []
    yield archives
    for archive in archives:
        archive.close()


# -- open_archive ------------------------------------------------------------------------------
def test_open_archive_opens_archive_dir_with_its_recrawl_age(tmp_path: Path, opened):
    archive, job, recovery = open_archive(
        settings(ARCHIVE_DIR=str(tmp_path / "a"), RECRAWL_AFTER="7d")
    )
    opened.append(archive)
    assert archive.is_open and archive.root == tmp_path / "a" and job is None
    assert archive.recrawl_after == timedelta(days=7)
    assert isinstance(archive.state, SqliteStateStore)
    assert recovery == Recovery() and recovery.counts() == {}
    assert Archive(tmp_path / "a").locked_by() is not None  # the crawl holds the lock


def test_open_archive_repairs_what_a_killed_run_left(tmp_path: Path, opened):
    root = tmp_path / "a"
    (root / "warc").mkdir(parents=True)
    (root / "warc" / "crawl-x.warc.gz.open").write_bytes(gzip.compress(b"WARC/1.0\r\n")[:9])
    whole = manifest_line(ok_record(id="a"))
    (root / "manifest.jsonl").write_bytes(whole + b'{"id": "torn')
    archive, _, recovery = open_archive(settings(ARCHIVE_DIR=str(root)))
    opened.append(archive)
    assert recovery.counts() == {
        "warc_files_closed": 1, "warc_bytes_cut": 9, "manifest_bytes_cut": 12,
        "manifest_lines_recorded": 1,
    }  # fmt: skip
    assert (root / "manifest.jsonl").read_bytes() == whole
    assert archive.previous("a").outcome == "ok"


def test_a_workers_archive_is_its_part_and_its_state_the_jobs(
    tmp_path: Path, redis_server: RedisServer, opened
):
    archive, job, _ = open_archive(settings(
        ARCHIVE_DIR=str(tmp_path / "a"), JOB="j1", REDIS_URL=redis_server.url, REDIS_WORKER="w1"
    ))  # fmt: skip
    opened.append(archive)
    try:
        assert job is not None and job.worker == "w1"
        assert archive.root == tmp_path / "a" / "workers" / "w1"
        assert isinstance(archive.state, RedisStateStore)
        assert not (archive.root / "state.sqlite").exists()
    finally:
        job.frontier.release_name()


# -- report_recovery ---------------------------------------------------------------------------
def test_what_was_recovered_becomes_stats_and_warnings(make_crawler, caplog):
    stats = make_crawler().stats
    with caplog.at_level(logging.WARNING, logger="crawler.extensions.archive"):
        report_recovery(Recovery(warc_files_closed=2, manifest_bytes_cut=31), stats)
    assert stats.get_value("recovery/warc_files_closed") == 2
    assert stats.get_value("recovery/manifest_bytes_cut") == 31
    assert stats.get_value("recovery/links_bytes_cut") is None  # nothing: no stat
    assert [r.getMessage() for r in caplog.records] == [
        "Recovered from an interrupted run: warc_files_closed = 2",
        "Recovered from an interrupted run: manifest_bytes_cut = 31",
    ]


def test_nothing_recovered_is_no_stat(make_crawler, caplog):
    stats = make_crawler().stats
    report_recovery(Recovery(), stats)
    assert not any(key.startswith("recovery/") for key in stats.get_stats())
    assert not caplog.records


# -- StateBatches ------------------------------------------------------------------------------
def test_sqlite_changes_are_committed_by_each_flush(tmp_path: Path, make_crawler, opened):
    archive = Archive(tmp_path / "a")
    archive.open()
    opened.append(archive)
    stats = make_crawler().stats
    batches = StateBatches(archive, 1.0, stats)
    assert batches.enabled  # SQLite has batches
    other = sqlite3.connect(archive.state_path)
    try:
        archive.record(ok_record(id="a"), None)
        assert other.execute("SELECT id FROM urls").fetchall() == []  # a kill loses it
        batches.flush()
        assert other.execute("SELECT id FROM urls").fetchall() == [("a",)]
    finally:
        other.close()
    assert stats.get_value("archive/write_errors") is None


def test_a_failed_commit_is_counted_and_the_batches_go_on(
    tmp_path: Path, make_crawler, opened, monkeypatch, caplog
):
    archive = Archive(tmp_path / "a")
    archive.open()
    opened.append(archive)
    stats = make_crawler().stats
    batches = StateBatches(archive, 1.0, stats)

    def locked() -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(archive.state, "flush", locked)
    batches.flush()  # does not raise: the next flush retries
    batches.flush()
    assert stats.get_value("archive/write_errors") == 2
    assert "Could not write the state store: database is locked" in caplog.text


def test_a_store_without_batches_needs_no_loop(tmp_path: Path, redis_server, make_crawler):
    from crawler.distributed.frontier import RedisFrontier, connect

    frontier = RedisFrontier(connect(redis_server.url), "j")
    archive = Archive(tmp_path / "a", state=RedisStateStore(frontier.redis, frontier.key, "w"))
    archive.open()
    try:
        batches = StateBatches(archive, 0.0, make_crawler().stats)
        assert not batches.enabled and batches.interval == 0.1
        batches.start()
        assert batches.loop is None
        batches.stop()
    finally:
        archive.close()


# -- the accessors -----------------------------------------------------------------------------
def test_components_reach_the_crawls_archive_and_job(make_crawler):
    crawler = make_crawler()
    extension = crawler.get_extension(ArchiveExtension)
    assert archive_of(crawler) is extension.archive and archive_of(crawler).is_open
    assert job_of(crawler) is None


def test_without_the_extension_the_accessors_say_what_is_missing(tmp_path: Path):
    crawler = get_crawler(UrlsSpider, {"EXTENSIONS": {}, "ARCHIVE_DIR": str(tmp_path)})
    with pytest.raises(RuntimeError, match="ArchiveExtension must be enabled"):
        archive_of(crawler)


def test_finish_closes_the_archive_once(make_crawler):
    crawler = make_crawler()
    extension = crawler.get_extension(ArchiveExtension)
    extension.finish()
    assert not extension.archive.is_open
    assert len(extension.archive.run_records()) == 1
    extension.finish()  # engine_stopped after spider_closed: nothing twice
    assert len(extension.archive.run_records()) == 1
