"""HTTP range requests (RFC 9110 14): what an answer to ``Range: bytes=N-M`` gives.

Reading a large file a range at a time (a CC-NEWS WARC file) needs each answer checked:
a ``206`` for exactly the bytes asked from, a ``416`` past the end, a ``200`` only when
asked from byte 0 (a server that ignores ranges sends the whole file). No network here.
"""

from __future__ import annotations

import re

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class RangeError(ValueError):
    """The answer is not the range asked for (another status, other bytes, cut short)."""


def range_header(offset: int, length: int) -> str:
    """``bytes=N-M``: *length* bytes from *offset*."""
    return f"bytes={offset}-{offset + length - 1}"


def ranged_body(
    status: int, content_range: str | None, body: bytes, offset: int, asked: int
) -> tuple[bytes, bool]:
    """The bytes an answer gives from *offset* (*asked* were asked for), and whether they
    reach the end of the file. RangeError when they are not those bytes."""
    if status == 416:  # asked from the end: nothing more
        return b"", True
    if status == 200 and offset == 0:  # the whole file (the server ignores ranges)
        return body, True
    if status != 206:
        raise RangeError(f"HTTP {status}")
    match = _CONTENT_RANGE.fullmatch((content_range or "").strip())
    if not match or int(match.group(1)) != offset:
        raise RangeError(f"asked for bytes from {offset}, got {content_range or 'no range'}")
    first, last, total = int(match.group(1)), int(match.group(2)), match.group(3)
    if len(body) != last - first + 1:
        raise RangeError(f"range {content_range} came with {len(body)} bytes")
    if total == "*":  # size unknown: a range shorter than asked for ends the file
        return body, len(body) < asked
    return body, last + 1 >= int(total)
