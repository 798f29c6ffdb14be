"""Extraction quality on real labelled pages: ours against trafilatura and other peers.

    .venv/bin/python -m bench.quality                       # both splits, all extractors
    .venv/bin/python -m bench.quality --split tune --only ours,trafilatura
    .venv/bin/python -m bench.quality --by source --json /tmp/quality.json

Reads bench/data/news.jsonl.xz (bench/data/README.md), runs every extractor on every
page in a process pool (one worker per CPU, each page's extractors in one task, CPU time
measured in the worker around the extraction call alone), and prints per split and per
language (or source) for each extractor:

- body: bag-of-words precision / recall / F1 (multisets of tokens; an empty output
  scores 0) and the F1 of 4-token shingles (multisets), averaged over the pages whose
  truth has a body;
- title: exact match after normalizing (NFKC, casefold, every character that is not a
  letter or digit dropped: whitespace, punctuation and quotes do not count);
- authors: the set of normalized names equal ("authors"), and at least one name in
  common ("any");
- date: the day (first 10 characters, YYYY-MM-DD) equal;
- snippets (trafilatura's pages): the share of its "with" snippets found in the output,
  and of its "without" snippets absent, matched on the token sequence;
- CPU ms per page and the pages where the extractor returned no text.

Each accuracy counts only the pages whose truth has that field (n in brackets).

Tokens: Unicode word characters (``\\w+``) casefolded; runs of Han, Hiragana, Katakana,
Thai, Lao, Khmer and Myanmar characters (scripts written without spaces) are split into
single characters, so Japanese, Chinese and Thai are scored on characters (and the
shingles on character 4-grams). Hangul keeps its spaces and is scored on words.

Ours returns markdown: links and images keep their text and lose their targets,
emphasis marks, heading, list and quote markers, table pipes and rules are dropped
before scoring. The peers' plain text is scored as it comes.

Nothing here talks to the network: the workers refuse any socket connection that is not
to a loopback address.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import hashlib
import json
import lzma
import os
import platform
import re
import sys
import time
import unicodedata
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "news.jsonl.xz"
EXTRACTORS = ("ours", "trafilatura", "readability", "newspaper4k", "goose3")
SPLITS = ("tune", "heldout")


# -- the dataset -----------------------------------------------------------------------


def load(path: Path = DATA, split: str = "all", limit: int | None = None) -> list[dict]:
    """The dataset's records (of one split, or all), in file order."""
    records = []
    with lzma.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if split != "all" and rec["split"] != split:
                continue
            records.append(rec)
    counts = collections.Counter(r["id"] for r in records)
    for rec in records:  # ids are unique in the dataset; keep results apart if not
        if counts[rec["id"]] > 1:
            rec["id"] += f"#{hashlib.sha256(rec['html'].encode()).hexdigest()[:8]}"
    if limit:
        # a spread of sites, not the first N of the file (which is sorted by site)
        records.sort(key=lambda r: r["id"][::-1])
        records = records[:limit]
    return records


# -- text normalization ----------------------------------------------------------------

NO_SPACE_SCRIPTS = (
    r"\u3040-\u30ff\u31f0-\u31ff"  # Hiragana, Katakana
    r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"  # Han
    r"\u0e00-\u0e7f\u0e80-\u0eff"  # Thai, Lao
    r"\u1780-\u17ff\u1000-\u109f"  # Khmer, Myanmar
)
TOKEN = re.compile(rf"[{NO_SPACE_SCRIPTS}]|[^\W{NO_SPACE_SCRIPTS}]+")


def tokens(text: str | None) -> list[str]:
    """Words, and single characters of the scripts written without spaces."""
    if not text:
        return []
    return TOKEN.findall(unicodedata.normalize("NFKC", text).casefold())


MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
MD_LINK = re.compile(r"\[([^\]]*)\]\((?:[^()]|\([^)]*\))*\)")
MD_LINE = re.compile(r"^\s{0,3}(?:#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+)+", re.M)
MD_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$", re.M)
MD_EMPH = re.compile(r"(\*\*|__|\*|~~|`+)|(?<!\w)_|_(?!\w)")


def markdown_to_text(md: str) -> str:
    """Plain words of our markdown: link and image text without targets, no marks."""
    text = MD_IMAGE.sub(r"\1", md)
    text = MD_LINK.sub(r"\1", text)
    text = MD_RULE.sub("", text)
    text = MD_LINE.sub("", text)
    text = text.replace("|", " ")
    return MD_EMPH.sub("", text)


def norm_label(value: str | None) -> str:
    """A title or name for comparison: letters and digits only, casefolded."""
    if not value:
        return ""
    value = unicodedata.normalize("NFKC", value).casefold()
    return "".join(ch for ch in value if ch.isalnum())


def day(value) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    value = str(value).strip()
    if re.match(r"\d{4}-\d{2}-\d{2}", value):
        return value[:10]
    try:
        from dateutil import parser as dateparser

        return dateparser.parse(value).date().isoformat()
    except (ValueError, OverflowError, ImportError):
        return None


# -- extractors (run in the workers) ---------------------------------------------------


def _no_network() -> None:
    """Refuse every connection but to loopback in this process."""
    import ipaddress
    import socket

    real_connect = socket.socket.connect

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        try:
            if isinstance(host, str) and ipaddress.ip_address(host).is_loopback:
                return real_connect(self, address)
        except ValueError:
            if host == "localhost":
                return real_connect(self, address)
        raise OSError(f"bench.quality: no network ({host!r})")

    socket.socket.connect = connect

    def getaddrinfo(host, *args, **kwargs):
        raise OSError(f"bench.quality: no name resolution ({host!r})")

    real_getaddrinfo = socket.getaddrinfo

    def guarded_getaddrinfo(host, *args, **kwargs):
        if host in (None, "localhost", "127.0.0.1", "::1"):
            return real_getaddrinfo(host, *args, **kwargs)
        return getaddrinfo(host)

    socket.getaddrinfo = guarded_getaddrinfo


def _split_names(value) -> list[str] | None:
    """A list of names from a string (split on ";" and ",") or a (nested) list."""
    if not value:
        return None
    if isinstance(value, list | tuple | set):
        names = []
        for v in value:
            names.extend(_split_names(v) if isinstance(v, list | tuple | set) else [str(v)])
        names = [n.strip() for n in names]
    else:
        names = [n.strip() for n in re.split(r"[;,]", str(value))]
    names = [n for n in names if n]
    return names or None


def run_ours(html: str, url: str) -> dict:
    from crawler.extract.article import extract_page

    ext = extract_page(html.encode("utf-8"), "text/html; charset=utf-8", url)
    a = ext.article
    if a is None:
        return {"text": None}
    authors = getattr(a, "authors", None)
    return {
        "text": markdown_to_text(a.text),
        "raw": a.text,
        "title": a.title,
        "authors": list(authors) if authors else _split_names(a.author),
        "date": day(a.date),
    }


def run_trafilatura(html: str, url: str) -> dict:
    import trafilatura

    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True)
    if doc is None:
        return {"text": None}
    get = doc.get if isinstance(doc, dict) else lambda k: getattr(doc, k, None)
    author = get("author")
    return {
        "text": get("text"),
        "title": get("title"),
        "authors": [n.strip() for n in str(author).split(";") if n.strip()] if author else None,
        "date": day(get("date")),
    }


def run_readability(html: str, url: str) -> dict:
    import lxml.html
    from readability import Document

    summary = Document(html, url=url).summary(html_partial=True)
    root = lxml.html.fromstring(summary) if summary.strip() else None
    if root is None:
        return {"text": None}
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag in ("p", "div", "li", "br", "h1", "h2", "h3", "tr"):
            el.tail = "\n" + (el.tail or "")
    return {"text": root.text_content().strip() or None}


def run_newspaper4k(html: str, url: str) -> dict:
    from newspaper import Article, Config

    config = Config()
    config.fetch_images = False
    config.memoize_articles = False
    config.follow_meta_refresh = False
    article = Article(url, config=config)
    article.download(input_html=html)
    article.parse()
    return {
        "text": article.text or None,
        "title": article.title or None,
        "authors": _split_names(list(article.authors or [])),
        "date": day(article.publish_date),
    }


_goose = None


def run_goose3(html: str, url: str) -> dict:
    global _goose
    if _goose is None:
        from goose3 import Goose

        _goose = Goose({"enable_image_fetching": False, "http_timeout": 0.1})
    article = _goose.extract(url=url, raw_html=html)
    published = article.publish_date
    if not day(published) and article.publish_datetime_utc:
        published = article.publish_datetime_utc
    return {
        "text": article.cleaned_text or None,
        "title": article.title or None,
        "authors": _split_names(list(article.authors or [])),
        "date": day(published),
    }


RUNNERS = {
    "ours": run_ours,
    "trafilatura": run_trafilatura,
    "readability": run_readability,
    "newspaper4k": run_newspaper4k,
    "goose3": run_goose3,
}

WARMUP = (
    "<html><head><title>Warm up</title></head><body><article><h1>Warm up</h1>"
    + "<p>This paragraph warms the extractor up before the pages are timed. </p>" * 8
    + "</article></body></html>"
)


def _init_worker(names: tuple[str, ...], pages: tuple[tuple[str, str], ...] = ()) -> None:
    import logging
    import warnings

    _no_network()
    warnings.simplefilter("ignore")
    logging.disable(logging.CRITICAL)
    # imports and first-call set-up (models, rule tables loaded on first use) are not a
    # page's cost: each extractor runs on a small page and on a few real ones first
    for name in names:
        for html, url in ((WARMUP, "http://127.0.0.1/warmup"), *pages):
            with contextlib.suppress(Exception):
                RUNNERS[name](html, url)


def _extract_all(task: tuple[tuple[str, ...], str, str, str]) -> tuple[str, dict]:
    names, rid, html, url = task
    results = {}
    for name in names:
        start = time.process_time()
        try:
            out = RUNNERS[name](html, url)
        except Exception as exc:  # a crash is an empty output, with its reason
            out = {"text": None, "error": f"{type(exc).__name__}: {exc}"[:300]}
        out["cpu_ms"] = (time.process_time() - start) * 1000
        results[name] = out
    return rid, results


# -- scoring ---------------------------------------------------------------------------


def prf(got: list[str], want: list[str]) -> tuple[float, float, float]:
    if not got or not want:
        return 0.0, 0.0, 0.0
    common = sum((collections.Counter(got) & collections.Counter(want)).values())
    if not common:
        return 0.0, 0.0, 0.0
    p, r = common / len(got), common / len(want)
    return p, r, 2 * p * r / (p + r)


def shingles(toks: list[str], n: int = 4) -> list[tuple[str, ...]]:
    if len(toks) < n:
        return [tuple(toks)] if toks else []
    return [tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)]


def _contains(haystack: list[str], needle: list[str]) -> bool:
    if not needle:
        return False
    joined = " " + " ".join(haystack) + " "
    return " " + " ".join(needle) + " " in joined


def score(rec: dict, out: dict) -> dict:
    truth = rec["truth"]
    text = out.get("text")
    s: dict = {"empty": not (text and text.strip()), "cpu_ms": out["cpu_ms"]}
    got = tokens(text)
    if truth.get("body"):
        want = tokens(truth["body"])
        s["p"], s["r"], s["f1"] = prf(got, want)
        s["sh_f1"] = prf(shingles(got), shingles(want))[2]
    if truth.get("title"):
        s["title"] = norm_label(out.get("title")) == norm_label(truth["title"])
    if truth.get("authors"):
        want_names = {norm_label(n) for n in truth["authors"]} - {""}
        got_names = {norm_label(n) for n in out.get("authors") or []} - {""}
        s["authors"] = got_names == want_names
        s["authors_any"] = bool(got_names & want_names)
    if truth.get("date"):
        s["date"] = out.get("date") == truth["date"][:10]
    if truth.get("with") or truth.get("without"):
        with_ = [tokens(x) for x in truth.get("with") or []]
        without = [tokens(x) for x in truth.get("without") or []]
        if with_:
            s["with"] = sum(_contains(got, w) for w in with_) / len(with_)
        if without:
            s["without"] = sum(not _contains(got, w) for w in without) / len(without)
    return s


# -- report ----------------------------------------------------------------------------

COLUMNS = (
    "| split | group | extractor | pages | body n | P | R | F1 | 4-gram F1 | title (n) "
    "| authors (n) | any author | date (n) | with / w/o (n) | CPU ms/page | no text |"
)


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def _fmt(value: float | None, pct: bool = True) -> str:
    if value is None:
        return ""
    return f"{100 * value:.1f}" if pct else f"{value:.1f}"


def summarize(scores: list[dict]) -> dict:
    def field(key):
        return [s[key] for s in scores if key in s]

    return {
        "pages": len(scores),
        "body_n": len(field("f1")),
        "p": _mean(field("p")),
        "r": _mean(field("r")),
        "f1": _mean(field("f1")),
        "sh_f1": _mean(field("sh_f1")),
        "title": _mean(field("title")),
        "title_n": len(field("title")),
        "authors": _mean(field("authors")),
        "authors_any": _mean(field("authors_any")),
        "authors_n": len(field("authors")),
        "date": _mean(field("date")),
        "date_n": len(field("date")),
        "with": _mean(field("with")),
        "without": _mean(field("without")),
        "snip_n": len(field("with")),
        "cpu_ms": _mean(field("cpu_ms")),
        "empty": sum(1 for s in scores if s["empty"]),
    }


def row(split: str, group: str, name: str, m: dict, extractor_fields: set[str]) -> str:
    def acc(key, n_key):
        if not m[n_key] or key not in extractor_fields:
            return ""
        return f"{_fmt(m[key])} ({m[n_key]})"

    snip = ""
    if m["snip_n"]:
        snip = f"{_fmt(m['with'])} / {_fmt(m['without'])} ({m['snip_n']})"
    return (
        f"| {split} | {group} | {name} | {m['pages']} | {m['body_n']} | {_fmt(m['p'])} | "
        f"{_fmt(m['r'])} | {_fmt(m['f1'])} | {_fmt(m['sh_f1'])} | {acc('title', 'title_n')} | "
        f"{acc('authors', 'authors_n')} | {acc('authors_any', 'authors_n')} | "
        f"{acc('date', 'date_n')} | {snip} | {_fmt(m['cpu_ms'], pct=False)} | {m['empty']} |"
    )


FIELDS = {
    "ours": {"title", "authors", "authors_any", "date"},
    "trafilatura": {"title", "authors", "authors_any", "date"},
    "readability": set(),
    "newspaper4k": {"title", "authors", "authors_any", "date"},
    "goose3": {"title", "authors", "authors_any", "date"},
}


def report(records, results, names, by: str, min_group: int) -> list[str]:
    lines = [COLUMNS, "|" + "---|" * 3 + "---:|" * 13]
    splits = [s for s in SPLITS if any(r["split"] == s for r in records)]
    for split in splits:
        recs = [r for r in records if r["split"] == split]
        key = (lambda r: r["source"]) if by == "source" else (lambda r: r["language"])
        labelled = collections.Counter(key(r) for r in recs if r["truth"].get("body"))
        sizes = collections.Counter(key(r) for r in recs)
        groups: dict[str, list[dict]] = {"all": recs}
        small = []
        for g in sorted(sizes, key=lambda g: (-labelled[g], -sizes[g], g)):
            if by == "source" or labelled[g] >= min_group:
                groups[g] = [r for r in recs if key(r) == g]
            else:
                small.append(g)
        if small:
            groups["other"] = [r for r in recs if key(r) in small]
        for group, members in groups.items():
            for name in names:
                scores = [results[r["id"]][name]["score"] for r in members]
                lines.append(row(split, group, name, summarize(scores), FIELDS[name]))
    return lines


def ours_version() -> str:
    """Where ``crawler`` is imported from, and its git commit (dirty: uncommitted edits)."""
    import importlib.util
    import subprocess

    spec = importlib.util.find_spec("crawler")
    where = Path(spec.origin).parent.parent if spec and spec.origin else Path.cwd()
    try:
        rev = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(where), "status", "--porcelain", "--", "crawler"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        return f"{where} at {rev}{' (crawler/ has uncommitted edits)' if dirty else ''}"
    except (OSError, subprocess.CalledProcessError):
        return f"{where} (not a git checkout)"


# -- main ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--split", choices=("tune", "heldout", "all"), default="all")
    ap.add_argument("--only", default=",".join(EXTRACTORS), help="extractors, comma-separated")
    ap.add_argument("--limit", type=int, default=None, help="at most N pages (a spread)")
    ap.add_argument("--by", choices=("language", "source"), default="language")
    ap.add_argument(
        "--min-group", type=int, default=5,
        help="languages with fewer labelled pages in a split are pooled as 'other'",
    )  # fmt: skip
    ap.add_argument("--labelled", action="store_true", help="only pages with a body truth")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--json", type=Path, default=None, help="per-page results to this file")
    ap.add_argument(
        "--report", type=Path, default=None,
        help="print the tables of a --json file again (e.g. --by source), extracting nothing",
    )  # fmt: skip
    args = ap.parse_args(argv)
    if args.report:
        saved = json.loads(args.report.read_text())
        records = [p for p in saved["pages"] if args.split in ("all", p["split"])]
        results = {p["id"]: p["extractors"] for p in records}
        for rid, outs in results.items():
            by_truth = {"truth": next(p["truth"] for p in records if p["id"] == rid)}
            for out in outs.values():
                out["score"] = score(by_truth, out)
        names = tuple(n for n in EXTRACTORS if n in next(iter(results.values())))
        print(f"# {args.report}: " + ", ".join(f"{k} {v}" for k, v in saved["versions"].items()))
        print()
        print("\n".join(report(records, results, names, args.by, args.min_group)))
        return
    names = tuple(n.strip() for n in args.only.split(",") if n.strip())
    unknown = set(names) - set(RUNNERS)
    if unknown:
        ap.error(f"unknown extractors: {', '.join(sorted(unknown))} (known: {', '.join(RUNNERS)})")

    records = load(args.data, args.split, args.limit)
    if args.labelled:
        records = [r for r in records if r["truth"].get("body")]
    by_id = {r["id"]: r for r in records}
    print(f"{len(records)} pages, extractors: {', '.join(names)}", file=sys.stderr)

    started = time.monotonic()
    results: dict[str, dict] = {}
    tasks = ((names, r["id"], r["html"], r["url"]) for r in records)
    # warm-up pages: one of each of the three largest languages, the smallest there
    warm = []
    for language, _ in collections.Counter(r["language"] for r in records).most_common(3):
        rec = min((r for r in records if r["language"] == language), key=lambda r: len(r["html"]))
        warm.append((rec["html"], rec["url"]))
    init = (names, tuple(warm))
    with ProcessPoolExecutor(args.workers, initializer=_init_worker, initargs=init) as pool:
        for i, (rid, outs) in enumerate(pool.map(_extract_all, tasks, chunksize=4), 1):
            for name, out in outs.items():
                try:
                    out["score"] = score(by_id[rid], out)
                except Exception as exc:  # an odd output scores as none, with the reason
                    print(f"  {rid} {name}: cannot score ({exc!r})", file=sys.stderr)
                    out["score"] = score(by_id[rid], {"text": None, "cpu_ms": out["cpu_ms"]})
            results[rid] = outs
            if i % 100 == 0:
                print(f"  {i}/{len(records)} pages", file=sys.stderr)
    wall = time.monotonic() - started

    import trafilatura

    versions = {"trafilatura": trafilatura.__version__}
    for dist in ("readability-lxml", "newspaper4k", "goose3"):
        try:
            from importlib.metadata import version

            versions[dist] = version(dist)
        except Exception:
            pass
    print(
        f"# bench.quality, {time.strftime('%Y-%m-%d')}, ours: {ours_version()}",
    )
    print(
        f"# {time.strftime('%Y-%m-%d')}, {platform.node() or 'host'}: "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
        + ", ".join(f"{k} {v}" for k, v in versions.items())
        + f"; {len(records)} pages in {wall:.0f} s"
    )
    print()
    print("\n".join(report(records, results, names, args.by, args.min_group)))

    if args.json:
        pages = []
        for rec in records:
            pages.append({
                "id": rec["id"], "source": rec["source"], "url": rec["url"],
                "language": rec["language"], "split": rec["split"],
                "truth": {k: v for k, v in rec["truth"].items()},
                "extractors": results[rec["id"]],
            })  # fmt: skip
        args.json.write_text(json.dumps({"versions": versions, "pages": pages}, ensure_ascii=False))
        print(f"per-page results: {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
