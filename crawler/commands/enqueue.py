"""``scrapy enqueue JOB FILE [--redis URL]``: queue a URL list as a distributed job.

Idempotent: entries the job has ever queued are not queued again, so the same list (or
a longer version of it) can be enqueued twice. Each entry keeps its list position as
its seq, as ``scrapy crawl urls`` numbers it; invalid and repeated entries are queued
with their outcome decided, so a worker writes their manifest lines too. Workers then
run ``scrapy crawl urls -s JOB=JOB -s REDIS_URL=URL`` on any machine.
"""

from __future__ import annotations

import argparse
import sys

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.commands.base import OfflineCommand, add_redis_option, redis_frontier
from crawler.core.urls import DEFAULT_MAX_URL_LENGTH
from crawler.distributed.frontier import FrontierError, list_entries
from crawler.sources.urllists import InputFormatError


class Command(OfflineCommand, ScrapyCommand):
    def syntax(self) -> str:
        return "JOB FILE [--redis URL]"

    def short_desc(self) -> str:
        return "Queue a URL list as a distributed job (workers: scrapy crawl urls -s JOB=...)"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        add_redis_option(parser)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if len(args) != 2:
            raise UsageError("give a job name and a URL list: scrapy enqueue JOB FILE")
        job, path = args
        max_length = self.settings.getint("URLLENGTH_LIMIT") or DEFAULT_MAX_URL_LENGTH
        frontier = redis_frontier(job, opts, self.settings)  # a usage error before anything
        try:
            entries = list(list_entries(path, max_length))
            added = frontier.enqueue(entries)
            status = frontier.status()
        except (FrontierError, InputFormatError, OSError) as exc:
            print(f"Cannot enqueue {path}: {exc}", file=sys.stderr)
            self.exitcode = 1
            return
        except Exception as exc:  # redis-py's errors: an unreachable or refusing server
            print(f"Cannot enqueue {path}: Redis: {exc}", file=sys.stderr)
            self.exitcode = 1
            return
        busy = sum(status.pending.values())
        print(f"{added} of {len(entries)} entries queued in job {job} "
              f"({len(entries) - added} queued before); the job has {status.queued} "
              f"waiting, {busy} in progress, {status.done} done")  # fmt: skip
