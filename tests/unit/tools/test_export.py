"""``scrapy export`` on a plain install: its default format, Parquet, needs no extra."""

from __future__ import annotations

import argparse
from importlib.metadata import requires

from scrapy.settings import Settings

from crawler.commands.export import Command


def test_parquet_the_default_needs_only_a_plain_install():
    command = Command()
    command.settings = Settings()
    parser = argparse.ArgumentParser()
    command.add_options(parser)
    assert parser.parse_args([]).format == "parquet"
    plain = [r for r in requires("newsarchiver") or [] if "extra ==" not in r]
    assert any(r.replace(" ", "").startswith("pyarrow") for r in plain), plain
