"""Progress figures (crawler.tools.progress): durations, rates, the bar and the summary."""

from crawler.tools.progress import RateMeter, duration, progress_bar, progress_line, summary_table


def test_duration():
    assert [duration(x) for x in (0, 42, 185, 3720, None, -1)] == [
        "0s", "42s", "3m05s", "1h02m", "?", "?",
    ]  # fmt: skip


def test_rate_meter_smooths():
    meter = RateMeter(smoothing=0.5)
    assert meter.update(0.0, 0) is None
    assert meter.update(1.0, 10) == 10.0
    assert meter.update(2.0, 30) == 15.0


def test_progress_line_and_bar():
    line = progress_line(120, 1000, 40.0, {"ok": 100, "no_text": 15, "error": 5, "blocked": 0})
    assert line == "120/1000 (12.0%) 40.0 pages/s, ETA 22s | ok=100 no_text=15 error=5"
    assert progress_line(5, None, None, {}) == "5 done -- pages/s"
    assert progress_bar(500, 1000) == "[" + "#" * 12 + "." * 12 + "]"
    assert progress_bar(5, None).count("?") == 24


def test_summary_table():
    table = summary_table("finished", 10.0, {"ok": 90, "error": 10}, 100)
    assert table.splitlines() == [
        "Run finished in 10s: 100 pages, 10.0 pages/s",
        "  outcome       count",
        "  ok               90",
        "  error            10",
    ]
