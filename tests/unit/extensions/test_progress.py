"""The live progress bar (crawler.extensions.progress) on a terminal."""

import io

from crawler.extensions.progress import Progress


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_live_bar_on_a_terminal(make_crawler):
    crawler = make_crawler()
    stream = FakeTTY()
    progress = Progress(crawler, interval=10, stream=stream)
    assert progress.live and progress.interval == 1.0
    crawler.stats = type("S", (), {"get_value": lambda self, k, d=None: {
        "manifest/lines": 30, "input/total": 120, "manifest/outcome/ok": 30,
    }.get(k, d)})()  # fmt: skip
    progress.tick()
    assert stream.getvalue().startswith("\r\x1b[K[######") and "30/120 (25.0%)" in stream.getvalue()
