"""A corpus for analysis tools: one typed row per input URL, and a datasheet to cite.

Rows are the manifest's last line of each id (what the archive says of that URL now),
with typed columns (timestamps, dates, integers), the site, and with ``with_text`` the
dump's body. Parquet (pyarrow, a dependency) loads as-is in pandas, polars,
DuckDB and Hugging Face ``datasets``; JSON lines and CSV need nothing. The datasheet
counts rows per outcome, site, language and month of publication, lists the runs and
versions that made the archive and the commands that rebuild it.
"""

from __future__ import annotations

import csv
import json
import shlex
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler import __version__ as PROJECT_VERSION
from crawler.archive.directory import Archive
from crawler.core.manifest import MANIFEST_FIELDS
from crawler.core.timefmt import iso_utc

FORMATS = ("parquet", "jsonl", "csv")

# Column -> type (str, int, timestamp, date); every other column is a string.
TYPES = {
    "status": "int", "warc_offset": "int", "words": "int", "fetched_at": "timestamp",
    "memento_datetime": "timestamp", "date": "date", "similarity": "float",
    "containment": "float", "lastmod": "date", "authors": "list", "tags": "list",
    "source_offset": "int",
    "requisites": "int", "requisites_fetched": "int", "requisites_failed": "int",
    "requisites_skipped": "int", "rendered": "bool",
}  # fmt: skip
COLUMNS = (*MANIFEST_FIELDS, "site")


def _timestamp(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _typed(line: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for column in MANIFEST_FIELDS:
        value, kind = line.get(column), TYPES.get(column, "str")
        if value is None:
            row[column] = None
        elif kind == "int":
            row[column] = int(value)
        elif kind == "bool":
            row[column] = bool(value)
        elif kind == "float":
            row[column] = float(value)
        elif kind == "timestamp":
            row[column] = _timestamp(value)
        elif kind == "date":
            row[column] = _date(value)
        elif kind == "list":
            row[column] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
        else:
            row[column] = str(value)
    row["site"] = urlsplit(line.get("final_url") or line.get("url") or "").hostname
    return row


def rows(archive: Archive, with_text: bool = False) -> Iterator[dict[str, Any]]:
    """One typed row per id: its manifest's last line (plus ``text`` with *with_text*)."""
    latest: dict[str, dict] = {}
    for line in archive.manifest_records():
        latest[line["id"]] = line
    # groups.jsonl names each article's group as of the last run (a group two articles
    # merged later is named there, not in the lines written before).
    group_of = {m["id"]: g["group"] for g in archive.groups() for m in g["members"]}
    for line in sorted(latest.values(), key=lambda x: (len(x["seq"]), x["seq"], x["id"])):
        if line["id"] in group_of:
            line = {**line, "group": group_of[line["id"]]}
        row = _typed(line)
        if with_text:
            text_file = line.get("text_file")
            row["text"] = archive.read_dump(text_file)[1] if text_file else None
        yield row


def _plain(value: Any) -> Any:
    return value.isoformat().replace("+00:00", "Z") if isinstance(value, date | datetime) else value


def _cell(value: Any) -> Any:
    """A CSV cell: lists joined with "; " (as the dumps' ``author`` joins names)."""
    return "; ".join(value) if isinstance(value, list) else _plain(value)


def write_jsonl(rows: Iterable[dict[str, Any]], path: Path) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps({k: _plain(v) for k, v in row.items()}, ensure_ascii=False))
            fh.write("\n")
            count += 1
    return count


def write_csv(rows: Iterable[dict[str, Any]], path: Path) -> int:
    count = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer: csv.DictWriter | None = None
        for row in rows:
            if writer is None:
                writer = csv.DictWriter(fh, fieldnames=list(row))
                writer.writeheader()
            writer.writerow({k: "" if v is None else _cell(v) for k, v in row.items()})
            count += 1
    return count


def write_parquet(rows: Iterable[dict[str, Any]], path: Path, with_text: bool) -> int:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise RuntimeError(
            "Parquet needs pyarrow (a dependency of this package: reinstall it with pip install .)"
            " or choose --format jsonl or csv"
        ) from None
    arrow = {
        "int": pa.int64(), "float": pa.float64(), "timestamp": pa.timestamp("ms", tz="UTC"),
        "date": pa.date32(), "list": pa.list_(pa.string()), "bool": pa.bool_(),
    }  # fmt: skip
    fields = [pa.field(c, arrow.get(TYPES.get(c, "str"), pa.string())) for c in COLUMNS]
    if with_text:
        fields.append(pa.field("text", pa.large_string()))
    schema = pa.schema(fields)
    count = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == 10_000:  # a row group at a time: memory stays flat
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                count, batch = count + len(batch), []
        if batch or not count:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            count += len(batch)
    return count


def export(archive: Archive, fmt: str, out: Path, with_text: bool = False) -> int:
    """Write the rows to *out* in *fmt*; returns how many."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    found = rows(archive, with_text)
    if fmt == "parquet":
        return write_parquet(found, out, with_text)
    return write_jsonl(found, out) if fmt == "jsonl" else write_csv(found, out)


# -- the datasheet ---------------------------------------------------------------------------
def _table(title: str, counts: Counter[str], header: str, limit: int | None = 50) -> list[str]:
    """Most common first; with no *limit*, every key in its own order."""
    lines = [f"## {title}", "", f"| {header} | rows |", "|---|---:|"]
    ordered = counts.most_common(limit) if limit else sorted(counts.items())
    lines += [f"| {key} | {count} |" for key, count in ordered]
    if limit and len(counts) > limit:
        lines.append(f"| ({len(counts) - limit} more) | |")
    return [*lines, ""]


def _rebuild(run: dict[str, Any], archive: str, defaults: Mapping[str, Any]) -> str:
    """The command of a run: its spider, its arguments, the settings it changed from
    *defaults* (the project's)."""
    words = ["scrapy", "crawl", str(run.get("spider"))]
    for name, value in run.get("arguments", {}).items():
        if value not in (None, False):
            words += ["-a", f"{name}={1 if value is True else value}"]
    for name, value in run.get("settings", {}).items():
        default = defaults.get(name, value)
        if name not in ("ARCHIVE_DIR", "USER_AGENT") and value != default:
            words += ["-s", f"{name}={int(value) if isinstance(value, bool) else value}"]
    return shlex.join([*words, "-s", f"ARCHIVE_DIR={archive}"])


def _syndication(archive: Archive) -> list[str]:
    groups = archive.groups()
    members = [m for g in groups for m in g["members"]]
    exact = sum(m["kind"] == "exact" for m in members)
    return [
        "## Syndication", "",
        f"{len(groups)} groups of the same story ({len(members)} articles: each group's "
        f"first-seen article, {exact} exact and {len(members) - len(groups) - exact} near "
        f"copies; `group` column, `groups.jsonl`). Copies are labelled, never removed.", "",
    ]  # fmt: skip


def datasheet(
    archive: Archive, out: Path, fmt: str, command: str, defaults: Mapping[str, Any]
) -> str:
    """The corpus datasheet (Markdown): what is in it, what made it, how to rebuild it
    (the settings each run changed from *defaults*, the project's)."""
    outcomes: Counter[str] = Counter()
    sites: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    months: Counter[str] = Counter()
    access: Counter[str] = Counter()
    total = 0
    for row in rows(archive):
        total += 1
        outcomes[row["outcome"]] += 1
        if row["access"]:
            access[row["access"]] += 1
        sites[row["site"] or "(none)"] += 1
        if row["outcome"] == "ok":
            languages[row["language"] or "(unknown)"] += 1
            months[row["date"].strftime("%Y-%m") if row["date"] else "(unknown)"] += 1
    runs = archive.run_records()
    lines = [
        f"# Datasheet: {archive.root.name}",
        "",
        f"{total} rows, one per input URL (its latest manifest line), in `{out.name}` "
        f"({fmt}), exported {iso_utc()} by newsarchiver "
        f"{PROJECT_VERSION} from `{archive.root}`.",
        "",
        *_table("Outcomes", outcomes, "outcome"),
        *_table("Sites", sites, "site"),
        *_table(
            "Access (what each capture gave: full article, teaser, wall, ...)", access, "access"
        ),
        *_syndication(archive),
        *_table("Languages of the articles", languages, "language"),
        *_table("Articles by month of publication", months, "month", limit=None),
        "## Runs that made the archive",
        "",
        "| started | spider | status | lines | versions |",
        "|---|---|---|---:|---|",
    ]
    for run in runs:
        versions = ", ".join(f"{k} {v}" for k, v in run.get("versions", {}).items())
        lines.append(
            f"| {run.get('started_at')} | {run.get('spider')} | {run.get('status')} | "
            f"{run.get('manifest_lines')} | {versions} |"
        )
    lines += ["", "## Rebuild", "", "The crawls, in order, then this export:", "", "```sh"]
    lines += [_rebuild(run, str(archive.root), defaults) for run in runs]
    lines += [command, "```", ""]
    return "\n".join(lines)
