"""The CDXJ index: lines as cdxj-indexer writes them, requests typed and sorted last,
memento aliases, merging a run's files in, and never a half-written index."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.archive.directory import Archive
from crawler.core.items import EarlierCapture
from crawler.tools.verify import verify
from crawler.warc.cdxj import (
    CdxIndexError,
    MementoAlias,
    add_to_index,
    index_lines,
    indexed_files,
    parse_line,
    rebuild_index,
    record_type,
    url_key,
)
from crawler.warc.writer import HttpExchange, WarcWriter

WHEN = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def exchange(url: str, body: bytes, when: datetime = WHEN, ctype: bytes | None = b"text/html"):
    return HttpExchange(
        url=url, method="GET", request_headers=[(b"Accept", b"*/*")],
        response_headers=[(b"Content-Type", ctype)] if ctype else [], status=200,
        body=body, date=when,
    )  # fmt: skip


def write_warc(directory: Path, *exchanges: tuple[HttpExchange, EarlierCapture | None]):
    writer = WarcWriter(directory)
    pointers = [writer.write_exchange(ex, earlier) for ex, earlier in exchanges]
    writer.close()
    [path] = [p for p in directory.glob("*.warc.gz") if p.name == pointers[0].filename]
    return path, pointers


def test_lines_are_cdxj_indexer_lines_with_requests_typed_and_sorted_last(tmp_path: Path):
    page = "http://news.example/a.html"
    path, [first] = write_warc(tmp_path / "w1", (exchange(page, b"<p>one</p>"), None))
    earlier = EarlierCapture(page, first.date, first.record_id, first.payload_digest)
    later = datetime(2026, 2, 1, tzinfo=UTC)
    path2, [again] = write_warc(tmp_path / "w2", (exchange(page, b"<p>one</p>", later), earlier))

    lines = index_lines([path, path2])
    assert lines == sorted(lines) and all(line.endswith("\n") for line in lines)
    parsed = [parse_line(line) for line in lines]
    assert [(stamp, record_type(f)) for _, stamp, f in parsed] == [
        ("20260101120000", "response"), ("20260101120000", "request"),
        ("20260201000000", "revisit"), ("20260201000000", "request"),
    ]  # fmt: skip
    assert {key for key, _, _ in parsed} == {url_key(page)} == {"example,news)/a.html"}
    response, request, revisit, _ = (f for _, _, f in parsed)
    assert response["filename"] == path.name and int(response["offset"]) == first.offset
    assert response["status"] == "200" and response["mime"] == "text/html"
    assert list(request)[:2] == ["url", "type"]  # what sorts it after the response
    assert revisit["mime"] == "warc/revisit" and int(revisit["offset"]) == again.offset
    assert revisit["filename"] == path2.name


def test_a_memento_is_listed_again_under_its_own_page_and_date(tmp_path: Path):
    memento = "https://web.archive.example/web/20190601000000id_/http://news.example/gone.html"
    path, [pointer] = write_warc(tmp_path, (exchange(memento, b"<p>old</p>"), None))
    alias = MementoAlias(path.name, pointer.offset, "http://news.example/gone.html",
                         "20190601000000")  # fmt: skip
    lines = [parse_line(line) for line in index_lines([path], [alias])]
    aliased = [(key, stamp, f) for key, stamp, f in lines if "via" in f]
    assert len(lines) == 3 and len(aliased) == 1
    key, stamp, fields = aliased[0]
    assert (key, stamp) == ("example,news)/gone.html", "20190601000000")
    assert fields["url"] == "http://news.example/gone.html" and fields["via"] == memento
    assert int(fields["offset"]) == pointer.offset and fields["filename"] == path.name


def test_an_alias_needs_no_content_type_and_keeps_a_unicode_url(tmp_path: Path):
    original = "http://news.example/città/ünïcode.html"
    memento = f"https://web.archive.example/web/20190601000000id_/{original}"
    path, [pointer] = write_warc(tmp_path, (exchange(memento, b"<p>old</p>", ctype=None), None))
    alias = MementoAlias(path.name, pointer.offset, original, "20190601000000")
    [aliased] = [line for line in index_lines([path], [alias]) if '"via"' in line]
    key, _, fields = parse_line(aliased)
    assert key == url_key(original) and fields["url"] == original and "mime" not in fields
    assert aliased.isascii()  # JSON-escaped: the index is plain ASCII, bytewise sorted


def test_files_merge_into_the_index_once_each(tmp_path: Path):
    one, _ = write_warc(tmp_path / "a", (exchange("http://b.example/", b"b"), None))
    two, _ = write_warc(tmp_path / "b", (exchange("http://a.example/", b"a"), None))
    index = tmp_path / "indexes" / "index.cdxj"
    assert add_to_index(index, [one]) == 2
    assert add_to_index(index, [two]) == 4
    assert add_to_index(index, [two]) == 4  # indexed twice adds nothing
    merged = index.read_text()
    assert merged.splitlines() == sorted(merged.splitlines())
    assert rebuild_index(tmp_path / "again.cdxj", [two, one]) == 4
    assert (tmp_path / "again.cdxj").read_text() == merged


def test_a_failed_update_leaves_the_index_as_it_was(tmp_path: Path):
    good, _ = write_warc(tmp_path / "a", (exchange("http://a.example/", b"a"), None))
    index = tmp_path / "index.cdxj"
    add_to_index(index, [good])
    before = index.read_bytes()
    with pytest.raises(CdxIndexError, match=r"cannot index .*gone\.warc\.gz"):
        add_to_index(index, [tmp_path / "gone.warc.gz"])
    assert index.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_the_archive_indexes_every_file_the_index_lacks(tmp_path: Path):
    """A killed run's closed file, one a failed indexing missed: the next run's end adds
    them, whoever wrote them."""
    with Archive(tmp_path / "archive") as archive:
        archive.manifest_path.write_text("")
        write_warc(archive.warc_dir, (exchange("http://a.example/", b"a"), None))
        assert archive.update_index() == 1
        later = WarcWriter(archive.warc_dir, prefix="later")
        later.write_exchange(exchange("http://b.example/", b"b"))
        later.close()
        missed = WarcWriter(archive.warc_dir, prefix="missed")
        missed.write_exchange(exchange("http://c.example/", b"c"))
        missed.close()
        own = frozenset(p.name for p in archive.warc_dir.glob("later-*"))
        assert not verify(archive).ok  # two files not in the index
        assert archive.update_index(archive.manifest_size(), own) == 2
        assert indexed_files(archive.index_path) == {p.name for p in archive.warc_files()}
        assert archive.update_index() == 0  # nothing left to add
        assert verify(archive).ok, [str(p) for p in verify(archive).problems]
