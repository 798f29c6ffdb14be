"""WarcCaptureMiddleware (crawler.downloadermiddlewares.warc), built through from_crawler."""

from __future__ import annotations

import pytest

from crawler.downloadermiddlewares.warc import WarcCaptureMiddleware


@pytest.mark.parametrize(
    ("setting", "value"),
    [("WARC_VERSION", "2.0"), ("WARC_MAX_SIZE", 0), ("WARC_GZIP_LEVEL", 12)],
)
def test_invalid_warc_settings_fail_at_start(setting, value, make_crawler):
    crawler = make_crawler(**{setting: value})
    with pytest.raises(ValueError, match=setting):
        WarcCaptureMiddleware.from_crawler(crawler)
