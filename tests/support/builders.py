"""Builders for the records tests write and compare."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from crawler.core.items import MANIFEST_FIELDS, ManifestRecord


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
