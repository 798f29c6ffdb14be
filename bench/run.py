"""Throughput benchmark: this crawler against its peers, same pages, same session.

    python -m bench.run [--pages 1000] [--reps 3] [--corpus realistic|uniform|real|DIR]
                        [--only full,wget,...] [--short 200]

Serves a corpus from 127.0.0.1 (default: bench/realistic.py's varied pages in ten
languages, gzip-encoded for clients that ask, as news sites serve them; ``uniform``:
bench/corpus.py's 160 KB pages; ``real``: the real pages of bench/data/news.jsonl.xz, as
UTF-8 with a charset in the header, gzip-encoded; a DIR: its .html files) and runs, on
the same URL list,
each mode ``--reps`` times, interleaved:

  full              scrapy crawl urls: fetch + WARC + extraction + dumps + manifest
  archive           the same with EXTRACT_ENABLED=0 (fetch + WARC + manifest)
  nocapture         archive-only with WARC_ENABLED=0 too: the cost of WARC capture
  trafilatura       trafilatura's CLI fetching and extracting, plain text (its default)
  trafilatura-same  the CLI asked for our output: markdown, metadata, links, formatting
  wget              wget --warc-file -i (archiving alone)
  ceiling           our extraction alone on the same bodies, a process per CPU, no fetching

and prints the median pages/s, CPU ms per page (ours split into crawl, WARC, extraction
and storage, from the run record), peak RSS of the process tree, and the ratios against
the targets. ``--short N`` also runs full and trafilatura on the first N URLs, start-up
included, with the time from start to the first page request. Only loopback is contacted.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import os
import re
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

from bench import corpus, realistic

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data" / "news.jsonl.xz"
MODES = ("full", "archive", "nocapture", "trafilatura", "trafilatura-same", "wget", "ceiling")
OURS = ("full", "archive", "nocapture")

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
    """The corpus on 127.0.0.1, HTTP/1.1 keep-alive, from memory; gzip-encoded for a
    client that accepts it when *gzipped* (compressed once, at level 6). Records when
    the first page request of a run arrives (``first_request``; ``reset()`` between runs)."""

    def __init__(self, pages: dict[str, bytes], gzipped: bool = False,
                 content_type: str = "text/html; charset=utf-8") -> None:  # fmt: skip
        compressed: dict[str, bytes] = {}
        lock = threading.Lock()
        server = self
        self.first_request: float | None = None
        self.content_type = content_type

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                body = pages.get(path)
                encoding = None
                if self.path == "/robots.txt":
                    body, ctype = b"User-agent: *\nAllow: /\n", "text/plain"
                else:
                    ctype = content_type
                    if server.first_request is None:
                        server.first_request = time.monotonic()
                    accepts = "gzip" in self.headers.get("Accept-Encoding", "")
                    if body is not None and gzipped and accepts:
                        with lock:
                            if path not in compressed:
                                compressed[path] = gzip.compress(body, 6, mtime=0)
                        body, encoding = compressed[path], "gzip"
                status = 200 if body is not None else 404
                body = body if body is not None else b"not found"
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                if encoding:
                    self.send_header("Content-Encoding", encoding)
                    self.send_header("Vary", "Accept-Encoding")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def reset(self) -> None:
        self.first_request = None


@dataclass
class Result:
    mode: str
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    split: list[dict[str, float]] = field(default_factory=list)  # ours: CPU s per stage
    first: list[float] = field(default_factory=list)  # s from start to the first request

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


def cpu_split(work: Path, total: float) -> dict[str, float]:
    """CPU seconds per stage from the run record: extraction, WARC, storage, and the
    rest of the tree's (fetching, Scrapy, start-up) as crawl."""
    [path] = (work / "archive" / "runs").glob("*.json")
    cpu = json.loads(path.read_text())["cpu_seconds"]
    split = {stage: cpu.get(stage, 0.0) for stage in ("warc", "extraction", "storage")}
    split["crawl"] = total - sum(split.values())
    return split


def run_trafilatura(url_file: Path, work: Path, same: bool = False) -> tuple[float, float, float]:
    config = work / "trafilatura.cfg"
    source = Path(sys.modules["trafilatura"].__file__).parent / "settings.cfg"
    text = source.read_text()
    text = text.replace("SLEEP_TIME = 5.0", "SLEEP_TIME = 0").replace(
        "SSRF_PROTECTION = on", "SSRF_PROTECTION = off"
    )
    config.write_text(text)
    exe = str(Path(sys.executable).parent / "trafilatura")
    output = ["--markdown", "--with-metadata", "--links", "--formatting"] if same else []
    cmd = [
        exe, "-i", str(url_file), "-o", str(work / "out"), *output,
        "--config-file", str(config), "--parallel", str(os.cpu_count() or 1),
    ]  # fmt: skip
    return timed(cmd, work)


def run_wget(url_file: Path, work: Path) -> tuple[float, float, float]:
    wget = shutil.which("wget")
    if wget is None:
        raise SystemExit("wget is not installed (apt-get install wget)")
    cmd = [wget, "-q", "-i", str(url_file), f"--warc-file={work / 'wget'}", "-P", str(work / "out")]
    return timed(cmd, work)


def _extract(body: bytes, content_type: str = "text/html") -> int:
    from crawler.core.items import ExtractOptions
    from crawler.extract.article import extract_page

    options = ExtractOptions(min_paragraph_words=10)
    article = extract_page(body, content_type, "http://127.0.0.1/p.html", options)
    return article.article.words if article.article else 0


def run_ceiling(
    pages: dict[str, bytes], content_type: str = "text/html"
) -> tuple[float, float, float]:
    import resource

    before_self = resource.getrusage(resource.RUSAGE_SELF)
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    extract = functools.partial(_extract, content_type=content_type)
    with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
        list(pool.map(extract, list(pages.values())[:8], chunksize=4))  # start the workers
        peak = _tree_rss_kb(os.getpid()) - _tree_rss_kb_self()
        list(pool.map(extract, pages.values(), chunksize=4))
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


def real_pages(limit: int) -> dict[str, bytes]:
    """The dataset's pages (bench/data), at most *limit*, in file order, as UTF-8 (each
    was decoded from its own charset when the dataset was built: the header says UTF-8)."""
    import lzma

    pages: dict[str, bytes] = {}
    with lzma.open(DATA, "rt", encoding="utf-8") as f:
        for line in f:
            if len(pages) >= limit:
                break
            rec = json.loads(line)
            name = re.sub(r"[^A-Za-z0-9._-]+", "-", rec["id"])
            pages[f"/real/{name}.html"] = rec["html"].encode("utf-8")
    return pages


def load_corpus(kind: str, pages: int) -> tuple[dict[str, bytes], bool, str]:
    """Pages, whether the server gzips them, and their Content-Type."""
    if kind == "realistic":
        # charsets as the pages declare them (some legacy ones): the header names none
        return realistic.generate(pages), True, "text/html"
    if kind == "uniform":
        return corpus.generate(pages), False, "text/html; charset=utf-8"
    if kind == "real":
        return real_pages(pages), True, "text/html; charset=utf-8"
    return corpus.load(kind), False, "text/html; charset=utf-8"


def run_mode(mode: str, server: Server, url_file: Path, pages: dict[str, bytes], work: Path,
             result: Result) -> None:  # fmt: skip
    server.reset()
    started = time.monotonic()
    if mode in ("trafilatura", "trafilatura-same"):
        wall, cpu, rss = run_trafilatura(url_file, work, same=mode == "trafilatura-same")
    elif mode == "wget":
        wall, cpu, rss = run_wget(url_file, work)
    elif mode == "ceiling":
        wall, cpu, rss = run_ceiling(pages, server.content_type)
    else:
        wall, cpu, rss = run_ours(mode, url_file, work)
        result.split.append(cpu_split(work, cpu))
    result.seconds.append(wall)
    result.cpu.append(cpu)
    result.rss_mb.append(rss)
    if server.first_request is not None:
        result.first.append(server.first_request - started)


def table(results: dict[str, Result], n: int) -> None:
    print("| mode | pages/s | CPU ms/page | crawl | WARC | extraction | storage | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for mode, result in results.items():
        split = ["", "", "", ""]
        if result.split:
            split = [
                f"{1000 * statistics.median(s[k] for s in result.split) / n:.1f}"
                for k in ("crawl", "warc", "extraction", "storage")
            ]
        print(f"| {mode} | {result.rate(n):.1f} | {1000 * result.cpu_per_page(n):.1f} | "
              f"{' | '.join(split)} | {max(result.rss_mb):.0f} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000, help="pages (default 1000)")
    parser.add_argument(
        "--corpus", default="realistic", help="realistic, uniform, real (bench/data) or a DIR"
    )
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--only", default=",".join(MODES), help="comma-separated modes")
    parser.add_argument("--short", type=int, default=200,
                        help="URLs of the short run, start-up included (0: none)")  # fmt: skip
    args = parser.parse_args()
    modes = [m for m in args.only.split(",") if m]
    unknown = set(modes) - set(MODES)
    if unknown:
        raise SystemExit(f"unknown modes {sorted(unknown)}; choose from {MODES}")

    pages, gzipped, content_type = load_corpus(args.corpus, args.pages)
    server = Server(pages, gzipped=gzipped, content_type=content_type)
    n = len(pages)
    size = statistics.mean(len(b) for b in pages.values()) / 1024
    print(f"{n} pages of {size:.0f} KB on average ({args.corpus}"
          f"{', gzip' if gzipped else ''}) at {server.base}; {args.reps} reps each; "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    import trafilatura  # noqa: F401  (for run_trafilatura's config path)

    results = {m: Result(m) for m in modes}
    short_modes = [m for m in ("full", "trafilatura") if m in modes] if args.short else []
    short = {m: Result(m) for m in short_modes}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        url_file = Path(tmp) / "urls.txt"
        url_file.write_text("".join(f"{server.base}{path}\n" for path in pages))
        short_file = Path(tmp) / "short.txt"
        short_file.write_text(
            "".join(f"{server.base}{path}\n" for path in list(pages)[: args.short])
        )
        # Interleave modes within each repetition, so machine noise hits all alike.
        for rep in range(args.reps):
            for mode in modes:
                work = Path(tmp) / f"{mode}-{rep}"
                work.mkdir()
                run_mode(mode, server, url_file, pages, work, results[mode])
                rate = n / results[mode].seconds[-1]
                print(f"  rep {rep + 1} {mode:<16} {rate:7.1f} pages/s", flush=True)
                shutil.rmtree(work, ignore_errors=True)
            for mode in short_modes:
                work = Path(tmp) / f"short-{mode}-{rep}"
                work.mkdir()
                run_mode(mode, server, short_file, pages, work, short[mode])
                rate, first = args.short / short[mode].seconds[-1], short[mode].first[-1]
                print(f"  rep {rep + 1} {mode:<16} {rate:7.1f} pages/s ({args.short} URLs, "
                      f"first request after {first:.2f} s)", flush=True)  # fmt: skip
                shutil.rmtree(work, ignore_errors=True)

    print()
    table(results, n)
    if short:
        print(f"\n{args.short} URLs, start-up included:\n")
        print("| mode | seconds | pages/s | first request after s |\n|---|---:|---:|---:|")
        for mode, result in short.items():
            wall, first = statistics.median(result.seconds), statistics.median(result.first)
            print(f"| {mode} | {wall:.2f} | {result.rate(args.short):.1f} | {first:.2f} |")
    print()

    def ratio(
        a: str, b: str, label: str, group: dict[str, Result] = results, count: int = n
    ) -> None:
        if a in group and b in group:
            print(f"- {label}: {group[a].rate(count) / group[b].rate(count):.2f}x")

    ratio("full", "trafilatura", "full pipeline / trafilatura CLI, plain (target >= 1.5)")
    ratio(
        "full", "trafilatura-same", "full pipeline / trafilatura CLI, same output (target >= 2.5)"
    )
    ratio("full", "ceiling", "full pipeline / extraction ceiling (target >= 0.75)")
    ratio("archive", "wget", "archive-only / wget --warc-file (target >= 1.5)")
    ratio("full", "trafilatura", f"{args.short} URLs with start-up / trafilatura CLI "
          "(target >= 1.3)", short, args.short)  # fmt: skip
    if results.get("full") and results["full"].split:
        warc = statistics.median(s["warc"] for s in results["full"].split)
        total = statistics.median(results["full"].cpu)
        print(
            f"- WARC capture: {100 * warc / total:.1f}% of the full pipeline's CPU (target <= 10%)"
        )
    if "archive" in results and "nocapture" in results:
        cost = statistics.median(results["archive"].seconds) / statistics.median(
            results["nocapture"].seconds
        )
        print(f"- WARC capture in archive-only mode: {100 * (cost - 1):+.1f}% time")


if __name__ == "__main__":
    main()
