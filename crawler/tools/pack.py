"""WACZ packages of an archive (WACZ 1.1.1): one file to share, that pywb and ReplayWeb.page open.

A ZIP holding the WARC files (stored, not deflated, as the format asks; with ``--since``,
also the earlier files holding what the revisit records refer to), the CDXJ index lines
of their response and revisit records (``indexes/index.cdx``: CDXJ, named as pywb's
``wb-manager`` and ReplayWeb.page look for it), the page list ``pages/pages.jsonl``
written from the manifest (one page per article captured, ``ok`` or ``unchanged``, in the
runs' WARC files: its latest capture's URL and time, title, and text when asked), and
``datapackage.json`` with the SHA-256 and size of every file, whose own digest is in
``datapackage-digest.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crawler import __version__ as PROJECT_VERSION
from crawler.archive.directory import Archive
from crawler.core.timefmt import iso_utc
from crawler.tools.replay import article_captures
from crawler.warc.cdxj import parse_line, record_type

WACZ_VERSION = "1.1.1"


class PackError(Exception):
    """Nothing to pack, or the package cannot be written."""


PAGES_HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}


def packed_warcs(archive: Archive, since: str | None = None) -> tuple[list[Path], list[Path]]:
    """The WARC files to pack: every closed one, or those the runs named *since* and
    later wrote; and, then, the earlier files holding the originals their revisit records
    refer to (a revisit replays from its original), requisites revalidated by a 304
    included."""
    if since is None:
        return archive.warc_files(), []
    runs = archive.named_run_records()
    names = [name for name, _ in runs]
    if since not in names:
        raise PackError(f"no run named {since!r}; runs: {', '.join(names) or 'none'}")
    wanted = {
        warc for _, record in runs[names.index(since):]
        for key in ("warc_files", "recovered_warc_files") for warc in record.get(key, [])
    }  # fmt: skip
    revisited = {
        (fields["url"], fields.get("digest")) for fields in _index_fields(archive)
        if fields.get("filename") in wanted and record_type(fields) == "revisit"
    }  # fmt: skip
    # A request listed without a response: a requisite revalidated by a 304, whose
    # revisit record the index leaves out; its last full capture replays in its place.
    requested, answered = set(), set()
    for fields in _index_fields(archive):
        if fields.get("filename") in wanted:
            (requested if record_type(fields) == "request" else answered).add(fields["url"])
    revalidated = requested - answered
    last_full: dict[str, str] = {}  # (the index is sorted by URL, then time)
    for fields in _index_fields(archive):
        if fields["url"] in revalidated and record_type(fields) == "response":
            last_full[fields["url"]] = fields["filename"]
    originals = {
        fields["filename"]
        for fields in _index_fields(archive)
        if (fields["url"], fields.get("digest")) in revisited and record_type(fields) == "response"
    } | set(last_full.values())
    originals -= wanted  # fmt: skip
    files = archive.warc_files()
    return [p for p in files if p.name in wanted], [p for p in files if p.name in originals]


def _index_fields(archive: Archive) -> Iterator[dict[str, Any]]:
    if archive.index_path.exists():
        with archive.index_path.open(encoding="utf-8") as fh:
            for line in fh:
                yield parse_line(line)[2]


def _index(archive: Archive, files: set[str]) -> bytes:
    lines = []
    if archive.index_path.exists():
        with archive.index_path.open(encoding="utf-8") as fh:
            for line in fh:
                fields = parse_line(line)[2]
                if fields.get("filename") in files and fields.get("type") != "request":
                    lines.append(line)
    return "".join(lines).encode()


def _pages(archive: Archive, files: set[str], with_text: bool) -> tuple[bytes, int]:
    captures = article_captures(archive, files)
    pages = [json.dumps(PAGES_HEADER)]
    for found in captures:
        # where the index has it: a memento under its own page, at the memento's date
        ts = found.capture.get("memento_datetime") or found.capture["fetched_at"]
        page = {"id": found.id, "url": found.url, "ts": ts}
        if found.title:
            page["title"] = found.title
        if with_text and found.article.get("text_file"):
            page["text"] = archive.read_dump(found.article["text_file"])[1]
        pages.append(json.dumps(page, ensure_ascii=False))
    return ("\n".join(pages) + "\n").encode(), len(captures)


def _sha256(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def _store(package: zipfile.ZipFile, path: Path, name: str) -> dict[str, Any]:
    """Copy a WARC file into the package as it is (ZIP_STORED: its records are gzip
    members already), hashing it on the way: read once."""
    info = zipfile.ZipInfo.from_file(path, name)
    info.compress_type = zipfile.ZIP_STORED
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as src, package.open(info, "w", force_zip64=True) as dest:
        while chunk := src.read(1 << 20):
            digest.update(chunk)
            dest.write(chunk)
            size += len(chunk)
    return {"name": path.name.lower(), "path": name, "hash": f"sha256:{digest.hexdigest()}",
            "bytes": size}  # fmt: skip


def pack(archive: Archive, out: Path, since: str | None = None, with_text: bool = False) -> dict:
    """Write the WACZ package *out* (whole or not at all); returns what went in.
    PackError when there is nothing to pack or it cannot be written."""
    selected, originals = packed_warcs(archive, since)
    if not selected:
        raise PackError(f"no closed WARC file to pack in {archive.root}")
    warcs = sorted(selected + originals)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
        os.close(fd)
        try:
            count = _write(archive, Path(tmp), warcs, selected, with_text)
            os.replace(tmp, out)
        finally:
            Path(tmp).unlink(missing_ok=True)
    except OSError as exc:
        raise PackError(f"cannot write {out}: {exc}") from exc
    return {"out": str(out), "warc_files": len(warcs), "originals": len(originals),
            "pages": count, "bytes": out.stat().st_size}  # fmt: skip


def _write(
    archive: Archive, out: Path, warcs: list[Path], selected: list[Path], with_text: bool
) -> int:
    resources = []
    with zipfile.ZipFile(out, "w", allowZip64=True) as package:
        for path in warcs:
            resources.append(_store(package, path, f"archive/{path.name}"))
        pages, count = _pages(archive, {path.name for path in selected}, with_text)
        for name, data in (
            ("indexes/index.cdx", _index(archive, {path.name for path in warcs})),
            ("pages/pages.jsonl", pages),
        ):
            package.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
            resources.append({"name": Path(name).name, "path": name, "hash": _sha256(data),
                              "bytes": len(data)})  # fmt: skip
        datapackage = json.dumps({
            "profile": "data-package",
            "resources": resources,
            "wacz_version": WACZ_VERSION,
            "title": archive.root.name,
            "software": f"newsarchiver {PROJECT_VERSION}",
            "created": iso_utc(),
        }, indent=2).encode()  # fmt: skip
        package.writestr("datapackage.json", datapackage)
        digest = {"path": "datapackage.json", "hash": _sha256(datapackage)}
        package.writestr("datapackage-digest.json", json.dumps(digest, indent=2))
    return count
