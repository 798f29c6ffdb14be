"""The WARC writer in a process of its own (``WARC_WRITER_PROCESS``).

Compressing and hashing a 160 KB page costs ~6 ms of CPU: on the reactor thread it halves
an archive-only crawl's speed, and a thread does not help (GIL convoy). A one-worker
process pool keeps records in order (FIFO); the crawler only pickles the exchange.
"""

from __future__ import annotations

from datetime import datetime

from crawler.core.items import EarlierCapture, WarcPointer
from crawler.warc.writer import HttpExchange, WarcWriter

_process_writer: WarcWriter | None = None


def init_process_writer(settings: dict) -> None:
    global _process_writer
    _process_writer = WarcWriter(**settings)


def process_write(exchange: HttpExchange, earlier: EarlierCapture | None) -> WarcPointer:
    assert _process_writer is not None, "init_process_writer was not called"
    return _process_writer.write_exchange(exchange, earlier)


def process_copy(members: list[bytes], response: int, provenance: dict[str, str]) -> WarcPointer:
    assert _process_writer is not None, "init_process_writer was not called"
    return _process_writer.copy_capture(members, response, provenance)


def process_write_resource(
    uri: str, content_type: str, payload: bytes, date: datetime, concurrent_to: str | None
) -> WarcPointer:
    assert _process_writer is not None, "init_process_writer was not called"
    return _process_writer.write_resource(uri, content_type, payload, date, concurrent_to)


def process_close() -> tuple[list[str], int]:
    assert _process_writer is not None, "init_process_writer was not called"
    _process_writer.close()
    return list(_process_writer.files_written), _process_writer.records_written
