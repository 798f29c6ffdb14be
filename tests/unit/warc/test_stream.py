"""Reading a WARC file range by range (crawler.warc.stream): whole captures whatever the
cut, the next range starting at a whole capture, damage named by its byte; and copying a
capture into this archive's WARC byte for byte (WarcWriter.copy_capture)."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.warc.reader import read_member
from crawler.warc.stream import StreamError, record_head, scan_chunk
from crawler.warc.writer import WarcWriter
from tests.support.builders import http_exchange
from tests.support.ccnewsserver import build_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("ccnews")
    return build_corpus(root, [datetime(2024, 2, 1, tzinfo=UTC)], captures_per_file=25)


def _file(corpus) -> bytes:
    return (corpus.root / corpus.files[0]).read_bytes()


def read_in_ranges(data: bytes, size: int) -> list[tuple[int, ...]]:
    """Every capture (its records' offsets) read as the spider reads: a range from the
    offset scan_chunk gave, grown when it holds no whole capture."""
    captures, offset = [], 0
    while offset < len(data):
        chunk = data[offset : offset + size]
        final = offset + len(chunk) >= len(data)
        found, following = scan_chunk(chunk, offset, final=final)
        if not found and not final:
            size *= 2
            continue
        captures += [tuple(r.offset for r in c.records) for c in found]
        offset = following
    return captures


def test_a_whole_file_is_its_captures(corpus):
    data = _file(corpus)
    captures, end = scan_chunk(data, 0, final=True)
    assert end == len(data)
    assert [r.record_type for r in captures[0].records] == ["warcinfo"]
    for capture in captures[1:]:
        assert [r.record_type for r in capture.records] == ["request", "response", "metadata"]
        assert len({r.target_uri for r in capture.records}) == 1
    responses = {c.response.offset for c in captures[1:]}
    assert responses == {x.offset for x in corpus.captures}
    first = next(x for x in corpus.captures if x.status == 200)
    found = next(c.response for c in captures[1:] if c.response.offset == first.offset)
    assert (found.status, found.content_type, found.record_id) == (
        200, "text/html; charset=utf-8", first.record_id)  # fmt: skip
    # each record's member is one whole record, where the file says
    with (corpus.root / corpus.files[0]).open("rb") as fh:
        offsets = []
        records = ArchiveIterator(fh)
        for record in records:
            record.content_stream().read()
            offsets.append(records.get_record_offset())
    assert [r.offset for c in captures for r in c.records] == offsets


@pytest.mark.parametrize("size", [700, 4096, 9999, 65536, 1 << 22])
def test_any_range_size_gives_every_capture_once(corpus, size):
    data = _file(corpus)
    whole, _ = scan_chunk(data, 0, final=True)
    assert read_in_ranges(data, size) == [tuple(r.offset for r in c.records) for c in whole]


def test_a_range_ends_before_its_last_capture(corpus):
    data = _file(corpus)
    whole, _ = scan_chunk(data, 0, final=True)
    cut = whole[3].records[1].offset + 10  # inside the fourth capture's response
    found, following = scan_chunk(data[:cut], 0, final=False)
    assert len(found) == 3 and following == whole[3].offset
    # a range ending right after a response: its metadata may follow, so it waits too
    cut = whole[3].records[1].offset + whole[3].records[1].length
    found, following = scan_chunk(data[:cut], 0, final=False)
    assert len(found) == 3 and following == whole[3].offset


def test_damage_is_named_by_its_byte(corpus):
    data = bytearray(_file(corpus))
    whole, _ = scan_chunk(bytes(data), 0, final=True)
    bad = whole[2].records[1].offset
    data[bad + 30 : bad + 60] = b"\x00" * 30
    with pytest.raises(StreamError) as caught:
        scan_chunk(bytes(data), 0, final=True)
    assert caught.value.offset == bad
    with pytest.raises(StreamError, match="cut short"):
        scan_chunk(_file(corpus)[: whole[-1].offset + 20], 0, final=True)
    with pytest.raises(StreamError, match="not a WARC record"):
        scan_chunk(gzip.compress(b"<html>not a record</html>"), 0, final=True)


def test_a_copied_capture_is_byte_for_byte_with_a_pointer_to_its_source(corpus, tmp_path: Path):
    data = _file(corpus)
    captures, _ = scan_chunk(data, 0, final=True)
    capture = captures[5]
    members = [data[r.offset : r.offset + r.length] for r in capture.records]
    writer = WarcWriter(tmp_path)
    source = {"via": "https://data.example/x.warc.gz", "source-file": corpus.files[0],
              "source-offset": str(capture.response.offset)}  # fmt: skip
    pointer = writer.copy_capture(members, 1, source)
    writer.close()
    [path] = tmp_path.glob("*.warc.gz")
    copied = path.read_bytes()
    start = pointer.offset - len(members[0])
    assert copied[start : start + sum(map(len, members))] == b"".join(members)
    assert pointer.record_id == capture.response.record_id
    assert pointer.date == capture.response.date
    assert record_head(members[1]).record_type == "response"
    tail = copied[start + sum(map(len, members)) :]
    metadata = read_member(tail)
    assert metadata.rec_type == "metadata"
    assert metadata.rec_headers.get_header("WARC-Refers-To") == pointer.record_id
    block = metadata.content_stream().read().decode()
    assert f"source-offset: {capture.response.offset}\r\n" in block
    assert f"source-file: {corpus.files[0]}\r\n" in block


def test_a_request_written_after_its_response_is_in_its_capture(tmp_path: Path):
    writer = WarcWriter(tmp_path)  # writes each response, then its request
    for _ in range(3):
        writer.write_exchange(http_exchange(url="http://example.org/same"))
    writer.close()
    [path] = tmp_path.glob("*.warc.gz")
    captures, _ = scan_chunk(path.read_bytes(), 0, final=True)
    kinds = [[r.record_type for r in c.records] for c in captures]
    assert kinds == [["warcinfo"], *[["response", "request"]] * 3]  # three, not merged
