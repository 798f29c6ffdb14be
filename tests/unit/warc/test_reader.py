"""Reading WARC files back (crawler.warc.reader): every record's digests, and damage: one
range per damaged stretch, reading resumed at the next record."""

from __future__ import annotations

from pathlib import Path

from crawler.warc.reader import (
    DamagedRange,
    ScannedRecord,
    member_ends,
    next_record_start,
    scan_warc,
)
from crawler.warc.writer import WarcWriter
from tests.support.builders import http_exchange as exchange


def written(tmp_path: Path, pages: int = 6) -> Path:
    writer = WarcWriter(tmp_path)
    for n in range(pages):
        writer.write_exchange(exchange(url=f"http://example.org/{n}", body=b"<p>%d</p>" % n * 200))
    writer.close()
    [path] = list(tmp_path.glob("*.warc.gz"))
    return path


def test_a_whole_file_reads_whole(tmp_path):
    path = written(tmp_path)
    found = list(scan_warc(path))
    assert all(isinstance(x, ScannedRecord) for x in found) and len(found) == 1 + 2 * 6
    assert all(x.block_ok is not False and x.payload_ok is not False for x in found)
    ends = list(member_ends(path))
    assert ends[-1] == path.stat().st_size and len(ends) == len(found)
    assert [x.offset for x in found] == [0, *ends[:-1]]


def test_flipped_bytes_mid_file_are_one_range_and_the_records_after_it_are_read(tmp_path):
    path = written(tmp_path)
    ends = list(member_ends(path))
    start, end = ends[4], ends[5]  # the sixth member (a response), records after it
    data = bytearray(path.read_bytes())
    for i in range(3):
        data[(start + end) // 2 + i] ^= 0xFF
    path.write_bytes(bytes(data))
    found = list(scan_warc(path))
    [damage] = [x for x in found if isinstance(x, DamagedRange)]
    assert (damage.start, damage.end, damage.resumed) == (start, end, True)
    offsets = [x.offset for x in found if isinstance(x, ScannedRecord)]
    assert start not in offsets and offsets[-1] == ends[-2]  # the last record is read
    assert len(offsets) == len(ends) - 1
    assert next_record_start(path, start + 1) == end


def test_a_file_cut_short_ends_in_a_range_that_is_not_resumed(tmp_path):
    path = written(tmp_path)
    ends = list(member_ends(path))
    path.write_bytes(path.read_bytes()[:-30])
    found = list(scan_warc(path))
    damage = found[-1]
    assert isinstance(damage, DamagedRange) and not damage.resumed
    assert (damage.start, damage.end) == (ends[-2], path.stat().st_size)
    assert "cut short" in damage.message
    assert list(member_ends(path)) == ends[:-1]
