"""Throughput benchmark: this crawler against its peers, same pages, same session.

    python -m bench.run [--pages 300] [--reps 3] [--corpus DIR] [--only full,wget,...]

Serves a corpus from 127.0.0.1 (default: generated news pages of realistic size and
markup; ``--corpus DIR`` serves any directory of .html files) and runs, on the same URL
list, each mode ``--reps`` times:

  full          scrapy crawl urls: fetch + WARC + extraction + dumps + manifest
  archive       the same with EXTRACT_ENABLED=0 (fetch + WARC + manifest)
  nocapture     archive-only with WARC_ENABLED=0 too: the cost of WARC capture
  trafilatura   trafilatura's CLI fetching and extracting (markdown + metadata)
  wget          wget --warc-file -i (archiving alone)
  ceiling       trafilatura markdown + metadata on the same HTML in a process pool, no fetching

and prints the median pages/s, CPU seconds per page, peak RSS, and the ratios ours/peer.
Only loopback is contacted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench import corpus

ROOT = Path(__file__).resolve().parent.parent
MODES = ("full", "archive", "nocapture", "trafilatura", "wget", "ceiling")

# Ours in its bulk profile: one site on loopback, no politeness delay to adapt.
BULK = {
    "AUTOTHROTTLE_ENABLED": "0",
    "CONCURRENT_REQUESTS": "32",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "ALLOW_PRIVATE_ADDRESSES": "1",
    "WAYBACK_ENABLED": "0",
    "PROGRESS_INTERVAL": "0",
    "LOG_LEVEL": "WARNING",
}


class Server:
    """The corpus on 127.0.0.1, HTTP/1.1 keep-alive, from memory."""

    def __init__(self, pages: dict[str, bytes]) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                body = pages.get(self.path.split("?")[0])
                if self.path == "/robots.txt":
                    body, ctype = b"User-agent: *\nAllow: /\n", "text/plain"
                else:
                    ctype = "text/html; charset=utf-8"
                status = 200 if body is not None else 404
                body = body if body is not None else b"not found"
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@dataclass
class Result:
    mode: str
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)

    def rate(self, pages: int) -> float:
        return pages / statistics.median(self.seconds)

    def cpu_per_page(self, pages: int) -> float:
        return statistics.median(self.cpu) / pages


def _tree_rss_kb(root: int) -> int:
    """Resident memory of a process and all its descendants, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pid = int(entry.name)
        children.setdefault(int(fields.get("PPid", "0").strip()), []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0])
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def timed(
    cmd: list[str], cwd: Path, env: dict[str, str] | None = None
) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (the process and the children it waited for), peak MB of
    resident memory of the whole process tree (sampled every 0.2 s)."""
    start = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.2):
            peak = max(peak, _tree_rss_kb(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    sampler.join()
    wall = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode(errors="replace")[-2000:] if proc.stderr else ""
        raise SystemExit(f"{cmd[0]} failed ({proc.returncode}):\n{err}")
    return wall, usage.ru_utime + usage.ru_stime, peak / 1024


def run_ours(mode: str, url_file: Path, work: Path) -> tuple[float, float, float]:
    settings = dict(BULK)
    if mode in ("archive", "nocapture"):
        settings["EXTRACT_ENABLED"] = "0"
    if mode == "nocapture":
        settings["WARC_ENABLED"] = "0"
    cmd = [sys.executable, "-m", "scrapy", "crawl", "urls", "-a", f"urls={url_file}"]
    for key, value in {**settings, "ARCHIVE_DIR": str(work / "archive")}.items():
        cmd += ["-s", f"{key}={value}"]
    return timed(cmd, ROOT)


def run_trafilatura(url_file: Path, work: Path) -> tuple[float, float, float]:
    config = work / "trafilatura.cfg"
    source = Path(sys.modules["trafilatura"].__file__).parent / "settings.cfg"
    text = source.read_text()
    text = text.replace("SLEEP_TIME = 5.0", "SLEEP_TIME = 0").replace(
        "SSRF_PROTECTION = on", "SSRF_PROTECTION = off"
    )
    config.write_text(text)
    exe = str(Path(sys.executable).parent / "trafilatura")
    cmd = [
        exe, "-i", str(url_file), "-o", str(work / "out"), "--markdown", "--with-metadata",
        "--config-file", str(config), "--parallel", str(os.cpu_count() or 1),
    ]  # fmt: skip
    return timed(cmd, work)


def run_wget(url_file: Path, work: Path) -> tuple[float, float, float]:
    wget = shutil.which("wget")
    if wget is None:
        raise SystemExit("wget is not installed (apt-get install wget)")
    cmd = [wget, "-q", "-i", str(url_file), f"--warc-file={work / 'wget'}", "-P", str(work / "out")]
    return timed(cmd, work)


def _extract(body: bytes) -> int:
    from crawler.extraction import extract_page
    from crawler.items import ExtractOptions

    options = ExtractOptions(min_paragraph_words=10)
    article = extract_page(body, "text/html; charset=utf-8", "http://127.0.0.1/p.html", options)
    return article.article.words if article.article else 0


def run_ceiling(pages: dict[str, bytes]) -> tuple[float, float, float]:
    import resource

    before_self = resource.getrusage(resource.RUSAGE_SELF)
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
        list(pool.map(_extract, list(pages.values())[:8], chunksize=4))  # start the workers
        peak = _tree_rss_kb(os.getpid()) - _tree_rss_kb_self()
        list(pool.map(_extract, pages.values(), chunksize=4))
        peak = max(peak, _tree_rss_kb(os.getpid()) - _tree_rss_kb_self())
    wall = time.monotonic() - start
    after_self = resource.getrusage(resource.RUSAGE_SELF)
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(
        (a.ru_utime + a.ru_stime) - (b.ru_utime + b.ru_stime)
        for a, b in ((after_self, before_self), (after_children, before_children))
    )
    return wall, cpu, peak / 1024


def _tree_rss_kb_self() -> int:
    """This (benchmark) process alone: it holds the corpus, which is not the ceiling's."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300, help="generated pages (default 300)")
    parser.add_argument("--corpus", help="a directory of .html files to serve instead")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--only", default=",".join(MODES), help="comma-separated modes")
    args = parser.parse_args()
    modes = [m for m in args.only.split(",") if m]
    unknown = set(modes) - set(MODES)
    if unknown:
        raise SystemExit(f"unknown modes {sorted(unknown)}; choose from {MODES}")

    pages = corpus.load(args.corpus) if args.corpus else corpus.generate(args.pages)
    server = Server(pages)
    n = len(pages)
    size = statistics.mean(len(b) for b in pages.values()) / 1024
    print(f"{n} pages of {size:.0f} KB on average at {server.base}; {args.reps} reps each; "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    import trafilatura  # noqa: F401  (for run_trafilatura's config path)

    results = {m: Result(m) for m in modes}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        url_file = Path(tmp) / "urls.txt"
        url_file.write_text("".join(f"{server.base}{path}\n" for path in pages))
        # Interleave modes within each repetition, so machine noise hits all alike.
        for rep in range(args.reps):
            for mode in modes:
                work = Path(tmp) / f"{mode}-{rep}"
                work.mkdir()
                if mode == "trafilatura":
                    measured = run_trafilatura(url_file, work)
                elif mode == "wget":
                    measured = run_wget(url_file, work)
                elif mode == "ceiling":
                    measured = run_ceiling(pages)
                else:
                    measured = run_ours(mode, url_file, work)
                wall, cpu, rss = measured
                results[mode].seconds.append(wall)
                results[mode].cpu.append(cpu)
                results[mode].rss_mb.append(rss)
                print(f"  rep {rep + 1} {mode:<12} {n / wall:7.1f} pages/s", flush=True)
                shutil.rmtree(work, ignore_errors=True)

    print()
    print("| mode | pages/s | CPU s/page | peak RSS MB |")
    print("|---|---:|---:|---:|")
    for mode, result in results.items():
        print(
            f"| {mode} | {result.rate(n):.1f} | {result.cpu_per_page(n):.4f} "
            f"| {max(result.rss_mb):.0f} |"
        )
    print()

    def ratio(a: str, b: str, label: str) -> None:
        if a in results and b in results:
            print(f"- {label}: {results[a].rate(n) / results[b].rate(n):.2f}x")

    ratio("full", "trafilatura", "full pipeline / trafilatura CLI (target >= 1.3)")
    ratio("full", "ceiling", "full pipeline / extraction ceiling (target >= 0.9)")
    ratio("archive", "wget", "archive-only / wget --warc-file (target >= 1.0)")
    if "archive" in results and "nocapture" in results:
        cost = statistics.median(results["archive"].seconds) / statistics.median(
            results["nocapture"].seconds
        )
        print(f"- WARC capture cost: {100 * (cost - 1):+.1f}% time (target <= +10%)")


if __name__ == "__main__":
    main()
