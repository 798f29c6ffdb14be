"""``scrapy job status JOB [--redis URL] [--json]``: where a distributed job stands.

Entries waiting, in progress per worker (taken, outcome not yet durable), done and
dead-lettered (with why), and whether the job is finished. Exit status 0 when it is
finished with nothing dead-lettered, 1 otherwise (for a script that waits on it).
"""

from __future__ import annotations

import argparse
import json
import sys

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.commands.base import OfflineCommand, add_redis_option, redis_frontier
from crawler.distributed.frontier import FrontierError


class Command(OfflineCommand, ScrapyCommand):
    def syntax(self) -> str:
        return "status JOB [--redis URL] [--json]"

    def short_desc(self) -> str:
        return "Show a distributed job: waiting, in progress per worker, done, dead-lettered"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        add_redis_option(parser)
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if len(args) != 2 or args[0] != "status":
            raise UsageError("scrapy job status JOB")
        frontier = redis_frontier(args[1], opts, self.settings)  # a usage error before anything
        try:
            status = frontier.status()
            dead = frontier.dead_letters()
        except FrontierError as exc:
            print(f"Cannot read job {args[1]}: {exc}", file=sys.stderr)
            self.exitcode = 1
            return
        except Exception as exc:  # redis-py's errors
            print(f"Cannot read job {args[1]}: Redis: {exc}", file=sys.stderr)
            self.exitcode = 1
            return
        report = {"job": args[1], **status.as_dict(), "dead_letters": dead}
        if opts.json:
            print(json.dumps(report, indent=2, ensure_ascii=False))
        else:
            print(f"job {args[1]}: {'finished' if status.finished else 'running'}")
            print(f"  waiting      {status.queued}")
            for worker, count in sorted(status.pending.items()):
                print(f"  in progress  {count} ({worker})")
            print(f"  done         {status.done}")
            print(f"  dead-lettered {status.dead}")
            for letter in dead:
                print(f"    {letter['data'].get('url')}: {letter['reason']}")
        self.exitcode = 0 if status.finished and not status.dead else 1
