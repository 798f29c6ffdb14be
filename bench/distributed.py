"""Distributed jobs against a single-process crawl: what the coordination costs.

The same pages from loopback (the realistic corpus of bench.run), crawled by one
``scrapy crawl urls`` and by a job of N workers on this machine sharing a loopback
redis-server (``scrapy enqueue`` first, the workers, then ``scrapy merge``), with the
shared per-host bucket off (as the single crawl has no rate limit) and on at a rate no
run reaches (its cost alone: a Lua call per request). Prints pages/s and the ratios.

    .venv/bin/python -m bench.distributed --pages 1000 --workers 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.run import BULK, ROOT, Server, load_corpus
from tests.support.redisserver import RedisServer


def scrapy(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scrapy", *args], cwd=ROOT, check=True,
                          capture_output=True, text=True)  # fmt: skip


def settings_args(settings: dict[str, str]) -> list[str]:
    return [arg for key, value in settings.items() for arg in ("-s", f"{key}={value}")]


def single(url_file: Path, work: Path) -> float:
    started = time.monotonic()
    scrapy("crawl", "urls", "-a", f"urls={url_file}",
           *settings_args({**BULK, "ARCHIVE_DIR": str(work / "single")}))  # fmt: skip
    return time.monotonic() - started


def job(url_file: Path, work: Path, redis: RedisServer, workers: int, rate: str,
        name: str) -> tuple[float, float]:  # fmt: skip
    """Seconds from enqueue to the last worker's exit, and the merge's seconds."""
    archive = work / name
    started = time.monotonic()
    scrapy("enqueue", name, str(url_file), "--redis", redis.url)
    settings = {**BULK, "ARCHIVE_DIR": str(archive), "JOB": name, "REDIS_URL": redis.url,
                "REDIS_HOST_RATE": rate}  # fmt: skip
    base = [sys.executable, "-m", "scrapy", "crawl", "urls"]
    procs = [
        subprocess.Popen(
            base + settings_args({**settings, "REDIS_WORKER": f"w{i}"}),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(workers)
    ]
    codes = [p.wait() for p in procs]
    crawled = time.monotonic() - started
    if codes != [0] * workers:
        raise SystemExit(f"a worker failed: {codes}")
    started = time.monotonic()
    scrapy("merge", str(archive), "--job", name, "--redis", redis.url)
    lines = (archive / "manifest.jsonl").read_text().count("\n")
    if lines != len(url_file.read_text().splitlines()):
        raise SystemExit(f"{name}: {lines} manifest lines after the merge")
    return crawled, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reps", type=int, default=2)
    args = parser.parse_args()
    pages, gzipped, content_type = load_corpus("realistic", args.pages)
    server = Server(pages, gzipped=gzipped, content_type=content_type)
    results: dict[str, list[float]] = {"single": [], "job": [], "job+bucket": []}
    merges: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-dist-") as tmp:
        work = Path(tmp)
        url_file = work / "urls.txt"
        url_file.write_text("".join(f"{server.base}{path}\n" for path in pages))
        redis = RedisServer(work / "redis").start()
        try:
            for rep in range(args.reps):
                results["single"].append(single(url_file, work / f"r{rep}"))
                crawled, merged = job(url_file, work / f"r{rep}", redis, args.workers, "0",
                                      f"plain{rep}")  # fmt: skip
                results["job"].append(crawled)
                merges.append(merged)
                crawled, _ = job(url_file, work / f"r{rep}", redis, args.workers, "100000",
                                 f"bucket{rep}")  # fmt: skip
                results["job+bucket"].append(crawled)
                print(f"  rep {rep + 1}: " + ", ".join(
                    f"{mode} {args.pages / secs[-1]:.1f} pages/s" for mode, secs in results.items()
                ), flush=True)  # fmt: skip
        finally:
            redis.stop()
    rates = {mode: args.pages / statistics.median(secs) for mode, secs in results.items()}
    print(json.dumps({"pages": args.pages, "workers": args.workers, "pages_per_s": rates,
                      "merge_s": statistics.median(merges)}, indent=2))  # fmt: skip
    for mode in ("job", "job+bucket"):
        print(f"- {mode} ({args.workers} workers) / single process: "
              f"{rates[mode] / rates['single']:.2f}x (target >= 0.9)")  # fmt: skip


if __name__ == "__main__":
    main()
