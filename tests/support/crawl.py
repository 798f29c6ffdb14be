"""Running the real ``python -m scrapy crawl`` (and the other commands) in the project
root, as a user would, and reading what a crawl left."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from crawler.archive.directory import Archive
from tests.support.paths import BIN, ROOT

__all__ = [
    "BIN",
    "ROOT",
    "TEST_SETTINGS",
    "CrawlResult",
    "run_crawl",
    "run_scrapy",
    "write_url_list",
]

# Settings every end-to-end run uses: the site is on loopback (refused by default), and
# retries should not make the suite slow.
TEST_SETTINGS = {
    "ALLOW_PRIVATE_ADDRESSES": "1",
    "RETRY_BACKOFF_BASE": "0.05",
    "AUTOTHROTTLE_START_DELAY": "0.05",
    "LOG_LEVEL": "INFO",
    # On by default, and pointed at the real Internet Archive: tests that use it start a
    # fake archive on loopback and point WAYBACK_ENDPOINT there.
    "WAYBACK_ENABLED": "0",
}


@dataclass
class CrawlResult:
    archive: Path
    returncode: int
    log: str

    @property
    def manifest(self) -> list[dict]:
        return list(Archive(self.archive).manifest_records())

    @property
    def run_record(self) -> dict:
        """The latest run record of the archive."""
        return Archive(self.archive).run_records()[-1]

    def by_url(self) -> dict[str, dict]:
        return {line["url"]: line for line in self.manifest}

    def warc_files(self) -> list[Path]:
        return sorted((self.archive / "warc").glob("*.warc.gz"))


def run_crawl(
    archive: Path,
    spider: str = "urls",
    args: dict[str, str] | None = None,
    settings: dict[str, str] | None = None,
    timeout: float = 240,
) -> CrawlResult:
    """Run ``python -m scrapy crawl`` in the project root, as a user would."""
    cmd = [sys.executable, "-m", "scrapy", "crawl", spider]
    for key, value in (args or {}).items():
        cmd += ["-a", f"{key}={value}"]
    for key, value in {**TEST_SETTINGS, "ARCHIVE_DIR": str(archive), **(settings or {})}.items():
        cmd += ["-s", f"{key}={value}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRAPY_")}
    # A fresh tldextract cache, as on a new machine: anything that would download the
    # public-suffix list tries to here (and the test of a clean log catches it).
    env["TLDEXTRACT_CACHE"] = str(archive.parent / f"{archive.name}-tldextract-cache")
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    return CrawlResult(archive, proc.returncode, proc.stdout + proc.stderr)


def run_scrapy(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """``python -m scrapy ARGS`` (a command other than a crawl) in the project root."""
    return subprocess.run(
        [sys.executable, "-m", "scrapy", *args],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=timeout,
    )  # fmt: skip


def write_url_list(path: Path, urls: list[str]) -> Path:
    path.write_text("".join(u + "\n" for u in urls), encoding="utf-8")
    return path
