"""``scrapy verify``: a good archive passes; each kind of damage fails and is named."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from crawler.archive.directory import Archive
from crawler.tools.compare import compare
from crawler.tools.verify import verify
from tests.support.crawl import ROOT, CrawlResult


def run_verify(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scrapy", "verify", *args],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


@pytest.fixture
def archive(crawl: CrawlResult, tmp_path: Path) -> Archive:
    """A copy of the shared crawl's archive, to damage."""
    copy = tmp_path / "archive"
    shutil.copytree(crawl.archive, copy)
    return Archive(copy)


def lines_of(archive: Archive) -> list[dict]:
    return list(archive.manifest_records())


def with_text(archive: Archive) -> dict:
    return next(line for line in lines_of(archive) if line["text_file"])


def kinds(archive: Archive) -> list[tuple[str, str, str | None]]:
    return [(p.kind, p.where, p.id) for p in verify(archive).problems]


def member_end(data: bytes, start: int) -> int:
    decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
    decompressor.decompress(data[start:])
    return len(data) - len(decompressor.unused_data)


def test_a_good_archive_passes(archive: Archive):
    report = verify(archive)
    assert report.ok, [str(p) for p in report.problems]
    dumps = {line["text_file"] for line in lines_of(archive) if line["text_file"]}
    assert report.checked["WARC records"] > 20 and report.checked["dumps"] == len(dumps)
    assert report.failed.total() == 0 and not report.notes  # a fresh crawl: every dump hashed
    result = run_verify(str(archive.root))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK: 1 WARC files")
    assert (
        f"  dumps: {report.checked['dumps']} checked, {report.checked['dumps']} fine, 0 not"
        in result.stdout
    )


def test_a_flipped_byte_in_a_payload_is_a_digest_failure(archive: Archive):
    # the last response record a line points at: rewriting its member moves nothing else
    # a line points at
    line = max((x for x in lines_of(archive) if x["warc_file"]), key=lambda x: x["warc_offset"])
    path = archive.warc_dir / line["warc_file"]
    data = path.read_bytes()
    start, end = line["warc_offset"], member_end(data, line["warc_offset"])
    record = bytearray(gzip.decompress(data[start:end]))
    record[-10] ^= 0x01  # inside the payload, near its end
    path.write_bytes(data[:start] + gzip.compress(bytes(record)) + data[end:])
    found = verify(archive).problems
    where = f"warc/{line['warc_file']}@{start}"
    digests = [p for p in found if p.kind == "digest" and p.where == where]
    assert {p.message.split(" ")[0] for p in digests} == {"block", "payload"}
    assert line["final_url"] in digests[0].message


def test_a_truncated_member_is_damage(archive: Archive):
    [path] = archive.warc_files()
    data = path.read_bytes()
    path.write_bytes(data[:-40])  # into the last record's gzip member
    [problem] = [p for p in verify(archive).problems if p.kind == "damaged"]
    assert problem.where.startswith(f"warc/{path.name}@")
    assert "cut short" in problem.message and "read on" not in problem.message


def test_a_corrupt_member_is_damage(archive: Archive):
    [path] = archive.warc_files()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside some member's compressed bytes
    path.write_bytes(bytes(data))
    [problem] = [p for p in verify(archive).problems if p.kind == "damaged"]
    assert problem.where.startswith(f"warc/{path.name}@")
    assert "unreadable" in problem.message


def test_an_edited_dump_and_a_deleted_dump_are_named(archive: Archive):
    edited, deleted = [x for x in lines_of(archive) if x["text_file"]][:2]
    path = archive.root / edited["text_file"]
    front, fence, body = path.read_text(encoding="utf-8").partition("\n---\n\n")
    assert " " in body
    body = body.replace(" ", "  ", 1)  # in the article body, whatever the page says
    path.write_text(front + fence + body, encoding="utf-8")
    (archive.root / deleted["text_file"]).unlink()
    report = verify(archive)
    found = [(p.kind, p.where, p.id) for p in report.problems]
    # the file no longer hashes to dump_sha256, its body not to text_sha256
    assert found.count(("dump", edited["text_file"], edited["id"])) == 2
    assert ("missing dump", deleted["text_file"], deleted["id"]) in found
    assert len(found) == 3 and report.failed["dumps"] == 2


def test_a_pointer_off_by_one_record_is_named(archive: Archive):
    lines = lines_of(archive)
    target = next(i for i, x in enumerate(lines) if x["warc_file"])
    [path] = archive.warc_files()
    data = path.read_bytes()
    lines[target]["warc_offset"] = member_end(data, lines[target]["warc_offset"])  # the request
    archive.manifest_path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    found = verify(archive).problems
    assert (found[0].kind, found[0].where, found[0].id) == (
        "pointer", f"manifest.jsonl:{target + 1}", lines[target]["id"]
    )  # fmt: skip
    assert "no response or revisit record starts at byte" in found[0].message
    result = run_verify(str(archive.root), "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["problems"][0]["id"] == lines[target]["id"]


def test_leftovers_and_orphans(archive: Archive):
    (archive.warc_dir / "crawl-x.warc.gz.open").write_bytes(b"")
    (archive.text_dir / "999_ffffffffffffffff.txt").write_text("---\n---\n\nstray\n")
    assert {(k, w) for k, w, _ in kinds(archive)} == {
        ("open", "warc/crawl-x.warc.gz.open"), ("orphan dump", "text/999_ffffffffffffffff.txt")
    }  # fmt: skip


def test_against_a_reference_manifest(archive: Archive, tmp_path: Path):
    lines = lines_of(archive)
    reference = [dict(x) for x in lines]
    changed = next(x for x in reference if x["text_sha256"])
    changed["text_sha256"] = "0" * 64
    reference[-1]["outcome"] = "error"  # outcome differs
    reference.append({**reference[0], "id": "f" * 16})  # missing here
    extra = reference.pop(1)["id"]  # extra here
    found = compare(lines, reference)
    assert found[changed["id"]] == "changed"
    assert found[reference[-2]["id"]] == "outcome differs"
    assert found["f" * 16] == "missing here" and found[extra] == "extra here"
    assert list(found.values()).count("identical") == len(lines) - 3
    path = tmp_path / "reference.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in reference))
    result = run_verify(str(archive.root), "--against", str(path))
    assert result.returncode == 1
    assert f"{changed['id']}: changed" in result.stdout
    assert "  missing here            1" in result.stdout
    same = run_verify(str(archive.root), "--against", str(archive.manifest_path), "--json")
    assert same.returncode == 0
    assert json.loads(same.stdout)["comparison"]["counts"]["identical"] == len(lines)


def test_an_edit_in_a_dumps_front_matter_is_found(archive: Archive):
    """Three characters of the date line: the body is untouched, the file's digest is not."""
    line = next(x for x in lines_of(archive) if x["text_file"] and x.get("date"))
    path = archive.root / line["text_file"]
    text = path.read_text(encoding="utf-8")
    year = line["date"][:4]
    assert f"date: '{year}" in text and year != "1999"  # (quoted: a YAML date as a string)
    path.write_text(text.replace(f"date: '{year}", "date: '1999", 1), encoding="utf-8")
    [problem] = verify(archive).problems
    assert (problem.kind, problem.where, problem.id) == ("dump", line["text_file"], line["id"])
    assert "does not hash to the dump_sha256" in problem.message


def test_flipped_bytes_mid_file_are_one_range_and_later_records_are_judged(archive: Archive):
    """A few bytes flipped inside a response record that a line points at, with records
    after it: one problem names the damaged range and that line; reading resumes at the
    next record, so every later pointer is judged (and fine)."""
    lines = [x for x in lines_of(archive) if x["warc_file"]]
    line = lines[len(lines) // 3]
    later = [x for x in lines if x["warc_offset"] > line["warc_offset"]]
    assert len(later) >= 3
    [path] = archive.warc_files()
    data = bytearray(path.read_bytes())
    start, end = line["warc_offset"], member_end(bytes(data), line["warc_offset"])
    for i in range(3):
        data[(start + end) // 2 + i] ^= 0xFF
    path.write_bytes(bytes(data))
    report = verify(archive)
    damaged = [p for p in report.problems if p.kind == "damaged"]
    assert len(damaged) == 1
    assert damaged[0].where == f"warc/{path.name}@{start}"
    assert line["id"] in damaged[0].message and f"read on from byte {end}" in damaged[0].message
    assert not [p for p in report.problems if p.kind == "pointer"]  # said once, in the range
    assert report.failed["manifest pointers"] == 1
    assert report.checked["manifest pointers"] == len(lines)
    assert report.checked["WARC records"] > 0 and report.failed["WARC records"] == 0
    result = run_verify(str(archive.root))
    assert result.returncode == 1
    out = result.stdout.splitlines()
    summary = next(i for i, x in enumerate(out) if x.startswith("  manifest pointers:"))
    problem = next(i for i, x in enumerate(out) if ": damaged: " in x)
    assert summary < problem  # the counts come before the list
    assert (
        out[summary] == f"  manifest pointers: {len(lines)} checked, {len(lines) - 1} fine, 1 not"
    )


def test_a_dump_that_is_no_longer_utf8_is_unreadable_not_a_crash(archive: Archive):
    line = with_text(archive)
    path = archive.root / line["text_file"]
    path.write_bytes(path.read_bytes() + b"\xff\xfe")
    [problem] = verify(archive).problems
    assert (problem.kind, problem.where) == ("dump", line["text_file"])
    assert problem.message.startswith("unreadable")
