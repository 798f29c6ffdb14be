"""The SQLite state store's own behaviour (opening, closing, batches of changes) and
UrlState. What it shares with the Redis store: test_state_contract.py; RECRAWL_AFTER
through the archive: test_recrawl.py; parse_duration: tests/unit/core/test_timefmt.py."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.archive.state import SqliteStateStore, UrlState
from crawler.core.items import EarlierCapture
from tests.support.builders import URL, ok_record


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStateStore]:
    opened = SqliteStateStore(tmp_path / "state.sqlite").open()
    try:
        yield opened
    finally:
        opened.close()


# -- SqliteStateStore: lifecycle and batches -----------------------------------------------
def test_open_returns_the_store_and_close_is_idempotent(tmp_path):
    store = SqliteStateStore(tmp_path / "state.sqlite")
    assert store.open() is store
    assert (tmp_path / "state.sqlite").exists()
    store.close()
    store.close()


def test_a_closed_store_refuses_queries(tmp_path):
    store = SqliteStateStore(tmp_path / "state.sqlite")
    with pytest.raises(RuntimeError, match="not open"):
        store.lookup("x")
    store.open()
    store.close()
    with pytest.raises(RuntimeError, match="not open"):
        store.seq_for("x", URL)


def test_a_batch_is_committed_by_flush_and_close_and_seqs_at_once(store, tmp_path):
    """With ``batch`` (a crawl), changes wait for flush(): another connection (a kill)
    does not see them before; a discovered URL's seq is committed at once all the same."""
    other = sqlite3.connect(tmp_path / "state.sqlite")
    seen = lambda: {r[0] for r in other.execute("SELECT id FROM urls")}  # noqa: E731
    store.batch = True
    store.record(ok_record(id="a"), manifest_end=10)
    store.record(ok_record(id="b"), manifest_end=20)
    assert seen() == set()  # killed now: the next open catches a and b up from the manifest
    store.flush()
    assert seen() == {"a", "b"}
    store.record(ok_record(id="c"), manifest_end=30)
    seq = store.seq_for("d", "http://d.example/")
    assert seen() == {"a", "b", "c", "d"}  # the seq flushed the batch with it
    assert other.execute("SELECT seq FROM urls WHERE id = 'd'").fetchone() == (seq,)
    store.record(ok_record(id="e"), manifest_end=40)
    store.close()
    assert "e" in seen()
    other.close()


def test_a_failed_change_in_a_batch_leaves_the_others(store, tmp_path):
    store.batch = True
    store.record(ok_record(id="a"), manifest_end=10)
    with pytest.raises(sqlite3.Error), store._write():
        store.db.execute("INSERT INTO urls(id) VALUES('b')")
        store.db.execute("INSERT INTO nowhere VALUES(1)")
    store.flush()
    assert store.lookup("a") is not None and store.lookup("b") is None
    assert store.manifest_end() == 10


# -- UrlState ------------------------------------------------------------------------------
def url_state(**kw) -> UrlState:
    base = dict(id="a", seq="000", outcome="ok", fetched_at="2024-01-10T00:00:00Z")
    base.update(kw)
    return UrlState(**base)


@pytest.mark.parametrize(
    ("outcome", "archived"),
    [
        ("ok", True),
        ("no_text", True),
        ("unchanged", True),
        ("error", False),
        ("blocked", False),
        ("duplicate", False),
        (None, False),
    ],
)
def test_archived(outcome, archived):
    assert url_state(outcome=outcome).archived() is archived


NOW = datetime(2024, 1, 11, 0, 0, 0, tzinfo=UTC)  # one day after url_state()'s fetch


@pytest.mark.parametrize(
    ("age", "older"),
    [
        (timedelta(hours=12), True),
        (timedelta(days=1), True),  # exactly as old: due
        (timedelta(days=1, seconds=1), False),
        (timedelta(days=30), False),
    ],
)
def test_older_than(age, older):
    assert url_state().older_than(age, now=NOW) is older


def test_older_than_without_a_fetch_time_is_always_true():
    assert url_state(fetched_at=None).older_than(timedelta(days=3650), now=NOW)


def test_older_than_defaults_to_the_current_time():
    recent = url_state(fetched_at=stamp(datetime.now(UTC) - timedelta(minutes=5)))
    assert not recent.older_than(timedelta(days=1))
    assert recent.older_than(timedelta(minutes=1))


@pytest.mark.parametrize("missing", ["payload_digest", "final_url", "warc_date"])
def test_earlier_capture_needs_digest_final_url_and_warc_date(missing):
    full = dict(
        final_url=URL, payload_digest="sha1:ONE", record_id="<urn:uuid:1>",
        warc_date="2024-01-10T00:00:00Z",
    )  # fmt: skip
    assert url_state(**full).earlier_capture() is not None
    full[missing] = None
    assert url_state(**full).earlier_capture() is None


def test_earlier_capture_carries_the_record_and_the_text_file():
    state = url_state(
        final_url=URL + "?final",
        payload_digest="sha1:ONE",
        record_id="<urn:uuid:1>",
        warc_date="2024-01-10T00:00:01Z",
        text_file="text/000_a.txt",
    )
    assert state.earlier_capture() == EarlierCapture(
        uri=URL + "?final",
        date="2024-01-10T00:00:01Z",
        record_id="<urn:uuid:1>",
        payload_digest="sha1:ONE",
        text_file="text/000_a.txt",
    )
    # the record id and text file are optional
    bare = url_state(final_url=URL, payload_digest="sha1:ONE", warc_date="2024-01-10T00:00:01Z")
    assert bare.earlier_capture() == EarlierCapture(URL, "2024-01-10T00:00:01Z", None, "sha1:ONE")
