"""RECRAWL_AFTER and revisits through the archive: Archive.is_done, and Archive.record keeping
the full capture a revisit refers to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.archive.directory import Archive
from crawler.core.items import WarcPointer
from tests.support.builders import manifest_line, manifest_record, ok_record


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


# -- RECRAWL_AFTER: Archive.is_done ----------------------------------------------------------
@pytest.fixture
def open_archive(tmp_path: Path):
    """Archives opened under tmp_path (``make(recrawl_after=...)``), closed at teardown."""
    made: list[Archive] = []

    def make(recrawl_after: timedelta | None = None, name: str = "archive") -> Archive:
        archive = Archive(tmp_path / name, recrawl_after=recrawl_after)
        archive.open()
        made.append(archive)
        return archive

    yield make
    for archive in made:
        archive.close()


def ago(**delta) -> str:
    return stamp(datetime.now(UTC) - timedelta(**delta))


def test_recently_archived_is_done(open_archive):
    archive = open_archive(timedelta(days=7))
    archive.record(ok_record(id="a", fetched_at=ago(hours=1)), None)
    assert archive.is_done(archive.previous("a"))


@pytest.mark.parametrize("outcome", ["ok", "no_text", "unchanged"])
def test_archived_outcomes_are_done(open_archive, outcome):
    archive = open_archive(timedelta(days=7))
    archive.record(ok_record(id="a", outcome=outcome, fetched_at=ago(days=1)), None)
    assert archive.is_done(archive.previous("a"))


def test_archived_longer_ago_than_recrawl_after_is_fetched_again(open_archive):
    archive = open_archive(timedelta(days=7))
    archive.record(ok_record(id="a", fetched_at=ago(days=8)), None)
    archive.record(ok_record(id="b", fetched_at=ago(days=6)), None)
    assert not archive.is_done(archive.previous("a"))
    assert archive.is_done(archive.previous("b"))


def test_refresh_fetches_again(open_archive):
    archive = open_archive(timedelta(days=7))
    archive.record(ok_record(id="a", fetched_at=ago(hours=1)), None)
    assert not archive.is_done(archive.previous("a"), refresh=True)


@pytest.mark.parametrize("outcome", ["error", "blocked", "duplicate"])
def test_a_failed_url_is_fetched_again(open_archive, outcome):
    archive = open_archive(timedelta(days=7))
    archive.record(manifest_record(id="a", outcome=outcome, fetched_at=ago(hours=1)), None)
    assert not archive.is_done(archive.previous("a"))


def test_a_url_that_failed_after_an_archived_capture_is_fetched_again(open_archive):
    archive = open_archive(None)
    archive.record(ok_record(id="a", fetched_at=ago(days=2)), None)
    archive.record(manifest_record(id="a", outcome="error", fetched_at=ago(days=1)), None)
    assert not archive.is_done(archive.previous("a"))


def test_an_unknown_url_is_not_done(open_archive):
    archive = open_archive(timedelta(days=7))
    assert archive.previous("a") is None
    assert not archive.is_done(archive.previous("a"))


def test_without_recrawl_after_age_never_refetches(open_archive):
    archive = open_archive(None)
    archive.record(ok_record(id="a", fetched_at="2001-01-01T00:00:00Z"), None)
    archive.record(ok_record(id="b", fetched_at=None), None)
    assert archive.is_done(archive.previous("a"))
    assert archive.is_done(archive.previous("b"))
    assert not archive.is_done(archive.previous("a"), refresh=True)


def test_archived_without_a_fetch_time_is_due_with_recrawl_after(open_archive):
    archive = open_archive(timedelta(days=7))
    archive.record(ok_record(id="a", fetched_at=None), None)
    assert not archive.is_done(archive.previous("a"))


def test_done_survives_closing_and_reopening_the_archive(tmp_path):
    archive = Archive(tmp_path / "archive", recrawl_after=timedelta(days=7))
    archive.open()
    try:
        archive.record(ok_record(id="a", fetched_at=ago(hours=1)), None)
        archive.record(ok_record(id="b", fetched_at=ago(days=30)), None)
    finally:
        archive.close()
    archive = Archive(tmp_path / "archive", recrawl_after=timedelta(days=7))
    archive.open()
    try:
        assert archive.is_done(archive.previous("a"))
        assert not archive.is_done(archive.previous("b"))
        assert archive.recovery.manifest_lines_recorded == 0  # the store had every line
    finally:
        archive.close()


def test_archive_catches_up_on_manifest_lines_the_store_missed(tmp_path):
    root = tmp_path / "archive"
    root.mkdir()
    # a run killed between writing the manifest line and recording it in the store
    (root / "manifest.jsonl").write_bytes(manifest_line(ok_record(id="a", fetched_at=ago(hours=1))))
    archive = Archive(root, recrawl_after=timedelta(days=7))
    archive.open()
    try:
        assert archive.recovery.manifest_lines_recorded == 1
        assert archive.is_done(archive.previous("a"))
    finally:
        archive.close()


FULL_CAPTURE = WarcPointer(
    "a.warc.gz", 0, "<urn:uuid:1>", payload_digest="sha1:ONE", date="2024-05-01T10:00:00Z"
)


REVISIT = WarcPointer(
    "b.warc.gz", 0, "<urn:uuid:2>", payload_digest="sha1:ONE",
    date="2024-06-01T10:00:00Z", revisit=True,
)  # fmt: skip


def test_a_revisit_keeps_pointing_at_the_full_capture(open_archive):
    archive = open_archive(None)
    full, revisit = FULL_CAPTURE, REVISIT
    archive.record(ok_record(id="a"), full)
    archive.record(
        ok_record(id="a", outcome="unchanged", fetched_at="2024-06-01T10:00:00Z"), revisit
    )
    capture = archive.previous("a").earlier_capture()
    assert capture is not None
    assert (capture.record_id, capture.date, capture.payload_digest) == (
        "<urn:uuid:1>",
        "2024-05-01T10:00:00Z",
        "sha1:ONE",
    )


def test_a_revisit_pointer_never_becomes_the_full_capture(open_archive):
    archive = open_archive(None)
    full, revisit = FULL_CAPTURE, REVISIT
    archive.record(ok_record(id="a"), full)
    # whatever outcome the line has, a revisit record is not a capture to refer to
    archive.record(ok_record(id="a", fetched_at="2024-06-01T10:00:00Z"), revisit)
    state = archive.previous("a")
    assert (state.payload_digest, state.record_id, state.warc_date) == (
        "sha1:ONE",
        "<urn:uuid:1>",
        "2024-05-01T10:00:00Z",
    )
    assert state.fetched_at == "2024-06-01T10:00:00Z"
