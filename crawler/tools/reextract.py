"""Text dumps and manifest lines again, from WARC records alone, the crawl's way.

The pages come from an archive (each id's last capture its manifest names: the record at
its pointer, with the line's identity and provenance) or from any WARC files (wget,
Heritrix, warcprox, Common Crawl's CC-NEWS: every ``200`` response record; ids from the
target URI, seq from record order or from a URL list). Each goes through the crawl's own
extraction stage (:class:`crawler.extract.stage.PageExtractor`: decode, extract, in worker
processes) and its dump through the crawl's ``page_dump``, so a current archive
re-extracts to byte-identical dumps. Payloads are read as the crawl read them: chunked
transfer coding and Content-Encoding undone (warcio's ``content_stream``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from crawler.archive.directory import Archive
from crawler.archive.dumps import page_dump, split_dump
from crawler.archive.groups import GroupIndex
from crawler.core.identity import format_seq, text_digest, url_id
from crawler.core.items import FetchedPage, Memento, Origin, PageRef, WarcPointer
from crawler.core.manifest import manifest_record
from crawler.core.outcomes import NO_TEXT, OK
from crawler.extract.stage import PageExtractor
from crawler.sources.urllists import read_url_list
from crawler.warc.reader import record_page, warc_date_seconds


@dataclass
class Report:
    pages: int = 0
    changed: int = 0  # dumps whose text differs from the one in place (or new)
    unchanged: int = 0
    written: int = 0  # dumps written
    counts: Counter[str] = field(default_factory=Counter)  # outcomes, and pages skipped by why
    seconds: float = 0.0
    # Why changed dumps changed: "body", "added date_source", "changed title", ...
    why: Counter[str] = field(default_factory=Counter)

    def summary(self) -> dict[str, Any]:
        rate = self.pages / self.seconds if self.seconds else 0.0
        return {
            "pages": self.pages, "changed": self.changed, "unchanged": self.unchanged,
            "written": self.written, **dict(sorted(self.counts.items())),
            "seconds": round(self.seconds, 2), "pages_per_second": round(rate, 1),
            "why": dict(self.why.most_common()),
        }  # fmt: skip


# Front-matter fields that name the run or the record, not what was extracted.
_PROVENANCE = frozenset({"fetched_at", "warc_file", "warc_record_id", "extractor"})


def change_reasons(old: str | None, new: str) -> list[str]:
    """Why dump *new* differs from *old*: ``new dump``, ``body``, and per front-matter
    field ``added X`` / ``removed X`` / ``changed X`` (provenance fields aside)."""
    if old is None:
        return ["new dump"]
    try:
        old_fields, old_body = split_dump(old)
    except ValueError:
        return ["unreadable dump"]
    new_fields, new_body = split_dump(new)
    reasons = ["body"] if old_body != new_body else []
    for key in dict.fromkeys([*old_fields, *new_fields]):
        if key in _PROVENANCE or old_fields.get(key) == new_fields.get(key):
            continue
        verb = "added" if key not in old_fields else "changed"
        verb = "removed" if key not in new_fields else verb
        reasons.append(f"{verb} {key}")
    return reasons or ["provenance"]


def _origin(line: dict[str, Any]) -> Origin | None:
    """Where a page read from another archive (CC-NEWS) came from, as its line says."""
    if line.get("source_file") is None or line.get("source_offset") is None:
        return None
    return Origin(line["source_file"], line["source_offset"])


def archive_pages(archive: Archive, report: Report) -> Iterator[FetchedPage]:
    """Each id's last capture its manifest names (ok or no_text), in WARC order."""
    latest: dict[str, dict] = {}
    for line in archive.manifest_records():
        if line.get("outcome") in (OK, NO_TEXT) and line.get("warc_file"):
            latest[line["id"]] = line
    for line in sorted(latest.values(), key=lambda x: (x["warc_file"], x["warc_offset"])):
        with (archive.warc_dir / line["warc_file"]).open("rb") as fh:
            fh.seek(line["warc_offset"])
            records = iter(ArchiveIterator(fh))
            record = next(records)
            if record.rec_type != "response":
                report.counts[f"skipped/{record.rec_type}"] += 1
                continue
            memento = None
            if line.get("memento_url"):
                memento = Memento(line["memento_url"], line["memento_datetime"], line["error"])
            page = PageRef(line["url"], line["id"], line["seq"], line.get("via"))
            pointer = WarcPointer(
                line["warc_file"], line["warc_offset"],
                record.rec_headers.get_header("WARC-Record-ID"),
            )  # fmt: skip
            fetched = record_page(
                record, page, pointer, fetched_at=line["fetched_at"],
                source=line.get("source") or "live", memento=memento,
                error=memento.live_error if memento else None, origin=_origin(line),
            )  # fmt: skip
            if line.get("rendered"):
                fetched = _rendered(fetched, records, report)
            yield fetched


# How far after a page's response record its rendered DOM is looked for (the browser
# renders the page once fetched, while other pages' records are written).
DOM_SEARCH_RECORDS = 20_000


def _rendered(page: FetchedPage, records: Iterator[Any], report: Report) -> FetchedPage:
    """*page* as the crawl extracted it, from the DOM a browser rendered (the resource
    record ``urn:dom:<url>`` concurrent to its response, later in its WARC file); as
    fetched when that record is not there (CAPTURE_BROWSER_DOM off)."""
    assert page.warc is not None
    uri = f"urn:dom:{page.final_url}"
    for _, record in zip(range(DOM_SEARCH_RECORDS), records, strict=False):
        headers = record.rec_headers
        if (record.rec_type == "resource" and headers.get_header("WARC-Target-URI") == uri
                and headers.get_header("WARC-Concurrent-To") == page.warc.record_id):  # fmt: skip
            dom = record.content_stream().read()
            return dataclasses.replace(page, body=dom, rendered=True,
                                       content_type=headers.get_header("Content-Type"))  # fmt: skip
    report.counts["rendered_dom_missing"] += 1
    return page


def warc_pages(
    paths: Iterable[Path], report: Report, url_list: Path | None = None
) -> Iterator[FetchedPage]:
    """Every 200 response record of any WARC files, once per URL (the first).

    Names follow *url_list* when given (a URL's position in it is its seq; URLs not in it
    are numbered after its last), else the order of the records.
    """
    positions: dict[str, int] = {}
    if url_list is not None:
        for entry in read_url_list(url_list):
            if entry.url is not None:
                positions.setdefault(url_id(entry.url), entry.position)
    next_seq = max(positions.values(), default=-1) + 1
    seen: set[str] = set()
    for path in paths:
        with Path(path).open("rb") as fh:
            records = ArchiveIterator(fh)
            for record in records:
                if record.rec_type != "response" or record.http_headers is None:
                    if record.rec_type == "revisit":
                        report.counts["skipped/revisit"] += 1
                    continue
                if record.http_headers.get_statuscode() != "200":
                    report.counts["skipped/not 200"] += 1
                    continue
                target = record.rec_headers.get_header("WARC-Target-URI")
                id_ = url_id(target)
                if id_ in seen:
                    report.counts["skipped/repeated URL"] += 1
                    continue
                seen.add(id_)
                if id_ not in positions:
                    positions[id_], next_seq = next_seq, next_seq + 1
                page = PageRef(target, id_, format_seq(positions[id_]))
                date = warc_date_seconds(record.rec_headers.get_header("WARC-Date"))
                item = record_page(record, page, None, fetched_at=date)
                # (warcio knows a record's offset once it has read the record through)
                pointer = WarcPointer(
                    Path(path).name, records.get_record_offset(),
                    record.rec_headers.get_header("WARC-Record-ID"),
                )  # fmt: skip
                yield dataclasses.replace(item, warc=pointer)


async def _extracted(
    pages: Iterator[FetchedPage], extractor: PageExtractor, window: int
) -> AsyncIterator[FetchedPage]:
    """Pages through the extractor, *window* at a time (memory stays flat on any input)."""
    pending: set[asyncio.Task[FetchedPage]] = set()
    for page in pages:
        pending.add(asyncio.ensure_future(extractor.extract(page)))
        if len(pending) >= window:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                yield task.result()
    for task in asyncio.as_completed(pending):
        yield await task


async def reextract(
    pages: Iterator[FetchedPage],
    extractor: PageExtractor,
    out: Archive,
    report: Report,
    *,
    previous: Archive | None = None,
    only_changed: bool = False,
    progress: Callable[[Report], None] = lambda report: None,
    groups: GroupIndex | None = None,
) -> Report:
    """Extract *pages* and write their dumps and manifest lines into *out* (open).

    A dump equal to the one *previous* (or *out*) holds under the same name counts as
    unchanged; with *only_changed* it is neither written nor given a manifest line.
    """
    started = time.monotonic()
    window = 2 * max(extractor.pool.max_in_flight if extractor.pool else 1, 1)
    async for item in _extracted(pages, extractor, window):
        report.pages += 1
        report.counts[item.outcome or "error"] += 1
        relative = Archive.text_file(item.seq, item.id)
        if item.outcome == OK and item.article is not None:
            dump = page_dump(item)
            before = (previous or out).dump_text(relative)
            if before == dump:
                report.unchanged += 1
                if only_changed:
                    continue
            else:
                report.changed += 1
                report.why.update(change_reasons(before, dump))
            out.write_dump(item.seq, item.id, dump)
            report.written += 1
            item = dataclasses.replace(item, text_file=relative, dump_sha256=text_digest(dump))
            if groups is not None:  # as the crawl's GroupPipeline
                item = groups.add_page(item)
        elif only_changed:
            continue
        out.record(manifest_record(item), item.warc)
        report.seconds = time.monotonic() - started
        progress(report)
    report.seconds = time.monotonic() - started
    return report


def into(
    out: Archive,
    extractor: PageExtractor,
    report: Report,
    *,
    source: Archive | None,
    warc_files: list[Path],
    urls: Path | None = None,
    only_changed: bool = False,
    progress: Callable[[Report], None] = lambda report: None,
    group_threshold: float | None = None,
) -> None:
    """Re-extract the pages of *source* (an archive) or of *warc_files* into *out* (the
    source itself: in place, only what changed), grouping syndicated copies at
    *group_threshold* (None: not grouped). A new corpus links the WARC files it was made
    from and gets their index."""
    pages = archive_pages(source, report) if source else warc_pages(warc_files, report, urls)
    with out:
        if out is not source:  # the new corpus points at the WARC files it came from
            out.link_warcs(source.warc_files() if source else warc_files)
        groups = out.state.group_index(group_threshold) if group_threshold is not None else None
        asyncio.run(reextract(
            pages, extractor, out, report, previous=source,
            only_changed=only_changed or out is source, progress=progress, groups=groups,
        ))  # fmt: skip
        if groups is not None:
            out.write_groups(groups)
        if out is not source:
            out.index_like(source)
