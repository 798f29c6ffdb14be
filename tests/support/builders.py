"""Builders for the records tests write and compare."""

from __future__ import annotations

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
