"""Import paths from before the layout by concern: a setting naming one fails at start with
the new path, rather than load nothing or leave a component switched on."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys

import pytest

from crawler.core.renamed import RENAMED, RenamedPathError, check_settings
from crawler.extract.workers import FunctionLoadError, FunctionRef, load_function
from tests.support.crawl import ROOT


@pytest.mark.parametrize("old", sorted(RENAMED))
def test_every_new_path_names_what_the_old_one_did(old):
    module, _, name = RENAMED[old].rpartition(".")
    assert callable(getattr(importlib.import_module(module), name))
    assert old.rsplit(".", 1)[1] == name  # the same component, moved


def test_old_paths_in_component_settings_fail_with_the_new_one():
    disabled = {"crawler.middlewares.AddressGuardMiddleware": None}  # switched off, the old way
    with pytest.raises(RenamedPathError, match=re.escape("downloadermiddlewares.netguard.Address")):
        check_settings({"DOWNLOADER_MIDDLEWARES": disabled})
    with pytest.raises(RenamedPathError, match=re.escape("crawler.scheduler.RedisScheduler")):
        check_settings({"SCHEDULER": "crawler.distributed.RedisScheduler"})
    with pytest.raises(
        RenamedPathError, match=re.escape("crawler.scheduler.HostRateDownloadHandler")
    ):
        check_settings(
            {"DOWNLOAD_HANDLERS": {"http": "crawler.distributed.HostRateDownloadHandler"}}
        )
    check_settings({"DOWNLOADER_MIDDLEWARES": {"my.own.Middleware": 10}, "SCHEDULER": None})


def test_an_old_extract_function_path_fails_naming_the_new_one():
    for load in (load_function, FunctionRef):
        with pytest.raises(
            FunctionLoadError, match=re.escape("crawler.extract.article.extract_page")
        ):
            load("crawler.extraction.extract_page")


def test_a_crawl_with_an_old_path_stops_at_start_in_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "urls", "-a", f"urls={tmp_path / 'none.txt'}",
         "-s", f"ARCHIVE_DIR={tmp_path / 'a'}", "-s",
         "EXTRACT_FUNCTION=crawler.extraction.extract_page"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "has moved to crawler.extract.article.extract_page" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "a").exists()
