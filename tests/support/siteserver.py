"""A small news site on loopback, for the tests and the demo.

Serves ``tests/site/`` plus routes that exercise the archive: a redirect chain, a 404,
a gzip-encoded page, a chunked page, a page whose charset is only in the HTTP header,
cp1252 pages labelled UTF-8,
repeated ``Set-Cookie`` headers, a 429 with ``Retry-After``, a persistent 500. It
records every request it receives (request line and headers) and the exact body
bytes it sent, so tests can compare the WARC with the wire.

Run it alone with ``python -m tests.support.siteserver`` (prints its base URL).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import json
import mimetypes
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from tests.support.paths import SITE

# Paths of the demo/test URL list, in order, with the outcome each must get.
EXPECTED = [
    ("/news/2024/03/harbor-bridge-reopens.html", "ok"),
    ("/news/2024/03/city-council-budget.html", "ok"),
    ("/world/elections.html?id=42&lang=en", "ok"),
    ("/old/ferry-strike", "ok"),  # 301 -> 302 -> article
    ("/gzip/mars-rover.html", "ok"),
    ("/chunked/marathon.html", "ok"),
    ("/europe/latin1-news.html", "ok"),
    ("/nav.html", "no_text"),
    ("/missing.html", "error"),
    ("/private/secret-report.html", "blocked"),
    ("/media/photo.jpg", "no_text"),
    # 429 + Retry-After, then the article: the first request for each ?key= value gets the
    # 429, so every URL list that wants one has a key of its own
    ("/flaky/retry-after.html?key=suite", "ok"),
]


# Access-state pages (tests/site/access/) served with the status their kind comes with.
_ACCESS_STATUS = {
    "/access/challenge-cf.html": (503, [("Server", "cloudflare")]),
    "/access/challenge-akamai.html": (403, [("Server", "AkamaiGHost")]),
    "/access/challenge-datadome.html": (403, []),
}
# A second set of access-state pages and ordinary articles (tests/site/holdout/), written
# apart from the rules by someone who had not read them: file name -> label, status.
HOLDOUT = json.loads((SITE / "holdout" / "expected.json").read_text(encoding="utf-8"))
# Each access-state page of the site and the label it must get; the ordinary articles
# below them must stay `full`.
ACCESS_EXPECTED = {
    "/access/challenge-cf.html": "challenge",
    "/access/challenge-akamai.html": "challenge",
    "/access/challenge-datadome.html": "challenge",
    "/access/challenge-perimeterx.html": "challenge",
    "/access/challenge-js.html": "challenge",
    "/access/rate-limited.html": "rate_limited",
    "/access/consent-wall.html": "consent_wall",
    "/access/paywall-jsonld.html": "teaser",
    "/access/paywall-wordcount.html": "teaser",
    "/access/paywall-container.html": "teaser",
    "/soft404.html": "soft_404",
    "/access/consent-overlay-article.html": "full",
    "/access/cookies-article.html": "full",
    "/access/brief.html": "full",
    "/news/2024/03/library-hours.html": "full",
    "/news/2024/03/flight-404-lands.html": "full",
    "/news/2024/03/missing-climbers.html": "full",
}


@dataclass
class SeenRequest:
    method: str
    requestline: str
    path: str
    headers: list[tuple[str, str]]
    at: float = 0.0  # time.monotonic() when it arrived

    @property
    def host(self) -> str:
        """The Host header's host (the site answers as 127.0.0.1 and as localhost)."""
        value = next((v for k, v in self.headers if k.lower() == "host"), "")
        return value.rsplit(":", 1)[0]


@dataclass
class SiteLog:
    requests: list[SeenRequest] = field(default_factory=list)
    sent: dict[str, list[bytes]] = field(default_factory=dict)  # path -> bodies as sent
    hits: dict[str, int] = field(default_factory=dict)  # request target -> requests so far
    lock: threading.Lock = field(default_factory=threading.Lock)

    def paths(self) -> list[str]:
        with self.lock:
            return [r.path for r in self.requests]


def _read(rel: str) -> bytes:
    return (SITE / rel).read_bytes()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "LoopbackCourier/1.0"
    log: SiteLog  # set on the subclass made per server

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean; requests are recorded in self.log

    # -- helpers -------------------------------------------------------------------------
    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "text/html; charset=utf-8",
        extra: list[tuple[str, str]] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in extra or []:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        with self.log.lock:
            self.log.sent.setdefault(self.path, []).append(body)

    def _redirect(self, status: int, location: str) -> None:
        self._send(status, b"", extra=[("Location", location)])

    # -- routes --------------------------------------------------------------------------
    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        with self.log.lock:
            self.log.requests.append(
                SeenRequest(
                    self.command,
                    self.requestline,
                    self.path,
                    list(self.headers.items()),
                    time.monotonic(),
                )
            )
            hits = self.log.hits[self.path] = self.log.hits.get(self.path, 0) + 1

        if path == "/old/ferry-strike":
            return self._redirect(301, "/redirect/step2")
        if path == "/redirect/step2":
            return self._redirect(302, "/news/2024/03/ferry-strike-ends.html")
        if path == "/missing.html":
            return self._send(404, b"<html><body><h1>Not found</h1></body></html>")
        if path == "/always-500":
            return self._send(500, b"<html><body>Internal error</body></html>")
        if path == "/gzip/mars-rover.html":
            body = gzip.compress(_read("science/mars-rover.html"), mtime=0)
            return self._send(
                200, body, extra=[("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
            )
        if path == "/chunked/marathon.html":
            return self._chunked(_read("sports/marathon.html"))
        if path == "/europe/latin1-news.html":
            text = _read("europe/latin1-news.html.src").decode("utf-8")
            # The charset is declared only here, in the HTTP header, not in the HTML.
            return self._send(200, text.encode("iso-8859-1"), "text/html; charset=iso-8859-1")
        if path in ("/europe/mairie-pont.html", "/europe/mairie-pont-meta.html"):
            # cp1252 bytes under a UTF-8 label: in the HTTP header (and the page's <meta>),
            # or in the <meta> alone
            body = _read("europe/mairie-pont.html.src").decode("utf-8").encode("cp1252")
            ctype = "text/html" if path.endswith("-meta.html") else "text/html; charset=utf-8"
            return self._send(200, body, ctype)
        if path == "/world/elections.html":
            cookies = [
                ("Set-Cookie", "session=abc123; Path=/"),
                ("Set-Cookie", "region=coast; Path=/"),
            ]
            return self._send(200, _read("world/elections.html"), extra=cookies)
        if path == "/flaky/retry-after.html":
            if hits == 1:
                return self._send(429, b"slow down", "text/plain", extra=[("Retry-After", "1")])
            return self._send(200, _read("news/2024/03/city-council-budget.html"))
        # hostile or broken servers
        if path == "/hostile/slow.html":
            time.sleep(3)
            return self._send(200, _read("nav.html"))
        if path == "/hostile/huge.html":
            return self._send(200, b"<p>" + b"x" * 300_000 + b"</p>")
        if path == "/hostile/huge-chunked.html":
            return self._chunked(b"<p>" + b"y" * 300_000 + b"</p>", parts=100)
        if path == "/hostile/garbage":
            self.close_connection = True
            self.wfile.write(b"THIS IS NOT HTTP\r\n\r\n")
            return None
        if path == "/hostile/reset":
            self.close_connection = True
            return None
        if path.startswith("/holdout/") and path[len("/holdout/") :] in HOLDOUT:
            return self._send(HOLDOUT[path[len("/holdout/") :]]["status"], _read(path.lstrip("/")))
        if path in _ACCESS_STATUS:  # interstitials that come with an error status
            status, extra = _ACCESS_STATUS[path]
            return self._send(status, _read(path.lstrip("/")), extra=extra)
        if path.startswith("/slow/"):  # /slow/<seconds>/<name>.html: an article, late
            time.sleep(float(path.split("/")[2]))
            return self._send(200, _read("news/2024/03/harbor-bridge-reopens.html"))
        if path.startswith("/paced/"):  # many distinct article URLs, served at a steady pace
            time.sleep(0.02)
            body = _read("news/2024/03/ferry-strike-ends.html").replace(
                b"Ferry Strike Ends", f"Story {path.rsplit('/', 1)[-1]}: Ferry Strike Ends".encode()
            )
            return self._send(200, body)
        # dead links (recovered from the fake archive in the Wayback tests)
        if path == "/gone/removed.html":
            return self._send(410, b"<html><body><h1>Gone</h1></body></html>")
        if path.startswith("/gone/"):
            return self._send(404, b"<html><body><h1>Not found</h1></body></html>")
        if path == "/soft404.html":
            return self._send(
                200, b"<html><head><title>Page not found | The Loopback Courier</title></head>"
                b"<body><p>Sorry, we could not find that page.</p></body></html>",
            )  # fmt: skip
        # for tests.support.faulty_extraction
        if path in ("/faulty/crash.html", "/faulty/hang.html"):
            marker = b"<!--crash-worker-->" if "crash" in path else b"<!--hang-worker-->"
            return self._send(
                200, _read("sports/marathon.html").replace(b"<body>", b"<body>" + marker)
            )
        if path.startswith("/looks/"):
            return self._looks(path)
        if path == "/media/photo.jpg":
            return self._send(
                200, b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)), "image/jpeg"
            )

        template = SITE / path.lstrip("/").removesuffix(".gz")
        if path.endswith((".xml", ".xml.gz")) and not template.is_file():
            return self._send(404, b"<html><body><h1>Not found</h1></body></html>")
        if path.endswith(".xml.gz"):  # a gzipped sitemap, served as a file (no Content-Encoding)
            body = gzip.compress(self._render(path[: -len(".gz")].lstrip("/")), mtime=0)
            return self._conditional(body, "application/gzip")
        if path.endswith(".xml") or path == "/robots.txt":
            ctype = "text/plain; charset=utf-8" if path == "/robots.txt" else "application/xml"
            return self._conditional(self._render(path.lstrip("/")), ctype)
        if path == "/":
            return self._send(200, _read("index.html"))

        target = (SITE / path.lstrip("/")).resolve()
        if SITE not in target.parents or not target.is_file() or target.suffix == ".src":
            return self._send(404, b"<html><body><h1>Not found</h1></body></html>")
        ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if ctype.startswith("text/"):
            ctype += "; charset=utf-8"
        return self._send(200, target.read_bytes(), ctype)

    def _looks(self, path: str) -> None:
        """The Looking Glass (tests/site/looks/): pages and stylesheets name its "CDN",
        the same server under another origin (localhost instead of 127.0.0.1: another
        host to the crawler and the browser alike); every file answers conditional GETs."""
        target = (SITE / path.lstrip("/")).resolve()
        if SITE not in target.parents or not target.is_file():
            return self._send(404, b"<html><body><h1>Not found</h1></body></html>")
        body = target.read_bytes()
        if target.suffix in (".html", ".css", ".xml"):
            cdn = f"http://localhost:{self.server.server_address[1]}".encode()
            base = f"http://{self.headers['Host']}".encode()
            port = str(self.server.server_address[1]).encode()
            body = body.replace(b"{{CDN}}", cdn).replace(b"{{BASE}}", base)
            body = body.replace(b"{{PORT}}", port)
        ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if ctype.startswith("text/"):
            ctype += "; charset=utf-8"
        return self._conditional(body, ctype)

    def _render(self, rel: str) -> bytes:
        """A template of the site with {{BASE}} filled in from the Host header."""
        return _read(rel).replace(b"{{BASE}}", f"http://{self.headers['Host']}".encode())

    def _conditional(self, body: bytes, ctype: str) -> None:
        """Feeds and sitemaps: ETag and Last-Modified, and 304 to a matching request."""
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        validators = [("ETag", etag), ("Last-Modified", "Thu, 14 Mar 2024 12:00:00 GMT")]
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            for name, value in validators:
                self.send_header(name, value)
            self.end_headers()
            with self.log.lock:
                self.log.sent.setdefault(self.path, []).append(b"")
            return None
        return self._send(200, body, ctype, extra=validators)

    def _chunked(self, body: bytes, parts: int = 3) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if self.command != "HEAD":
            step = max(1, len(body) // parts)
            for i in range(0, len(body), step):
                chunk = body[i : i + step]
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        with self.log.lock:
            self.log.sent.setdefault(self.path, []).append(body)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up mid-response (timeouts, size limits) are expected here


class SiteServer:
    """The site on ``127.0.0.1:<free port>`` in a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.log = SiteLog()
        handler = type("BoundHandler", (Handler,), {"log": self.log})
        self.httpd = _QuietServer((host, port), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def __enter__(self) -> SiteServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    with SiteServer(port=args.port) as server:
        print(f"Serving the demo news site at {server.base_url}/ (Ctrl-C to stop)")
        for path, _ in EXPECTED:
            print(server.url(path))
        with contextlib.suppress(KeyboardInterrupt):
            server.thread.join()


if __name__ == "__main__":
    main()
