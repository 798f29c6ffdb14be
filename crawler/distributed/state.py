"""The state store of a distributed job, in Redis (the same interface as SQLite's).

What every worker of a job must see alike: per URL id its last final outcome and its
last full capture (payload digest, record id, date: revisit records refer to captures
other workers made), the seq counter of discovered URLs, feed validators and the last
capture of each page requisite. Keys under the job's prefix
(:class:`crawler.distributed.frontier.RedisFrontier.key`): ``url:ID`` (hash), ``next_seq``,
``validators`` (hash), ``requisites`` (hash), ``manifest_end:WORKER`` (how far this
worker's manifest part has been recorded, for :meth:`catch_up`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crawler.archive.groups import GroupIndex
from crawler.archive.state import (
    DISCOVERED_SEQ_START,
    UrlState,
    manifest_lines_after,
    requisite_from_json,
    requisite_json,
)
from crawler.core.identity import format_seq
from crawler.core.items import RequisiteCapture
from crawler.core.manifest import ManifestRecord
from crawler.core.outcomes import UNCHANGED

_FIELDS = ("seq", "outcome", "fetched_at", "final_url", "payload_digest", "record_id",
           "warc_date", "text_file")  # fmt: skip


def _text(value: Any) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class RedisStateStore:
    """:class:`crawler.archive.state.StateStore` over Redis; *key* names a job-scoped key."""

    def __init__(self, client: Any, key: Any, worker: str) -> None:
        self.redis = client
        self.key = key
        self.worker = worker

    def close(self) -> None:
        """Nothing to close: the client belongs to the frontier."""

    def begin_batches(self) -> bool:
        """No batches: every change is one Redis transaction, seen by every worker."""
        return False

    def flush(self) -> None:
        """Nothing pending (see :meth:`begin_batches`)."""

    def regroup_from(self) -> int | None:
        """None: a job's workers do not group (``scrapy merge`` groups the corpus)."""
        return None

    def regrouped(self) -> None:
        """Nothing to mark (see :meth:`regroup_from`)."""

    def group_index(self, threshold: float) -> GroupIndex | None:
        """None: see :meth:`regroup_from`."""
        return None

    def forget(self) -> None:
        """Read this worker's manifest part from its start again at the next catch-up."""
        self.redis.delete(self.key(f"manifest_end:{self.worker}"))

    def lookup(self, id_: str) -> UrlState | None:
        values = self.redis.hmget(self.key(f"url:{id_}"), _FIELDS)
        if not any(values):
            return None
        return UrlState(id_, *(_text(v) for v in values))

    def seq_for(self, id_: str, url: str) -> str:
        """The seq of a discovered URL: the one it got before, or the next free one."""
        key = self.key(f"url:{id_}")
        seq = _text(self.redis.hget(key, "seq"))
        if seq is not None:
            return seq
        counter = int(self.redis.incr(self.key("next_seq"))) - 1 + DISCOVERED_SEQ_START
        if not self.redis.hsetnx(key, "seq", format_seq(counter)):
            # another worker numbered it first: its seq stands (this number stays unused)
            return _text(self.redis.hget(key, "seq")) or format_seq(counter)
        self.redis.hset(key, "url", url)
        return format_seq(counter)

    def record(
        self,
        record: ManifestRecord,
        *,
        manifest_end: int,
        payload_digest: str | None = None,
        record_id: str | None = None,
        warc_date: str | None = None,
    ) -> None:
        """Note a manifest line that is on disk (ending at byte *manifest_end* of this
        worker's manifest part)."""
        key = self.key(f"url:{record.id}")
        # An `unchanged` page keeps pointing at the full record its revisit refers to (a
        # URL seen for the first time stores what it has, as SQLite's insert does).
        keep_capture = (record.outcome == UNCHANGED or payload_digest is None) and bool(
            self.redis.exists(key)
        )
        values: dict[str, str] = {"outcome": record.outcome, "url": record.url}
        for name, value in (("fetched_at", record.fetched_at), ("final_url", record.final_url),
                            ("text_file", record.text_file)):  # fmt: skip
            if value is not None:
                values[name] = value
        if not keep_capture:
            for name, value in (("payload_digest", payload_digest), ("record_id", record_id),
                                ("warc_date", warc_date)):  # fmt: skip
                if value is not None:
                    values[name] = value
        pipe = self.redis.pipeline(transaction=True)
        pipe.hsetnx(key, "seq", record.seq)
        pipe.hset(key, mapping=values)
        pipe.set(self.key(f"manifest_end:{self.worker}"), manifest_end)
        pipe.execute()

    def catch_up(self, manifest: Path) -> int:
        """Record this worker's manifest lines written after the last recorded one."""
        start = int(self.redis.get(self.key(f"manifest_end:{self.worker}")) or 0)
        count = 0
        for record, end in manifest_lines_after(manifest, start):
            self.record(record, manifest_end=end)
            count += 1
        return count

    def validators(self, url: str) -> tuple[str | None, str | None]:
        raw = self.redis.hget(self.key("validators"), url)
        if raw is None:
            return None, None
        etag, last_modified = json.loads(raw)
        return etag, last_modified

    def set_validators(self, url: str, etag: str | None, last_modified: str | None) -> None:
        self.redis.hset(self.key("validators"), url, json.dumps([etag, last_modified]))

    def requisite(self, url: str) -> RequisiteCapture | None:
        raw = self.redis.hget(self.key("requisites"), url)
        return requisite_from_json(raw) if raw is not None else None

    def set_requisite(self, url: str, capture: RequisiteCapture) -> None:
        self.redis.hset(self.key("requisites"), url, requisite_json(capture))
