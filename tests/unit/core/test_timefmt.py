"""Times (crawler.core.timefmt): timestamps and durations."""

import pytest

from crawler.core.timefmt import normalize_timestamp


@pytest.mark.parametrize(
    ("text", "stamp"),
    [
        ("20200101", "20200101000000"),
        ("2020", "20200101000000"),
        ("202003", "20200301000000"),
        ("20200101123456", "20200101123456"),
        ("2020-12-21", "20201221000000"),
        ("2020-12-21T04:16:53+00:00", "20201221041653"),
        ("", None),
        (None, None),
    ],
)
def test_normalize_timestamp(text, stamp):
    assert normalize_timestamp(text) == stamp


@pytest.mark.parametrize("text", ["yesterday", "20201399", "12"])
def test_bad_timestamps(text):
    with pytest.raises(ValueError, match="not a"):
        normalize_timestamp(text)
