"""Generated news pages of realistic size and markup (about 170 KB each, like real ones).

Real article pages are mostly not the article: inline CSS and scripts, JSON-LD,
navigation menus, related-story lists, comment sections and footers around ~1,000
words of text. Each page is distinct (seeded word salad), so extraction does real work.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

WORDS = (
    "harbor council budget bridge ferry strike minister election turnout province fleet "
    "housing tunnel repair report steel cable approach engineer commuter toll resident "
    "market lighthouse volunteer museum archive library river flood defence schedule "
    "contract supplier delay review inquiry witness court ruling appeal police officer "
    "hospital nurse school teacher student exam season marathon record runner weather "
    "storm rainfall drought harvest farmer price inflation wage union deal agreement "
    "talks spokesperson statement protest crowd square mayor deputy opposition vote "
).split()


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng, rng.randint(12, 26)) for _ in range(rng.randint(3, 5)))


def page(index: int, base: str = "") -> str:
    rng = random.Random(index)
    title = _sentence(rng, 7)[:-1].title()
    css = "\n".join(
        f".c{i}{{margin:{i % 7}px;padding:{i % 5}px;color:#{rng.randrange(16**6):06x};"
        f"font-size:{10 + i % 9}px;line-height:1.{i % 9}}}"
        for i in range(720)
    )
    script = "\n".join(
        f"window.__cfg{i} = "
        + json.dumps({"slot": i, "id": rng.randrange(10**9), "tags": rng.sample(WORDS, 6)})
        + ";"
        for i in range(720)
    )
    nav = "".join(f'<li><a href="/section/{w}/">{w.title()}</a></li>' for w in WORDS[:80])
    body = "\n".join(f"<p>{_paragraph(rng)}</p>" for _ in range(12))
    related = "".join(
        f'<li><a href="/p/{rng.randrange(10**6)}.html">{_sentence(rng, 8)}</a></li>'
        for _ in range(30)
    )
    comments = "".join(
        f'<div class="comment"><b>reader{rng.randrange(999)}</b><p>{_sentence(rng, 14)}</p></div>'
        for _ in range(25)
    )
    footer = "".join(f'<a href="/info/{w}">{w}</a> ' for w in WORDS[:60])
    ld = json.dumps(
        {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": title,
            "datePublished": f"2024-0{1 + index % 9}-{10 + index % 18}T08:00:00Z",
            "author": {"@type": "Person", "name": f"Reporter {index % 50}"},
        }
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | The Bench Courier</title>
<meta name="description" content="{_sentence(rng, 18)}">
<meta property="og:title" content="{title}"><meta property="og:site_name" content="The Bench Courier">
<meta name="author" content="Reporter {index % 50}">
<script type="application/ld+json">{ld}</script>
<style>{css}</style><script>{script}</script></head>
<body><header class="top"><a class="logo" href="/">The Bench Courier</a><nav><ul>{nav}</ul></nav></header>
<main><article class="story"><h1>{title}</h1>
<p class="byline">By Reporter {index % 50}, <time datetime="2024-03-{1 + index % 28:02d}">March 2024</time></p>
<div class="story-body">{body}</div></article>
<aside class="related"><h3>Related</h3><ul>{related}</ul></aside>
<section class="comments"><h3>Comments</h3>{comments}</section></main>
<footer>{footer}<p>&copy; 2024 The Bench Courier</p></footer></body></html>
"""


def generate(pages: int) -> dict[str, bytes]:
    """``/p/<n>.html`` -> page bytes."""
    return {f"/p/{i}.html": page(i).encode() for i in range(pages)}


def load(directory: str | Path) -> dict[str, bytes]:
    """Every ``.html`` file under *directory*, served at its relative path."""
    root = Path(directory)
    files = sorted(root.rglob("*.html"))
    if not files:
        raise SystemExit(f"no .html files under {root}")
    return {"/" + str(p.relative_to(root)).replace("\\", "/"): p.read_bytes() for p in files}
