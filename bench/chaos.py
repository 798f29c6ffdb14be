"""A distributed job under fire: workers SIGKILLed at random moments and restarted.

The check of the distributed-jobs issue at full size: N workers crawl a few thousand
loopback pages (``/paced/`` articles of the test site, under two host names, 127.0.0.1
and localhost, each with its own shared rate) while a seeded random schedule kills one
worker at a time with SIGKILL and starts it again. Then ``scrapy merge`` and
``scrapy verify``, and the figures: lines per URL (exactly one each), entries done twice,
pages fetched twice, the busiest second each host saw against its rate, robots.txt
fetches, pages/s.

    .venv/bin/python -m bench.chaos --pages 3000 --workers 3 --kills 8
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.run import BULK, ROOT
from tests.support.rates import too_fast
from tests.support.redisserver import RedisServer
from tests.support.siteserver import SiteServer


def scrapy(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scrapy", *args], cwd=ROOT,
                          capture_output=True, text=True, check=False)  # fmt: skip


def busiest_second(arrivals: list[float]) -> int:
    """The most requests that arrived within any one second."""
    arrivals, most, start = sorted(arrivals), 0, 0
    for end, at in enumerate(arrivals):
        while at - arrivals[start] > 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--kills", type=int, default=8)
    parser.add_argument("--rate", type=float, default=20.0, help="requests/s per host")
    parser.add_argument("--burst", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    names = [f"w{i}" for i in range(args.workers)]
    with SiteServer() as site, tempfile.TemporaryDirectory(prefix="bench-chaos-") as tmp:
        work = Path(tmp)
        archive = work / "archive"
        bases = [site.base_url, site.base_url.replace("127.0.0.1", "localhost")]
        urls = [f"{bases[i % 2]}/paced/chaos-{i}.html" for i in range(args.pages)]
        (work / "urls.txt").write_text("".join(f"{u}\n" for u in urls))
        redis = RedisServer(work / "redis").start()
        settings = {**BULK, "ARCHIVE_DIR": str(archive), "JOB": "chaos",
                    "REDIS_URL": redis.url, "REDIS_HOST_RATE": str(args.rate),
                    "REDIS_HOST_BURST": str(args.burst), "REDIS_LEASE": "5",
                    "REDIS_MAX_DELIVERIES": "20"}  # fmt: skip

        def start(name: str) -> subprocess.Popen:
            cmd = [sys.executable, "-m", "scrapy", "crawl", "urls"]
            for key, value in {**settings, "REDIS_WORKER": name}.items():
                cmd += ["-s", f"{key}={value}"]
            return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)  # fmt: skip

        def lines() -> int:
            parts = (archive / "workers" / n / "manifest.jsonl" for n in names)
            return sum(p.read_bytes().count(b"\n") for p in parts if p.exists())

        try:
            assert scrapy("enqueue", "chaos", str(work / "urls.txt"), "--redis",
                          redis.url).returncode == 0  # fmt: skip
            began = time.monotonic()
            workers = {n: start(n) for n in names}
            kills: list[dict] = []
            while len(kills) < args.kills:
                time.sleep(rng.uniform(2.0, 8.0))
                done = lines()
                if done >= args.pages * 0.95:
                    break
                victim = rng.choice(names)
                os.kill(workers[victim].pid, signal.SIGKILL)
                workers[victim].wait()
                kills.append({"worker": victim, "at_s": round(time.monotonic() - began, 1),
                              "lines_then": done})  # fmt: skip
                workers[victim] = start(victim)
            codes = [w.wait() for w in workers.values()]
            crawled = time.monotonic() - began
            merged = scrapy("merge", str(archive), "--job", "chaos", "--redis", redis.url)
            verify = scrapy("verify", str(archive))
        finally:
            redis.stop()
        manifest = [json.loads(x) for x in (archive / "manifest.jsonl").read_text().splitlines()]
        per_url = Counter(line["url"] for line in manifest)
        with site.log.lock:
            seen = [r for r in site.log.requests if r.at >= began]
        fetched = Counter(r.path for r in seen if r.path.startswith("/paced/"))
        hosts = {}
        for host in ("127.0.0.1", "localhost"):
            arrivals = [r.at for r in seen if r.host == host]
            hosts[host] = {
                "requests": len(arrivals),
                "busiest_second": busiest_second(arrivals),
                "allowed_per_second": args.rate + args.burst,
                "windows_over_the_bucket": len(too_fast(arrivals, args.rate, args.burst)),
                "robots_fetches": sum(r.path == "/robots.txt" for r in seen if r.host == host),
            }
        report = {
            "pages": args.pages, "workers": args.workers, "kills": kills,
            "worker_exit_codes": codes, "seconds": round(crawled, 1),
            "pages_per_s": round(args.pages / crawled, 1),
            "merge": merged.stdout.strip() or merged.stderr.strip(),
            "verify_exit": verify.returncode,
            "urls_without_a_line": len(set(urls) - set(per_url)),
            "urls_with_more_than_one_line": sum(1 for n in per_url.values() if n > 1),
            "outcomes": Counter(line["outcome"] for line in manifest),
            "pages_fetched_more_than_once": sum(1 for n in fetched.values() if n > 1),
            "extra_fetches": sum(fetched.values()) - len(fetched),
            "hosts": hosts,
        }  # fmt: skip
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
