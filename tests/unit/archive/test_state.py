"""The state store (what earlier runs did), UrlState, parse_duration and RECRAWL_AFTER."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.archive.directory import Archive
from crawler.archive.files import ManifestWriter
from crawler.archive.state import SqliteStateStore, UrlState
from crawler.core.items import EarlierCapture, ManifestRecord, WarcPointer
from crawler.core.timefmt import parse_duration
from tests.support.builders import manifest_record

URL = "https://news.example/2024/story"


def record(**kw) -> ManifestRecord:
    return manifest_record(**kw)


def ok(**kw) -> ManifestRecord:
    """An archived page with its article."""
    base = dict(
        outcome="ok", error=None, status=200, final_url=URL, fetched_at="2024-05-01T10:00:00Z",
        text_file="text/000_0123456789abcdef.txt", words=120,
    )  # fmt: skip
    base.update(kw)
    return record(**base)


def line(rec: ManifestRecord) -> bytes:
    return (json.dumps(asdict(rec)) + "\n").encode()


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStateStore]:
    opened = SqliteStateStore(tmp_path / "state.sqlite").open()
    try:
        yield opened
    finally:
        opened.close()


def reopen(store: SqliteStateStore) -> SqliteStateStore:
    store.close()
    return store.open()


# -- SqliteStateStore: lifecycle and lookup ------------------------------------------------
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


def test_lookup_of_an_unknown_id_is_none(store):
    assert store.lookup("ffffffffffffffff") is None


def test_lookup_returns_what_was_recorded(store):
    store.record(
        ok(id="a", seq="004", title="T"),
        manifest_end=100,
        payload_digest="sha1:AAA",
        record_id="<urn:uuid:1>",
        warc_date="2024-05-01T10:00:00Z",
    )
    assert store.lookup("a") == UrlState(
        id="a",
        seq="004",
        outcome="ok",
        fetched_at="2024-05-01T10:00:00Z",
        final_url=URL,
        payload_digest="sha1:AAA",
        record_id="<urn:uuid:1>",
        warc_date="2024-05-01T10:00:00Z",
        text_file="text/000_0123456789abcdef.txt",
    )
    assert store.lookup("b") is None


# -- seq_for -----------------------------------------------------------------------------
def test_seq_for_numbers_new_ids_from_000(store):
    assert [store.seq_for(i, f"{URL}/{i}") for i in ("a", "b", "c")] == ["000", "001", "002"]


def test_seq_for_gives_the_same_seq_to_the_same_id(store):
    first = store.seq_for("a", URL)
    store.seq_for("b", URL + "/b")
    assert store.seq_for("a", URL) == first == "000"
    # asking again used no number up
    assert store.seq_for("c", URL + "/c") == "002"


def test_seq_for_survives_close_and_reopen(store):
    store.seq_for("a", URL)
    store.seq_for("b", URL + "/b")
    store = reopen(store)
    assert store.seq_for("b", URL + "/b") == "001"
    assert store.seq_for("a", URL) == "000"
    assert store.seq_for("c", URL + "/c") == "002"  # the counter is kept too


def test_seq_for_notes_the_url_without_an_outcome(store):
    store.seq_for("a", URL)
    state = store.lookup("a")
    assert state.seq == "000"
    assert state.outcome is None and state.fetched_at is None
    assert not state.archived()


def test_an_id_recorded_from_a_url_list_keeps_its_seq(store):
    store.record(record(id="listed", seq="042"), manifest_end=10)
    assert store.seq_for("listed", URL) == "042"
    # and it used no number of the discovered sequence
    assert store.seq_for("new", URL + "/new") == "000"


@pytest.mark.parametrize(
    "text", ["{}", '{"id": "a"}', '["a list"]', '{"id": "a", "url": "u", "outcome": "ok"}']
)
def test_catch_up_skips_json_that_is_no_manifest_line(store, tmp_path, text):
    """A hand-edited or foreign line (no id, seq, url or outcome) changes nothing."""
    store.record(ok(id="a"), manifest_end=0)
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text(text + "\n")
    assert store.catch_up(manifest) == 0
    assert store.lookup("a").outcome == "ok"


# -- record: merge rules -------------------------------------------------------------------
CAPTURE_1 = dict(
    payload_digest="sha1:ONE", record_id="<urn:uuid:1>", warc_date="2024-05-01T10:00:00Z"
)
CAPTURE_2 = dict(
    payload_digest="sha1:TWO", record_id="<urn:uuid:2>", warc_date="2024-06-01T10:00:00Z"
)


def capture_of(state: UrlState) -> tuple:
    return state.payload_digest, state.record_id, state.warc_date


def test_a_new_full_capture_replaces_the_earlier_one(store):
    store.record(ok(), manifest_end=1, **CAPTURE_1)
    store.record(ok(fetched_at="2024-06-01T10:00:00Z"), manifest_end=2, **CAPTURE_2)
    state = store.lookup(ok().id)
    assert capture_of(state) == tuple(CAPTURE_2.values())
    assert state.fetched_at == "2024-06-01T10:00:00Z"


def test_unchanged_keeps_the_earlier_capture_even_with_a_digest(store):
    store.record(ok(), manifest_end=1, **CAPTURE_1)
    store.record(
        ok(outcome="unchanged", fetched_at="2024-06-01T10:00:00Z"), manifest_end=2, **CAPTURE_2
    )
    state = store.lookup(ok().id)
    assert state.outcome == "unchanged"
    assert capture_of(state) == tuple(CAPTURE_1.values())
    assert state.fetched_at == "2024-06-01T10:00:00Z"  # the visit itself is newer


def test_a_record_without_digest_keeps_the_earlier_capture(store):
    store.record(ok(), manifest_end=1, **CAPTURE_1)
    store.record(
        ok(fetched_at="2024-06-01T10:00:00Z"),
        manifest_end=2,
        record_id="<urn:uuid:2>",
        warc_date="2024-06-01T10:00:00Z",
    )
    assert capture_of(store.lookup(ok().id)) == tuple(CAPTURE_1.values())


def test_an_error_keeps_the_earlier_capture_and_coalesces_the_rest(store):
    store.record(ok(), manifest_end=1, **CAPTURE_1)
    store.record(record(outcome="error", error="HTTP 503"), manifest_end=2)
    state = store.lookup(ok().id)
    assert state.outcome == "error"  # the outcome is always the latest
    assert capture_of(state) == tuple(CAPTURE_1.values())
    assert state.fetched_at == "2024-05-01T10:00:00Z"
    assert state.final_url == URL
    assert state.text_file == "text/000_0123456789abcdef.txt"
    # so a revisit can still refer to the last full capture
    assert state.earlier_capture() == EarlierCapture(
        uri=URL,
        date="2024-05-01T10:00:00Z",
        record_id="<urn:uuid:1>",
        payload_digest="sha1:ONE",
        text_file="text/000_0123456789abcdef.txt",
    )


def test_fetched_at_final_url_and_text_file_take_new_values_when_given(store):
    store.record(ok(), manifest_end=1, **CAPTURE_1)
    store.record(
        ok(
            fetched_at="2024-07-01T00:00:00Z",
            final_url=URL + "?moved",
            text_file="text/000_new.txt",
        ),
        manifest_end=2,
        **CAPTURE_2,
    )
    state = store.lookup(ok().id)
    assert (state.fetched_at, state.final_url, state.text_file) == (
        "2024-07-01T00:00:00Z",
        URL + "?moved",
        "text/000_new.txt",
    )


def test_seq_keeps_the_first_one(store):
    store.record(ok(seq="003"), manifest_end=1)
    store.record(ok(seq="017"), manifest_end=2)
    assert store.lookup(ok().id).seq == "003"


def test_a_first_record_stores_its_capture_even_when_unchanged(store):
    store.record(ok(outcome="unchanged"), manifest_end=1, **CAPTURE_1)
    assert capture_of(store.lookup(ok().id)) == tuple(CAPTURE_1.values())


def test_records_of_different_ids_do_not_mix(store):
    store.record(ok(id="a"), manifest_end=1, **CAPTURE_1)
    store.record(ok(id="b", fetched_at="2024-06-01T10:00:00Z"), manifest_end=2, **CAPTURE_2)
    assert capture_of(store.lookup("a")) == tuple(CAPTURE_1.values())
    assert capture_of(store.lookup("b")) == tuple(CAPTURE_2.values())


def test_records_persist_after_reopen(store):
    store.record(ok(), manifest_end=1, **CAPTURE_1)
    store = reopen(store)
    assert capture_of(store.lookup(ok().id)) == tuple(CAPTURE_1.values())


# -- catch_up ------------------------------------------------------------------------------
def test_catch_up_without_a_manifest_records_nothing(store, tmp_path):
    assert store.catch_up(tmp_path / "manifest.jsonl") == 0


def test_catch_up_records_the_lines_after_the_last_recorded_one(store, tmp_path):
    manifest = tmp_path / "manifest.jsonl"
    writer = ManifestWriter(manifest)
    writer.write(ok(id="a", seq="000"))
    store.record(ok(id="a", seq="000"), manifest_end=writer.position)
    writer.write(ok(id="b", seq="001", title="B"))
    writer.write(record(id="c", seq="002", outcome="blocked", error="robots.txt"))
    writer.close()

    assert store.catch_up(manifest) == 2
    assert store.lookup("b").outcome == "ok"
    assert store.lookup("b").seq == "001"
    assert store.lookup("c").outcome == "blocked"
    # nothing new since: a second call records nothing
    assert store.catch_up(manifest) == 0


def test_catch_up_reads_a_whole_manifest_into_an_empty_store(store, tmp_path):
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_bytes(line(ok(id="a")) + line(ok(id="b")) + line(record(id="c")))
    assert store.catch_up(manifest) == 3
    assert {s.id for s in map(store.lookup, "abc")} == {"a", "b", "c"}


def test_forget_then_catch_up_reads_a_replaced_manifest_from_its_start(store, tmp_path):
    """A merge replaces the manifest with a longer one: catching up from the old offset
    would start mid-line; forget drops every URL and the offset, so the new file is read
    whole."""
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_bytes(line(ok(id="old")))
    assert store.catch_up(manifest) == 1
    manifest.write_bytes(line(ok(id="a", title="A much longer title")) + line(ok(id="b")))
    store.forget()
    assert store.catch_up(manifest) == 2
    assert store.lookup("old") is None
    assert {store.lookup("a").id, store.lookup("b").id} == {"a", "b"}
    assert store.catch_up(manifest) == 0


def test_a_batch_is_committed_by_flush_and_close_and_seqs_at_once(store, tmp_path):
    """With ``batch`` (a crawl), changes wait for flush(): another connection (a kill)
    does not see them before; a discovered URL's seq is committed at once all the same."""
    other = sqlite3.connect(tmp_path / "state.sqlite")
    seen = lambda: {r[0] for r in other.execute("SELECT id FROM urls")}  # noqa: E731
    store.batch = True
    store.record(ok(id="a"), manifest_end=10)
    store.record(ok(id="b"), manifest_end=20)
    assert seen() == set()  # killed now: the next open catches a and b up from the manifest
    store.flush()
    assert seen() == {"a", "b"}
    store.record(ok(id="c"), manifest_end=30)
    seq = store.seq_for("d", "http://d.example/")
    assert seen() == {"a", "b", "c", "d"}  # the seq flushed the batch with it
    assert other.execute("SELECT seq FROM urls WHERE id = 'd'").fetchone() == (seq,)
    store.record(ok(id="e"), manifest_end=40)
    store.close()
    assert "e" in seen()
    other.close()


def test_a_failed_change_in_a_batch_leaves_the_others(store, tmp_path):
    store.batch = True
    store.record(ok(id="a"), manifest_end=10)
    with pytest.raises(sqlite3.Error), store._write():
        store.db.execute("INSERT INTO urls(id) VALUES('b')")
        store.db.execute("INSERT INTO nowhere VALUES(1)")
    store.flush()
    assert store.lookup("a") is not None and store.lookup("b") is None
    assert store.manifest_end() == 10


def test_catch_up_does_not_record_already_recorded_lines_again(store, tmp_path):
    manifest = tmp_path / "manifest.jsonl"
    first = line(ok(id="a", outcome="ok"))
    manifest.write_bytes(first + line(ok(id="b")))
    store.record(ok(id="a", outcome="ok"), manifest_end=len(first))
    # a later, different outcome for "a" exists only in the state store
    store.record(ok(id="a", outcome="unchanged"), manifest_end=len(first))
    assert store.catch_up(manifest) == 1
    assert store.lookup("a").outcome == "unchanged"  # line 1 was not read again


# cut inside the JSON, or just before the newline (the JSON itself complete)
@pytest.mark.parametrize("cut", [25, -1])
def test_catch_up_skips_a_torn_last_line_and_takes_it_once_whole(store, tmp_path, cut):
    manifest = tmp_path / "manifest.jsonl"
    whole = line(ok(id="a")) + line(ok(id="b"))
    torn = line(ok(id="c"))
    manifest.write_bytes(whole + torn[:cut])
    assert store.catch_up(manifest) == 2
    assert store.lookup("c") is None
    # the line is finished later: only it is read, from where the whole lines ended
    with manifest.open("ab") as fh:
        fh.write(torn[cut:])
    assert store.catch_up(manifest) == 1
    assert store.lookup("c").outcome == "ok"


def test_catch_up_skips_unparsable_lines(store, tmp_path):
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_bytes(
        line(ok(id="a"))
        + b"not json at all\n"
        + b"[1, 2, 3]\n"
        + b'"a string"\n'
        + b"\n"
        + line(ok(id="b"))
    )
    assert store.catch_up(manifest) == 2
    assert store.lookup("a").outcome == "ok"
    assert store.lookup("b").outcome == "ok"
    assert store.catch_up(manifest) == 0


def test_catch_up_ignores_unknown_keys_and_fills_missing_ones(store, tmp_path):
    manifest = tmp_path / "manifest.jsonl"
    data = asdict(ok(id="a"))
    data["added_later"] = 1
    del data["title"]
    manifest.write_bytes((json.dumps(data) + "\n").encode())
    assert store.catch_up(manifest) == 1
    assert store.lookup("a").outcome == "ok"


def test_catch_up_reads_a_shorter_manifest_from_the_start(store, tmp_path):
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_bytes(line(ok(id="a")) + line(record(id="b")))
    store.record(ok(id="old"), manifest_end=manifest.stat().st_size + 1_000)
    assert store.catch_up(manifest) == 2
    assert store.lookup("a").outcome == "ok"
    assert store.lookup("b").outcome == "error"


def test_catch_up_at_exactly_the_recorded_end_records_nothing(store, tmp_path):
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_bytes(line(ok(id="a")) + line(ok(id="b")))
    store.record(ok(id="x"), manifest_end=manifest.stat().st_size)
    assert store.catch_up(manifest) == 0
    assert store.lookup("a") is None


def test_catch_up_offset_survives_reopen(store, tmp_path):
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_bytes(line(ok(id="a")))
    assert store.catch_up(manifest) == 1
    store = reopen(store)
    with manifest.open("ab") as fh:
        fh.write(line(ok(id="b")))
    assert store.catch_up(manifest) == 1
    assert store.lookup("b") is not None


# -- validators ----------------------------------------------------------------------------
def test_validators_of_an_unknown_feed_are_none(store):
    assert store.validators("https://news.example/rss") == (None, None)


def test_validators_are_stored_per_url_and_replaced(store):
    feed, other = "https://news.example/rss", "https://news.example/atom"
    store.set_validators(feed, '"etag-1"', "Wed, 01 May 2024 10:00:00 GMT")
    store.set_validators(other, None, "Thu, 02 May 2024 10:00:00 GMT")
    assert store.validators(feed) == ('"etag-1"', "Wed, 01 May 2024 10:00:00 GMT")
    assert store.validators(other) == (None, "Thu, 02 May 2024 10:00:00 GMT")
    store.set_validators(feed, '"etag-2"', None)
    assert store.validators(feed) == ('"etag-2"', None)
    store = reopen(store)
    assert store.validators(feed) == ('"etag-2"', None)
    assert store.validators(other) == (None, "Thu, 02 May 2024 10:00:00 GMT")


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


# -- parse_duration ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value", ["", None, 0, "0", "never", 0.0, "0s", "0d", "   ", " Never ", "NEVER"]
)
def test_parse_duration_never(value):
    assert parse_duration(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        ("15m", timedelta(minutes=15)),
        ("45s", timedelta(seconds=45)),
        ("90", timedelta(seconds=90)),
        ("1.5h", timedelta(minutes=90)),
        (" 7D ", timedelta(days=7)),
        (3600, timedelta(hours=1)),
        (1.5, timedelta(seconds=1.5)),
    ],
)
def test_parse_duration(value, expected):
    assert parse_duration(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-5d", "from 0 to"),
        ("-1", "from 0 to"),
        ("nan", "from 0 to"),
        ("inf", "from 0 to"),
        ("1e400", "from 0 to"),
        ("1e20d", "from 0 to"),
        ("abc", "use seconds or a number with s, m, h or d"),
        ("d", "use seconds or a number with s, m, h or d"),
        ("1x", "use seconds or a number with s, m, h or d"),
        ("5 days", "use seconds or a number with s, m, h or d"),
    ],
)
def test_parse_duration_rejects(value, message):
    with pytest.raises(ValueError, match=message) as info:
        parse_duration(value)
    assert "invalid duration" in str(info.value)
    assert repr(value.strip().lower()) in str(info.value)


@pytest.mark.parametrize("value", [-5, -0.5, float("nan"), float("inf"), True, [30]])
def test_parse_duration_rejects_numbers_out_of_range_and_other_types(value):
    """Given in settings.py as a number, a bad value fails like the same text would."""
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(value)


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
    archive.record(ok(id="a", fetched_at=ago(hours=1)), None)
    assert archive.is_done(archive.previous("a"))


@pytest.mark.parametrize("outcome", ["ok", "no_text", "unchanged"])
def test_archived_outcomes_are_done(open_archive, outcome):
    archive = open_archive(timedelta(days=7))
    archive.record(ok(id="a", outcome=outcome, fetched_at=ago(days=1)), None)
    assert archive.is_done(archive.previous("a"))


def test_archived_longer_ago_than_recrawl_after_is_fetched_again(open_archive):
    archive = open_archive(timedelta(days=7))
    archive.record(ok(id="a", fetched_at=ago(days=8)), None)
    archive.record(ok(id="b", fetched_at=ago(days=6)), None)
    assert not archive.is_done(archive.previous("a"))
    assert archive.is_done(archive.previous("b"))


def test_refresh_fetches_again(open_archive):
    archive = open_archive(timedelta(days=7))
    archive.record(ok(id="a", fetched_at=ago(hours=1)), None)
    assert not archive.is_done(archive.previous("a"), refresh=True)


@pytest.mark.parametrize("outcome", ["error", "blocked", "duplicate"])
def test_a_failed_url_is_fetched_again(open_archive, outcome):
    archive = open_archive(timedelta(days=7))
    archive.record(record(id="a", outcome=outcome, fetched_at=ago(hours=1)), None)
    assert not archive.is_done(archive.previous("a"))


def test_a_url_that_failed_after_an_archived_capture_is_fetched_again(open_archive):
    archive = open_archive(None)
    archive.record(ok(id="a", fetched_at=ago(days=2)), None)
    archive.record(record(id="a", outcome="error", fetched_at=ago(days=1)), None)
    assert not archive.is_done(archive.previous("a"))


def test_an_unknown_url_is_not_done(open_archive):
    archive = open_archive(timedelta(days=7))
    assert archive.previous("a") is None
    assert not archive.is_done(archive.previous("a"))


def test_without_recrawl_after_age_never_refetches(open_archive):
    archive = open_archive(None)
    archive.record(ok(id="a", fetched_at="2001-01-01T00:00:00Z"), None)
    archive.record(ok(id="b", fetched_at=None), None)
    assert archive.is_done(archive.previous("a"))
    assert archive.is_done(archive.previous("b"))
    assert not archive.is_done(archive.previous("a"), refresh=True)


def test_archived_without_a_fetch_time_is_due_with_recrawl_after(open_archive):
    archive = open_archive(timedelta(days=7))
    archive.record(ok(id="a", fetched_at=None), None)
    assert not archive.is_done(archive.previous("a"))


def test_done_survives_closing_and_reopening_the_archive(tmp_path):
    archive = Archive(tmp_path / "archive", recrawl_after=timedelta(days=7))
    archive.open()
    try:
        archive.record(ok(id="a", fetched_at=ago(hours=1)), None)
        archive.record(ok(id="b", fetched_at=ago(days=30)), None)
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
    (root / "manifest.jsonl").write_bytes(line(ok(id="a", fetched_at=ago(hours=1))))
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
    archive.record(ok(id="a"), full)
    archive.record(ok(id="a", outcome="unchanged", fetched_at="2024-06-01T10:00:00Z"), revisit)
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
    archive.record(ok(id="a"), full)
    # whatever outcome the line has, a revisit record is not a capture to refer to
    archive.record(ok(id="a", fetched_at="2024-06-01T10:00:00Z"), revisit)
    state = archive.previous("a")
    assert (state.payload_digest, state.record_id, state.warc_date) == (
        "sha1:ONE",
        "<urn:uuid:1>",
        "2024-05-01T10:00:00Z",
    )
    assert state.fetched_at == "2024-06-01T10:00:00Z"
