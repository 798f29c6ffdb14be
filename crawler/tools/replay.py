"""Replay an archive in pywb, in place: a pywb collection whose WARC files and index are ours.

pywb pins dependencies Scrapy cannot live with, so it runs from a virtualenv of its own
(``.venv-replay``, made by ``make replay-env``; ``REPLAY_PYWB`` names another ``wayback``
executable). Its configuration lives in a temporary directory; nothing is copied and
nothing is written into the archive.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from crawler.archive.directory import Archive
from crawler.extract.workers import parent_death_signal
from crawler.warc.cdxj import indexed_as

ROOT = Path(__file__).resolve().parents[2]  # the project (crawler/tools/replay.py)
DEFAULT_PYWB = ROOT / ".venv-replay" / "bin" / "wayback"
COLLECTION = "archive"


def find_pywb(configured: str | None) -> Path:
    """The ``wayback`` executable: *configured*, else the project's .venv-replay."""
    path = Path(configured) if configured else DEFAULT_PYWB
    if not path.is_file():
        found = shutil.which(str(path)) if configured else None
        if found is None:
            raise FileNotFoundError(
                f"pywb is not installed at {path}: run `make replay-env` (pywb in a "
                "virtualenv of its own), or set REPLAY_PYWB to a pywb `wayback` executable"
            )
        path = Path(found)
    return path


def write_config(archive: Archive, directory: Path) -> Path:
    """pywb's config.yaml in *directory*: one collection over the archive, unframed."""
    config = directory / "config.yaml"
    config.write_text(
        "# scrapy replay: pywb reads this archive's WARC files and CDXJ index in place\n"
        "collections:\n"
        f"  {COLLECTION}:\n"
        # (JSON strings are YAML strings: any path, quoted)
        f"    archive_paths: {json.dumps(str(archive.warc_dir.resolve()) + '/')}\n"
        f"    index_paths: {json.dumps(str(archive.index_path.resolve()))}\n"
        # the page itself at the top (no pywb banner frame), which a browser or a test
        # can read directly
        "framed_replay: false\n",
        encoding="utf-8",
    )
    return config


def command(pywb: Path, directory: Path, port: int, bind: str = "127.0.0.1") -> list[str]:
    return [str(pywb), "-p", str(port), "-b", bind, "-d", str(directory)]


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
GRACE_SECONDS = 10.0


def pywb_dies_with_us() -> None:
    # (in the child, before exec) pywb gets SIGTERM if we die, even by SIGKILL
    parent_death_signal(signal.SIGTERM)


def run_until_stopped(cmd: list[str]) -> int:
    """Run pywb until it exits, or until Ctrl-C, SIGTERM or SIGHUP stops us: then it is
    stopped too (terminated, killed after GRACE_SECONDS). Returns its exit status, 0
    when stopped on request. It runs in a session of its own (Ctrl-C reaches it once,
    from us), and dies with us on Linux even when we are killed."""
    asked: list[int] = []
    previous = {signum: signal.signal(signum, lambda n, _: asked.append(n))
                for signum in STOP_SIGNALS}  # fmt: skip
    try:
        process = subprocess.Popen(cmd, start_new_session=True, preexec_fn=pywb_dies_with_us)
        stopping_since: float | None = None
        while True:
            try:
                status = process.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                pass
            if asked and stopping_since is None:
                process.terminate()
                stopping_since = time.monotonic()
            elif stopping_since and time.monotonic() - stopping_since > GRACE_SECONDS:
                process.kill()
        return 0 if asked else status
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def url(port: int, page: str | None = None, timestamp: str = "", bind: str = "127.0.0.1") -> str:
    """Where pywb shows *page* (the capture closest to *timestamp*), or the collection."""
    base = f"http://{bind}:{port}/{COLLECTION}/"
    return f"{base}{timestamp}/{page}" if page and timestamp else f"{base}{page or ''}"


# The lines whose capture is a page: archived now, or archived again unchanged (a revisit).
CAPTURED = ("ok", "unchanged")


@dataclass(frozen=True, slots=True)
class ArticleCapture:
    """An article's latest capture: where it replays, and what its last ``ok`` line says."""

    id: str
    title: str
    url: str  # where the index has it (a memento: its own page)
    timestamp: str  # 14 digits (a memento: the Internet Archive's date)
    capture: dict  # the manifest line of the capture (ok, or unchanged: a revisit)
    article: dict  # the last ok line (title, text dump)


def article_captures(archive: Archive, files: set[str] | None = None) -> list[ArticleCapture]:
    """Every id with an ``ok`` line, at its latest ``ok`` or ``unchanged`` capture (in
    the WARC *files* only, when given), in manifest order."""
    articles: dict[str, dict] = {}
    captures: dict[str, dict] = {}
    for line in archive.manifest_records():
        if line.get("outcome") == "ok":
            articles[line["id"]] = line
        if (
            line.get("outcome") in CAPTURED
            and line.get("warc_file")
            and (files is None or line["warc_file"] in files)
        ):
            captures[line["id"]] = line
    found = []
    for id_, capture in captures.items():
        if id_ in articles:
            url, stamp = indexed_as(capture)
            article = articles[id_]
            found.append(ArticleCapture(id_, article.get("title") or "", url, stamp, capture,
                                        article))  # fmt: skip
    return found
