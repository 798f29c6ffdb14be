"""Extraction CPU per page, this tree against an earlier revision, on the same real pages.

    .venv/bin/python -m bench.cost [--baseline 21faddd] [--limit N] [--split all]

Each revision runs in a process of its own (the revision's ``crawler`` package exported
with ``git archive`` into a temporary directory, first on ``sys.path``) over the pages of
bench/data/news.jsonl.xz: ``extract_page`` (decoding, metadata, body, access labels, links:
everything a crawl's extraction worker does) on each page's bytes, after one warm-up
pass, timed with the process's CPU clock. The revisions alternate ``--reps`` times and
the median of each is printed, with the ratio (the issue's budget: 1.2), and how many
pages had an article at the revision and have none now (and the other way round).
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("BENCH_NEWS", ROOT / "bench" / "data" / "news.jsonl.xz"))
CURRENT = "working tree"


def load(split: str, limit: int | None) -> list[tuple[str, bytes]]:
    pages = []
    with lzma.open(DATA, "rt", encoding="utf-8") as fh:
        for line in fh:
            page = json.loads(line)
            if split != "all" and page.get("split") != split:
                continue
            pages.append((page["url"], page["html"].encode("utf-8")))
            if limit and len(pages) >= limit:
                break
    return pages


def worker(split: str, limit: int | None) -> None:
    """In the child: extract every page twice (warm-up, then timed); print JSON."""
    from crawler.extract.article import extract_page
    from crawler.extract.stage import quiet_trafilatura_logging

    quiet_trafilatura_logging()
    pages = load(split, limit)
    for url, body in pages[:20]:
        extract_page(body, "text/html; charset=utf-8", url)
    times, articles = [], []
    for url, body in pages:
        started = time.process_time()
        try:
            found = extract_page(body, "text/html; charset=utf-8", url)
            articles.append(found.article is not None)
        except Exception:
            articles.append(False)
        times.append(time.process_time() - started)
    print(json.dumps({"pages": len(pages), "ok": sum(articles), "articles": articles,
                      "times": times}))  # fmt: skip


def export(revision: str) -> Path:
    where = Path(tempfile.mkdtemp(prefix="cost-"))
    archive = subprocess.run(["git", "archive", revision, "crawler"], cwd=ROOT,
                             capture_output=True, check=True).stdout  # fmt: skip
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(where, filter="data")
    return where


def run(path: Path | None, split: str, limit: int | None) -> dict:
    env = {**os.environ, "PYTHONPATH": f"{path or ROOT}:{ROOT}"}
    code = f"import bench.cost as c; c.worker({split!r}, {limit!r})"
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=path or ROOT,
                         capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", default="21faddd", help="the revision to compare with")
    parser.add_argument("--split", default="all", choices=("all", "tune", "heldout"))
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--reps", type=int, default=2)
    args = parser.parse_args()
    old = export(args.baseline)
    results: dict[str, list[dict]] = {args.baseline: [], CURRENT: []}
    for _ in range(args.reps):
        results[args.baseline].append(run(old, args.split, args.limit))
        results[CURRENT].append(run(None, args.split, args.limit))
    print("| revision | pages | ok | CPU ms/page mean | median | p95 |")
    print("|---|---:|---:|---:|---:|---:|")
    means = {}
    for name, reps in results.items():
        mean = statistics.median(1000 * statistics.fmean(r["times"]) for r in reps)
        median = statistics.median(1000 * statistics.median(r["times"]) for r in reps)
        p95 = statistics.median(1000 * sorted(r["times"])[int(0.95 * len(r["times"]))]
                                for r in reps)  # fmt: skip
        means[name] = mean
        print(f"| {name} | {reps[0]['pages']} | {reps[0]['ok']} | {mean:.1f} | {median:.1f} "
              f"| {p95:.1f} |")  # fmt: skip
    print(f"\nratio (working tree / {args.baseline}): {means[CURRENT] / means[args.baseline]:.2f}"
          " (budget 1.20)")  # fmt: skip
    before, after = results[args.baseline][0]["articles"], results[CURRENT][0]["articles"]
    lost = sum(b and not a for b, a in zip(before, after, strict=True))
    gained = sum(a and not b for b, a in zip(before, after, strict=True))
    print(f"pages with an article before and none now: {lost}; the other way: {gained}")


if __name__ == "__main__":
    main()
