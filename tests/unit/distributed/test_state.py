"""The Redis state store's own behaviour: one job's state shared by its workers, each with
its manifest part. What it shares with the SQLite store:
tests/unit/archive/test_state_contract.py."""

from __future__ import annotations

import dataclasses

from crawler.archive.files import ManifestWriter
from crawler.core.manifest import ManifestRecord
from crawler.distributed.frontier import RedisFrontier, connect
from crawler.distributed.state import RedisStateStore
from tests.support.builders import manifest_line, manifest_record, ok_record
from tests.support.redisserver import RedisServer


def frontier(server: RedisServer, worker: str, job: str = "j", **kwargs) -> RedisFrontier:
    return RedisFrontier(connect(server.url), job, worker, **kwargs)


def test_workers_share_urls_seqs_captures_and_validators(redis_server, tmp_path):
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


def test_each_worker_catches_up_its_own_part_and_forgets_only_its_offset(redis_server, tmp_path):
    a = frontier(redis_server, "a")
    w1, w2 = RedisStateStore(a.redis, a.key, "w1"), RedisStateStore(a.redis, a.key, "w2")
    part1, part2 = tmp_path / "w1.jsonl", tmp_path / "w2.jsonl"
    part1.write_bytes(manifest_line(ok_record(id="a")) + manifest_line(ok_record(id="b")))
    part2.write_bytes(manifest_line(manifest_record(id="c", seq="002")))
    assert (w1.catch_up(part1), w2.catch_up(part2)) == (2, 1)
    assert w2.lookup("a").outcome == "ok" and w1.lookup("c").outcome == "error"  # shared
    assert (w1.catch_up(part1), w2.catch_up(part2)) == (0, 0)
    w1.forget()
    assert (w1.catch_up(part1), w2.catch_up(part2)) == (2, 0)  # w2's offset stands
    assert w1.lookup("c") is not None  # and the job's URLs with it


def test_two_workers_numbering_one_url_agree_on_its_seq(redis_server):
    a = frontier(redis_server, "a")
    w1, w2 = RedisStateStore(a.redis, a.key, "w1"), RedisStateStore(a.redis, a.key, "w2")
    assert w1.seq_for("00000000000000aa", "http://a.example/x") == "000"
    assert w2.seq_for("00000000000000bb", "http://a.example/y") == "001"  # one counter
    assert w2.seq_for("00000000000000aa", "http://a.example/x") == "000"
    other_job = frontier(redis_server, "a", job="k")
    assert RedisStateStore(other_job.redis, other_job.key, "w1").lookup("00000000000000aa") is None
