"""WARC writing and reading with warcio.

:class:`WarcWriter` turns one HTTP exchange (:class:`HttpExchange`) into a ``response``
record plus a ``request`` record linked by ``WARC-Concurrent-To``, one gzip member per
record, in files that carry ``.open`` until closed and rotate at a size limit. Header
blocks are written byte for byte (latin-1 round trip), not re-encoded the way warcio
does for non-ASCII values, so repeated and odd headers survive as received.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from crawler.core.items import EarlierCapture, WarcPointer
from crawler.core.timefmt import timestamp
from crawler.warc.stream import record_head

OPEN_SUFFIX = ".open"
WARC_SUFFIX = ".warc.gz"
Headers = list[tuple[bytes, bytes]]
WARC_VERSIONS = ("1.0", "1.1")


class WarcWriteError(OSError):
    """The archive could not be written (disk full, permissions): the run must fail."""


class WarcOptionError(ValueError):
    """A writer option is invalid: ``option`` names it, ``message`` says why."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option} {message}")
        self.option, self.message = option, message


@dataclass(frozen=True, slots=True)
class HttpExchange:
    """One request and the response that came back for it, as seen on the wire."""

    url: str
    method: str
    request_headers: Headers
    response_headers: Headers
    status: int
    body: bytes  # as received: still Content-Encoding compressed, transfer-decoded
    protocol: str = "HTTP/1.1"
    request_body: bytes = b""
    ip_address: str | None = None
    date: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def target_uri(self) -> str:
        """``WARC-Target-URI``: the URL as requested, without its fragment (a fragment
        never goes on the wire; Heritrix, wget and Browsertrix write it so too)."""
        return target_uri(self.url)


def target_uri(url: str) -> str:
    """*url* as a record's ``WARC-Target-URI``: without its fragment, every other
    character as given (urldefrag would also drop an empty ``?``)."""
    return url.partition("#")[0]


class _RawStatusAndHeaders(StatusAndHeaders):
    """Header block serialised as the original bytes (values are latin-1 decoded)."""

    def to_ascii_bytes(self, filter_func=None):
        return self.to_str(filter_func).encode("latin-1") + b"\r\n"


def _latin1(headers: Headers) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers]


def payload_digest(body: bytes) -> str:
    """``sha1:<base32>``, the form warcio writes in ``WARC-Payload-Digest``."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


def status_line(status: int) -> str:
    """``200 OK``: the code and its standard reason phrase (Scrapy does not keep the wire's)."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def response_headers_for_record(
    headers: Headers, body_length: int, method: str, status: int
) -> Headers:
    """Make the stored headers describe the stored body.

    Twisted has already removed chunked transfer coding, so ``Transfer-Encoding`` goes
    and ``Content-Length`` states the length of what is stored. ``Content-Encoding``
    stays: the payload is kept compressed, as sent.
    """
    chunked = any(k.lower() == b"transfer-encoding" for k, _ in headers)
    lengths = [v for k, v in headers if k.lower() == b"content-length"]
    bodyless = method == "HEAD" or status in (204, 304) or 100 <= status < 200
    fix_length = chunked or (not bodyless and lengths != [str(body_length).encode()])
    if not fix_length:
        return list(headers)
    kept = [
        (k, v) for k, v in headers if k.lower() not in (b"transfer-encoding", b"content-length")
    ]
    kept.append((b"Content-Length", str(body_length).encode()))
    return kept


def request_target(url: str) -> str:
    """The request line target: path and query string, as the client sent it."""
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return target


def host_header(url: str) -> bytes:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(parts.scheme)
    if parts.port and parts.port != default:
        host += f":{parts.port}"
    return host.encode("idna") if not host.isascii() else host.encode()


class WarcWriter:
    """Writes exchanges to rotating ``.warc.gz`` files under *directory*.

    Writes: ``<prefix>-<YYYYmmddHHMMSS>-<serial:05d>-<host>-<pid>.warc.gz.open`` while a
    file is in use, renamed without ``.open`` when it is closed (at rotation or close()).
    """

    def __init__(
        self,
        directory: str | Path,
        *,
        prefix: str = "crawl",
        max_size: int = 1024**3,
        info: Mapping[str, str] | None = None,
        warc_version: str = "1.0",
        gzip_level: int = 6,
    ) -> None:
        if max_size <= 0:
            raise WarcOptionError("max_size", f"must be a positive number of bytes, got {max_size}")
        if not 1 <= gzip_level <= 9:
            raise WarcOptionError("gzip_level", f"must be 1-9, got {gzip_level}")
        if warc_version not in WARC_VERSIONS:
            raise WarcOptionError("warc_version", f"must be 1.0 or 1.1, got {warc_version!r}")
        self.gzip_level = gzip_level
        self.directory = Path(directory)
        self.prefix = prefix
        self.max_size = max_size
        self.info = dict(info or {})
        self.warc_version = warc_version
        self.files_written: list[str] = []
        self.records_written = 0
        self._serial = 0
        self._host = socket.gethostname().split(".")[0] or "localhost"
        self._path: Path | None = None
        self._fh = None
        self._writer: WARCWriter | None = None

    # -- file lifecycle -------------------------------------------------------------
    def _open(self) -> None:
        stamp = timestamp()
        name = f"{self.prefix}-{stamp}-{self._serial:05d}-{self._host}-{os.getpid()}{WARC_SUFFIX}"
        self._serial += 1
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / (name + OPEN_SUFFIX)
        try:
            self._fh = path.open("xb")
        except OSError as exc:
            raise WarcWriteError(f"cannot create WARC file {path}: {exc}") from exc
        self._path = path
        # warcio builds and serialises records; each is compressed here as its own gzip
        # member (warcio's own wrapper always uses level 9, several times slower than 6).
        self._writer = WARCWriter(BytesIO(), gzip=False, warc_version=self.warc_version)
        info = {"software": "newsarchiver", "format": f"WARC File Format {self.warc_version}"}
        self._write(self._writer.create_warcinfo_record(name, {**info, **self.info}))

    def close(self) -> None:
        """Close the current file and drop its ``.open`` suffix."""
        if self._fh is None or self._path is None:
            return
        try:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            final = self._path.with_name(self._path.name[: -len(OPEN_SUFFIX)])
            os.replace(self._path, final)
        except OSError as exc:
            raise WarcWriteError(f"cannot close WARC file {self._path}: {exc}") from exc
        finally:
            self._fh = None
            self._writer = None
        self.files_written.append(final.name)
        self._path = None

    @property
    def current_name(self) -> str | None:
        """Final (closed) name of the file being written."""
        return self._path.name[: -len(OPEN_SUFFIX)] if self._path else None

    # -- records ---------------------------------------------------------------------
    def _write(self, record: ArcWarcRecord) -> int:
        """Write *record* as one gzip member (at ``gzip_level``); return its offset."""
        assert self._fh is not None and self._writer is not None
        buffer = BytesIO()
        self._writer.out = buffer  # warcio serialises the record, uncompressed
        self._writer.write_record(record)
        member = gzip.compress(buffer.getvalue(), compresslevel=self.gzip_level, mtime=0)
        return self._write_member(member)

    def write_exchange(
        self, exchange: HttpExchange, earlier: EarlierCapture | None = None
    ) -> WarcPointer:
        """Write the response and request records of *exchange*; point at the response.

        With *earlier* given and the same payload, the response is written as a
        ``revisit`` record (identical-payload-digest profile) that refers to it; with
        *earlier* given and a ``304 Not Modified`` (a conditional GET), as a ``revisit``
        record of the server-not-modified profile, with the 304's own headers and the
        earlier payload's digest.
        """
        if self._fh is None:
            self._open()
        date = datetime_to_iso_date(
            exchange.date.astimezone(UTC).replace(tzinfo=None),
            use_micros=self.warc_version == "1.1",
        )
        digest = payload_digest(exchange.body)
        not_modified = earlier is not None and exchange.status == 304
        if not_modified:
            assert earlier is not None
            digest = earlier.payload_digest  # the server says: that payload, unchanged
        revisit = earlier is not None and (not_modified or earlier.payload_digest == digest)
        response = self._response_record(exchange, date, digest, earlier if revisit else None)
        record_id = response.rec_headers.get_header("WARC-Record-ID")
        request = self._request_record(exchange, date, record_id)
        assert self.current_name is not None
        name = self.current_name
        offset = self._write(response)
        self._write(request)
        if self._fh is not None and self._fh.tell() >= self.max_size:
            self.close()
        return WarcPointer(
            filename=name,
            offset=offset,
            record_id=record_id,
            payload_digest=digest,
            date=date,
            revisit=revisit,
        )

    def copy_capture(
        self, members: Sequence[bytes], response: int, provenance: Mapping[str, str]
    ) -> WarcPointer:
        """Copy the records of a capture from another archive (CC-NEWS) byte for byte, each
        the gzip member its writer wrote, then a ``metadata`` record that names where they
        came from: ``WARC-Refers-To`` the response, block *provenance* as WARC fields
        (``via``: the source file's URL, ``source-file``, ``source-offset``). Points at the
        copied response (its own record id and date)."""
        if self._fh is None:
            self._open()
        assert self._writer is not None and self.current_name is not None
        head = record_head(members[response])
        name, offset = self.current_name, -1
        for index, member in enumerate(members):
            written = self._write_member(member)
            offset = written if index == response else offset
        record_id = head.record_id or ""
        block = "".join(f"{k}: {v}\r\n" for k, v in provenance.items()).encode("utf-8")
        date = datetime_to_iso_date(datetime.now(UTC).replace(tzinfo=None),
                                    use_micros=self.warc_version == "1.1")  # fmt: skip
        self._write(self._writer.create_warc_record(
            head.target_uri or "", "metadata", payload=BytesIO(block), length=len(block),
            warc_content_type="application/warc-fields",
            warc_headers_dict={"WARC-Date": date, "WARC-Refers-To": record_id},
        ))  # fmt: skip
        if self._fh is not None and self._fh.tell() >= self.max_size:
            self.close()
        return WarcPointer(
            filename=name, offset=offset, record_id=record_id,
            payload_digest=head.headers.get("warc-payload-digest"), date=head.date,
        )  # fmt: skip

    def _write_member(self, member: bytes) -> int:
        """Write one gzip member as it is (a record copied whole); return its offset."""
        assert self._fh is not None
        offset = self._fh.tell()
        try:
            self._fh.write(member)
            self._fh.flush()
        except OSError as exc:
            raise WarcWriteError(f"cannot write to {self._path}: {exc}") from exc
        self.records_written += 1
        return offset

    def write_resource(
        self,
        uri: str,
        content_type: str,
        payload: bytes,
        date: datetime,
        concurrent_to: str | None = None,
    ) -> WarcPointer:
        """Write a ``resource`` record (a page's screenshot, its rendered DOM), linked to
        the record *concurrent_to* (the page's response) by ``WARC-Concurrent-To``."""
        if self._fh is None:
            self._open()
        assert self._writer is not None and self.current_name is not None
        stamp = datetime_to_iso_date(
            date.astimezone(UTC).replace(tzinfo=None), use_micros=self.warc_version == "1.1"
        )
        headers = {"WARC-Date": stamp}
        if concurrent_to:
            headers["WARC-Concurrent-To"] = concurrent_to
        record = self._writer.create_warc_record(
            uri, "resource", payload=BytesIO(payload), length=len(payload),
            warc_content_type=content_type, warc_headers_dict=headers,
        )  # fmt: skip
        name = self.current_name
        offset = self._write(record)
        if self._fh is not None and self._fh.tell() >= self.max_size:
            self.close()
        return WarcPointer(name, offset, record.rec_headers.get_header("WARC-Record-ID"),
                           payload_digest(payload), stamp)  # fmt: skip

    def _response_record(
        self, exchange: HttpExchange, date: str, digest: str, earlier: EarlierCapture | None
    ) -> ArcWarcRecord:
        """The ``response`` record, or with *earlier* (same payload) a ``revisit`` of it."""
        assert self._writer is not None
        resp_headers = response_headers_for_record(
            exchange.response_headers, len(exchange.body), exchange.method, exchange.status
        )
        http_resp = _RawStatusAndHeaders(
            status_line(exchange.status), _latin1(resp_headers), protocol=exchange.protocol
        )
        warc_headers = {"WARC-Date": date}
        if exchange.ip_address:
            warc_headers["WARC-IP-Address"] = exchange.ip_address
        if earlier is not None:
            if earlier.record_id:
                warc_headers["WARC-Refers-To"] = earlier.record_id
            record = self._writer.create_revisit_record(
                exchange.target_uri,
                digest,
                target_uri(earlier.uri),
                earlier.date,
                http_headers=http_resp,
                warc_headers_dict=warc_headers,
            )
            if exchange.status == 304:
                version = "1.1" if self.warc_version == "1.1" else "1.0"
                record.rec_headers.replace_header(
                    "WARC-Profile",
                    f"http://netpreserve.org/warc/{version}/revisit/server-not-modified",
                )
            return record
        # Given the digest, warcio does not hash the payload again (only the block).
        warc_headers["WARC-Payload-Digest"] = digest
        return self._writer.create_warc_record(
            exchange.target_uri,
            "response",
            payload=BytesIO(exchange.body),
            length=len(exchange.body),
            http_headers=http_resp,
            warc_headers_dict=warc_headers,
        )

    def _request_record(self, exchange: HttpExchange, date: str, response_id: str) -> ArcWarcRecord:
        """The ``request`` record, concurrent to the response *response_id*: the request
        line with its full target, a Host header first, every header as sent."""
        assert self._writer is not None
        req_headers = [(b"Host", host_header(exchange.url))]
        req_headers += [(k, v) for k, v in exchange.request_headers if k.lower() != b"host"]
        if exchange.request_body:
            req_headers.append((b"Content-Length", str(len(exchange.request_body)).encode()))
        http_req = _RawStatusAndHeaders(
            f"{exchange.method} {request_target(exchange.url)} {exchange.protocol}",
            _latin1(req_headers),
            is_http_request=True,
        )
        return self._writer.create_warc_record(
            exchange.target_uri,
            "request",
            payload=BytesIO(exchange.request_body),
            length=len(exchange.request_body),
            http_headers=http_req,
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": response_id},
        )
