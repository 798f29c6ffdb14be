"""The researchers' tools on one WARC file: ``scrapy verify`` and ``scrapy reextract``.

    python -m bench.tools [--pages 1000] [--filler 0.33] [--keep DIR]

Writes a WARC file with this project's writer from ``--pages`` generated news pages
(bench/corpus.py; ``--filler`` adds that share of incompressible bytes to each body, so
the file also grows like one of real pages with images inlined) and times, in one
session, on that same file:

  index           scrapy index (the CDXJ index: cdxj-indexer lines, requests typed, sorted)
  cdxj-indexer    cdxj-indexer's own command on the file, same records (the peer)
  verify          scrapy verify (every block and payload digest, and the index; FastWARC)
  warcio check    the same digests with warcio's reader (the peer)
  reextract       scrapy reextract WARC --out DIR (decode, extract, dump; worker pool)
  ceiling         the extraction alone on the same bodies, one process per CPU

and prints MB/s and pages/s with the ratios. Touches no network.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import corpus
from bench.run import run_ceiling
from crawler.warc.writer import HttpExchange, WarcWriter

ROOT = Path(__file__).resolve().parent.parent


def write_warc(directory: Path, pages: dict[str, bytes], filler: float) -> Path:
    writer = WarcWriter(directory, max_size=100 * 1024**3, gzip_level=1)
    for index, body in enumerate(pages.values()):
        writer.write_exchange(
            HttpExchange(
                url=f"http://127.0.0.1/news/{index}.html", method="GET",
                request_headers=[(b"User-Agent", b"bench")],
                response_headers=[(b"Content-Type", b"text/html; charset=utf-8")],
                status=200, body=body + os.urandom(int(len(body) * filler)),
                date=datetime.now(UTC),
            )
        )  # fmt: skip
    writer.close()
    [path] = directory.glob("*.warc.gz")
    return path


def timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0 and "check" not in cmd:
        raise SystemExit(f"{cmd} failed:\n{result.stdout}{result.stderr}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--filler", type=float, default=0.0)
    parser.add_argument("--keep", type=Path, help="keep the WARC and the outputs here")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="tools-bench-"))
    archive = work / "archive"
    (archive / "warc").mkdir(parents=True, exist_ok=True)
    (archive / "manifest.jsonl").write_text("")
    pages = corpus.generate(args.pages)
    path = write_warc(archive / "warc", pages, args.filler)
    mb = path.stat().st_size / 1e6
    bin_dir = Path(sys.executable).parent
    scrapy = [sys.executable, "-m", "scrapy"]
    peer_index = [str(bin_dir / "cdxj-indexer"), "--records", "response,revisit,request",
                  "-s", "-o", str(work / "peer.cdxj"), str(path)]  # fmt: skip
    results = {
        "index": timed([*scrapy, "index", str(archive)]),
        "cdxj-indexer": timed(peer_index),
        "verify": timed([*scrapy, "verify", str(archive)]),
        "warcio check": timed([str(bin_dir / "warcio"), "check", str(path)]),
        "reextract": timed([*scrapy, "reextract", str(path), "--out", str(work / "out")]),
        "ceiling": run_ceiling(pages)[0],
    }
    n = len(pages)
    print(f"{n} pages, WARC of {mb:.1f} MB ({mb / n * 1000:.0f} KB a page), {os.cpu_count()} CPUs")
    print("| tool | seconds | MB/s | pages/s |\n|---|---:|---:|---:|")
    for name, seconds in results.items():
        print(f"| {name} | {seconds:.1f} | {mb / seconds:.0f} | {n / seconds:.0f} |")
    check = results["warcio check"] / results["verify"]
    ceiling = results["ceiling"] / results["reextract"]
    index = results["cdxj-indexer"] / results["index"]
    print(
        f"verify / warcio check: {check:.1f}x; reextract / extraction ceiling: {ceiling:.2f}x; "
        f"index / cdxj-indexer: {index:.2f}x"
    )
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
