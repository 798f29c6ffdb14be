"""URL lists: txt, csv, tsv and jsonl, streamed one entry at a time; the URL validity rule.

Every entry of a list, valid or not, comes out as one :class:`InputEntry` with its
0-based position, so that every input line can get exactly one manifest line. Only the
file's header (csv/tsv) is checked eagerly, so a wrong column name fails at start.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from crawler.core.urls import DEFAULT_MAX_URL_LENGTH, InvalidURL, validate_url

# A line longer than this is not read into memory whole (a URL list is not a data dump).
MAX_LINE_BYTES = 1024 * 1024


class InputFormatError(ValueError):
    """The input file as a whole cannot be read (missing, wrong header, unknown form)."""


@dataclass(frozen=True, slots=True)
class InputEntry:
    position: int  # 0-based index among the list's entries (blank and comment lines skipped)
    line: int  # 1-based line (txt, jsonl) or row (csv, tsv) number, for messages
    raw: str  # the entry as read, stripped
    url: str | None  # the validated URL, or None when invalid
    error: str | None = None
    fields: dict[str, str] = field(default_factory=dict)  # other columns (e.g. ``date``)


def read_url_list(
    path: str | Path, max_length: int = DEFAULT_MAX_URL_LENGTH
) -> Iterator[InputEntry]:
    """Yield every entry of a URL list, lazily. The form follows the file suffix."""
    path = Path(path)
    if not path.is_file():
        raise InputFormatError(f"URL list {str(path)!r} does not exist or is not a file")
    suffix = path.suffix.lower()
    # utf-8-sig drops a BOM; surrogateescape keeps undecodable bytes so the entry can be
    # reported (validate_url rejects them) instead of crashing the whole read.
    handle = path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")
    if suffix in (".csv", ".tsv"):
        try:
            rows = _csv_entries(handle, "\t" if suffix == ".tsv" else ",", path)
        except InputFormatError:
            handle.close()
            raise
    elif suffix in (".jsonl", ".ndjson"):
        rows = _jsonl_entries(handle)
    else:
        rows = _txt_entries(handle)
    return _validated(handle, rows, max_length)


def count_entries(path: str | Path) -> int:
    """How many entries a URL list has (for progress and ETA), read quickly in binary."""
    path = Path(path)
    suffix = path.suffix.lower()
    count = 0
    with path.open("rb") as fh:
        for raw in fh:
            line = raw.strip()
            if not line or (
                suffix not in (".csv", ".tsv", ".jsonl", ".ndjson") and line[:1] == b"#"
            ):
                continue
            count += 1
    # A csv/tsv header is not an entry (quoted multi-line cells make this approximate).
    return max(0, count - 1) if suffix in (".csv", ".tsv") else count


def _validated(
    handle: IO[str],
    rows: Iterator[tuple[int, str, str | None, dict[str, str]]],
    max_length: int,
) -> Iterator[InputEntry]:
    with handle:
        for position, (line, raw, error, fields) in enumerate(rows):
            url = None
            if error is None:
                try:
                    url = validate_url(raw, max_length)
                except InvalidURL as exc:
                    error = str(exc)
            yield InputEntry(position, line, _printable(raw), url, error, fields)


def _printable(raw: str) -> str:
    # Undecodable bytes stay visible as \xNN in the manifest instead of breaking JSON.
    return raw.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _bounded_lines(handle: IO[str]) -> Iterator[tuple[int, str, bool]]:
    """Lines with their number; an over-long line is skipped in chunks, flagged True."""
    lineno = 0
    while True:
        line = handle.readline(MAX_LINE_BYTES)
        if not line:
            return
        lineno += 1
        too_long = False
        while not line.endswith("\n") and len(line) >= MAX_LINE_BYTES:
            too_long = True
            line = handle.readline(MAX_LINE_BYTES)
            if not line:
                break
        yield lineno, ("" if too_long else line), too_long


def _txt_entries(handle: IO[str]) -> Iterator[tuple[int, str, str | None, dict[str, str]]]:
    for lineno, line, too_long in _bounded_lines(handle):
        if too_long:
            yield lineno, "<line too long>", f"line over {MAX_LINE_BYTES} bytes", {}
            continue
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        yield lineno, text, None, {}


def _jsonl_entries(handle: IO[str]) -> Iterator[tuple[int, str, str | None, dict[str, str]]]:
    for lineno, line, too_long in _bounded_lines(handle):
        if too_long:
            yield lineno, "<line too long>", f"line over {MAX_LINE_BYTES} bytes", {}
            continue
        text = line.strip()
        if not text:
            continue
        try:
            obj = json.loads(text)
        except ValueError as exc:
            yield lineno, text[:200], f"invalid JSON: {exc}", {}
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("url"), str):
            yield lineno, text[:200], 'no "url" string in this JSON line', {}
            continue
        fields = {str(k): str(v) for k, v in obj.items() if k != "url" and v is not None}
        yield lineno, obj["url"].strip(), None, fields


def _csv_entries(
    handle: IO[str], delimiter: str, path: Path
) -> Iterator[tuple[int, str, str | None, dict[str, str]]]:
    """Reads the header now (a missing ``url`` column fails at start), rows lazily."""
    reader = csv.reader(handle, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return iter(())
    except csv.Error as exc:
        raise InputFormatError(f"{path}: unreadable header: {exc}") from None
    names = [name.strip().lower() for name in header]
    if "url" not in names:
        raise InputFormatError(f"{path}: no 'url' column in header {header!r}")
    return _csv_rows(reader, names, names.index("url"), delimiter)


def _csv_rows(
    reader: Iterator[list[str]], names: list[str], url_col: int, delimiter: str
) -> Iterator[tuple[int, str, str | None, dict[str, str]]]:
    row_no = 0
    while True:
        row_no += 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield row_no, f"<row {row_no}>", f"unreadable row: {exc}", {}
            continue
        if not any(cell.strip() for cell in row):
            continue
        if url_col >= len(row):
            yield row_no, delimiter.join(row)[:200], "row has no url cell", {}
            continue
        fields = {
            name: row[i].strip()
            for i, name in enumerate(names)
            if i < len(row) and i != url_col and name and row[i].strip()
        }
        yield row_no, row[url_col].strip(), None, fields
