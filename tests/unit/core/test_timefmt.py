"""Times (crawler.core.timefmt): timestamps and durations."""

from datetime import timedelta

import pytest

from crawler.core.timefmt import normalize_timestamp, parse_duration


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


# -- parse_duration ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value", ["", None, 0, "0", "never", 0.0, "0s", "0d", "   ", " Never ", "NEVER"]
)
def test_parse_duration_never(value):
    assert parse_duration(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        ("15m", timedelta(minutes=15)),
        ("45s", timedelta(seconds=45)),
        ("90", timedelta(seconds=90)),
        ("1.5h", timedelta(minutes=90)),
        (" 7D ", timedelta(days=7)),
        (3600, timedelta(hours=1)),
        (1.5, timedelta(seconds=1.5)),
    ],
)
def test_parse_duration(value, expected):
    assert parse_duration(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-5d", "from 0 to"),
        ("-1", "from 0 to"),
        ("nan", "from 0 to"),
        ("inf", "from 0 to"),
        ("1e400", "from 0 to"),
        ("1e20d", "from 0 to"),
        ("abc", "use seconds or a number with s, m, h or d"),
        ("d", "use seconds or a number with s, m, h or d"),
        ("1x", "use seconds or a number with s, m, h or d"),
        ("5 days", "use seconds or a number with s, m, h or d"),
    ],
)
def test_parse_duration_rejects(value, message):
    with pytest.raises(ValueError, match=message) as info:
        parse_duration(value)
    assert "invalid duration" in str(info.value)
    assert repr(value.strip().lower()) in str(info.value)


@pytest.mark.parametrize("value", [-5, -0.5, float("nan"), float("inf"), True, [30]])
def test_parse_duration_rejects_numbers_out_of_range_and_other_types(value):
    """Given in settings.py as a number, a bad value fails like the same text would."""
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(value)
