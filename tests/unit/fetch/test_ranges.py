"""HTTP range answers (crawler.fetch.ranges): the bytes asked for, or why not."""

from __future__ import annotations

import pytest

from crawler.fetch.ranges import RangeError, range_header, ranged_body


def test_a_range_and_where_it_ends():
    assert range_header(100, 50) == "bytes=100-149"
    assert ranged_body(206, "bytes 100-149/1000", b"x" * 50, 100, 50) == (b"x" * 50, False)
    assert ranged_body(206, "bytes 950-999/1000", b"x" * 50, 950, 100) == (b"x" * 50, True)
    assert ranged_body(206, "bytes 0-9/*", b"x" * 10, 0, 50) == (b"x" * 10, True)
    assert ranged_body(206, "bytes 0-49/*", b"x" * 50, 0, 50) == (b"x" * 50, False)
    assert ranged_body(416, "bytes */1000", b"", 1000, 50) == (b"", True)
    assert ranged_body(200, None, b"whole", 0, 50) == (b"whole", True)


@pytest.mark.parametrize(
    ("status", "header", "body", "offset", "message"),
    [
        (200, None, b"whole file", 100, "HTTP 200"),  # ranges ignored, not from 0
        (503, None, b"", 0, "HTTP 503"),
        (206, "bytes 0-49/1000", b"x" * 50, 100, "got bytes 0-49/1000"),
        (206, None, b"x", 100, "no range"),
        (206, "bytes 100-149/1000", b"x" * 20, 100, "came with 20 bytes"),
    ],
)
def test_an_answer_that_is_not_the_range_asked_for(status, header, body, offset, message):
    with pytest.raises(RangeError, match=message):
        ranged_body(status, header, body, offset, 50)
