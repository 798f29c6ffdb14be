"""How fast ``scrapy verify`` reads a big WARC file, against ``warcio check`` on the same file.

    python -m bench.verify [--mb 1000] [--keep DIR]

Writes a WARC file of about ``--mb`` MB (compressed) with this project's writer, from
generated news pages (bench/corpus.py) and incompressible filler, then times, in one
session: ``scrapy verify`` over an archive holding it (every block and payload digest
recomputed), and ``warcio check`` (the same digests, warcio's reader). Prints MB/s and
the ratio. Touches no network.
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
from crawler.warc import HttpExchange, WarcWriter

ROOT = Path(__file__).resolve().parent.parent


def write_big_warc(directory: Path, megabytes: int) -> Path:
    writer = WarcWriter(directory, max_size=10 * 1024**3, gzip_level=1)
    target = megabytes * 1024 * 1024
    index = 0
    while True:
        html = corpus.page(index).encode()
        # a third of incompressible bytes, so the file grows like one of real pages
        body = html + os.urandom(len(html) // 3)
        writer.write_exchange(
            HttpExchange(
                url=f"http://127.0.0.1/news/{index}.html", method="GET",
                request_headers=[(b"User-Agent", b"bench")],
                response_headers=[(b"Content-Type", b"text/html; charset=utf-8")],
                status=200, body=body, date=datetime.now(UTC),
            )
        )  # fmt: skip
        index += 1
        if writer._fh is not None and writer._fh.tell() >= target:
            break
    writer.close()
    [path] = directory.glob("*.warc.gz")
    return path


def timed(cmd: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    return time.perf_counter() - started, result.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="keep the archive here")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="verify-bench-"))
    archive = work / "archive"
    (archive / "warc").mkdir(parents=True, exist_ok=True)
    print(f"Writing a WARC of about {args.mb} MB in {archive} ...", flush=True)
    path = write_big_warc(archive / "warc", args.mb)
    size = path.stat().st_size / 1e6
    (archive / "manifest.jsonl").write_text("")
    bin_dir = Path(sys.executable).parent
    ours, ours_rc = timed([sys.executable, "-m", "scrapy", "verify", str(archive)])
    theirs, theirs_rc = timed([str(bin_dir / "warcio"), "check", str(path)])
    print("| tool | seconds | MB/s | exit |\n|---|---:|---:|---:|")
    print(f"| scrapy verify | {ours:.1f} | {size / ours:.0f} | {ours_rc} |")
    print(f"| warcio check | {theirs:.1f} | {size / theirs:.0f} | {theirs_rc} |")
    print(f"{size:.0f} MB file: verify is {theirs / ours:.1f}x warcio check")
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
