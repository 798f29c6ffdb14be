"""What each capture mode costs: pages/s of ``CAPTURE=html``, ``requisites`` and
``browser`` on the bundled site, in one run, against ``wget --page-requisites
--warc-file`` for requisites.

    python -m bench.capture [--pages 60] [--reps 1]
                            [--only html,requisites,requisites-archive,browser,wget]

Serves tests/site (tests.support.siteserver) on 127.0.0.1 and crawls the same URL list
in each mode, ``--reps`` times, interleaved: The Looking Glass's pages
(tests/site/looks/: the script-free magazine page, one with a third-party script, a
gallery of twelve pictures, and the app shell whose article a script fetches as JSON),
each under ``--pages`` distinct URLs (a query string), so they share their stylesheets,
fonts and pictures as a site's pages do. Prints the median pages/s, requests the site
answered, WARC megabytes and the manifest's outcomes per mode, and requisites/wget
(``requisites-archive``: requisites without extraction, like for like with wget).
``wget`` runs with ``-p -H`` (requisites on other hosts too) and robots.txt obeyed; it
does not run scripts and extracts nothing. Only loopback is contacted.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from crawler.archive.directory import Archive
from tests.support.siteserver import SiteServer

ROOT = Path(__file__).resolve().parent.parent
# requisites-archive: requisites with EXTRACT_ENABLED=0, like for like with wget (which
# extracts nothing)
MODES = ("html", "requisites", "requisites-archive", "browser", "wget")
PAGES = ["/looks/plain.html", "/looks/second.html", "/looks/gallery.html",
         "/looks/app.html?story=lighthouse", "/looks/app.html?story=tides"]  # fmt: skip
# One site on loopback, no politeness delay to adapt (as bench.run's bulk profile).
BULK = {
    "AUTOTHROTTLE_ENABLED": "0",
    "CONCURRENT_REQUESTS": "32",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "ALLOW_PRIVATE_ADDRESSES": "1",
    "WAYBACK_ENABLED": "0",
    "PROGRESS_INTERVAL": "0",
    "LOG_LEVEL": "WARNING",
}


def url_list(site: SiteServer, pages: int) -> list[str]:
    """*pages* distinct URLs, cycling through PAGES."""
    urls = []
    for i in range(pages):
        path = PAGES[i % len(PAGES)]
        urls.append(site.url(path + ("&" if "?" in path else "?") + f"n={i}"))
    return urls


def run_mode(mode: str, urls: Path, work: Path) -> tuple[float, dict]:
    """Wall seconds of one crawl in *mode*, and what it left."""
    archive = work / f"{mode}-archive"
    shutil.rmtree(archive, ignore_errors=True)
    if mode == "wget":
        out = work / "wget"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        cmd = ["wget", "-q", "-p", "-H", "-nd", "-P", str(out), "-e", "robots=on",
               f"--warc-file={out / 'crawl'}", "--no-warc-keep-log", "-i", str(urls)]  # fmt: skip
        start = time.monotonic()
        subprocess.run(cmd, check=False)
        wall = time.monotonic() - start
        warc_bytes = sum(p.stat().st_size for p in out.glob("*.warc.gz"))
        return wall, {"warc_mb": warc_bytes / 1e6, "outcomes": {}}
    cmd = [sys.executable, "-m", "scrapy", "crawl", "urls", "-a", f"urls={urls}"]
    settings = {**BULK, "ARCHIVE_DIR": str(archive), "CAPTURE": mode.split("-")[0]}
    if mode.endswith("-archive"):
        settings["EXTRACT_ENABLED"] = "0"
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    start = time.monotonic()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"{mode} crawl failed:\n{done.stderr[-3000:]}")
    found = Archive(archive)
    outcomes = Counter(line["outcome"] for line in found.manifest_records())
    warc_bytes = sum(p.stat().st_size for p in found.warc_files())
    return wall, {"warc_mb": warc_bytes / 1e6, "outcomes": dict(outcomes)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=60)
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--only", default=",".join(MODES))
    args = parser.parse_args()
    modes = [m for m in args.only.split(",") if m]
    if unknown := set(modes) - set(MODES):
        parser.error(f"unknown mode(s) {sorted(unknown)}; known: {', '.join(MODES)}")
    if "wget" in modes and not shutil.which("wget"):
        print("wget is not installed: skipping it", file=sys.stderr)
        modes.remove("wget")
    walls: dict[str, list[float]] = {m: [] for m in modes}
    left: dict[str, dict] = {}
    requests: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="bench-capture-") as tmp, SiteServer() as site:
        work = Path(tmp)
        urls = work / "urls.txt"
        urls.write_text("".join(u + "\n" for u in url_list(site, args.pages)))
        for _ in range(args.reps):
            for mode in modes:
                seen = len(site.log.requests)
                wall, left[mode] = run_mode(mode, urls, work)
                walls[mode].append(wall)
                requests[mode] = len(site.log.requests) - seen
    print(f"{args.pages} pages of The Looking Glass (tests/site/looks), {args.reps} rep(s)")
    print(f"{'mode':<18} {'pages/s':>8} {'seconds':>8} {'requests':>9} {'WARC MB':>8}  outcomes")
    rates = {}
    for mode in modes:
        wall = statistics.median(walls[mode])
        rates[mode] = args.pages / wall
        print(f"{mode:<18} {rates[mode]:>8.2f} {wall:>8.1f} {requests[mode]:>9} "
              f"{left[mode]['warc_mb']:>8.2f}  {left[mode]['outcomes']}")  # fmt: skip
    for mode in ("requisites", "requisites-archive"):
        if mode in rates and "wget" in rates:
            print(f"{mode} / wget --page-requisites: {rates[mode] / rates['wget']:.2f}x")
    if "html" in rates:
        for mode in ("requisites", "browser"):
            if mode in rates:
                print(f"{mode} / html: {rates[mode] / rates['html']:.2f}x")


if __name__ == "__main__":
    main()
