"""A fake Internet Archive on loopback: CDX JSON answers and raw ``id_`` captures.

Knows a few captures per URL (``add``). Answers ``/cdx/search/cdx`` like the Wayback CDX
API (``output=json``, ``closest``, ``limit``, a header row first), serves
``/web/<timestamp>id_/<url>`` with a ``Memento-Datetime`` header (redirecting an
inexact timestamp to the nearest capture, as the real one does), and can answer a
URL's first lookup with ``429 Retry-After``. Records every request with its time.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def _when(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def article(title: str, paragraph: str) -> bytes:
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{title}</title><meta property="og:title" content="{title}">
<meta property="og:site_name" content="The Loopback Courier"></head>
<body><header><nav><a href="/">Home</a></nav></header><main><article><h1>{title}</h1>
<p>{paragraph}</p>
<p>Archived copies like this one are how researchers rebuild a corpus whose links have
died: the text survives even when the newsroom that published it has moved on.</p>
</article></main></body></html>""".encode()


@dataclass
class ArchiveLog:
    requests: list[tuple[float, str]] = field(default_factory=list)  # (monotonic time, path)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def cdx_times(self, url: str) -> list[float]:
        with self.lock:
            return [t for t, p in self.requests if p.startswith("/cdx/") and url in _cdx_url(p)]


def _cdx_url(path: str) -> str:
    return parse_qs(urlsplit(path).query).get("url", [""])[0]


class FakeWayback:
    def __init__(self) -> None:
        self.captures: dict[str, dict[str, bytes]] = {}  # url -> timestamp -> body
        self.throttle_once: set[str] = set()  # URLs whose first lookup gets a 429
        self.log = ArchiveLog()
        archive = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def send(self, status: int, body: bytes, ctype: str, extra=()) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                for name, value in extra:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                with archive.log.lock:
                    archive.log.requests.append((time.monotonic(), self.path))
                if self.path.startswith("/cdx/search/cdx"):
                    return self.cdx()
                if self.path.startswith("/web/"):
                    return self.memento()
                return self.send(404, b"not found", "text/plain")

            def cdx(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                url = query["url"][0]
                if url in archive.throttle_once:
                    archive.throttle_once.discard(url)
                    return self.send(429, b"slow down", "text/plain", [("Retry-After", "1")])
                target = _when(query.get("closest", ["20240101000000"])[0].ljust(14, "0"))
                limit = int(query.get("limit", ["5"])[0])
                stamps = sorted(
                    archive.captures.get(url, {}),
                    key=lambda s: abs((_when(s) - target).total_seconds()),
                )[:limit]
                fields = ["timestamp", "original", "statuscode", "digest", "mimetype"]
                rows = [[s, url, "200", "DIGEST", "text/html"] for s in stamps]
                body = json.dumps([fields, *rows] if rows else []).encode()
                return self.send(200, body, "application/json")

            def memento(self) -> None:
                stamp, _, original = self.path[len("/web/") :].partition("id_/")
                known = archive.captures.get(original, {})
                if stamp in known:
                    when = format_datetime(_when(stamp), usegmt=True)
                    return self.send(
                        200, known[stamp], "text/html; charset=utf-8",
                        [("Memento-Datetime", when)],
                    )  # fmt: skip
                if known:  # like the real archive: redirect to the nearest capture
                    nearest = min(
                        known, key=lambda s: abs((_when(s) - _when(stamp)).total_seconds())
                    )
                    location = f"/web/{nearest}id_/{original}"
                    return self.send(302, b"", "text/plain", [("Location", location)])
                return self.send(404, b"no capture", "text/plain")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, url: str, stamp: str, body: bytes) -> None:
        self.captures.setdefault(url, {})[stamp] = body

    def __enter__(self) -> FakeWayback:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
