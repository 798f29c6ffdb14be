"""Crawl reports: one static HTML page per run, and one across runs (``reports/``).

Everything is inline (CSS, SVG charts; no script, no font, no CDN), so a report opens
from disk or a mail attachment. A run's report reads its run record and the manifest
lines the run wrote (its ``manifest_range``), and the CDXJ index lines of its WARC files
for bytes over time.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

from crawler.archive.directory import Archive
from crawler.archive.files import atomic_write_text
from crawler.core.outcomes import OUTCOMES
from crawler.tools import svg

STYLE = """body{font:14px/1.45 sans-serif;margin:2em auto;max-width:980px;color:#222}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:2px 10px;text-align:left;
border-bottom:1px solid #eee;vertical-align:top}td.n{text-align:right}
.complete{color:#2e7d32}.incomplete,.failed{color:#c62828}code{font-size:12px}"""


class ReportError(Exception):
    """A report could not be written (or read what it shows)."""


def error_kind(error: str) -> str:
    """The kind of an error message, for grouping (``HTTP 404``, ``DNSLookupError``)."""
    if error.startswith("live: "):
        error = error[6:].split("; wayback:")[0]
    for prefix in ("soft 404", "invalid input", "duplicate of", "extraction failed"):
        if error.startswith(prefix):
            return prefix
    if error.startswith("HTTP "):
        return " ".join(error.split()[:2])
    return error.split(":")[0][:60]


def _table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{svg.number(v)}</td>'
            if isinstance(v, int | float) and not isinstance(v, bool)
            else f"<td>{escape(str(v))}</td>"
            for v in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _page(title: str, sections: list[str]) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        + "".join(sections)
        + "</body></html>\n"
    )


def _minute(stamp: str | None) -> str | None:
    return stamp[:16].replace("T", " ") if stamp else None


def _index_records(archive: Archive, files: set[str]) -> list[tuple[str, int]]:
    """(minute, bytes) of the run's records, from the CDXJ index."""
    found = []
    if archive.index_path.exists():
        with archive.index_path.open(encoding="utf-8") as fh:
            for line in fh:
                _, stamp, block = line.split(" ", 2)
                fields = json.loads(block)
                if fields.get("filename") in files and "via" not in fields:  # (an alias)
                    minute = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]} {stamp[8:10]}:{stamp[10:12]}"
                    found.append((minute, int(fields.get("length", 0))))
    return found


def _run_lines(archive: Archive, record: dict[str, Any]) -> tuple[list[dict], str | None]:
    """The manifest lines the run wrote, or none and why."""
    span = record.get("manifest_range")
    if not span:
        return [], "The run record does not say which manifest lines this run wrote (it is "
        "older than reports): only its counts are shown."
    start, end = span
    if end > archive.manifest_size() or not _line_starts_at(archive.manifest_path, start):
        return [], "The manifest no longer has this run's lines where its record says (it "
        "was replaced or rewritten): only the run's counts are shown."
    return list(archive.manifest_records(start, end)), None


def _line_starts_at(path: Path, offset: int) -> bool:
    if offset == 0:
        return True
    with path.open("rb") as fh:
        fh.seek(offset - 1)
        return fh.read(1) == b"\n"


def _timeline(counts: Counter[str]) -> list[tuple[str, float]]:
    """Per-minute counts (``YYYY-mm-dd HH:MM``) with the quiet minutes in, as zeros; per
    hour when the run spans more than three hours."""
    if not counts:
        return []
    first, last = (datetime.strptime(m, "%Y-%m-%d %H:%M") for m in (min(counts), max(counts)))
    if last - first > timedelta(hours=3):
        hours: Counter[str] = Counter()
        for minute, count in counts.items():
            hours[minute[:13] + ":00"] += count
        counts, step = hours, timedelta(hours=1)
        first = first.replace(minute=0)
    else:
        step = timedelta(minutes=1)
    series = []
    while first <= last:
        label = first.strftime("%Y-%m-%d %H:%M")
        series.append((label, counts.get(label, 0)))
        first += step
    return series


@dataclass
class LineCounts:
    """What a run's manifest lines say, counted for its report."""

    by_site: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    statuses: Counter[str] = field(default_factory=Counter)
    pages: Counter[str] = field(default_factory=Counter)  # per minute
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    recovered: list[tuple[str, Any, str]] = field(default_factory=list)

    @classmethod
    def of(cls, lines: list[dict[str, Any]]) -> LineCounts:
        counts = cls()
        for line in lines:
            # the site of the URL asked for (a memento counts for its own site, not the IA)
            site = (line.get("url") or "").split("/")[2:3] or ["(none)"]
            counts.by_site[site[0]][line["outcome"]] += 1
            counts.statuses[str(line["status"]) if line.get("status") else "(none)"] += 1
            if minute := _minute(line.get("fetched_at")):
                counts.pages[minute] += 1
            if line["outcome"] in ("error", "blocked") and line.get("error"):
                counts.errors[error_kind(line["error"])].append(line["url"])
            if line.get("source") == "wayback":
                counts.recovered.append(
                    (line["url"], line.get("memento_datetime"), line.get("error") or "")
                )
        return counts


def _heading(name: str, record: dict[str, Any], note: str | None) -> list[str]:
    status = record.get("status", "?")
    sections = [
        f"<h1>Crawl {escape(name)}</h1>",
        f"<p>Spider <b>{escape(str(record.get('spider')))}</b>, status "
        f'<b class="{escape(status)}">{escape(status)}</b> '
        f"({escape(str(record.get('finish_reason')))}), "
        f"from {escape(str(record.get('started_at')))} "
        f"to {escape(str(record.get('finished_at')))}.</p>",
    ]
    if note:
        sections.append(f"<p><i>{escape(note)}</i></p>")
    if record.get("problems"):
        items = "".join(f"<li>{escape(p)}</li>" for p in record["problems"])
        sections.append(f"<p>Problems:</p><ul>{items}</ul>")
    return sections


def _outcomes(record: dict[str, Any], counts: LineCounts) -> list[str]:
    outcomes = {k: v for k, v in record.get("outcomes", {}).items() if v}
    figures = [
        ("input entries", record.get("input_entries", 0)),
        ("manifest lines", record.get("manifest_lines", 0)),
        ("already archived", record.get("already_archived", 0)),
        ("requests", record.get("requests", 0)),
        ("WARC records", record.get("warc_records", 0)),
        ("text dumps", record.get("text_files", 0)),
    ]
    sites = sorted(counts.by_site.items(), key=lambda kv: -sum(kv[1].values()))[:30]
    return [
        "<h2>Outcomes</h2>",
        svg.bars(list(outcomes.items()), "manifest lines by outcome"),
        _table(("figure", "value"), figures),
        "<h2>Outcomes per site</h2>",
        svg.stacked(sites, "outcomes per site"),
        "<h2>HTTP status codes</h2>",
        svg.bars(sorted(counts.statuses.items()), "statuses"),
    ]


def _requisites(record: dict[str, Any]) -> list[str]:
    """CAPTURE=requisites: the pages' requisites, and why some were left out."""
    found = record.get("requisites")
    if not found:
        return []
    downloads = found.get("downloads", {})
    figures = [
        ("pages with requisites", found.get("pages", 0)),
        ("requisites of those pages", found.get("requisites", 0)),
        ("fetched (or revalidated, or shared)", found.get("fetched", 0)),
        ("failed", found.get("failed", 0)),
        ("skipped", found.get("skipped", 0)),
        ("downloads (each URL once)", downloads.get("fetched", 0)),
        ("revalidated (304)", downloads.get("revalidated", 0)),
        ("megabytes downloaded", round(downloads.get("bytes", 0) / 1e6, 2)),
    ]
    why = [(f"failed: {k}", v) for k, v in sorted(found.get("failed_by", {}).items())]
    why += [(f"skipped: {k}", v) for k, v in sorted(found.get("skipped_by", {}).items())]
    return [
        "<h2>Page requisites</h2>",
        _table(("figure", "value"), figures),
        svg.bars(sorted(found.get("kinds", {}).items()), "requisites fetched by kind"),
        _table(("left out", "requisites"), why),
    ]


def _over_time(archive: Archive, record: dict[str, Any], counts: LineCounts) -> list[str]:
    bytes_per_minute: Counter[str] = Counter()
    for minute, length in _index_records(archive, set(record.get("warc_files", []))):
        bytes_per_minute[minute] += length
    return [
        "<h2>Pages over time</h2>",
        svg.columns(_timeline(counts.pages), "pages per minute (or hour)", "pages"),
        "<h2>Bytes archived over time</h2>",
        svg.columns(
            [(m, b / 1e6) for m, b in _timeline(bytes_per_minute)],
            "megabytes of WARC records per minute (or hour)",
            "MB",
        ),
    ]


def _hosts_and_errors(record: dict[str, Any], counts: LineCounts) -> list[str]:
    hosts = record.get("hosts", {})
    slow = sorted(hosts.items(), key=lambda kv: -kv[1]["seconds"] / max(kv[1]["requests"], 1))
    slowest = [
        (h, v["requests"], round(v["seconds"] / max(v["requests"], 1), 3), round(v["slowest"], 3))
        for h, v in slow[:15]
    ]
    errors = [
        (kind, len(urls), " ".join(urls[:3]))
        for kind, urls in sorted(counts.errors.items(), key=lambda kv: -len(kv[1]))
    ]
    settings = record.get("settings", {})
    return [
        "<h2>Slowest hosts</h2>",
        _table(("host", "requests", "mean seconds", "slowest seconds"), slowest),
        "<h2>Errors by kind</h2>",
        _table(("kind", "lines", "examples"), errors),
        f"<h2>From the Internet Archive ({len(counts.recovered)})</h2>",
        _table(("URL", "captured", "live failure"), counts.recovered),
        "<h2>Arguments and settings</h2>",
        _table(("name", "value"), [*record.get("arguments", {}).items(), *settings.items()]),
        "<h2>Versions</h2>",
        _table(("software", "version"), record.get("versions", {}).items()),
    ]


def run_report(archive: Archive, name: str, record: dict[str, Any]) -> str:
    """The HTML report of one run (*name*: its run record's name)."""
    lines, note = _run_lines(archive, record)
    counts = LineCounts.of(lines)
    sections = [
        *_heading(name, record, note),
        *_outcomes(record, counts),
        *_requisites(record),
        *_over_time(archive, record, counts),
        *_hosts_and_errors(record, counts),
    ]
    return _page(f"Crawl {name}", sections)


def runs_report(archive: Archive, runs: list[tuple[str, dict[str, Any]]]) -> str:
    """The report across runs: new, unchanged and failed pages run by run."""
    labels = [name for name, _ in runs]
    series = {
        outcome: [record.get("outcomes", {}).get(outcome, 0) for _, record in runs]
        for outcome in ("ok", "unchanged", "error")
    }
    rows = [
        (
            name,
            r.get("spider"),
            r.get("status"),
            r.get("manifest_lines", 0),
            *(r.get("outcomes", {}).get(o, 0) for o in OUTCOMES),
        )
        for name, r in runs
    ]
    links = "".join(f'<li><a href="{escape(n)}.html">{escape(n)}</a></li>' for n in labels)
    return _page(
        f"Crawls of {archive.root.name}",
        [
            f"<h1>Crawls of {escape(archive.root.name)}</h1>",
            f"<p>{len(runs)} runs. New articles (ok), unchanged pages and errors, run by run:</p>",
            svg.lines(labels, series, "outcomes per run"),
            _table(("run", "spider", "status", "lines", *OUTCOMES), rows),
            f"<h2>Run reports</h2><ul>{links}</ul>",
        ],
    )


def write_reports(archive: Archive, only: str | None = None) -> list[Path]:
    """Write ``reports/<run>.html`` (every run, or the one named *only*) and
    ``reports/index.html``; returns the paths written."""
    try:
        runs = archive.named_run_records()
        written = []
        for name, record in runs:
            if only is None or name == only:
                path = archive.reports_dir / f"{name}.html"
                atomic_write_text(path, run_report(archive, name, record))
                written.append(path)
        index = archive.reports_dir / "index.html"
        atomic_write_text(index, runs_report(archive, runs))
    except (OSError, ValueError, KeyError, TypeError) as exc:  # (a disk, or a record's shape)
        raise ReportError(f"{type(exc).__name__}: {exc}") from exc
    return [*written, index]
