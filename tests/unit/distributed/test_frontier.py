"""The Redis frontier, state store and host buckets against a real redis-server."""

from __future__ import annotations

import dataclasses
import time

import pytest

from crawler.archive.files import ManifestWriter
from crawler.core.items import ManifestRecord
from crawler.distributed.frontier import FrontierError, RedisFrontier, connect, list_entries
from crawler.distributed.politeness import ROBOTS_MAX_SHARED, ROBOTS_TTL, HostRate, SharedRobots
from crawler.distributed.state import RedisStateStore
from tests.support.redisserver import RedisServer


def frontier(server: RedisServer, worker: str, job: str = "j", **kwargs) -> RedisFrontier:
    return RedisFrontier(connect(server.url), job, worker, **kwargs)


def entries(n: int) -> list[tuple[str, dict]]:
    return [(f"{i:016x}", {"url": f"http://a.example/{i}", "id": f"{i:016x}", "seq": f"{i:03d}"})
            for i in range(n)]  # fmt: skip


def test_enqueue_is_idempotent_and_ack_finishes_the_job(redis_server):
    a = frontier(redis_server, "a")
    assert a.enqueue(entries(5)) == 5
    assert a.enqueue(entries(7)) == 2  # the same list, longer: only the new entries
    taken = a.take(10)
    assert [e.data["seq"] for e in taken] == [f"{i:03d}" for i in range(7)]
    assert all(e.deliveries == 1 for e in taken)
    status = a.status()
    assert (status.queued, status.pending, status.done) == (0, {"a": 7}, 0)
    assert not a.finished()
    a.ack([e.entry_id for e in taken])
    status = a.status()
    assert status.finished and status.done == 7 and status.ever_queued == 7
    assert a.enqueue(entries(7)) == 0  # done entries are never queued again
    assert a.take(10) == []


def test_a_dead_workers_entries_are_taken_over_after_the_lease(redis_server):
    a = frontier(redis_server, "a", lease=0.5)
    b = frontier(redis_server, "b", lease=0.5)
    a.enqueue(entries(3))
    held = a.take(3)
    assert b.take(3) == []  # a holds them all
    time.sleep(0.6)  # a "died": no renewal
    again = b.take(3)
    assert [e.key for e in again] == [e.key for e in held]
    assert all(e.deliveries == 2 for e in again)
    assert b.status().pending == {"b": 3}


def test_renewing_keeps_a_slow_page_with_its_worker(redis_server):
    a = frontier(redis_server, "a", lease=0.5)
    b = frontier(redis_server, "b", lease=0.5)
    a.enqueue(entries(1))
    [held] = a.take(1)
    for _ in range(4):
        time.sleep(0.2)
        a.renew([held.entry_id])
    assert b.take(1) == []
    a.ack([held.entry_id])
    assert a.finished()


def test_dead_letters_leave_the_stream_with_their_reason(redis_server):
    a = frontier(redis_server, "a", max_deliveries=1)
    a.enqueue(entries(2))
    first, second = a.take(2)
    a.dead_letter(first, "poison: test")
    a.ack([second.entry_id])
    status = a.status()
    assert status.finished and status.dead == 1 and status.done == 1
    [letter] = a.dead_letters()
    assert letter["reason"] == "poison: test" and letter["data"]["seq"] == "000"


def test_worker_names_are_claimed_once(redis_server):
    a = frontier(redis_server, "w1", lease=0.5)
    a.claim_name()
    with pytest.raises(FrontierError, match="in use"):
        frontier(redis_server, "w1", lease=0.5).claim_name()
    time.sleep(0.6)  # a dead worker's claim lapses
    frontier(redis_server, "w1", lease=0.5).claim_name()
    with pytest.raises(FrontierError, match="invalid job name"):
        frontier(redis_server, "w", job="a:b")


def test_list_entries_number_and_decide_like_the_crawl(tmp_path):
    path = tmp_path / "list.txt"
    path.write_text("http://a.example/1\nnot a url\nhttp://a.example/2\nhttp://a.example/1\n")
    listed = list(list_entries(str(path), 2000))
    assert [data["seq"] for _, data in listed] == ["000", "001", "002", "003"]
    assert [key.startswith("seq:") for key, _ in listed] == [False, True, False, True]
    assert listed[1][1]["outcome"] == "error" and "invalid input" in listed[1][1]["error"]
    assert listed[3][1]["outcome"] == "duplicate" and "seq 000" in listed[3][1]["error"]
    assert "outcome" not in listed[0][1]


def test_host_buckets_space_requests_across_workers(redis_server):
    a = frontier(redis_server, "a")
    one = HostRate(a.redis, a.key, rate=10.0, burst=2.0)
    two = HostRate(connect(redis_server.url), a.key, rate=10.0, burst=2.0)  # another worker
    waits = [bucket.reserve("news.example") for bucket in (one, two) * 3]
    # a burst of two, then one slot every 0.1 s, shared by both workers
    assert waits[:2] == [0.0, 0.0]
    assert [round(w, 1) for w in waits[2:]] == [0.1, 0.2, 0.3, 0.4]
    assert one.reserve("other.example") == 0.0  # per host


def test_robots_answers_are_shared_once_and_only_when_they_say_something(redis_server):
    a = frontier(redis_server, "a")
    mine, theirs = SharedRobots(a.redis, a.key), SharedRobots(connect(redis_server.url), a.key)
    assert theirs.get("news.example") is None
    body = b"User-agent: *\nDisallow: /private/\n\x00\xff"  # any bytes survive
    mine.put("news.example", 200, body)
    theirs.put("news.example", 404, b"")  # the first answer shared stays
    assert theirs.get("news.example") == (200, body)
    for status in (500, 503, 429):  # says nothing about the rules: each worker asks itself
        mine.put(f"{status}.example", status, b"")
        assert theirs.get(f"{status}.example") is None
    mine.put("huge.example", 200, b"#" * (ROBOTS_MAX_SHARED + 1))
    assert theirs.get("huge.example") is None
    assert 0 < a.redis.ttl(a.key("robots:news.example")) <= ROBOTS_TTL


def test_redis_state_store_behaves_like_sqlites(redis_server, tmp_path):
    a = frontier(redis_server, "a")
    store = RedisStateStore(a.redis, a.key, "w1")
    assert store.lookup("00000000000000aa") is None
    assert store.seq_for("00000000000000aa", "http://a.example/x") == "000"
    assert store.seq_for("00000000000000bb", "http://a.example/y") == "001"
    other = RedisStateStore(connect(redis_server.url), a.key, "w2")
    assert other.seq_for("00000000000000aa", "http://a.example/x") == "000"  # shared
    fields = {f.name: None for f in dataclasses.fields(ManifestRecord)}
    record = ManifestRecord(**{
        **fields, "id": "00000000000000aa", "seq": "000", "url": "http://a.example/x",
        "final_url": "http://a.example/x", "status": 200, "outcome": "ok",
        "text_file": "text/000_00000000000000aa.txt", "warc_file": "w.warc.gz",
        "warc_offset": 0, "fetched_at": "2026-12-01T00:00:00Z",
    })  # fmt: skip
    store.record(record, manifest_end=10, payload_digest="sha1:X", record_id="<urn:1>",
                 warc_date="2026-12-01T00:00:00Z")  # fmt: skip
    state = other.lookup("00000000000000aa")
    assert state.archived() and state.earlier_capture().payload_digest == "sha1:X"
    # an unchanged page keeps the capture its revisit refers to
    unchanged = dataclasses.replace(record, outcome="unchanged")
    other.record(unchanged, manifest_end=5, payload_digest="sha1:Y", record_id="<urn:2>")
    assert store.lookup("00000000000000aa").payload_digest == "sha1:X"
    store.set_validators("http://a.example/feed", '"e1"', None)
    assert other.validators("http://a.example/feed") == ('"e1"', None)
    # catch_up: this worker's manifest lines written after the last recorded one
    manifest = tmp_path / "manifest.jsonl"
    writer = ManifestWriter(manifest)
    writer.write(record)
    writer.write(dataclasses.replace(record, id="00000000000000cc", seq="002", outcome="error"))
    writer.close()
    fresh = RedisStateStore(a.redis, a.key, "w3")
    assert fresh.catch_up(manifest) == 2
    assert fresh.catch_up(manifest) == 0
    assert fresh.lookup("00000000000000cc").outcome == "error"
