"""The end of a run (crawler.extensions.runend): the run record and ``run/status``, and
each output that cannot be written (index, groups, report, the record itself) costing
only itself: counted and logged, never raised."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from crawler.archive.directory import Archive
from crawler.extensions.archive import ArchiveExtension
from crawler.extensions.runend import (
    RunEnd,
    recorded_settings,
    update_index,
    write_groups,
    write_report,
)
from crawler.warc.writer import HttpExchange, WarcWriter
from tests.support.builders import ok_record

WHEN = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)
SPIDER = SimpleNamespace(name="urls", run_arguments=lambda: {"refresh": True, "as_of": None})


@pytest.fixture
def crawler(make_crawler):
    return make_crawler()


@pytest.fixture
def archive(crawler) -> Archive:
    return crawler.get_extension(ArchiveExtension).archive


@pytest.fixture
def end(crawler, archive) -> RunEnd:
    end = RunEnd(crawler, archive)
    end.spider_opened(SPIDER)
    return end


def a_finished_run(stats, lines: int = 1) -> None:
    """The stats of a run that read its whole input and wrote a line per entry."""
    for key, value in {"finish_reason": "finished", "input/complete": True,
                       "input/entries": lines, "manifest/lines": lines}.items():  # fmt: skip
        stats.set_value(key, value)


def test_finish_writes_the_run_record_and_its_report(crawler, archive, end):
    a_finished_run(crawler.stats)
    archive.record(ok_record(id="a"), None)
    end.finish()
    assert crawler.stats.get_value("run/status") == "complete"
    [(name, record)] = archive.named_run_records()
    assert record["status"] == "complete" and record["problems"] == []
    assert record["spider"] == "urls" and record["arguments"] == {"refresh": True, "as_of": None}
    assert (
        record["manifest_range"] == [0, archive.manifest_size()] and record["manifest_lines"] == 1
    )
    assert record["settings"]["ARCHIVE_DIR"] == str(archive.root)
    assert (archive.reports_dir / f"{name}.html").is_file()
    assert (archive.reports_dir / "index.html").is_file()
    assert archive.groups_path.exists() and crawler.stats.get_value("groups/written") == 0


def test_a_run_that_did_not_read_its_input_is_incomplete(crawler, archive, end, caplog):
    crawler.stats.set_value("finish_reason", "shutdown")
    with caplog.at_level(logging.ERROR, logger="crawler.extensions.runend"):
        end.finish()
    assert crawler.stats.get_value("run/status") == "incomplete"
    [record] = archive.run_records()
    assert "crawl ended early (shutdown)" in record["problems"]
    assert "Run incomplete" in caplog.text


def test_a_run_record_that_cannot_be_written_fails_the_run_and_is_not_raised(
    crawler, archive, end, caplog
):
    a_finished_run(crawler.stats, lines=0)
    archive.runs_dir.parent.mkdir(parents=True, exist_ok=True)
    archive.runs_dir.write_text("a file where the directory should be")
    with caplog.at_level(logging.INFO, logger="crawler.extensions.runend"):
        end.finish()
    assert crawler.stats.get_value("run/status") == "failed"
    assert crawler.stats.get_value("archive/write_errors") == 1
    assert "Could not write the run record" in caplog.text
    assert "(not written)" in caplog.text


def test_recorded_settings_are_typed(make_crawler):
    crawler = make_crawler(ROBOTSTXT_OBEY="0", CRAWLER_CONTACT="me@example.org")
    settings = recorded_settings(crawler.settings)
    assert settings["ROBOTSTXT_OBEY"] is False  # "0" from a command line: a bool
    assert settings["CRAWLER_CONTACT"] == "me@example.org"


# -- each output costs only itself -------------------------------------------------------------
def write_warc(archive: Archive) -> str:
    """A closed WARC file in the archive, as a run's WARC writer leaves it."""
    writer = WarcWriter(archive.warc_dir, prefix="crawl")
    writer.write_exchange(HttpExchange(
        url="http://news.example/a", method="GET", request_headers=[(b"Accept", b"*/*")],
        response_headers=[(b"Content-Type", b"text/html")], status=200,
        body=b"<html><p>a</p></html>", ip_address="192.0.2.1", date=WHEN,
    ))  # fmt: skip
    writer.close()
    [path] = archive.warc_files()
    return path.name


def test_an_index_that_cannot_be_updated_is_counted(crawler, archive, caplog):
    archive.index_path.mkdir(parents=True)  # where the index file should be
    update_index(archive, crawler.stats, 0)
    assert crawler.stats.get_value("index/errors") == 1
    assert crawler.stats.get_value("index/files_added") is None
    assert "Could not update the CDXJ index (scrapy index rebuilds it)" in caplog.text


def test_the_index_gets_the_files_it_lacks_once(crawler, archive):
    name = write_warc(archive)
    crawler.stats.set_value("warc/files", [name])  # this run's
    update_index(archive, crawler.stats, 0)
    assert crawler.stats.get_value("index/files_added") == 1
    assert name in archive.index_path.read_text()
    update_index(archive, crawler.stats, 0)
    assert crawler.stats.get_value("index/files_added") == 0
    assert crawler.stats.get_value("index/errors") is None


def test_groups_that_cannot_be_written_are_logged(crawler, archive, caplog):
    archive.groups_path.mkdir()  # where groups.jsonl should be
    write_groups(archive, 0.8, crawler.stats)
    assert crawler.stats.get_value("groups/written") is None
    assert "Could not write groups.jsonl" in caplog.text


def test_a_report_that_cannot_be_written_is_counted_not_a_failure(crawler, archive, caplog):
    path = archive.write_run_record(WHEN, {"status": "complete"})
    archive.reports_dir.write_text("a file where the directory should be")
    write_report(archive, path.stem, crawler.stats)
    assert crawler.stats.get_value("report/errors") == 1
    assert "Could not write the run report (scrapy report retries)" in caplog.text


def test_a_failed_report_leaves_the_run_complete(crawler, archive, end):
    a_finished_run(crawler.stats, lines=0)
    archive.reports_dir.write_text("a file where the directory should be")
    end.finish()
    assert crawler.stats.get_value("run/status") == "complete"
    assert crawler.stats.get_value("report/errors") == 1
    [record] = archive.run_records()
    assert json.dumps(record)  # written whole
