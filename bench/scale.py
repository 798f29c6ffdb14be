"""Scale check: the full pipeline on 1k / 10k / 100k-URL lists of small pages.

    python -m bench.scale [--sizes 1000,10000,100000]

Pages are small (~3 KB articles) so the run measures the crawler's per-URL costs and
memory, not extraction of big pages. Prints pages/s and peak RSS per size (RSS: the
largest of the crawler process and its worker processes). Only loopback is contacted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench.run import BULK, ROOT, Server, timed

PARAGRAPH = (
    "The harbor council met on Tuesday to discuss the ferry timetable, the bridge repair "
    "and the budget for the coming year, and residents filled the public gallery. "
)


class SmallPages(dict):
    """``/s/<n>.html`` -> a small article, made on demand (no 100k pages in memory)."""

    def get(self, path: str, default: bytes | None = None) -> bytes | None:
        if not (path.startswith("/s/") and path.endswith(".html")):
            return default
        n = path[3:-5]
        return (
            f"<html><head><title>Story {n}</title></head><body><article><h1>Story {n}</h1>"
            f"<p>{PARAGRAPH * 3}</p><p>Story number {n}. {PARAGRAPH * 2}</p></article>"
            "</body></html>"
        ).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    args = parser.parse_args()
    server = Server(SmallPages())
    print("| URLs | seconds | pages/s | peak RSS MB |")
    print("|---:|---:|---:|---:|")
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="scale-") as tmp:
            urls = Path(tmp) / "urls.txt"
            with urls.open("w") as fh:
                for i in range(size):
                    fh.write(f"{server.base}/s/{i}.html\n")
            cmd = [sys.executable, "-m", "scrapy", "crawl", "urls", "-a", f"urls={urls}"]
            for key, value in {**BULK, "ARCHIVE_DIR": f"{tmp}/archive"}.items():
                cmd += ["-s", f"{key}={value}"]
            wall, _, rss = timed(cmd, ROOT)
            lines = sum(1 for _ in (Path(tmp) / "archive" / "manifest.jsonl").open())
            assert lines == size, f"{lines} manifest lines for {size} URLs"
            print(f"| {size} | {wall:.0f} | {size / wall:.1f} | {rss:.0f} |", flush=True)


if __name__ == "__main__":
    main()
