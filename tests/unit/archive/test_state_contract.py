"""The state store contract: the same tests over both implementations of
:class:`crawler.archive.state.StateStore`, SQLite (``SqliteStateStore``, one machine) and
Redis (``RedisStateStore``, a distributed job's workers, against a real redis-server).

What a crawl relies on whichever store it has: lookup after record, seq_for stable and
counting up, the merge rules of record (an ``unchanged`` page keeps the capture its
revisit refers to), catch_up reading the manifest lines after the last recorded one,
forget making catch_up read from the start, validators. "Reopened" is a new run of the
same archive (SQLite) or a restarted worker of the same name (Redis). At the end: what
the interface lets them do differently, and says so through its methods.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

import pytest

from crawler.archive.files import ManifestWriter
from crawler.archive.groups import GroupIndex
from crawler.archive.state import SqliteStateStore, StateStore, UrlState
from crawler.core.items import EarlierCapture, FoundRequisite, RequisiteCapture
from crawler.distributed.frontier import RedisFrontier, connect
from crawler.distributed.state import RedisStateStore
from tests.support.builders import URL, manifest_line, manifest_record, ok_record
from tests.support.redisserver import RedisServer

KINDS = ["sqlite", "redis"]


@pytest.fixture(scope="module")
def redis_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """One redis-server on a free loopback port for the module; each test's store has a
    job (a key prefix) of its own."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    client = connect(server.url)
    try:
        yield client
    finally:
        client.close()
        server.stop()


@pytest.fixture
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., StateStore]:
    """``open_store(worker="w1")``: a store of this test's kind, opened. Called again with
    the same worker it is the same store reopened; with another (Redis) another worker of
    the same job. Closed at teardown."""
    kind = request.param
    opened: list[StateStore] = []
    if kind == "sqlite":

        def make(worker: str = "w1") -> StateStore:
            assert worker == "w1", "an SQLite store has no workers"
            store = SqliteStateStore(tmp_path / "state.sqlite").open()
            opened.append(store)
            return store

    else:
        client = request.getfixturevalue("redis_client")
        key = RedisFrontier(client, f"contract-{uuid.uuid4().hex}").key  # as open_job's

        def make(worker: str = "w1") -> StateStore:
            store = RedisStateStore(client, key, worker)
            opened.append(store)
            return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Callable[..., StateStore]) -> StateStore:
    return open_store()


def reopen(store: StateStore) -> StateStore:
    """The same store in a new run (a restarted worker of the same name)."""
    store.close()
    if isinstance(store, SqliteStateStore):
        return store.open()
    assert isinstance(store, RedisStateStore)
    return RedisStateStore(store.redis, store.key, store.worker)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test here that uses a store runs once per kind of store."""
    if "open_store" in metafunc.fixturenames:
        metafunc.parametrize("open_store", KINDS, indirect=True)


def test_lookup_of_an_unknown_id_is_none(store):
    assert store.lookup("ffffffffffffffff") is None


def test_lookup_returns_what_was_recorded(store):
    store.record(
        ok_record(id="a", seq="004", title="T"),
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
    store.record(manifest_record(id="listed", seq="042"), manifest_end=10)
    assert store.seq_for("listed", URL) == "042"
    # and it used no number of the discovered sequence
    assert store.seq_for("new", URL + "/new") == "000"


@pytest.mark.parametrize(
    "text", ["{}", '{"id": "a"}', '["a list"]', '{"id": "a", "url": "u", "outcome": "ok"}']
)
def test_catch_up_skips_json_that_is_no_manifest_line(store, tmp_path, text):
    """A hand-edited or foreign line (no id, seq, url or outcome) changes nothing."""
    store.record(ok_record(id="a"), manifest_end=0)
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
    store.record(ok_record(), manifest_end=1, **CAPTURE_1)
    store.record(ok_record(fetched_at="2024-06-01T10:00:00Z"), manifest_end=2, **CAPTURE_2)
    state = store.lookup(ok_record().id)
    assert capture_of(state) == tuple(CAPTURE_2.values())
    assert state.fetched_at == "2024-06-01T10:00:00Z"


def test_unchanged_keeps_the_earlier_capture_even_with_a_digest(store):
    store.record(ok_record(), manifest_end=1, **CAPTURE_1)
    store.record(
        ok_record(outcome="unchanged", fetched_at="2024-06-01T10:00:00Z"),
        manifest_end=2,
        **CAPTURE_2,
    )
    state = store.lookup(ok_record().id)
    assert state.outcome == "unchanged"
    assert capture_of(state) == tuple(CAPTURE_1.values())
    assert state.fetched_at == "2024-06-01T10:00:00Z"  # the visit itself is newer


def test_a_record_without_digest_keeps_the_earlier_capture(store):
    store.record(ok_record(), manifest_end=1, **CAPTURE_1)
    store.record(
        ok_record(fetched_at="2024-06-01T10:00:00Z"),
        manifest_end=2,
        record_id="<urn:uuid:2>",
        warc_date="2024-06-01T10:00:00Z",
    )
    assert capture_of(store.lookup(ok_record().id)) == tuple(CAPTURE_1.values())


def test_an_error_keeps_the_earlier_capture_and_coalesces_the_rest(store):
    store.record(ok_record(), manifest_end=1, **CAPTURE_1)
    store.record(manifest_record(outcome="error", error="HTTP 503"), manifest_end=2)
    state = store.lookup(ok_record().id)
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
    store.record(ok_record(), manifest_end=1, **CAPTURE_1)
    store.record(
        ok_record(
            fetched_at="2024-07-01T00:00:00Z",
            final_url=URL + "?moved",
            text_file="text/000_new.txt",
        ),
        manifest_end=2,
        **CAPTURE_2,
    )
    state = store.lookup(ok_record().id)
    assert (state.fetched_at, state.final_url, state.text_file) == (
        "2024-07-01T00:00:00Z",
        URL + "?moved",
        "text/000_new.txt",
    )


def test_seq_keeps_the_first_one(store):
    store.record(ok_record(seq="003"), manifest_end=1)
    store.record(ok_record(seq="017"), manifest_end=2)
    assert store.lookup(ok_record().id).seq == "003"


def test_a_first_record_stores_its_capture_even_when_unchanged(store):
    store.record(ok_record(outcome="unchanged"), manifest_end=1, **CAPTURE_1)
    assert capture_of(store.lookup(ok_record().id)) == tuple(CAPTURE_1.values())


def test_records_of_different_ids_do_not_mix(store):
    store.record(ok_record(id="a"), manifest_end=1, **CAPTURE_1)
    store.record(ok_record(id="b", fetched_at="2024-06-01T10:00:00Z"), manifest_end=2, **CAPTURE_2)
    assert capture_of(store.lookup("a")) == tuple(CAPTURE_1.values())
    assert capture_of(store.lookup("b")) == tuple(CAPTURE_2.values())


def test_records_persist_after_reopen(store):
    store.record(ok_record(), manifest_end=1, **CAPTURE_1)
    store = reopen(store)
    assert capture_of(store.lookup(ok_record().id)) == tuple(CAPTURE_1.values())


# -- catch_up ------------------------------------------------------------------------------
def test_catch_up_without_a_manifest_records_nothing(store, tmp_path):
    assert store.catch_up(tmp_path / "manifest.jsonl") == 0


def test_catch_up_records_the_lines_after_the_last_recorded_one(store, tmp_path):
    manifest = tmp_path / "manifest.jsonl"
    writer = ManifestWriter(manifest)
    writer.write(ok_record(id="a", seq="000"))
    store.record(ok_record(id="a", seq="000"), manifest_end=writer.position)
    writer.write(ok_record(id="b", seq="001", title="B"))
    writer.write(manifest_record(id="c", seq="002", outcome="blocked", error="robots.txt"))
    writer.close()

    assert store.catch_up(manifest) == 2
    assert store.lookup("b").outcome == "ok"
    assert store.lookup("b").seq == "001"
    assert store.lookup("c").outcome == "blocked"
    # nothing new since: a second call records nothing
    assert store.catch_up(manifest) == 0


def test_catch_up_reads_a_whole_manifest_into_an_empty_store(store, tmp_path):
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_bytes(
        manifest_line(ok_record(id="a"))
        + manifest_line(ok_record(id="b"))
        + manifest_line(manifest_record(id="c"))
    )
    assert store.catch_up(manifest) == 3
    assert {s.id for s in map(store.lookup, "abc")} == {"a", "b", "c"}


def test_forget_then_catch_up_reads_a_replaced_manifest_from_its_start(store, tmp_path):
    """A merge replaces the manifest with a longer one: catching up from the old offset
    would start mid-line; forget drops the offset, so the new file is read whole."""
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_bytes(manifest_line(ok_record(id="old")))
    assert store.catch_up(manifest) == 1
    manifest.write_bytes(
        manifest_line(ok_record(id="a", title="A much longer title"))
        + manifest_line(ok_record(id="b"))
    )
    store.forget()
    assert store.catch_up(manifest) == 2
    assert {store.lookup("a").id, store.lookup("b").id} == {"a", "b"}
    assert store.catch_up(manifest) == 0


def test_catch_up_does_not_record_already_recorded_lines_again(store, tmp_path):
    manifest = tmp_path / "manifest.jsonl"
    first = manifest_line(ok_record(id="a", outcome="ok"))
    manifest.write_bytes(first + manifest_line(ok_record(id="b")))
    store.record(ok_record(id="a", outcome="ok"), manifest_end=len(first))
    # a later, different outcome for "a" exists only in the state store
    store.record(ok_record(id="a", outcome="unchanged"), manifest_end=len(first))
    assert store.catch_up(manifest) == 1
    assert store.lookup("a").outcome == "unchanged"  # line 1 was not read again


# cut inside the JSON, or just before the newline (the JSON itself complete)
@pytest.mark.parametrize("cut", [25, -1])
def test_catch_up_skips_a_torn_last_line_and_takes_it_once_whole(store, tmp_path, cut):
    manifest = tmp_path / "manifest.jsonl"
    whole = manifest_line(ok_record(id="a")) + manifest_line(ok_record(id="b"))
    torn = manifest_line(ok_record(id="c"))
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
        manifest_line(ok_record(id="a"))
        + b"not json at all\n"
        + b"[1, 2, 3]\n"
        + b'"a string"\n'
        + b"\n"
        + manifest_line(ok_record(id="b"))
    )
    assert store.catch_up(manifest) == 2
    assert store.lookup("a").outcome == "ok"
    assert store.lookup("b").outcome == "ok"
    assert store.catch_up(manifest) == 0


def test_catch_up_ignores_unknown_keys_and_fills_missing_ones(store, tmp_path):
    manifest = tmp_path / "manifest.jsonl"
    data = asdict(ok_record(id="a"))
    data["added_later"] = 1
    del data["title"]
    manifest.write_bytes((json.dumps(data) + "\n").encode())
    assert store.catch_up(manifest) == 1
    assert store.lookup("a").outcome == "ok"


def test_catch_up_reads_a_shorter_manifest_from_the_start(store, tmp_path):
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_bytes(manifest_line(ok_record(id="a")) + manifest_line(manifest_record(id="b")))
    store.record(ok_record(id="old"), manifest_end=manifest.stat().st_size + 1_000)
    assert store.catch_up(manifest) == 2
    assert store.lookup("a").outcome == "ok"
    assert store.lookup("b").outcome == "error"


def test_catch_up_at_exactly_the_recorded_end_records_nothing(store, tmp_path):
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_bytes(manifest_line(ok_record(id="a")) + manifest_line(ok_record(id="b")))
    store.record(ok_record(id="x"), manifest_end=manifest.stat().st_size)
    assert store.catch_up(manifest) == 0
    assert store.lookup("a") is None


def test_catch_up_offset_survives_reopen(store, tmp_path):
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_bytes(manifest_line(ok_record(id="a")))
    assert store.catch_up(manifest) == 1
    store = reopen(store)
    with manifest.open("ab") as fh:
        fh.write(manifest_line(ok_record(id="b")))
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


# -- requisites ----------------------------------------------------------------------------
def test_requisite_captures_are_kept_per_url_and_replaced(store):
    css = "https://cdn.example/site.css"
    assert store.requisite(css) is None
    first = RequisiteCapture(
        css, "2024-05-01T10:00:00Z", "<urn:uuid:1>", "sha1:AAA", '"e1"', None,
        (FoundRequisite("https://cdn.example/font.woff2", "font"),),
    )  # fmt: skip
    store.set_requisite(css, first)
    assert store.requisite(css) == first
    second = RequisiteCapture(css, "2024-06-01T10:00:00Z", "<urn:uuid:2>", "sha1:BBB")
    store.set_requisite(css, second)
    store = reopen(store)
    assert store.requisite(css) == second
    assert store.requisite("https://cdn.example/other.css") is None


def test_close_and_flush_can_be_called_at_any_time(open_store):
    store = open_store()
    store.flush()  # nothing pending
    store.record(ok_record(id="a"), manifest_end=1)
    store.flush()
    store.close()
    store.close()  # closing twice is harmless
    assert open_store().lookup("a").outcome == "ok"


# -- where they differ, as the interface says they may --------------------------------------
def test_batches_sqlite_commits_in_batches_redis_at_once(store):
    """begin_batches: True where changes wait for flush() (SQLite), False where every change
    is seen at once (Redis: one transaction each, seen by every worker)."""
    batches = store.begin_batches()
    assert batches is isinstance(store, SqliteStateStore)
    store.record(ok_record(id="a"), manifest_end=1)
    assert store.lookup("a").outcome == "ok"  # its own changes, batched or not
    store.flush()
    assert reopen(store).lookup("a").outcome == "ok"


def test_group_index_sqlite_only(store):
    """Workers of a job do not group (``scrapy merge`` groups the corpus): no index."""
    index = store.group_index(0.8)
    if isinstance(store, SqliteStateStore):
        assert isinstance(index, GroupIndex)
    else:
        assert index is None


def test_regroup_marker_sqlite_only(store, tmp_path):
    """After a catch-up the SQLite store keeps where the caught-up lines start, until
    regrouped(); the Redis store never has one (regroup_from None, regrouped a no-op)."""
    assert store.regroup_from() is None
    manifest = tmp_path / "manifest.jsonl"
    first = manifest_line(ok_record(id="a"))
    manifest.write_bytes(first + manifest_line(ok_record(id="b")))
    store.record(ok_record(id="a"), manifest_end=len(first))
    assert store.catch_up(manifest) == 1
    if isinstance(store, SqliteStateStore):
        assert store.regroup_from() == len(first)
        assert reopen(store).regroup_from() == len(first)  # kept until regrouped
    else:
        assert store.regroup_from() is None
    store.regrouped()
    assert store.regroup_from() is None


def test_forget_sqlite_drops_every_url_redis_only_the_workers_offset(store, tmp_path):
    """SQLite's store is the archive's own: forget() drops its URLs too. Redis's is the
    job's, shared by every worker: forget() drops this worker's manifest offset only."""
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_bytes(manifest_line(ok_record(id="old")))
    assert store.catch_up(manifest) == 1
    store.forget()
    forgotten = store.lookup("old")
    if isinstance(store, SqliteStateStore):
        assert forgotten is None
    else:
        assert forgotten is not None and forgotten.outcome == "ok"
    assert store.catch_up(manifest) == 1  # read from the start either way
