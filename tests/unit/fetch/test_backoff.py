from datetime import UTC, datetime

from crawler.fetch.backoff import backoff_delay, parse_retry_after


def test_backoff_doubles_and_caps():
    assert [backoff_delay(n, 1.0, 5.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]
    assert backoff_delay(0, 1.0, 5.0) == 0.0
    assert backoff_delay(3, 0.0, 5.0) == 0.0


def test_retry_after_seconds_and_dates():
    now = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after(b"120") == 120.0
    assert parse_retry_after(" 5 ") == 5.0
    assert parse_retry_after("Fri, 01 Mar 2024 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Fri, 01 Mar 2024 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
