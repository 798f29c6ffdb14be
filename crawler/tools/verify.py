"""Is an archive what its manifest says? And does it reproduce another corpus?

:func:`verify` reads everything once: every record of every closed WARC file (its
digests recomputed, a ``warcinfo`` first), every manifest line (its WARC pointer opens
a ``response`` or ``revisit`` record for its ``final_url``), every text dump (it parses,
hashes to its line's ``text_sha256``, names its line's record), every line of the CDXJ
index (sorted; each names a record of its type and URL, and each request, response and
revisit record has its line). Each finding is a
:class:`Problem` naming the file, the place and the id. :func:`compare` sets two
manifests side by side, id by id (a rebuild against the published corpus).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.archive.directory import Archive
from crawler.core.identity import text_digest
from crawler.warc.cdxj import INDEXED_RECORDS, parse_line, record_type, url_key
from crawler.warc.reader import ScannedRecord, WarcDamage, scan_warc

# The records a manifest line may point at.
POINTED_AT = ("response", "revisit")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong, where it is (a file, and a byte or a line in it), and whose."""

    kind: str  # digest, damaged, warcinfo, open, pointer, dump, missing/orphan dump, manifest,
    # index
    where: str  # path relative to the archive, with @byte or :line
    id: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.kind}: {self.message}" + (
            f" (id {self.id})" if self.id else ""
        )


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    warc_files: int = 0
    records: int = 0
    warc_bytes: int = 0
    manifest_lines: int = 0
    dumps: int = 0
    index_lines: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "warc_files": self.warc_files,
            "records": self.records,
            "warc_bytes": self.warc_bytes,
            "manifest_lines": self.manifest_lines,
            "dumps": self.dumps,
            "index_lines": self.index_lines,
            "seconds": round(self.seconds, 3),
            "problems": dict(Counter(p.kind for p in self.problems)),
        }


def verify(archive: Archive) -> Report:
    """Check every WARC record, manifest line and text dump of *archive*."""
    started = time.monotonic()
    report = Report()
    indexable: dict[tuple[str, int], ScannedRecord] = {}
    records = _check_warcs(archive, report, indexable)
    latest = _check_manifest(archive, records, report)
    _check_dumps(archive, records, latest, report)
    _check_index(archive, indexable, report)
    report.seconds = time.monotonic() - started
    return report


def _check_warcs(
    archive: Archive, report: Report, indexable: dict[tuple[str, int], ScannedRecord]
) -> dict[tuple[str, int], ScannedRecord]:
    """Digests of every record; returns the records lines may point at, by place, and
    fills *indexable* with those the index must list."""
    for leftover in sorted(archive.warc_dir.glob("*.open")):
        report.problems.append(Problem(
            "open", f"warc/{leftover.name}", None,
            "left open by a crawl that did not finish (the next crawl closes it)",
        ))  # fmt: skip
    pointed: dict[tuple[str, int], ScannedRecord] = {}
    for path in archive.warc_files():
        report.warc_files += 1
        report.warc_bytes += path.stat().st_size
        name = path.name
        try:
            for index, record in enumerate(scan_warc(path)):
                report.records += 1
                where = f"warc/{name}@{record.offset}"
                if index == 0 and record.record_type != "warcinfo":
                    report.problems.append(Problem(
                        "warcinfo", where, None, f"first record is a {record.record_type}"
                    ))  # fmt: skip
                for part, ok in (("block", record.block_ok), ("payload", record.payload_ok)):
                    if ok is False:
                        report.problems.append(Problem(
                            "digest", where, None,
                            f"{part} digest does not match ({record.record_type} "
                            f"{record.target_uri or ''})".rstrip(),
                        ))  # fmt: skip
                if record.record_type in POINTED_AT:
                    pointed[(name, record.offset)] = record
                if record.record_type in INDEXED_RECORDS:
                    indexable[(name, record.offset)] = record
        except WarcDamage as exc:
            report.problems.append(Problem("damaged", f"warc/{name}", None, str(exc)))
    return pointed


def _manifest_lines(archive: Archive, report: Report) -> Iterator[tuple[int, dict]]:
    if not archive.manifest_path.exists():
        report.problems.append(Problem("manifest", "manifest.jsonl", None, "no manifest"))
        return
    with archive.manifest_path.open("rb") as fh:
        for number, raw in enumerate(fh, 1):
            try:
                line = json.loads(raw)
                if not isinstance(line, dict) or not isinstance(line.get("id"), str):
                    raise ValueError("not a manifest line")
            except ValueError as exc:
                report.problems.append(Problem(
                    "manifest", f"manifest.jsonl:{number}", None, f"unreadable line: {exc}"
                ))  # fmt: skip
                continue
            yield number, line


def _check_manifest(
    archive: Archive, records: dict[tuple[str, int], ScannedRecord], report: Report
) -> dict[str, tuple[int, dict]]:
    """Every line's WARC pointer; returns, per dump, the last line that wrote it."""
    writers: dict[str, tuple[int, dict]] = {}
    for number, line in _manifest_lines(archive, report):
        report.manifest_lines += 1
        where, id_ = f"manifest.jsonl:{number}", line["id"]
        if line.get("warc_file") is not None:
            record = records.get((line["warc_file"], line.get("warc_offset")))
            if record is None:
                message = (
                    f"no response or revisit record starts at byte {line.get('warc_offset')} "
                    f"of {line['warc_file']}"
                )
                report.problems.append(Problem("pointer", where, id_, message))
            elif record.target_uri != line.get("final_url"):
                report.problems.append(Problem(
                    "pointer", where, id_,
                    f"record at byte {record.offset} of {line['warc_file']} is for "
                    f"{record.target_uri}, not {line.get('final_url')}",
                ))  # fmt: skip
        if line.get("text_file") and line.get("text_sha256"):
            writers[line["text_file"]] = (number, line)  # a later line's dump replaced it
    return writers


def _check_dumps(
    archive: Archive,
    records: dict[tuple[str, int], ScannedRecord],
    writers: dict[str, tuple[int, dict]],
    report: Report,
) -> None:
    on_disk = {f"text/{p.name}" for p in archive.text_dir.glob("*.txt")}
    for text_file, (number, line) in sorted(writers.items()):
        id_ = line["id"]
        if text_file not in on_disk:
            report.problems.append(Problem(
                "missing dump", text_file, id_, f"manifest.jsonl:{number} points at it"
            ))  # fmt: skip
            continue
        report.dumps += 1
        try:
            meta, body = archive.read_dump(text_file)
        except (ValueError, UnicodeDecodeError) as exc:
            report.problems.append(Problem("dump", text_file, id_, f"unreadable: {exc}"))
            continue
        if text_digest(body) != line["text_sha256"]:
            report.problems.append(Problem(
                "dump", text_file, id_,
                f"body does not hash to the text_sha256 of manifest.jsonl:{number}",
            ))  # fmt: skip
        record = records.get((line.get("warc_file"), line.get("warc_offset")))
        if record is not None and meta.get("warc_record_id") != record.record_id:
            report.problems.append(Problem(
                "dump", text_file, id_,
                f"warc_record_id {meta.get('warc_record_id')} is not the record of "
                f"manifest.jsonl:{number} ({record.record_id})",
            ))  # fmt: skip
    for orphan in sorted(on_disk - set(writers)):
        report.problems.append(Problem("orphan dump", orphan, None, "no manifest line writes it"))


def _check_index(
    archive: Archive, indexable: dict[tuple[str, int], ScannedRecord], report: Report
) -> None:
    """The index lists every indexable record once, under its URL's key, in sorted order,
    and every memento again under its own page."""
    path, where = archive.index_path, "indexes/index.cdxj"
    if not path.exists():
        if indexable:
            report.problems.append(Problem(
                "index", where, None, "no CDXJ index (scrapy index writes it)"
            ))  # fmt: skip
        return
    listed: set[tuple[str, int]] = set()
    aliased: set[tuple[str, int, str, str]] = set()
    previous = ""

    def problem(number: int, message: str) -> None:
        report.problems.append(Problem("index", f"{where}:{number}", None, message))

    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            report.index_lines += 1
            if line < previous:
                problem(number, "out of order")
            previous = line
            try:
                key, stamp, fields = parse_line(line)
                place = (fields["filename"], int(fields["offset"]))
                url = fields["url"]
            except (ValueError, KeyError) as exc:
                problem(number, f"unreadable: {exc!r}")
                continue
            record, kind = indexable.get(place), record_type(fields)
            if record is None or record.record_type != kind:
                problem(number, f"no {kind} record starts at byte {place[1]} of {place[0]}")
            elif record.target_uri != fields.get("via", url):
                problem(number, f"the record at byte {place[1]} of {place[0]} is for "
                                f"{record.target_uri}, not {fields.get('via', url)}")  # fmt: skip
            elif key != url_key(url):
                problem(number, f"key {key} is not the SURT of {url}")
            elif "via" in fields:
                aliased.add((*place, url, stamp))
            elif place in listed:
                problem(number, f"a second line for the record at byte {place[1]} of {place[0]}")
            else:
                listed.add(place)
    for name, offset in sorted(indexable.keys() - listed):
        record = indexable[(name, offset)]
        report.problems.append(Problem(
            "index", f"warc/{name}@{offset}", None,
            f"{record.record_type} {record.target_uri} is not in the index "
            "(scrapy index rebuilds it)",
        ))  # fmt: skip
    for alias in archive.memento_aliases():
        if (alias.warc_file, alias.warc_offset) in indexable and tuple(alias) not in aliased:
            report.problems.append(Problem(
                "index", where, None,
                f"the memento at byte {alias.warc_offset} of {alias.warc_file} is not listed "
                f"under {alias.original} at {alias.timestamp} (scrapy index rebuilds it)",
            ))  # fmt: skip


# -- a rebuild against a reference ------------------------------------------------------------
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
