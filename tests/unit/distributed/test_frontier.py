"""The Redis frontier, state store and host buckets against a real redis-server."""

from __future__ import annotations

import time

import pytest

from crawler.distributed.frontier import FrontierError, RedisFrontier, connect, list_entries
from crawler.distributed.politeness import ROBOTS_MAX_SHARED, ROBOTS_TTL, HostRate, SharedRobots
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
