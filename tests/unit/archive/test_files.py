import json

import pytest

from crawler.archive.files import (
    LinksWriter,
    ManifestWriter,
    StorageError,
    atomic_write_text,
    remove_stale_temp_files,
    repair_torn_tail,
)
from crawler.core.items import LinkRecord
from crawler.core.manifest import ManifestRecord
from tests.support.builders import manifest_record


def read_lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def record(**kw) -> ManifestRecord:
    return manifest_record(**kw)


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "text" / "000_x.txt"
    atomic_write_text(target, "first")
    atomic_write_text(target, "second ü")
    assert target.read_text(encoding="utf-8") == "second ü"
    assert [p.name for p in target.parent.iterdir()] == ["000_x.txt"]


def test_atomic_write_failure_is_a_storage_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StorageError):
        atomic_write_text(blocker / "sub" / "a.txt", "x")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", b""),
        (b'{"a":1}\n', b'{"a":1}\n'),
        (b'{"a":1}\n{"b":', b'{"a":1}\n'),
        (b'{"b":', b""),
        (b'{"a":1}\n' + b"x" * 200_000, b'{"a":1}\n'),
    ],
)
def test_repair_torn_tail(tmp_path, content, expected):
    path = tmp_path / "manifest.jsonl"
    path.write_bytes(content)
    cut = repair_torn_tail(path)
    assert path.read_bytes() == expected
    assert cut == len(content) - len(expected)


def test_manifest_writer_appends_flushed_lines(tmp_path):
    path = tmp_path / "manifest.jsonl"
    writer = ManifestWriter(path)
    writer.open()
    writer.write(record(title="Ünï"))
    # flushed per line: readable before close
    assert json.loads(path.read_text(encoding="utf-8"))["title"] == "Ünï"
    writer.write(record(seq="001", via="seed.txt"))
    writer.close()
    lines = read_lines(path)
    assert [line["seq"] for line in lines] == ["000", "001"]
    assert "via" not in lines[0] and lines[1]["via"] == "seed.txt"
    assert list(lines[0])[:6] == ["id", "seq", "url", "final_url", "status", "outcome"]


def test_manifest_writer_position_is_the_end_of_the_last_line(tmp_path):
    path = tmp_path / "manifest.jsonl"
    path.write_text('{"seq":"000"}\n')
    writer = ManifestWriter(path)  # opened lazily, appending
    writer.write(record(seq="001"))
    assert writer.position == path.stat().st_size
    writer.close()
    assert [line["seq"] for line in read_lines(path)] == ["000", "001"]


def test_links_writer(tmp_path):
    path = tmp_path / "links.jsonl"
    writer = LinksWriter(path)
    writer.write([LinkRecord("seed.md", "0123456789abcdef", "http://x.example/", "Ünï")])
    writer.write([])  # a document with no links: nothing written
    writer.write(
        LinkRecord("a.md", f"{n:016x}", f"http://x.example/{n}", "") for n in range(2)
    )  # a document's links: one write call, whole lines
    writer.close()
    assert read_lines(path) == [
        {"from": "seed.md", "to": "0123456789abcdef", "url": "http://x.example/", "anchor": "Ünï"},
        {"from": "a.md", "to": "0000000000000000", "url": "http://x.example/0", "anchor": ""},
        {"from": "a.md", "to": "0000000000000001", "url": "http://x.example/1", "anchor": ""},
    ]
    assert writer.position == path.stat().st_size


def test_stale_temp_files_are_removed_but_never_a_dump(tmp_path):
    (tmp_path / "000_a.txt").write_text("a finished dump")
    (tmp_path / ".000_b.txt.x1y2.tmp").write_text("half a dump")
    assert remove_stale_temp_files(tmp_path) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["000_a.txt"]
    assert remove_stale_temp_files(tmp_path / "missing") == 0
