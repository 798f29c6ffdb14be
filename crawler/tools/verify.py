"""Is an archive what its manifest says?

:func:`verify` reads everything once: every record of every closed WARC file (its
digests recomputed, a ``warcinfo`` first; where a file is damaged, the damaged bytes are
one finding and reading goes on at the next record), every manifest line (its WARC
pointer opens a ``response`` or ``revisit`` record for its ``final_url``), every text
dump (the whole file hashes to its line's ``dump_sha256``, the body to ``text_sha256``,
it names its line's record), every line of the CDXJ index (sorted; each names a record
of its type and URL, and each request, response and revisit record has its line). Each
finding is a :class:`Problem` naming the file, the place and the id; the :class:`Report`
counts, per kind of thing checked, how many are fine and how many are not. Archives
written before a check existed pass it with a note (dumps without ``dump_sha256``,
target URIs that still carry the URL's fragment).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from crawler.archive.directory import Archive
from crawler.archive.dumps import split_dump
from crawler.core.identity import text_digest
from crawler.warc.cdxj import INDEXED_RECORDS, parse_line, record_type, url_key
from crawler.warc.reader import DamagedRange, ScannedRecord, scan_warc
from crawler.warc.writer import target_uri

# The records a manifest line may point at.
POINTED_AT = ("response", "revisit")
# What is checked, in the order a summary names them.
RECORDS, POINTERS, DUMPS, INDEX_LINES = "WARC records", "manifest pointers", "dumps", "index lines"
CHECKED = (RECORDS, POINTERS, DUMPS, INDEX_LINES)
Place = tuple[str, int]  # a WARC file's name and a byte in it


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
class Damage:
    """A damaged range of a WARC file, and what pointed into it."""

    file: str
    range: DamagedRange
    ids: list[str] = field(default_factory=list)  # manifest lines pointing into it
    index_lines: int = 0

    def message(self) -> str:
        held = []
        if self.ids:
            more = " ..." if len(self.ids) > 10 else ""
            held.append(f"the records of {len(self.ids)} manifest line(s) ("
                        f"{', '.join(self.ids[:10])}{more})")  # fmt: skip
        if self.index_lines:
            held.append(f"{self.index_lines} indexed record(s)")
        text = self.range.message + (f"; it held {' and '.join(held)}" if held else "")
        return text + (f"; read on from byte {self.range.end}" if self.range.resumed else "")

    def holds(self, place: Place) -> bool:
        return place[0] == self.file and self.range.start <= place[1] < self.range.end


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    checked: Counter[str] = field(default_factory=Counter)  # per CHECKED kind
    failed: Counter[str] = field(default_factory=Counter)  # of those, not fine
    notes: Counter[str] = field(default_factory=Counter)  # accepted, but worth saying
    damage: list[Damage] = field(default_factory=list)
    warc_files: int = 0
    warc_bytes: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, kind: str, where: str, id_: str | None, message: str) -> None:
        self.problems.append(Problem(kind, where, id_, message))

    def damaged(self, place: Place) -> Damage | None:
        return next((d for d in self.damage if d.holds(place)), None)

    def summary(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "warc_files": self.warc_files,
            "records": self.checked[RECORDS],
            "warc_bytes": self.warc_bytes,
            "manifest_lines": self.checked["manifest lines"],
            "dumps": self.checked[DUMPS],
            "index_lines": self.checked[INDEX_LINES],
            "damaged_ranges": len(self.damage),
            "fine": {k: self.checked[k] - self.failed[k] for k in CHECKED},
            "not_fine": {k: self.failed[k] for k in CHECKED},
            "notes": dict(self.notes),
            "seconds": round(self.seconds, 3),
            "problems": dict(Counter(p.kind for p in self.problems)),
        }

    def summary_lines(self) -> list[str]:
        """The counts, before the list of problems: fine and not, per kind checked."""
        lines = [
            f"{kind}: {self.checked[kind]} checked, {self.checked[kind] - self.failed[kind]} "
            f"fine, {self.failed[kind]} not" for kind in CHECKED
        ]  # fmt: skip
        if self.damage:
            lines.append(f"damaged byte ranges: {len(self.damage)}")
        lines += [f"note: {count} {what}" for what, count in self.notes.items()]
        return lines


def verify(archive: Archive) -> Report:
    """Check every WARC record, manifest line, text dump and index line of *archive*."""
    started = time.monotonic()
    report = Report()
    indexable: dict[Place, ScannedRecord] = {}
    records = _check_warcs(archive, report, indexable)
    latest = _check_manifest(archive, records, report)
    _check_dumps(archive, records, latest, report)
    _check_index(archive, indexable, report)
    for damage in report.damage:  # once per range, with what it held
        report.add("damaged", f"warc/{damage.file}@{damage.range.start}", None, damage.message())
    report.seconds = time.monotonic() - started
    return report


def _check_warcs(
    archive: Archive, report: Report, indexable: dict[Place, ScannedRecord]
) -> dict[Place, ScannedRecord]:
    """Digests of every record; returns the records lines may point at, by place, and
    fills *indexable* with those the index must list."""
    for leftover in sorted(archive.warc_dir.glob("*.open")):
        why = "left open by a crawl that did not finish (the next crawl closes it)"
        report.add("open", f"warc/{leftover.name}", None, why)
    pointed: dict[Place, ScannedRecord] = {}
    for path in archive.warc_files():
        report.warc_files += 1
        report.warc_bytes += path.stat().st_size
        name = path.name
        for index, found in enumerate(scan_warc(path)):
            if isinstance(found, DamagedRange):
                report.damage.append(Damage(name, found))
                continue
            record, where = found, f"warc/{name}@{found.offset}"
            report.checked[RECORDS] += 1
            fine = True
            if index == 0 and record.record_type != "warcinfo":
                report.add("warcinfo", where, None, f"first record is a {record.record_type}")
                fine = False
            for part, ok in (("block", record.block_ok), ("payload", record.payload_ok)):
                if ok is False:
                    what = f"{record.record_type} {record.target_uri or ''}".rstrip()
                    report.add("digest", where, None, f"{part} digest does not match ({what})")
                    fine = False
            report.failed[RECORDS] += not fine
            if record.record_type in POINTED_AT:
                pointed[(name, record.offset)] = record
            if record.record_type in INDEXED_RECORDS and not record.not_modified:
                indexable[(name, record.offset)] = record
    return pointed


def _manifest_lines(archive: Archive, report: Report) -> Iterator[tuple[int, dict]]:
    if not archive.manifest_path.exists():
        report.add("manifest", "manifest.jsonl", None, "no manifest")
        return
    with archive.manifest_path.open("rb") as fh:
        for number, raw in enumerate(fh, 1):
            try:
                line = json.loads(raw)
                if not isinstance(line, dict) or not isinstance(line.get("id"), str):
                    raise ValueError("not a manifest line")
            except ValueError as exc:
                report.add("manifest", f"manifest.jsonl:{number}", None, f"unreadable line: {exc}")
                continue
            yield number, line


def _pointer_problem(record: ScannedRecord | None, line: dict, report: Report) -> str | None:
    """What is wrong with a line's pointer (None: nothing)."""
    final_url = line.get("final_url")
    if record is None:
        return (f"no response or revisit record starts at byte {line.get('warc_offset')} "
                f"of {line['warc_file']}")  # fmt: skip
    if record.target_uri == target_uri(final_url or ""):
        return None
    if record.target_uri and target_uri(record.target_uri) == target_uri(final_url or ""):
        # written before fragments were left out of WARC-Target-URI
        report.notes["records with the URL's fragment in WARC-Target-URI (written before "
                     "fragments were left out; accepted)"] += 1  # fmt: skip
        return None
    return f"record at byte {record.offset} of {line['warc_file']} is for " \
           f"{record.target_uri}, not {final_url}"  # fmt: skip


def _check_manifest(
    archive: Archive, records: dict[Place, ScannedRecord], report: Report
) -> dict[str, tuple[int, dict]]:
    """Every line's WARC pointer; returns, per dump, the last line that wrote it."""
    writers: dict[str, tuple[int, dict]] = {}
    for number, line in _manifest_lines(archive, report):
        report.checked["manifest lines"] += 1
        id_ = line["id"]
        if line.get("warc_file") is not None:
            report.checked[POINTERS] += 1
            place = (line["warc_file"], line.get("warc_offset"))
            record = records.get(place)  # type: ignore[arg-type]
            if record is None and (damage := report.damaged(place)) is not None:
                damage.ids.append(id_)  # said once, with its range
                report.failed[POINTERS] += 1
            elif (message := _pointer_problem(record, line, report)) is not None:
                report.add("pointer", f"manifest.jsonl:{number}", id_, message)
                report.failed[POINTERS] += 1
        if line.get("text_file") and line.get("text_sha256"):
            writers[line["text_file"]] = (number, line)  # a later line's dump replaced it
    return writers


def _dump_problems(
    archive: Archive, text_file: str, number: int, line: dict, record: ScannedRecord | None,
    report: Report,
) -> list[str]:  # fmt: skip
    """What is wrong with one dump, against the line that wrote it (read once)."""
    try:
        text = archive.dump_text(text_file) or ""
    except UnicodeDecodeError as exc:
        return [f"unreadable: {exc}"]
    found = []
    if line.get("dump_sha256") is None:
        report.notes["dumps without a recorded file digest (written before dump_sha256: "
                     "their front matter is not checked)"] += 1  # fmt: skip
    elif text_digest(text) != line["dump_sha256"]:
        found.append(f"the file does not hash to the dump_sha256 of manifest.jsonl:{number} "
                     "(edited since it was written)")  # fmt: skip
    try:
        meta, body = split_dump(text)
    except ValueError as exc:
        return [*found, f"unreadable: {exc}"]
    if text_digest(body) != line["text_sha256"]:
        found.append(f"body does not hash to the text_sha256 of manifest.jsonl:{number}")
    if record is not None and meta.get("warc_record_id") != record.record_id:
        found.append(f"warc_record_id {meta.get('warc_record_id')} is not the record of "
                     f"manifest.jsonl:{number} ({record.record_id})")  # fmt: skip
    return found


def _check_dumps(
    archive: Archive,
    records: dict[Place, ScannedRecord],
    writers: dict[str, tuple[int, dict]],
    report: Report,
) -> None:
    on_disk = {f"text/{p.name}" for p in archive.text_dir.glob("*.txt")}
    for text_file, (number, line) in sorted(writers.items()):
        id_ = line["id"]
        report.checked[DUMPS] += 1
        if text_file not in on_disk:
            report.add("missing dump", text_file, id_, f"manifest.jsonl:{number} points at it")
            report.failed[DUMPS] += 1
            continue
        record = records.get((line.get("warc_file"), line.get("warc_offset")))  # type: ignore[arg-type]
        problems = _dump_problems(archive, text_file, number, line, record, report)
        for message in problems:
            report.add("dump", text_file, id_, message)
        report.failed[DUMPS] += bool(problems)
    for orphan in sorted(on_disk - set(writers)):
        report.add("orphan dump", orphan, None, "no manifest line writes it")


def _index_line_problem(
    line: str, indexable: dict[Place, ScannedRecord], report: Report, seen: dict[str, set]
) -> str | None:
    """What is wrong with one index line (None: nothing, or said with a damaged range)."""
    try:
        key, stamp, fields = parse_line(line)
        place = (fields["filename"], int(fields["offset"]))
        url = fields["url"]
    except (ValueError, KeyError) as exc:
        return f"unreadable: {exc!r}"
    record, kind = indexable.get(place), record_type(fields)
    if record is None and (damage := report.damaged(place)) is not None:
        damage.index_lines += 1
        return ""  # counted as not fine, said once with its range
    if record is None or record.record_type != kind:
        return f"no {kind} record starts at byte {place[1]} of {place[0]}"
    if record.target_uri != fields.get("via", url):
        return (f"the record at byte {place[1]} of {place[0]} is for {record.target_uri}, "
                f"not {fields.get('via', url)}")  # fmt: skip
    if key != url_key(url):
        return f"key {key} is not the SURT of {url}"
    if "via" in fields:
        seen["aliased"].add((*place, url, stamp))
    elif place in seen["listed"]:
        return f"a second line for the record at byte {place[1]} of {place[0]}"
    else:
        seen["listed"].add(place)
    return None


def _check_index(archive: Archive, indexable: dict[Place, ScannedRecord], report: Report) -> None:
    """The index lists every indexable record once, under its URL's key, in sorted order,
    and every memento again under its own page."""
    path, where = archive.index_path, "indexes/index.cdxj"
    if not path.exists():
        if indexable:
            report.add("index", where, None, "no CDXJ index (scrapy index writes it)")
        return
    seen: dict[str, set] = {"listed": set(), "aliased": set()}
    previous = ""
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            report.checked[INDEX_LINES] += 1
            problems = ["out of order"] if line < previous else []
            previous = line
            found = _index_line_problem(line, indexable, report, seen)
            problems += [found] if found else []
            report.failed[INDEX_LINES] += bool(problems) or found == ""
            for message in problems:
                report.add("index", f"{where}:{number}", None, message)
    for name, offset in sorted(indexable.keys() - seen["listed"]):
        record = indexable[(name, offset)]
        what = f"{record.record_type} {record.target_uri}"
        report.add("index", f"warc/{name}@{offset}", None,
                   f"{what} is not in the index (scrapy index rebuilds it)")  # fmt: skip
    for alias in archive.memento_aliases():
        if (alias.warc_file, alias.warc_offset) in indexable and tuple(alias) not in seen[
            "aliased"
        ]:
            report.add("index", where, None,
                       f"the memento at byte {alias.warc_offset} of {alias.warc_file} is not "
                       f"listed under {alias.original} at {alias.timestamp} (scrapy index "
                       "rebuilds it)")  # fmt: skip
