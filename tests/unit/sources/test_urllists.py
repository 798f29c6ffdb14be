"""URL lists (crawler.sources.urllists): txt, CSV, TSV and JSONL, streamed."""

import json
import tracemalloc

import pytest

from crawler.sources.urllists import InputFormatError, read_url_list


def test_txt_list_skips_blanks_and_comments_and_keeps_positions(tmp_path):
    path = tmp_path / "urls.txt"
    path.write_bytes(
        "\ufeff# header comment\n\nhttp://a.example/1\n  http://a.example/2  \r\n"
        "   # indented comment\nnot-a-url\nhttp://a.example/\xe9\n".encode()
        + b"http://a.example/\xff\n"
    )
    entries = list(read_url_list(path))
    assert [e.position for e in entries] == [0, 1, 2, 3, 4]
    assert [e.line for e in entries] == [3, 4, 6, 7, 8]
    assert entries[1].url == "http://a.example/2"
    assert entries[2].url is None and "no scheme" in entries[2].error
    assert entries[3].url == "http://a.example/é"
    assert entries[4].url is None and entries[4].raw == "http://a.example/\\xff"


@pytest.mark.parametrize("form", ["txt", "csv", "jsonl"])
def test_list_is_streamed(form, tmp_path):
    """The first entries come out of a 20 MB list in a few hundred KB of memory: an
    implementation that read the file (or all its entries) first would need far more."""
    path = tmp_path / f"urls.{form}"
    with path.open("w", encoding="utf-8") as fh:
        if form == "csv":
            fh.write("url,date\n")
        for i in range(400_000):
            url = f"http://a.example/section/{i:08d}/a-story-with-a-long-slug.html"
            fh.write(
                {"txt": url, "csv": f"{url},2024-01-01", "jsonl": json.dumps({"url": url})}[form]
            )
            fh.write("\n")
    assert path.stat().st_size > 20_000_000
    tracemalloc.start()
    try:
        entries = read_url_list(path)
        first = [next(entries) for _ in range(10)]
        _, peak = tracemalloc.get_traced_memory()
        entries.close()
    finally:
        tracemalloc.stop()
    assert [e.url for e in first][
        -1
    ] == "http://a.example/section/00000009/a-story-with-a-long-slug.html"
    assert peak < 1_000_000, peak


def test_overlong_line_is_one_error_entry(tmp_path):
    path = tmp_path / "urls.txt"
    path.write_text("http://a.example/" + "x" * (3 * 1024 * 1024) + "\nhttp://a.example/ok\n")
    entries = list(read_url_list(path))
    assert len(entries) == 2
    assert entries[0].url is None and "line over" in entries[0].error
    assert entries[1].url == "http://a.example/ok"


def test_csv_with_url_column_and_extra_fields(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text(
        'title,URL,date\n"A, with comma",http://a.example/1,2020-01-02\n,,\nx,ftp://a,\n'
    )
    entries = list(read_url_list(path))
    assert len(entries) == 2
    assert entries[0].url == "http://a.example/1"
    assert entries[0].fields == {"title": "A, with comma", "date": "2020-01-02"}
    assert entries[1].url is None


def test_tsv(tmp_path):
    path = tmp_path / "list.tsv"
    path.write_text("url\tnote\nhttp://a.example/1\tfirst\n")
    [entry] = list(read_url_list(path))
    assert entry.url == "http://a.example/1" and entry.fields == {"note": "first"}


def test_csv_without_url_column_fails_at_once(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("link\nhttp://a.example/1\n")
    with pytest.raises(InputFormatError, match="no 'url' column"):
        read_url_list(path)


def test_jsonl(tmp_path):
    path = tmp_path / "list.jsonl"
    rows = [json.dumps({"url": "http://a.example/1", "date": "2021"}), "[1, 2]", "{bad", ""]
    rows.append(json.dumps({"url": 5}))
    path.write_text("\n".join(rows) + "\n")
    entries = list(read_url_list(path))
    assert len(entries) == 4
    assert entries[0].url == "http://a.example/1" and entries[0].fields == {"date": "2021"}
    assert 'no "url"' in entries[1].error
    assert "invalid JSON" in entries[2].error
    assert 'no "url"' in entries[3].error


def test_missing_file(tmp_path):
    with pytest.raises(InputFormatError, match="does not exist"):
        read_url_list(tmp_path / "nope.txt")
