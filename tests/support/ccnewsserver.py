"""A stand-in for Common Crawl's news archive (CC-NEWS) on loopback, for the tests and
the bench.

:func:`build_corpus` writes CC-NEWS-like WARC files (a ``request``, ``response`` and
``metadata`` record per capture, each its gzip member, as Common Crawl writes them) from
real news pages: the bundled site's articles (or any pages given), published by several
sites, captured over a few days, with the captures a real file also holds (redirects,
404s, images, robots.txt, a page captured twice), under ``crawl-data/CC-NEWS/YYYY/MM/``
with each month's ``warc.paths.gz``. :class:`CcNewsServer` serves that tree with HTTP
ranges, and on request drops a connection half-way through a range now and then or
answers 503, and records every range asked for.

Run it alone with ``python -m tests.support.ccnewsserver DIR`` (prints its base URL).
"""

from __future__ import annotations

import argparse
import gzip
import random
import re
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from tests.support.paths import SITE

# Sites of the corpus: host -> name. The tests choose some of them.
SITES = {
    "www.courier.example": "The Loopback Courier",
    "news.herald.example": "The Herald",
    "tribune.example": "Valley Tribune",
    "www.gazette.example": "Harbour Gazette",
    "bulletin.example": "Morning Bulletin",
    "www.chronicle.example": "City Chronicle",
}
# The bundled site's pages that are articles (or labelled pages), read as news pages.
ARTICLE_DIRS = ("news/2024/03", "wire", "asia", "science", "sports", "world", "reports")


def site_pages() -> list[tuple[str, bytes]]:
    """(slug, HTML) of the bundled site's article pages and the holdout set's articles."""
    pages = []
    for folder in ARTICLE_DIRS:
        for path in sorted((SITE / folder).glob("*.html")):
            if path.name != "index.html":
                pages.append((path.stem, path.read_bytes()))
    for path in sorted((SITE / "holdout").glob("full-*.html")):
        pages.append((path.stem, path.read_bytes()))
    return pages


@dataclass(frozen=True)
class Captured:
    """One response record the corpus holds, and where."""

    url: str
    host: str
    date: datetime
    status: int
    content_type: str
    file: str  # path under the base URL
    offset: int  # of the response record's gzip member
    record_id: str
    html: bytes = field(repr=False, default=b"")


@dataclass
class Corpus:
    root: Path
    files: list[str]  # paths under root, oldest first
    captures: list[Captured]

    def pages(self, hosts: Iterable[str], start: datetime, end: datetime) -> dict[str, Captured]:
        """What a crawl of *hosts* over [start, end) must keep: each URL's first 200 HTML
        capture in the period, by URL."""
        wanted = set(hosts)
        chosen: dict[str, Captured] = {}
        for capture in self.captures:
            if any(capture.host == h or capture.host.endswith("." + h) for h in wanted) and (
                start <= capture.date < end and capture.status == 200
                and capture.content_type.startswith("text/html")
            ):  # fmt: skip
                chosen.setdefault(capture.url, capture)
        return chosen


def _uuid(rng: random.Random) -> str:
    return f"<urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}>"


def _capture(
    writer: WARCWriter, rng: random.Random, url: str, date: datetime, status: int,
    content_type: str, body: bytes, *, gzip_body: bool = False,
) -> str:  # fmt: skip
    """Write a request, response and metadata record as Common Crawl does; the response id."""
    stamp = date.strftime("%Y-%m-%dT%H:%M:%SZ")
    host = re.sub(r"^https?://([^/]+).*$", r"\1", url)
    path = url.split(host, 1)[1] or "/"
    request_id, response_id = _uuid(rng), _uuid(rng)
    request = StatusAndHeaders(
        f"GET {path} HTTP/1.1",
        [("Host", host), ("User-Agent", "CCBot/2.0 (https://commoncrawl.org/faq/)"),
         ("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"),
         ("Accept-Encoding", "gzip")],
        is_http_request=True,
    )  # fmt: skip
    writer.write_record(writer.create_warc_record(
        url, "request", payload=BytesIO(b""), length=0, http_headers=request,
        warc_headers_dict={"WARC-Date": stamp, "WARC-Record-ID": request_id},
    ))  # fmt: skip
    payload = gzip.compress(body, mtime=0) if gzip_body else body
    headers = [
        ("Content-Type", content_type),
        ("Content-Length", str(len(payload))),
        ("Server", "nginx"),
        ("Date", date.strftime("%a, %d %b %Y %H:%M:%S GMT")),
    ]
    if gzip_body:
        headers.append(("Content-Encoding", "gzip"))
    if status in (301, 302):
        headers.append(("Location", url.rstrip("/") + "/moved"))
    reason = {200: "OK", 301: "Moved Permanently", 404: "Not Found"}.get(status, "OK")
    response = StatusAndHeaders(f"{status} {reason}", headers, protocol="HTTP/1.1")
    writer.write_record(writer.create_warc_record(
        url, "response", payload=BytesIO(payload), length=len(payload), http_headers=response,
        warc_headers_dict={
            "WARC-Date": stamp, "WARC-Record-ID": response_id,
            "WARC-Concurrent-To": request_id, "WARC-IP-Address": "192.0.2.10",
            "WARC-Identified-Payload-Type": content_type.split(";")[0],
        },
    ))  # fmt: skip
    metadata = f"fetchTimeMs: {rng.randint(40, 900)}\r\n".encode()
    writer.write_record(writer.create_warc_record(
        url, "metadata", payload=BytesIO(metadata), length=len(metadata),
        warc_content_type="application/warc-fields",
        warc_headers_dict={"WARC-Date": stamp, "WARC-Concurrent-To": response_id},
    ))  # fmt: skip
    return response_id


def _slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def build_corpus(
    root: Path,
    file_starts: list[datetime],
    captures_per_file: int = 30,
    pages: list[tuple[str, bytes]] | None = None,
    seed: int = 7,
    hosts: list[str] | None = None,
) -> Corpus:
    """CC-NEWS-like files started at *file_starts* under *root*/crawl-data/CC-NEWS/, each
    with *captures_per_file* captures spread until the next file starts (the last: six
    hours), from *pages* (default: the bundled site's articles) at *hosts* (default: the
    sites of SITES)."""
    rng = random.Random(seed)
    pages = pages or site_pages()
    hosts = hosts or list(SITES)
    starts = sorted(file_starts)
    files, captured = [], []
    for index, started in enumerate(starts):
        serial = index
        until = starts[index + 1] if index + 1 < len(starts) else started + timedelta(hours=6)
        month = f"{started.year:04d}/{started.month:02d}"
        name = f"CC-NEWS-{started.strftime('%Y%m%d%H%M%S')}-{serial:05d}.warc.gz"
        relative = f"crawl-data/CC-NEWS/{month}/{name}"
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        step = (until - started) / (captures_per_file + 1)
        written: list[tuple[str, str, datetime, int, str, bytes]] = []
        with path.open("wb") as fh:
            writer = WARCWriter(fh, gzip=True, warc_version="1.0")
            writer.write_record(writer.create_warcinfo_record(
                name, {"software": "StormCrawler (stand-in)", "isPartOf": "CC-NEWS"}
            ))  # fmt: skip
            repeat: tuple[str, bytes] | None = None
            for n in range(captures_per_file):
                date = (started + step * (n + 1)).replace(microsecond=0)
                host = hosts[rng.randrange(len(hosts))]
                kind = rng.random()
                if n == captures_per_file // 2 and repeat is not None:
                    url, html = repeat  # the same page captured again later in the file
                    status, ctype = 200, "text/html; charset=utf-8"
                elif kind < 0.06:
                    url, html, status, ctype = f"https://{host}/robots.txt", b"User-agent: *\n", \
                        200, "text/plain"  # fmt: skip
                elif kind < 0.10:
                    url, html, status, ctype = f"https://{host}/img/{n}.jpg", bytes(
                        rng.getrandbits(8) for _ in range(2000)), 200, "image/jpeg"  # fmt: skip
                elif kind < 0.14:
                    url, html = f"https://{host}/gone/{n}.html", b"<html><title>404</title></html>"
                    status, ctype = 404, "text/html; charset=utf-8"
                elif kind < 0.17:
                    url, html, status, ctype = f"https://{host}/short/{n}", b"", 301, "text/html"
                else:
                    slug, html = pages[rng.randrange(len(pages))]
                    url = f"https://{host}/{date:%Y/%m/%d}/{_slugify(slug)}-{serial + 1}{n}.html"
                    status, ctype = 200, "text/html; charset=utf-8"
                    repeat = repeat or (url, html)
                record_id = _capture(writer, rng, url, date, status, ctype, html,
                                     gzip_body=status == 200 and rng.random() < 0.3)  # fmt: skip
                written.append((url, record_id, date, status, ctype, html))
        offsets = {}
        with path.open("rb") as fh:
            records = ArchiveIterator(fh)
            for record in records:
                if record.rec_type == "response":
                    rid = record.rec_headers.get_header("WARC-Record-ID")
                    record.content_stream().read()
                    offsets[rid] = records.get_record_offset()
        for url, record_id, date, status, ctype, html in written:
            host = url.split("/")[2]
            captured.append(Captured(url, host, date, status, ctype, relative,
                                     offsets[record_id], record_id, html))  # fmt: skip
        files.append(relative)
    by_month: dict[str, list[str]] = {}
    for relative in files:
        by_month.setdefault(relative.rsplit("/", 1)[0], []).append(relative)
    for folder, names in by_month.items():
        listing = gzip.compress("".join(f"{n}\n" for n in names).encode(), mtime=0)
        (root / folder / "warc.paths.gz").write_bytes(listing)
    return Corpus(root, files, captured)


@dataclass
class Faults:
    """What goes wrong, and how often: every *drop_every*-th range is cut half-way (the
    connection closed), every *unavailable_every*-th answered 503; *delay* s per range."""

    drop_every: int = 0
    unavailable_every: int = 0
    delay: float = 0.0


@dataclass
class ServerLog:
    ranges: list[tuple[str, int, int]] = field(default_factory=list)  # path, first, last
    listings: list[str] = field(default_factory=list)
    dropped: int = 0
    unavailable: int = 0
    bytes_sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    root: Path
    log: ServerLog
    faults: Faults
    counter: list[int]

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].lstrip("/")
        target = (self.root / path).resolve()
        if not path.startswith("crawl-data/") or not target.is_file():
            self._send(404, b"not found")
            return
        if path.endswith("warc.paths.gz"):
            with self.log.lock:
                self.log.listings.append(path)
            self._send(200, target.read_bytes(), {"Content-Type": "application/octet-stream"})
            return
        size = target.stat().st_size
        match = _RANGE.match(self.headers.get("Range", ""))
        first = int(match.group(1)) if match else 0
        last = min(int(match.group(2)) if match and match.group(2) else size - 1, size - 1)
        with self.log.lock:
            self.counter[0] += 1
            number = self.counter[0]
            self.log.ranges.append((path, first, last))
        if self.faults.delay:
            time.sleep(self.faults.delay)
        if self.faults.unavailable_every and number % self.faults.unavailable_every == 0:
            with self.log.lock:
                self.log.unavailable += 1
            self._send(503, b"slow down", {"Retry-After": "0"})
            return
        if first >= size:
            self._send(416, b"", {"Content-Range": f"bytes */{size}"})
            return
        with target.open("rb") as fh:
            fh.seek(first)
            body = fh.read(last - first + 1)
        status, headers = (206, {"Content-Range": f"bytes {first}-{last}/{size}"}) if match \
            else (200, {})  # fmt: skip
        headers["Content-Type"] = "application/octet-stream"
        headers["Accept-Ranges"] = "bytes"
        if self.faults.drop_every and number % self.faults.drop_every == 0 and len(body) > 1:
            # The headers promise the whole range; half of it comes, then the connection closes.
            self.send_response(status)
            for name, value in {"Content-Length": str(len(body)), **headers}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            with self.log.lock:
                self.log.dropped += 1
            self.close_connection = True
            return
        with self.log.lock:
            self.log.bytes_sent += len(body)
        self._send(status, body, headers)


class CcNewsServer:
    """Serves a corpus's tree on 127.0.0.1 (a free port); ``with CcNewsServer(root):``."""

    def __init__(self, root: Path, faults: Faults | None = None) -> None:
        self.root = Path(root)
        self.log = ServerLog()
        self.faults = faults or Faults()
        handler = type("Handler", (_Handler,), {
            "root": self.root, "log": self.log, "faults": self.faults, "counter": [0],
        })  # fmt: skip
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def __enter__(self) -> CcNewsServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def files_read(self) -> set[str]:
        return {path for path, _, _ in self.log.ranges}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    args = parser.parse_args()
    if not any(args.root.glob("crawl-data/CC-NEWS/*/*/warc.paths.gz")):
        start = datetime(2024, 1, 31, 12, tzinfo=UTC)
        build_corpus(args.root, [start + timedelta(hours=12 * n) for n in range(6)])
    with CcNewsServer(args.root) as server:
        print(server.base, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
