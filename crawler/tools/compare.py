"""Does an archive reproduce another corpus? Two manifests side by side, id by id (a
rebuild against the published corpus: ``scrapy verify --against``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

IDENTICAL, CHANGED, OUTCOME_DIFFERS = "identical", "changed", "outcome differs"
MISSING_HERE, EXTRA_HERE = "missing here", "extra here"
STATUSES = (IDENTICAL, CHANGED, OUTCOME_DIFFERS, MISSING_HERE, EXTRA_HERE)


def latest_lines(lines: Iterable[dict]) -> dict[str, dict]:
    """The last line of each id: what a manifest says of it now."""
    return {line["id"]: line for line in lines if isinstance(line.get("id"), str)}


def read_manifest_lines(path: str | Path) -> Iterator[dict]:
    with Path(path).open("rb") as fh:
        for raw in fh:
            if raw.endswith(b"\n") and raw.strip():
                yield json.loads(raw)


def compare(here: Iterable[dict], reference: Iterable[dict]) -> dict[str, str]:
    """Per id: identical | changed | outcome differs | missing here | extra here."""
    mine, theirs = latest_lines(here), latest_lines(reference)
    found: dict[str, str] = {}
    for id_, ref in theirs.items():
        line = mine.get(id_)
        if line is None:
            found[id_] = MISSING_HERE
        elif line.get("outcome") != ref.get("outcome"):
            found[id_] = OUTCOME_DIFFERS
        elif line.get("text_sha256") != ref.get("text_sha256"):
            found[id_] = CHANGED
        else:
            found[id_] = IDENTICAL
    for id_ in mine.keys() - theirs.keys():
        found[id_] = EXTRA_HERE
    return dict(sorted(found.items()))
