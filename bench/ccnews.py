"""CC-NEWS throughput: ``scrapy crawl ccnews`` on local WARC files served from loopback,
against ``scrapy reextract`` of the same files and trafilatura's CLI on the same pages.

    .venv/bin/python -m bench.ccnews [--files 4] [--captures 1700] [--pages 300]
                                     [--only ccnews,scan,all,reextract,trafilatura,workers]
                                     [--big]

Builds CC-NEWS-like files (tests.support.ccnewsserver: a request, response and metadata
record per capture, as Common Crawl writes them) from bench/realistic.py's pages (ten
languages, six templates, 4-471 KB) published by 20 sites, ``--files`` files of
``--captures`` captures (three records each: the default is 20,400 records), serves them
with ranges from 127.0.0.1, and runs once each:

  ccnews       the crawl of 2 of the 20 sites over the whole period (a researcher's crawl)
  scan         the same files with a site that is in none of them: reading and filtering
               alone (records scanned/s)
  all          every site: every page kept, extracted and copied (as reextract does)
  reextract    ``scrapy reextract FILES --out``: the same files read from disk, every
               200 response extracted
  trafilatura  trafilatura's CLI (``--input-dir``, our output: markdown, metadata, links,
               formatting, a process per CPU) on the pages the ``ccnews`` run kept
  workers      the ``ccnews`` crawl by a job of 2 workers (a loopback redis-server), then
               ``scrapy merge``

and prints records scanned/s, pages kept/s, CPU per page where it went (the run record's
``cpu_seconds``), the peak resident memory of each process tree, and the ratios.
``--big`` adds a file of over 1 GB (the first file's records repeated) read by the
``ccnews`` crawl: the peak memory with Common Crawl's file size.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from bench import realistic
from bench.run import ROOT, timed
from tests.support.ccnewsserver import CcNewsServer, build_corpus
from tests.support.redisserver import RedisServer

HOSTS = [f"www.outlet{n:02d}.example" for n in range(20)]
CHOSEN = "outlet03.example,outlet11.example"
NOWHERE = "nowhere.example"
SETTINGS = {
    "ALLOW_PRIVATE_ADDRESSES": "1", "WAYBACK_ENABLED": "0", "PROGRESS_INTERVAL": "0",
    "LOG_LEVEL": "WARNING", "AUTOTHROTTLE_ENABLED": "0",
}  # fmt: skip
MODES = ("ccnews", "scan", "all", "reextract", "trafilatura", "workers")
WORKERS = 2


def build(work: Path, files: int, captures: int, pages: int) -> tuple[Path, list[str], str]:
    """The corpus under work/ (built once for these sizes); its root, files and period."""
    root = work / f"cc-{files}x{captures}-{pages}"
    start = datetime(2024, 3, 1, tzinfo=UTC)
    starts = [start + timedelta(hours=6 * n) for n in range(files)]
    period = ("2024-03-01", (starts[-1] + timedelta(hours=6)).strftime("%Y-%m-%d"))
    marker = root / "built.json"
    if marker.exists():
        return root, json.loads(marker.read_text()), f"{period[0]}/{period[1]}"
    bodies = [(path.strip("/").replace("/", "-").removesuffix(".html"), body)
              for path, body in realistic.generate(pages).items()]  # fmt: skip
    corpus = build_corpus(root, starts, captures_per_file=captures, pages=bodies, hosts=HOSTS)
    marker.write_text(json.dumps(corpus.files))
    return root, corpus.files, f"{period[0]}/{period[1]}"


def crawl_cmd(base: str, archive: Path, period: str, sites: str | None,
              **more: str) -> list[str]:  # fmt: skip
    since, until = period.split("/")
    cmd = [sys.executable, "-m", "scrapy", "crawl", "ccnews", "-a", f"since={since}",
           "-a", f"until={until}"]  # fmt: skip
    if sites:
        cmd += ["-a", f"sites={sites}"]
    for key, value in {**SETTINGS, "CCNEWS_BASE": base, "ARCHIVE_DIR": str(archive),
                       **more}.items():  # fmt: skip
        cmd += ["-s", f"{key}={value}"]
    return cmd


def run_record(archive: Path) -> dict:
    [path] = sorted((archive / "runs").glob("*.json"))[-1:]
    return json.loads(path.read_text())


def counters(record: dict) -> dict:
    return record.get("counters") or {}


def run_ccnews(base: str, work: Path, name: str, period: str, sites: str | None) -> dict:
    archive = work / name
    wall, cpu, rss = timed(crawl_cmd(base, archive, period, sites), ROOT)
    record = run_record(archive)
    stats = counters(record)
    return {"wall": wall, "cpu": cpu, "rss": rss, "records": stats.get("ccnews/records", 0),
            "kept": stats.get("ccnews/kept", 0), "lines": stats.get("manifest/lines", 0),
            "bytes": stats.get("ccnews/bytes", 0), "split": record.get("cpu_seconds", {}),
            "archive": archive}  # fmt: skip


def run_reextract(root: Path, files: list[str], work: Path) -> dict:
    out = work / "reextract"
    cmd = [sys.executable, "-m", "scrapy", "reextract", *(str(root / f) for f in files),
           "--out", str(out), "--json"]  # fmt: skip
    wall, cpu, rss = timed(cmd, ROOT)
    lines = sum(1 for _ in (out / "manifest.jsonl").open())
    return {"wall": wall, "cpu": cpu, "rss": rss, "pages": lines}


def run_trafilatura(kept: Path, work: Path) -> dict:
    """trafilatura's CLI on the HTML of the pages the ccnews crawl kept."""
    from crawler.archive.directory import Archive

    pages = work / "kept-html"
    pages.mkdir(exist_ok=True)
    archive = Archive(kept)
    count = 0
    for line in archive.manifest_records():
        if line.get("warc_file"):
            with (archive.warc_dir / line["warc_file"]).open("rb") as fh:
                fh.seek(line["warc_offset"])
                body = next(iter(ArchiveIterator(fh))).content_stream().read()  # as decoded
            (pages / f"{line['id']}.html").write_bytes(body)
            count += 1
    exe = str(Path(sys.executable).parent / "trafilatura")
    cmd = [exe, "--input-dir", str(pages), "-o", str(work / "trafilatura-out"), "--markdown",
           "--with-metadata", "--links", "--formatting",
           "--parallel", str(os.cpu_count() or 1)]  # fmt: skip
    wall, cpu, rss = timed(cmd, work)
    return {"wall": wall, "cpu": cpu, "rss": rss, "pages": count}


def run_workers(base: str, work: Path, period: str, workers: int) -> dict:
    archive = work / "job"
    redis = RedisServer(work / "redis").start()
    try:
        started = time.monotonic()
        procs = [
            subprocess.Popen(
                crawl_cmd(base, archive, period, CHOSEN, JOB="bench", REDIS_URL=redis.url,
                          REDIS_WORKER=f"w{n}"),
                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            for n in range(workers)
        ]  # fmt: skip
        codes = [p.wait() for p in procs]
        crawled = time.monotonic() - started
        if codes != [0] * workers:
            raise SystemExit(f"a worker failed: {codes}")
        started = time.monotonic()
        merge = subprocess.run([sys.executable, "-m", "scrapy", "merge", str(archive), "--job",
                                "bench", "--redis", redis.url], cwd=ROOT, capture_output=True,
                               text=True, check=False)  # fmt: skip
        merged = time.monotonic() - started
    finally:
        redis.stop()
    if merge.returncode != 0:
        raise SystemExit(f"merge failed: {merge.stdout}{merge.stderr}")
    lines = (archive / "manifest.jsonl").read_text().count("\n")
    return {"wall": crawled, "merge": merged, "lines": lines, "n": workers}


def big_file(root: Path, files: list[str], size: int) -> Path:
    """A file of over *size* bytes (the first file's records again and again: its pages
    are kept once) and its month's listing, in a tree of its own."""
    tree = root.parent / f"{root.name}-big"
    relative = files[0].replace("-00000.warc.gz", "-09999.warc.gz")
    target = tree / relative
    if not target.exists():
        data = (root / files[0]).read_bytes()
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as fh:
            while fh.tell() < size:
                fh.write(data)
        (target.parent / "warc.paths.gz").write_bytes(gzip.compress(f"{relative}\n".encode()))
    return tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--captures", type=int, default=1700, help="per file (3 records each)")
    parser.add_argument("--pages", type=int, default=300, help="distinct realistic pages")
    parser.add_argument("--only", default=",".join(MODES))
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--big", action="store_true", help="also read a file of over 1 GB")
    parser.add_argument("--work", type=Path, help="keep the corpus here (built once)")
    args = parser.parse_args()
    modes = args.only.split(",")
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-ccnews-"))
    work.mkdir(parents=True, exist_ok=True)
    runs = Path(tempfile.mkdtemp(prefix="runs-", dir=work))
    root, files, period = build(work, args.files, args.captures, args.pages)
    size = sum((root / f).stat().st_size for f in files)
    print(f"{len(files)} files, {3 * args.files * args.captures + len(files)} records, "
          f"{size / 1e6:.0f} MB, {args.pages} distinct pages at {len(HOSTS)} sites; "
          f"period {period}; {os.cpu_count()} CPUs")  # fmt: skip
    results: dict[str, dict] = {}
    with CcNewsServer(root) as server:
        if "ccnews" in modes:
            results["ccnews"] = run_ccnews(server.base, runs, "ccnews", period, CHOSEN)
        if "scan" in modes:
            results["scan"] = run_ccnews(server.base, runs, "scan", period, NOWHERE)
        if "all" in modes:
            results["all"] = run_ccnews(server.base, runs, "all", period, None)
        if "workers" in modes:
            results["workers"] = run_workers(server.base, runs, period, args.workers)
    if "reextract" in modes:
        results["reextract"] = run_reextract(root, files, runs)
    if "trafilatura" in modes and "ccnews" in results:
        results["trafilatura"] = run_trafilatura(results["ccnews"]["archive"], runs)
    if args.big:
        with CcNewsServer(big_file(root, files, 1 << 30)) as server:
            results["big"] = run_ccnews(server.base, runs, "big", period, CHOSEN)
    report(results)


def report(results: dict[str, dict]) -> None:
    print(
        "\n| run | s | records/s | kept pages | pages/s | CPU s | crawl | WARC | extraction "
        "| storage | peak RSS MB |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    for name, r in results.items():
        if name in ("reextract", "trafilatura"):
            print(
                f"| {name} | {r['wall']:.1f} | | {r['pages']} | {r['pages'] / r['wall']:.1f} "
                f"| {r['cpu']:.1f} | | | | | {r['rss']:.0f} |"
            )
        elif name == "workers":
            print(
                f"| {name} (crawl; merge {r['merge']:.1f} s) | {r['wall']:.1f} | | "
                f"{r['lines']} | {r['lines'] / r['wall']:.1f} | | | | | | |"
            )
        else:
            split = r["split"]
            rest = r["cpu"] - sum(split.get(k, 0.0) for k in ("warc", "extraction", "storage"))
            print(
                f"| {name} | {r['wall']:.1f} | {r['records'] / r['wall']:.0f} | {r['lines']} "
                f"| {r['lines'] / r['wall']:.1f} | {r['cpu']:.1f} | {rest:.1f} "
                f"| {split.get('warc', 0):.1f} | {split.get('extraction', 0):.1f} "
                f"| {split.get('storage', 0):.1f} | {r['rss']:.0f} |"
            )
    ratios = []
    if "all" in results and "reextract" in results:
        ours = results["all"]["lines"] / results["all"]["wall"]
        theirs = results["reextract"]["pages"] / results["reextract"]["wall"]
        ratios.append(f"all sites, pages/s: ccnews / reextract = {ours / theirs:.2f}")
    if "ccnews" in results and "trafilatura" in results:
        ours = results["ccnews"]["lines"] / results["ccnews"]["wall"]
        theirs = results["trafilatura"]["pages"] / results["trafilatura"]["wall"]
        ratios.append(f"2 sites, pages/s: ccnews / trafilatura CLI on its pages = "
                      f"{ours / theirs:.2f}")  # fmt: skip
    if "ccnews" in results and "reextract" in results:
        times = results["reextract"]["wall"] / results["ccnews"]["wall"]
        ratios.append(f"2 sites: reextract of every page takes {times:.1f}x the ccnews crawl")
    if "workers" in results and "ccnews" in results:
        times = results["ccnews"]["wall"] / results["workers"]["wall"]
        merge = results["workers"]["merge"]
        workers = results["workers"]["n"]
        ratios.append(f"2 sites, {workers} workers / 1: {times:.2f}x (merge {merge:.1f} s apart)")
    if "scan" in results:
        scan = results["scan"]
        rate, mb = scan["records"] / scan["wall"], scan["bytes"] / scan["wall"] / 1e6
        cpu = scan["cpu"] / max(scan["records"], 1) * 1e6
        ratios.append(f"reading and filtering alone: {rate:.0f} records/s, {mb:.0f} MB/s of "
                      f"WARC, {cpu:.0f} us of CPU per record (start-up included)")  # fmt: skip
    for line in ratios:
        print(line)


if __name__ == "__main__":
    main()
