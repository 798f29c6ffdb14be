import json

import pytest

from crawler.items import ManifestRecord
from crawler.storage import (
    ManifestWriter,
    StorageError,
    atomic_write_text,
    read_manifest,
    repair_torn_tail,
)


def record(**kw) -> ManifestRecord:
    base = dict(
        id="0123456789abcdef", seq="000", url="http://x.example/", final_url=None, status=None,
        outcome="error", error="boom", text_file=None, warc_file=None, warc_offset=None,
        fetched_at=None, title=None, date=None, author=None, sitename=None, language=None,
        words=None, text_sha256=None, source="live",
    )  # fmt: skip
    base.update(kw)
    return ManifestRecord(**base)


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
    lines = read_manifest(path)
    assert [line["seq"] for line in lines] == ["000", "001"]
    assert "via" not in lines[0] and lines[1]["via"] == "seed.txt"
    assert list(lines[0])[:6] == ["id", "seq", "url", "final_url", "status", "outcome"]


def test_manifest_writer_repairs_on_open(tmp_path):
    path = tmp_path / "manifest.jsonl"
    path.write_text('{"seq":"000"}\n{"seq":"00')
    writer = ManifestWriter(path)
    writer.open()
    writer.write(record(seq="001"))
    writer.close()
    assert writer.repaired_bytes == len('{"seq":"00')
    assert [line["seq"] for line in read_manifest(path)] == ["000", "001"]
