"""Build bench/data/news.jsonl.xz: real pages with labelled article fields.

Reads four public repositories as bare git directories (brought onto the machine with
the search tool's ``fetch``; ``--mirror`` points at them) at the commits pinned in
``SOURCES``, and writes one JSON line per page (see bench/data/README.md):

    .venv/bin/python -m bench.data.build            # writes bench/data/news.jsonl.xz
    .venv/bin/python -m bench.data.build --stats    # counts only, writes nothing

Nothing here talks to the network. The split (tune / heldout) is decided here, by a
rule of the data alone (``assign_splits``), never by whoever writes extraction rules.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import hashlib
import html as htmllib
import json
import lzma
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
OUT = HERE / "news.jsonl.xz"
MIRROR = Path("/work/.mirror")

# repository -> (commit read, licence of the repository's own files)
SOURCES = {
    "fundus": ("flairNLP/fundus", "18da6e53592f99cf0ac5770dc63d6ba99ba63ae8", "MIT"),
    "scrapinghub": (
        "scrapinghub/article-extraction-benchmark",
        "4a3bc979f76c0df73cb95fe272e2fc1b96f9f010",
        "MIT",
    ),
    "readability": (
        "mozilla/readability",
        "ab4027a8b37669745016869a37a504727992b2ba",
        "Apache-2.0",
    ),
    "trafilatura": ("adbar/trafilatura", "e90b0ef51ab026fdb905fb6c5b3c84dd3d784fd5", "Apache-2.0"),
}

FUNDUS_DIR = "tests/resources/parser/test_data"
# trafilatura's evaluation pages are added (unlabelled bodies; their "with"/"without"
# snippets kept) until the dataset holds this many pages, in hash order, each at most
# TRAFILATURA_MAX_BYTES of HTML (the file-size budget; see the README)
TARGET_TOTAL = 1020
TRAFILATURA_MAX_BYTES = 100_000


# -- git -------------------------------------------------------------------------------


def gitdir(source: str, mirror: Path) -> Path:
    repo = SOURCES[source][0]
    return mirror / repo.replace("/", "+") / "repo"


def git(d: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(d), *args], check=True, capture_output=True).stdout


def show(d: Path, commit: str, path: str) -> bytes:
    return git(d, "show", f"{commit}:{path}")


def ls(d: Path, commit: str, path: str) -> list[str]:
    out = git(d, "ls-tree", "-r", "--name-only", commit, "--", path).decode()
    return [line for line in out.splitlines() if line]


def sizes(d: Path, commit: str, path: str) -> dict[str, int]:
    out = git(d, "ls-tree", "-r", "-l", commit, "--", path).decode()
    result = {}
    for line in out.splitlines():
        meta, name = line.split("\t", 1)
        result[name] = int(meta.split()[3])
    return result


# -- text helpers ----------------------------------------------------------------------

META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([-\w.:]+)""", re.I)


def decode(data: bytes) -> tuple[str, str]:
    """The page's text and the encoding it was decoded from: UTF-8 when the bytes are
    valid UTF-8, else the charset the page declares, else charset-normalizer's guess."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    m = META_CHARSET.search(data[:4096])
    if m:
        name = m.group(1).decode("ascii", "replace").lower()
        try:
            return data.decode(name), name
        except (LookupError, UnicodeDecodeError):
            pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is not None:
        return str(best), best.encoding
    return data.decode("utf-8", "replace"), "utf-8-replace"


BLOCKS = {
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "blockquote", "pre",
    "table", "tr", "section", "article", "figure", "figcaption", "br", "dd", "dt", "header",
    "footer", "aside",
}  # fmt: skip


def html_to_text(markup: str) -> str:
    """Visible text of an HTML fragment, blocks on lines of their own (no script/style)."""
    import lxml.html

    markup = re.sub(r"^\s*<\?xml[^>]*\?>", "", markup)
    if not markup.strip():
        return ""
    root = lxml.html.fromstring(markup)
    for el in root.xpath("//script|//style|//noscript|//template"):
        el.drop_tree()
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.lower() in BLOCKS:
            el.tail = "\n" + (el.tail or "")
            if el.tag.lower() != "br":
                el.text = "\n" + (el.text or "")
    text = root.text_content()
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


def language_of(text: str) -> str:
    import py3langid

    return py3langid.classify(text[:20000])[0]


MULTI_SUFFIX = {"co", "com", "net", "org", "gov", "ac", "edu", "ne", "or", "go", "gv", "nic"}


def site_of(url: str) -> str:
    """The registrable domain (approximately eTLD+1) of a URL: the split's unit."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    labels = host.split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in MULTI_SUFFIX:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def iso_date(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).isoformat()
    except ValueError:
        m = re.match(r"\d{4}-\d{2}-\d{2}", value)
        return m.group(0) if m else None


def record(source, key, url, language, html, encoding, truth, site=None) -> dict:
    truth = {"body": None, "title": None, "authors": None, "date": None, "kind": None} | truth
    return {
        "id": f"{source}:{key}",
        "source": source,
        "site": site or site_of(url),
        "url": url,
        "language": language,
        "split": None,
        "encoding": encoding,
        "html": html,
        "truth": truth,
    }


# -- fundus ----------------------------------------------------------------------------


def fundus_body(body: dict) -> str:
    parts = list(body.get("summary") or [])
    for section in body.get("sections") or []:
        parts.extend(section.get("headline") or [])
        parts.extend(section.get("paragraphs") or [])
    return "\n\n".join(p.strip() for p in parts if p and p.strip())


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.casefold()))


def fundus_match(pages: dict[str, str], versions: dict[str, dict]) -> dict[str, str]:
    """Which expected-output version (V1, V2, ...) belongs to which HTML file: the one
    whose title and first paragraphs share most words with the page (each version used
    once, best pairs first)."""
    scores = []
    for name, page in pages.items():
        page_words = _words(htmllib.unescape(page))
        for version, data in versions.items():
            expected = _words(
                (data.get("title") or "") + " " + fundus_body(data.get("body") or {})[:2000]
            )
            score = len(expected & page_words) / max(1, len(expected))
            scores.append((score, name, version))
    taken_pages, taken_versions, result = set(), set(), {}
    for score, name, version in sorted(scores, reverse=True):
        if name in taken_pages or version in taken_versions or score < 0.5:
            continue
        taken_pages.add(name)
        taken_versions.add(version)
        result[name] = version
    return result


def fundus_snapshot(d: Path, commit: str, only: set[str] | None = None) -> Iterator[dict]:
    """The pages at one commit (of the publishers ``only`` names, where given)."""
    files = ls(d, commit, FUNDUS_DIR)
    by_publisher: dict[tuple[str, str], list[str]] = collections.defaultdict(list)
    for path in files:
        if path.endswith(".html.gz"):
            country = path.split("/")[-2]
            publisher = path.rsplit("/", 1)[1].split("_", 1)[0]
            if only is not None and f"{country}/{publisher}" not in only:
                continue
            by_publisher[(country, publisher)].append(path)
    metas: dict[str, dict] = {}
    for (country, publisher), paths in sorted(by_publisher.items()):
        try:
            if country not in metas:
                metas[country] = json.loads(show(d, commit, f"{FUNDUS_DIR}/{country}/meta.info"))
            versions = json.loads(show(d, commit, f"{FUNDUS_DIR}/{country}/{publisher}.json"))
        except subprocess.CalledProcessError:
            continue
        pages = {p: gzip.decompress(show(d, commit, p)).decode("utf-8") for p in paths}
        for path, version in fundus_match(pages, versions).items():
            name = path.rsplit("/", 1)[1]
            meta = metas[country].get(name)
            if not meta:
                continue
            data = versions[version]
            body = fundus_body(data.get("body") or {})
            truth = {
                "body": body or None,
                "title": data.get("title") or None,
                "authors": list(data.get("authors") or []) or None,
                "date": iso_date(data.get("publishing_date")),
                "kind": "article",
                # the truth was parsed from the page: the page shows it
                "access": "open" if body else None,
                "topics": list(data.get("topics") or []) or None,
            }
            language = language_of(body or html_to_text(pages[path]))
            rec = record(
                "fundus", f"{country}/{name.removesuffix('.html.gz')}", meta["url"], language,
                pages[path], "utf-8", truth,
            )  # fmt: skip
            rec["origin"] = f"{SOURCES['fundus'][0]}@{commit}:{path}"
            yield rec


def fundus(mirror: Path) -> Iterator[dict]:
    """The test pages of fundus at the pinned commit, and those deleted earlier in its
    history (each read at the parent of the commit that deleted it, with the expected
    output of that time). One page per URL, the newest kept."""
    d = gitdir("fundus", mirror)
    commit = SOURCES["fundus"][1]
    log = git(
        d, "log", "--diff-filter=D", "--name-only", "--format=@%H", commit, "--", FUNDUS_DIR
    ).decode()
    snapshots: list[tuple[str, set[str] | None]] = [(commit, None)]
    for chunk in log.split("@")[1:]:
        sha, *paths = chunk.split()
        deleted = {
            "/".join(p.split("/")[-2:]).split("_", 1)[0] for p in paths if p.endswith(".html.gz")
        }
        if deleted:
            snapshots.append((f"{sha}^", deleted))
    seen_urls: set[str] = set()
    seen_ids: set[str] = set()
    for snapshot, only in snapshots:
        for rec in fundus_snapshot(d, snapshot, only):
            if rec["url"] in seen_urls:
                continue
            seen_urls.add(rec["url"])
            if snapshot.endswith("^"):
                resolved = git(d, "rev-parse", snapshot).decode().strip()
                rec["origin"] = rec["origin"].replace(f"@{snapshot}:", f"@{resolved}:")
                if rec["id"] in seen_ids:  # a file name used again for another page
                    rec["id"] += f"@{resolved[:10]}"
            seen_ids.add(rec["id"])
            yield rec


# -- scrapinghub article-extraction-benchmark -----------------------------------------


def scrapinghub(mirror: Path) -> Iterator[dict]:
    d = gitdir("scrapinghub", mirror)
    commit = SOURCES["scrapinghub"][1]
    truth_all = json.loads(show(d, commit, "ground-truth.json"))
    for key, gt in sorted(truth_all.items()):
        html, encoding = decode(gzip.decompress(show(d, commit, f"html/{key}.html.gz")))
        body = gt["articleBody"]
        # three ground truths stop on "...": the page (or the annotator) gave a teaser
        truncated = body.rstrip().endswith(("...", "…"))
        truth = {"body": body, "kind": "article", "access": None if truncated else "open"}
        rec = record("scrapinghub", key[:16], gt["url"], "en", html, encoding, truth)
        rec["origin"] = f"{SOURCES['scrapinghub'][0]}@{commit}:html/{key}.html.gz"
        yield rec


# -- mozilla/readability test pages ----------------------------------------------------

CANONICAL = re.compile(
    r"""<link[^>]+rel=["']?canonical["']?[^>]*href=["']([^"']+)|"""
    r"""<meta[^>]+property=["']og:url["'][^>]*content=["']([^"']+)""",
    re.I,
)


def readability(mirror: Path) -> Iterator[dict]:
    """The real pages among readability's test pages (the synthetic cases are small or
    numbered and left out); the body is readability's expected output as text."""
    d = gitdir("readability", mirror)
    commit = SOURCES["readability"][1]
    base = "test/test-pages"
    for path, size in sorted(sizes(d, commit, base).items()):
        if not path.endswith("/source.html"):
            continue
        name = path.split("/")[-2]
        if size < 10_000 or name[:1].isdigit():
            continue
        html, encoding = decode(show(d, commit, path))
        meta = json.loads(show(d, commit, f"{base}/{name}/expected-metadata.json"))
        body = html_to_text(show(d, commit, f"{base}/{name}/expected.html").decode("utf-8"))
        m = CANONICAL.search(html)
        url = htmllib.unescape(m.group(1) or m.group(2)) if m else ""
        if not url.startswith("http"):
            url = f"http://fakehost/test/{name}/"
        lang = (meta.get("lang") or "").split("-")[0].lower()
        if len(lang) != 2:
            lang = language_of(body)
        truth = {
            "body": body or None,
            "title": meta.get("title") or None,
            "byline": meta.get("byline") or None,
            "date": iso_date(meta.get("publishedTime")),
            "kind": "article" if meta.get("readerable") else "other",
            "access": "open" if body else None,
        }
        site = site_of(url) if "fakehost" not in url else re.sub(r"-\d+$", "", name)
        rec = record("readability", name, url, lang, html, encoding, truth, site=site)
        rec["origin"] = f"{SOURCES['readability'][0]}@{commit}:{path}"
        yield rec


# -- trafilatura evaluation pages ------------------------------------------------------


def trafilatura(mirror: Path, wanted: int) -> Iterator[dict]:
    """trafilatura's evaluation pages with the snippets its evaluation expects in the
    text ("with") and not ("without"); kept only where a "with" snippet is in the page
    (so the page shows its content). Taken in hash order of the file name."""
    if wanted <= 0:
        return
    d = gitdir("trafilatura", mirror)
    commit = SOURCES["trafilatura"][1]
    evaldata = json.loads(show(d, commit, "tests/evaldata.json"))
    file_sizes = sizes(d, commit, "tests/eval")
    entries = sorted(
        evaldata.items(), key=lambda kv: hashlib.sha256(kv[1]["file"].encode()).hexdigest()
    )
    taken = 0
    for url, entry in entries:
        path = f"tests/eval/{entry['file']}"
        if taken >= wanted:
            break
        if file_sizes.get(path, 1 << 30) > TRAFILATURA_MAX_BYTES or not url.startswith("http"):
            continue
        html, encoding = decode(show(d, commit, path))
        text = html_to_text(html)
        flat = re.sub(r"\s+", " ", text)
        with_ = entry.get("with") or []
        if not with_ or not any(re.sub(r"\s+", " ", s) in flat for s in with_):
            continue
        truth = {
            "with": with_,
            "without": entry.get("without") or [],
            "access": "open",
        }
        key = entry["file"].removesuffix(".html")
        taken += 1
        rec = record("trafilatura", key, url, language_of(text), html, encoding, truth)
        rec["origin"] = f"{SOURCES['trafilatura'][0]}@{commit}:{path}"
        yield rec


# -- split -----------------------------------------------------------------------------


def assign_splits(records: list[dict]) -> None:
    """Whole sites go to one side. Sites are taken in the order of the SHA-256 of their
    name; each goes to the side with fewer pages so far in the (source, language)
    groups the site has pages in (summed over them), ties to the side the hash's last
    bit names. So each group comes out near 50/50 and nobody picks a side."""
    by_site: dict[str, list[dict]] = collections.defaultdict(list)
    for rec in records:
        by_site[rec["site"]].append(rec)
    counts: dict[tuple[str, str, str], int] = collections.Counter()
    for site in sorted(by_site, key=lambda s: hashlib.sha256(s.encode()).hexdigest()):
        digest = hashlib.sha256(site.encode()).digest()
        groups = collections.Counter((r["source"], r["language"]) for r in by_site[site])
        load = {
            side: sum(counts[(s, lang, side)] for (s, lang) in groups)
            for side in ("tune", "heldout")
        }
        if load["tune"] != load["heldout"]:
            side = min(load, key=load.get)
        else:
            side = "tune" if digest[-1] & 1 else "heldout"
        for rec in by_site[site]:
            rec["split"] = side
        for (s, lang), n in groups.items():
            counts[(s, lang, side)] += n


# -- main ------------------------------------------------------------------------------


def build(mirror: Path) -> list[dict]:
    records: list[dict] = []
    for gen in (fundus, scrapinghub, readability):
        got = list(gen(mirror))
        print(f"{gen.__name__}: {len(got)} pages", file=sys.stderr)
        records.extend(got)
    got = list(trafilatura(mirror, TARGET_TOTAL - len(records)))
    print(f"trafilatura: {len(got)} pages", file=sys.stderr)
    records.extend(got)
    # one page per HTML: a page found twice is kept once (the first source)
    seen, unique = set(), []
    for rec in records:
        digest = hashlib.sha256(rec["html"].encode()).hexdigest()
        if digest not in seen:
            seen.add(digest)
            unique.append(rec)
    assign_splits(unique)
    # pages of one site next to each other: the compressor finds their shared template
    unique.sort(key=lambda r: (r["site"], r["source"], r["id"]))
    return unique


def stats(records: list[dict]) -> str:
    lines = []
    by = collections.Counter((r["source"], r["split"]) for r in records)
    lines.append("| source | tune | heldout | total |")
    lines.append("|---|---:|---:|---:|")
    for source in SOURCES:
        t, h = by[(source, "tune")], by[(source, "heldout")]
        lines.append(f"| {source} | {t} | {h} | {t + h} |")
    tune = sum(v for (_, side), v in by.items() if side == "tune")
    lines.append(f"| all | {tune} | {len(records) - tune} | {len(records)} |")
    lines.append("")
    lang = collections.Counter((r["language"], r["split"]) for r in records)
    labelled = collections.Counter(
        (r["language"], r["split"]) for r in records if r["truth"]["body"]
    )
    lines.append("| language | tune | heldout | with a body truth (tune / heldout) |")
    lines.append("|---|---:|---:|---:|")
    for language in sorted(
        {k[0] for k in lang}, key=lambda x: (-(lang[(x, "tune")] + lang[(x, "heldout")]), x)
    ):
        lines.append(
            f"| {language} | {lang[(language, 'tune')]} | {lang[(language, 'heldout')]} | "
            f"{labelled[(language, 'tune')]} / {labelled[(language, 'heldout')]} |"
        )
    lines.append("")
    lines.append("| source | pages | body | title | authors | date | with/without snippets |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    for source in SOURCES:
        recs = [r for r in records if r["source"] == source]
        cov = [
            sum(1 for r in recs if r["truth"].get(f))
            for f in ("body", "title", "authors", "date", "with")
        ]
        lines.append(f"| {source} | {len(recs)} | " + " | ".join(map(str, cov)) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirror", type=Path, default=MIRROR)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--stats", action="store_true", help="print the counts, write nothing")
    args = ap.parse_args(argv)
    records = build(args.mirror)
    print(stats(records))
    if args.stats:
        return
    raw = "".join(json.dumps(r, ensure_ascii=False, sort_keys=False) + "\n" for r in records)
    filters = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME, "dict_size": 192 << 20}]
    data = lzma.compress(raw.encode("utf-8"), format=lzma.FORMAT_XZ, filters=filters)
    args.out.write_bytes(data)
    print(f"wrote {args.out}: {len(records)} pages, {len(raw) / 1e6:.1f} MB of JSON, "
          f"{len(data) / 1e6:.2f} MB compressed", file=sys.stderr)  # fmt: skip


if __name__ == "__main__":
    main()
