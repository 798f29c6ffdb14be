"""The Archive: layout, lock, recovery after an interrupted run, writers and readers."""

from __future__ import annotations

import dataclasses
import gzip
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.archive.directory import Archive, Recovery
from crawler.archive.dumps import render_dump
from crawler.archive.files import StorageError
from crawler.archive.lock import ArchiveLockedError
from crawler.core.items import LinkRecord, WarcPointer
from crawler.core.manifest import ManifestRecord
from crawler.warc.reader import iter_records
from crawler.warc.writer import HttpExchange, WarcWriter
from tests.support.builders import manifest_record
from tests.support.crawl import BIN


def record(seq: str = "000", **kw) -> ManifestRecord:
    fields = {"id": f"{int(seq):016x}", "seq": seq, "url": f"http://x.example/{seq}",
              "status": 200, "outcome": "ok", "error": None,
              "fetched_at": "2026-01-01T00:00:00Z"}  # fmt: skip
    return manifest_record(**{**fields, **kw})


def write_open_warc(directory: Path, exchanges: int) -> tuple[Path, list[WarcPointer]]:
    """A WARC as a killed crawl leaves it: records flushed, the file still ``.open``."""
    writer = WarcWriter(directory)
    pointers = [
        writer.write_exchange(
            HttpExchange(
                url=f"http://x.example/{i}", method="GET", request_headers=[],
                response_headers=[(b"Content-Type", b"text/html")], status=200,
                body=f"<p>page {i}</p>".encode() * 50, date=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )
        for i in range(exchanges)
    ]  # fmt: skip
    writer._fh.close()  # what a SIGKILL does: the descriptor closed, nothing renamed
    [path] = directory.glob("*.warc.gz.open")
    return path, pointers


def test_layout():
    archive = Archive("/data/corpus")
    assert archive.warc_dir == Path("/data/corpus/warc")
    assert archive.text_dir == Path("/data/corpus/text")
    assert archive.manifest_path == Path("/data/corpus/manifest.jsonl")
    assert archive.links_path == Path("/data/corpus/links.jsonl")
    assert archive.state_path == Path("/data/corpus/state.sqlite")
    assert archive.runs_dir == Path("/data/corpus/runs")


def test_fresh_archive_opens_with_nothing_to_repair(tmp_path: Path):
    with Archive(tmp_path / "a") as archive:
        assert archive.is_open and archive.recovery == Recovery()
        assert archive.locked_by() is not None
    assert not archive.is_open
    assert archive.locked_by() is None  # closing released the lock


def test_second_open_is_refused_and_names_the_holder(tmp_path: Path):
    with Archive(tmp_path) as first:
        second = Archive(tmp_path)
        with pytest.raises(ArchiveLockedError, match=r"another crawl \(pid \d+\) is writing"):
            second.open()
        assert not second.is_open
        assert first.is_open
    with Archive(tmp_path):  # free again
        pass


def test_unusable_root_is_a_storage_error(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StorageError, match="cannot be created"):
        Archive(blocker / "archive").open()


def test_recovery_after_a_kill(tmp_path: Path):
    root = tmp_path / "archive"
    (root / "text").mkdir(parents=True)
    # A WARC with three exchanges whose last record was torn by the kill.
    path, pointers = write_open_warc(root / "warc", 3)
    whole = path.stat().st_size
    with path.open("r+b") as fh:
        fh.truncate(whole - 20)
    # A file the kill left with no complete record at all.
    (root / "warc" / "crawl-empty.warc.gz.open").write_bytes(gzip.compress(b"WARC/1.0\r\n")[:9])
    # A half-written dump, a half-written run record, a finished dump.
    (root / "text" / ".000_aaaa.txt.k2j1.tmp").write_text("half")
    (root / "runs").mkdir()
    (root / "runs" / ".20260101T000000Z.json.x.tmp").write_text("{")
    (root / "text" / "001_bbbb.txt").write_text("a finished dump")
    # Two whole manifest lines, then a torn one; the state store knows none of them.
    lines = [json.dumps(dataclasses.asdict(record(s))) for s in ("000", "001")]
    (root / "manifest.jsonl").write_text("\n".join(lines) + '\n{"id": "tor')
    (root / "links.jsonl").write_text('{"from": "a", "to": "b"}\n{"from": "c"')

    with Archive(root) as archive:
        recovery = archive.recovery
        assert recovery.warc_files_closed == 2
        assert recovery.temp_files_removed == 2
        assert recovery.manifest_bytes_cut == len('{"id": "tor')
        assert recovery.links_bytes_cut == len('{"from": "c"')
        assert recovery.manifest_lines_recorded == 2
        assert archive.previous(record("001").id).outcome == "ok"
        assert recovery.counts() == {
            "warc_files_closed": 2, "warc_bytes_cut": recovery.warc_bytes_cut,
            "temp_files_removed": 2, "manifest_bytes_cut": 11, "links_bytes_cut": 12,
            "manifest_lines_recorded": 2,
        }  # fmt: skip
        assert recovery.warc_bytes_cut >= 20  # the torn member, and the file with none

    assert not list((root / "warc").glob("*.open"))
    [closed] = archive.warc_files()
    assert closed.name == path.name.removesuffix(".open")
    # cut back to the last whole record: warcinfo, then two whole exchanges
    types = [r.rec_type for r in iter_records(closed)]
    assert types == ["warcinfo", "response", "request", "response", "request", "response"]
    assert subprocess.run([BIN / "warcio", "check", str(closed)]).returncode == 0
    # the pointers into what was kept still open their records
    for pointer in pointers[:2]:
        found, _ = archive.warc_record(closed.name, pointer.offset)
        assert found.rec_headers.get_header("WARC-Record-ID") == pointer.record_id
    assert sorted(p.name for p in (root / "text").iterdir()) == ["001_bbbb.txt"]
    assert (root / "manifest.jsonl").read_text().endswith("}\n")
    assert (root / "links.jsonl").read_text() == '{"from": "a", "to": "b"}\n'

    with Archive(root) as again:  # everything was repaired: nothing to do the second time
        assert again.recovery == Recovery()


def test_writers_and_readers(tmp_path: Path):
    pointer = WarcPointer("f.warc.gz", 123, "<urn:uuid:1>", "sha1:AAAA", "2026-01-01T00:00:00Z")
    with Archive(tmp_path) as archive:
        body = "Article body.\n\nSecond paragraph."
        text = render_dump({"title": "T: a title", "url": "http://x.example/"}, body)
        relative = archive.write_dump("007", "00000000000000ab", text)
        assert relative == "text/007_00000000000000ab.txt"
        archive.record(record("007", text_file=relative, final_url="http://x.example/"), pointer)
        archive.add_links([LinkRecord("seed.md", "00000000000000ab", "http://x.example/", "x")])
        # flushed per line: readable while the archive is open
        assert [line["seq"] for line in archive.manifest_records()] == ["007"]
        state = archive.previous(record("007").id)
        assert state.text_file == relative and state.payload_digest == "sha1:AAAA"
        assert state.earlier_capture().record_id == "<urn:uuid:1>"
        run = archive.write_run_record(datetime(2026, 1, 1, tzinfo=UTC), {"status": "complete"})
        again = archive.write_run_record(datetime(2026, 1, 1, tzinfo=UTC), {"status": "failed"})
    assert run.name == "20260101T000000Z.json" and again.name == "20260101T000000Z-1.json"
    reader = Archive(tmp_path)  # the readers need no lock
    assert [r["status"] for r in reader.run_records()] == ["complete", "failed"]
    meta, read_body = reader.read_dump(relative)
    assert meta == {"title": "T: a title", "url": "http://x.example/"} and read_body == body
    assert [json.loads(x)["to"] for x in reader.links_path.read_text().splitlines()] == [
        "00000000000000ab"
    ]


def test_closed_archive_refuses_state_access(tmp_path: Path):
    archive = Archive(tmp_path)
    with pytest.raises(RuntimeError, match="not open"):
        archive.previous("0123456789abcdef")
    assert list(archive.manifest_records()) == []
