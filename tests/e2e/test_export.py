"""``scrapy export``: one typed row per input URL, loadable as-is; a datasheet beside it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crawler.archive.directory import Archive
from tests.support.crawl import ROOT, CrawlResult
from tests.support.siteserver import EXPECTED


def export(archive: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "export", str(archive), *args],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_parquet_loads_in_pandas_and_duckdb(crawl: CrawlResult, tmp_path: Path):
    out = tmp_path / "corpus.parquet"
    result = export(crawl.archive, "--out", str(out), "--with-text")
    assert f"{len(EXPECTED)} rows in {out}" in result.stdout
    schema = pq.read_schema(out)
    assert schema.field("status").type == pa.int64()
    assert schema.field("fetched_at").type == pa.timestamp("ms", tz="UTC")
    assert schema.field("date").type == pa.date32()
    assert schema.field("words").type == pa.int64()
    frame = pd.read_parquet(out, dtype_backend="numpy_nullable")
    assert len(frame) == len(EXPECTED) and frame["id"].is_unique
    assert str(frame["status"].dtype) == "Int64" and frame["site"].eq("127.0.0.1").all()
    ok = frame[frame["outcome"] == "ok"]
    archive = Archive(crawl.archive)
    for _, row in ok.iterrows():  # the text is the dump's body
        assert row["text"] == archive.read_dump(row["text_file"])[1]
    counts = dict(duckdb.sql(f"select outcome, count(*) from '{out}' group by 1").fetchall())
    expected = {o: [x for _, x in EXPECTED].count(o) for _, o in EXPECTED}
    assert counts == expected
    [(newest,)] = duckdb.sql(f"select max(date) from '{out}'").fetchall()
    assert newest.year == 2024  # a real date, not a string
    # the metadata columns: lists of names and tags, where each value came from
    assert schema.field("authors").type == pa.list_(pa.string())
    assert schema.field("lastmod").type == pa.date32()
    named = duckdb.sql(
        f"select authors, authors_source, date_source from '{out}' where len(authors) > 0"
    ).fetchall()
    assert named and all(isinstance(a, list) and a and s and d for a, s, d in named)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_jsonl_and_csv_load_in_pandas(fmt: str, crawl: CrawlResult, tmp_path: Path):
    out = tmp_path / f"corpus.{fmt}"
    export(crawl.archive, "--format", fmt, "--out", str(out))
    frame = pd.read_json(out, lines=True) if fmt == "jsonl" else pd.read_csv(out)
    assert len(frame) == len(EXPECTED) and "text" not in frame
    assert set(frame["outcome"]) == {o for _, o in EXPECTED}
    fetched = pd.to_datetime(frame["fetched_at"], utc=True)
    assert fetched.notna().sum() == len(EXPECTED) - 1  # the page robots.txt forbade: none


def test_one_row_per_url_its_latest_line_and_a_datasheet(crawl: CrawlResult, tmp_path: Path):
    archive = tmp_path / "archive"
    shutil.copytree(crawl.archive, archive)
    lines = list(Archive(archive).manifest_records())
    later = {**lines[0], "outcome": "unchanged", "fetched_at": "2030-01-01T00:00:00Z"}
    with (archive / "manifest.jsonl").open("a") as fh:
        fh.write(json.dumps(later) + "\n")
    out = tmp_path / "corpus.jsonl"
    export(archive, "--format", "jsonl", "--out", str(out))
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == len(EXPECTED)
    [first] = [r for r in rows if r["id"] == lines[0]["id"]]
    assert (first["outcome"], first["fetched_at"]) == ("unchanged", "2030-01-01T00:00:00Z")
    sheet = (tmp_path / "corpus.jsonl.datasheet.md").read_text()
    assert f"{len(EXPECTED)} rows, one per input URL" in sheet
    assert "| 127.0.0.1 | 12 |" in sheet and "| en |" in sheet and "| 2024-03 |" in sheet
    assert "scrapy crawl urls -a urls=" in sheet and "-s ALLOW_PRIVATE_ADDRESSES=1" in sheet
    assert f"scrapy export {archive} --format jsonl --out {out}" in sheet
