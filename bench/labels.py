"""Access labels on real pages that show their content (bench/data/news.jsonl.xz).

Every page of the dataset shows what it holds (an article, or for ``truth.kind`` "other"
a page that is no article), so every label but ``full`` on it is a false positive; a
page whose truth is not ``access: "open"`` (an annotator's text that stops on "...") is
counted apart. Each page is extracted as a crawl extracts it
(``crawler.extract.article.extract_page``) and its label read from the result; the
classification is timed again on its own (the same page facts, the same rules) to give
its share of the extraction's CPU time. The downloader's view (``AccessRetryMiddleware``:
pages up to ACCESS_SNIFF_MAX_BYTES, before extraction) is printed too: a label there is
a page fetched again and counted towards pausing its host. So is a view of each page as
if the extractor had found no article on it (it happens on real pages): what the page
itself shows must keep it ``full``.

    .venv/bin/python -m bench.labels                        # both splits, the current rules
    .venv/bin/python -m bench.labels --split tune           # tune rules on this one only
    .venv/bin/python -m bench.labels --baseline HEAD~3      # also the rules of a revision

``--baseline REV`` classifies the same extractions with crawler/extract/access.py,
soft404.py and rules/access.toml as they were at REV (read with ``git show``), so the
two sets of rules are compared on identical inputs.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import json
import lzma
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from crawler import settings
from crawler.extract.access import BLOCKING, FULL, PageFacts, rules_for
from crawler.extract.article import extract_page
from crawler.extract.decoding import decode_html
from crawler.extract.soft404 import page_words

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data" / "news.jsonl.xz"
CONTENT_TYPE = "text/html; charset=utf-8"
SPLITS = ("tune", "heldout")


def pages(path: Path) -> Iterator[dict[str, Any]]:
    with lzma.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def baseline_module(revision: str) -> ModuleType:
    """crawler.extract.access as it was at *revision* (its soft404 and rules with it)."""
    where = Path(tempfile.mkdtemp(prefix="labels-baseline-"))
    (where / "rules").mkdir()

    def show(path: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), "show", f"{revision}:{path}"],
                              check=True, capture_output=True, text=True).stdout  # fmt: skip

    (where / "rules" / "access.toml").write_text(show("crawler/extract/rules/access.toml"))
    (where / "baseline_soft404.py").write_text(show("crawler/extract/soft404.py"))
    source = show("crawler/extract/access.py").replace(
        "from crawler.extract.soft404 import", "from baseline_soft404 import"
    )
    (where / "baseline_access.py").write_text(source)
    sys.path.insert(0, str(where))
    spec = importlib.util.spec_from_file_location("baseline_access", where / "baseline_access.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["baseline_access"] = module  # (its dataclasses look themselves up)
    spec.loader.exec_module(module)
    return module


class Tally:
    """Labels other than full, per label, with examples of their evidence."""

    def __init__(self) -> None:
        self.labels: collections.Counter[str] = collections.Counter()
        self.examples: dict[str, list[str]] = collections.defaultdict(list)

    def add(self, page: dict[str, Any], label: str, evidence: str | None) -> None:
        if label == FULL:
            return
        self.labels[label] += 1
        self.examples[label].append(f"{page['id']} ({page['url'][:70]}): {evidence}")

    def report(self, title: str, examples: int) -> list[str]:
        total = sum(self.labels.values())
        counts = ", ".join(f"{label} {n}" for label, n in sorted(self.labels.items()))
        lines = [f"  {title}: {total} labelled{' (' + counts + ')' if counts else ''}"]
        for label in sorted(self.examples):
            lines += [f"    {label}: {e}" for e in self.examples[label][:examples]]
        return lines


def downloader_facts(module: Any, body: bytes) -> Any:
    """The page as the downloader sees it: no article yet, its words counted on it."""
    return module.PageFacts(body.decode("utf-8", "replace"), status=200, body=body,
                            count_words=lambda: page_words(body))  # fmt: skip


def timing(name: str, extract: list[float], classify: list[float]) -> str:
    ms = [1000 * s for s in sorted(classify)]
    return (
        f"  {name}: classification {statistics.fmean(ms):.3f} ms/page (median "
        f"{statistics.median(ms):.3f}, p99 {ms[int(0.99 * (len(ms) - 1))]:.2f}, max "
        f"{ms[-1]:.2f}) = {100 * sum(classify) / sum(extract):.2f}% of the extraction's"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--split", choices=SPLITS, action="append",
                        help="only this split (repeatable; default both)")  # fmt: skip
    parser.add_argument("--baseline", metavar="REV", help="also the rules at this revision")
    parser.add_argument("--examples", type=int, default=5, help="evidence shown per label")
    parser.add_argument("--limit", type=int, default=0, help="at most this many pages")
    args = parser.parse_args()
    splits = tuple(args.split or SPLITS)
    this = sys.modules[PageFacts.__module__]
    views = {"rules": (this, rules_for(), rules_for().only((*BLOCKING, FULL)))}
    if args.baseline:
        old = baseline_module(args.baseline)
        views = {f"baseline ({args.baseline})": (old, old.rules_for(),
                                                 old.rules_for().only(old.BLOCKING)),
                 **views}  # fmt: skip
    sniff_max = settings.ACCESS_SNIFF_MAX_BYTES

    count: collections.Counter[str] = collections.Counter()
    kinds: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    tallies: dict[tuple[str, str], Tally] = collections.defaultdict(Tally)
    extract_s: dict[str, list[float]] = collections.defaultdict(list)
    classify_s: dict[tuple[str, str], list[float]] = collections.defaultdict(list)
    for page in pages(args.data):
        split = page.get("split")
        if split not in splits:
            continue
        if args.limit and sum(count[s] for s in splits) >= args.limit:
            break
        count[split] += 1
        truth = page.get("truth") or {}
        kinds[split][truth.get("kind") or "?"] += 1
        # a text the annotator saw cut short: not counted with the pages that show all
        side = "" if truth.get("access", "open") == "open" else " (truth not open)"
        body = page["html"].encode("utf-8")
        started = time.process_time()
        extraction = extract_page(body, CONTENT_TYPE, page["url"])
        extract_s[split].append(time.process_time() - started)
        article = extraction.article
        html, _ = decode_html(body, CONTENT_TYPE)
        small = len(body) <= sniff_max
        count[f"{split}/small"] += small
        for name, (module, rules, downloader) in views.items():
            # the classification alone, as extract_page runs it
            facts = module.PageFacts(html, words=article.words if article else 0, body=body,
                                     text=article.text if article else "")  # fmt: skip
            started = time.process_time()
            access = rules.classify(facts)
            classify_s[(split, name)].append(time.process_time() - started)
            if module is this:
                assert access == extraction.access, (page["id"], access, extraction.access)
            tallies[(split, name + side)].add(page, access.label, access.evidence)
            # the same page had the extractor found nothing on it (it happens on real
            # pages): only what the page itself shows may decide
            missed = rules.classify(module.PageFacts(html, words=0, body=body, text=""))
            tallies[(split, f"{name}, article missed{side}")].add(
                page, missed.label, missed.evidence
            )
            if small:
                access = downloader.classify(downloader_facts(module, body))
                tallies[(split, f"{name}, downloader{side}")].add(
                    page, access.label, access.evidence
                )

    for split in splits:
        if not count[split]:
            print(f"{split}: no pages")
            continue
        kind = ", ".join(f"{k} {n}" for k, n in sorted(kinds[split].items()))
        print(f"{split}: {count[split]} pages ({kind}); {count[f'{split}/small']} of at most "
              f"{sniff_max} bytes (what the downloader reads)")  # fmt: skip
        print(f"  extraction {1000 * statistics.fmean(extract_s[split]):.1f} ms/page (CPU)")
        for name in views:
            print(timing(name, extract_s[split], classify_s[(split, name)]))
        for name in views:
            for view in (name, f"{name}, article missed", f"{name}, downloader"):
                for side in ("", " (truth not open)"):
                    if side and (split, view + side) not in tallies:
                        continue
                    print(
                        "\n".join(tallies[(split, view + side)].report(view + side, args.examples))
                    )


if __name__ == "__main__":
    main()
