"""Builders for the records tests write and compare."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

from crawler.core.manifest import MANIFEST_FIELDS, ManifestRecord
from crawler.warc.writer import HttpExchange


def manifest_record(**fields: Any) -> ManifestRecord:
    """A ManifestRecord with every field: a failed live page unless *fields* say otherwise."""
    base: dict[str, Any] = dict.fromkeys(MANIFEST_FIELDS)
    base.update(
        id="0123456789abcdef", seq="000", url="http://x.example/", outcome="error",
        error="boom", source="live",
    )  # fmt: skip
    base.update(fields)
    return ManifestRecord(**base)


URL = "https://news.example/2024/story"


def ok_record(**fields: Any) -> ManifestRecord:
    """An archived page with its article (outcome ``ok``, fetched 2024-05-01 10:00 UTC)."""
    base: dict[str, Any] = dict(
        outcome="ok", error=None, status=200, final_url=URL, fetched_at="2024-05-01T10:00:00Z",
        text_file="text/000_0123456789abcdef.txt", words=120,
    )  # fmt: skip
    base.update(fields)
    return manifest_record(**base)


def manifest_line(record: ManifestRecord) -> bytes:
    """*record* as its line in ``manifest.jsonl``."""
    return (json.dumps(dataclasses.asdict(record)) + "\n").encode()


def http_exchange(url="http://example.org/a?b=1", body=b"<html>hi</html>", **kw) -> HttpExchange:
    """An HTTP exchange as the WARC writer gets one (repeated and non-ASCII headers)."""
    defaults = dict(
        url=url,
        method="GET",
        request_headers=[(b"User-Agent", b"test"), (b"Accept-Encoding", b"gzip, deflate")],
        response_headers=[
            (b"Content-Type", b"text/html"),
            (b"Set-Cookie", b"a=1"),
            (b"Set-Cookie", b"b=2"),
            (b"X-Odd", "caf\xe9".encode("latin-1")),
            (b"Content-Length", str(len(body)).encode()),
        ],
        status=200,
        body=body,
        ip_address="127.0.0.1",
        date=datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC),
    )
    defaults.update(kw)
    return HttpExchange(**defaults)
