import os
import subprocess

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.core.items import EarlierCapture
from crawler.warc.reader import iter_records, read_record_at
from crawler.warc.writer import (
    WarcWriter,
    request_target,
    response_headers_for_record,
    status_line,
    target_uri,
)
from tests.support.builders import http_exchange as exchange
from tests.support.crawl import BIN


def test_exchange_becomes_linked_response_and_request(tmp_path):
    writer = WarcWriter(tmp_path, prefix="t", info={"operator": "tests"})
    pointer = writer.write_exchange(exchange())
    assert list(tmp_path.glob("*.open"))  # still being written
    writer.close()
    [path] = list(tmp_path.glob("*.warc.gz"))
    assert path.name == pointer.filename and not list(tmp_path.glob("*.open"))
    records, payloads = [], []
    for record in iter_records(path):  # a payload can only be read while on its record
        records.append(record)
        payloads.append(record.raw_stream.read())
    assert [r.rec_type for r in records] == ["warcinfo", "response", "request"]
    _, response, request = records
    assert b"operator: tests" in payloads[0]
    assert payloads[1] == b"<html>hi</html>" and payloads[2] == b""
    assert response.rec_headers.get_header("WARC-Record-ID") == pointer.record_id
    assert request.rec_headers.get_header("WARC-Concurrent-To") == pointer.record_id
    assert response.rec_headers.get_header("WARC-Date") == "2024-03-01T12:00:00Z"
    assert response.rec_headers.get_header("WARC-IP-Address") == "127.0.0.1"
    assert response.http_headers.statusline == "200 OK"
    cookies = [v for k, v in response.http_headers.headers if k == "Set-Cookie"]
    assert cookies == ["a=1", "b=2"]
    assert request.http_headers.statusline == "/a?b=1 HTTP/1.1"
    assert request.http_headers.get_header("Host") == "example.org"
    check = subprocess.run([BIN / "warcio", "check", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout


def test_header_bytes_are_stored_verbatim(tmp_path):
    writer = WarcWriter(tmp_path)
    writer.write_exchange(exchange())
    writer.close()
    [path] = list(tmp_path.glob("*.warc.gz"))
    raw = b"".join(
        r.http_headers.to_bytes(encoding="latin-1") for r in iter_records(path) if r.http_headers
    )
    assert b"X-Odd: caf\xe9" in raw  # not %-encoded, not re-encoded as UTF-8


def test_offset_seeks_to_response(tmp_path):
    writer = WarcWriter(tmp_path)
    pointers = [writer.write_exchange(exchange(url=f"http://example.org/{i}")) for i in range(3)]
    writer.close()
    for i, pointer in enumerate(pointers):
        record, payload = read_record_at(tmp_path / pointer.filename, pointer.offset)
        assert record.rec_headers.get_header("WARC-Target-URI") == f"http://example.org/{i}"
        assert payload == b"<html>hi</html>"


def test_rotation_keeps_every_file_valid_and_starting_with_warcinfo(tmp_path):
    writer = WarcWriter(tmp_path, max_size=2000)
    body = os.urandom(3000)  # incompressible: each exchange fills a file
    names = {writer.write_exchange(exchange(body=body)).filename for _ in range(5)}
    writer.close()
    files = sorted(tmp_path.glob("*.warc.gz"))
    assert len(files) == len(names) == 5
    assert writer.files_written == [p.name for p in files]
    serials = [p.name.split("-")[2] for p in files]
    assert serials == ["00000", "00001", "00002", "00003", "00004"]
    for path in files:
        with path.open("rb") as fh:
            types = [r.rec_type for r in ArchiveIterator(fh)]
        assert types == ["warcinfo", "response", "request"]


def test_one_gzip_member_per_record(tmp_path):
    import zlib

    writer = WarcWriter(tmp_path)
    writer.write_exchange(exchange())
    writer.close()
    data = next(tmp_path.glob("*.warc.gz")).read_bytes()
    members = 0
    while data:
        d = zlib.decompressobj(zlib.MAX_WBITS | 16)
        d.decompress(data)
        data = d.unused_data
        members += 1
    assert members == 3


def test_chunked_headers_are_made_consistent_with_stored_body():
    headers = [(b"Transfer-Encoding", b"chunked"), (b"Content-Type", b"text/html")]
    fixed = response_headers_for_record(headers, 42, "GET", 200)
    assert (b"Content-Length", b"42") in fixed
    assert not [k for k, _ in fixed if k.lower() == b"transfer-encoding"]
    keep = [(b"Content-Length", b"1000")]
    assert response_headers_for_record(keep, 0, "HEAD", 200) == keep
    assert response_headers_for_record(keep, 0, "GET", 304) == keep
    assert response_headers_for_record(keep, 1000, "GET", 200) == keep


def test_status_line_and_request_target():
    assert status_line(404) == "404 Not Found"
    assert status_line(299) == "299 Unknown"
    assert request_target("http://e.org") == "/"
    assert request_target("http://e.org/a/b?x=1&y=%20") == "/a/b?x=1&y=%20"


def test_invalid_max_size():
    with pytest.raises(ValueError):
        WarcWriter("/nonexistent", max_size=0)


def test_warcinfo_payload_lines(tmp_path):
    writer = WarcWriter(tmp_path, info={"software": "x/1", "robots": "obey"})
    writer.write_exchange(exchange())
    writer.close()
    for info in iter_records(next(tmp_path.glob("*.warc.gz"))):
        text = info.raw_stream.read().decode()
        break
    for line in ("software: x/1", "robots: obey", "format: WARC File Format 1.0"):
        assert line in text


def test_a_fragment_stays_out_of_the_target_uri_and_the_request_line(tmp_path):
    writer = WarcWriter(tmp_path)
    writer.write_exchange(exchange(url="http://example.org/a?b=1#comment-949890"))
    writer.close()
    [path] = list(tmp_path.glob("*.warc.gz"))
    targets = [r.rec_headers.get_header("WARC-Target-URI") for r in iter_records(path)][1:]
    assert targets == ["http://example.org/a?b=1", "http://example.org/a?b=1"]
    assert target_uri("http://example.org/a?#x") == "http://example.org/a?"  # the rest as given


def test_a_304_to_a_conditional_get_is_a_server_not_modified_revisit(tmp_path):
    writer = WarcWriter(tmp_path)
    first = writer.write_exchange(exchange())
    earlier = EarlierCapture(
        "http://example.org/a?b=1", first.date, first.record_id, first.payload_digest
    )
    not_modified = exchange(status=304, body=b"", response_headers=[(b"ETag", b'"e1"')])
    pointer = writer.write_exchange(not_modified, earlier)
    other_304 = writer.write_exchange(exchange(url="http://example.org/b", status=304, body=b""))
    writer.close()
    assert pointer.revisit and pointer.payload_digest == first.payload_digest
    assert not other_304.revisit  # no earlier capture: a plain 304 response
    [path] = list(tmp_path.glob("*.warc.gz"))
    revisit, _ = read_record_at(path, pointer.offset)
    headers = revisit.rec_headers
    assert revisit.rec_type == "revisit" and revisit.http_headers.statusline == "304 Not Modified"
    assert headers.get_header("WARC-Profile").endswith("/warc/1.0/revisit/server-not-modified")
    assert headers.get_header("WARC-Refers-To") == first.record_id
    assert headers.get_header("WARC-Refers-To-Date") == first.date
    assert headers.get_header("WARC-Payload-Digest") == first.payload_digest
    check = subprocess.run([BIN / "warcio", "check", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
