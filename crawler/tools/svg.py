"""Small charts as inline SVG, for the crawl reports: no library, no script, no network.

Each function returns one ``<svg>`` element as text, sized in pixels, with its numbers
also in ``<title>`` tooltips so a reader can hover for the exact value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

COLORS = {
    "ok": "#2e7d32",
    "no_text": "#9e9e9e",
    "error": "#c62828",
    "blocked": "#6a1b9a",
    "duplicate": "#ef6c00",
    "unchanged": "#1565c0",
}
PALETTE = ("#1565c0", "#2e7d32", "#c62828", "#ef6c00", "#6a1b9a", "#00838f", "#9e9e9e")
LABEL_WIDTH = 220
ROW = 22


def number(value: float) -> str:
    """``1,073,741,824``, ``0.0255``: whole numbers whole, others to three figures."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:.3g}"


def color(name: str, index: int = 0) -> str:
    return COLORS.get(name, PALETTE[index % len(PALETTE)])


def _svg(width: int, height: int, body: list[str], label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" '
        f'font-family="sans-serif" font-size="12">{"".join(body)}</svg>'
    )


def bars(items: Sequence[tuple[str, float]], label: str, width: int = 640) -> str:
    """Horizontal bars, one per (label, value), longest to scale."""
    top = max((v for _, v in items), default=0) or 1
    span = width - LABEL_WIDTH - 60
    body = []
    for row, (name, value) in enumerate(items):
        y = row * ROW
        length = span * value / top
        body.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end">{escape(name[:34])}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 4}" width="{length:.1f}" height="{ROW - 8}" '
            f'fill="{color(name)}"><title>{escape(name)}: {number(value)}</title></rect>'
            f'<text x="{LABEL_WIDTH + length + 4:.1f}" y="{y + 15}">{number(value)}</text>'
        )
    return _svg(width, max(ROW * len(items), ROW), body, label)


def stacked(rows: Sequence[tuple[str, Mapping[str, float]]], label: str, width: int = 640) -> str:
    """Horizontal bars split by part (an outcome), with a legend above."""
    parts = sorted(
        {p for _, counts in rows for p in counts},
        key=lambda p: list(COLORS).index(p) if p in COLORS else 99,
    )
    top = max((sum(c.values()) for _, c in rows), default=0) or 1
    span = width - LABEL_WIDTH - 60
    body = [
        f'<rect x="{LABEL_WIDTH + i * 90}" y="2" width="10" height="10" fill="{color(p, i)}"/>'
        f'<text x="{LABEL_WIDTH + i * 90 + 14}" y="11">{escape(p)}</text>'
        for i, p in enumerate(parts)
    ]
    for row, (name, counts) in enumerate(rows):
        y = (row + 1) * ROW
        x = float(LABEL_WIDTH)
        body.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end">{escape(name[:34])}</text>'
        )
        for i, part in enumerate(parts):
            value = counts.get(part, 0)
            length = span * value / top
            if value:
                body.append(
                    f'<rect x="{x:.1f}" y="{y + 4}" width="{length:.1f}" height="{ROW - 8}" '
                    f'fill="{color(part, i)}"><title>{escape(name)} {escape(part)}: {number(value)}'
                    f"</title></rect>"
                )
            x += length
        body.append(f'<text x="{x + 4:.1f}" y="{y + 15}">{number(sum(counts.values()))}</text>')
    return _svg(width, ROW * (len(rows) + 1), body, label)


def columns(
    points: Sequence[tuple[str, float]],
    label: str,
    unit: str = "",
    width: int = 640,
    height: int = 180,
) -> str:
    """Vertical bars over time (one per bucket), first and last bucket labelled."""
    top = max((v for _, v in points), default=0) or 1
    step = (width - 60) / max(len(points), 1)
    body = [
        f'<text x="4" y="12">{number(top)} {escape(unit)}</text>',
        f'<line x1="50" y1="{height - 20}" x2="{width}" y2="{height - 20}" stroke="#999"/>',
    ]
    for i, (name, value) in enumerate(points):
        h = (height - 40) * value / top
        x = 50 + i * step
        body.append(
            f'<rect x="{x:.1f}" y="{height - 20 - h:.1f}" width="{max(step - 1, 1):.1f}" '
            f'height="{h:.1f}" fill="#1565c0"><title>{escape(name)}: {number(value)} {escape(unit)}'
            f"</title></rect>"
        )
    if points:
        body.append(f'<text x="50" y="{height - 4}">{escape(points[0][0])}</text>')
        body.append(
            f'<text x="{width - 4}" y="{height - 4}" text-anchor="end">'
            f"{escape(points[-1][0])}</text>"
        )
    return _svg(width, height, body, label)


def lines(
    labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    label: str,
    width: int = 640,
    height: int = 200,
) -> str:
    """One line per series across *labels* (runs), with a legend."""
    top = max((v for values in series.values() for v in values), default=0) or 1
    step = (width - 70) / max(len(labels) - 1, 1)
    body = [
        f'<text x="4" y="30">{number(top)}</text>',
        f'<line x1="50" y1="{height - 20}" x2="{width}" y2="{height - 20}" stroke="#999"/>',
    ]
    for i, (name, values) in enumerate(series.items()):
        body.append(
            f'<rect x="{60 + i * 110}" y="2" width="10" height="10" '
            f'fill="{color(name, i)}"/><text x="{74 + i * 110}" y="11">'
            f"{escape(name)}</text>"
        )
        points = [
            (60 + j * step, height - 20 - (height - 50) * v / top) for j, v in enumerate(values)
        ]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        body.append(
            f'<polyline points="{path}" fill="none" stroke="{color(name, i)}" stroke-width="2"/>'
        )
        for (x, y), value, run in zip(points, values, labels, strict=True):
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color(name, i)}">'
                f"<title>{escape(run)} {escape(name)}: {number(value)}</title></circle>"
            )
    if labels:
        body.append(f'<text x="60" y="{height - 4}">{escape(labels[0])}</text>')
        body.append(
            f'<text x="{width - 4}" y="{height - 4}" text-anchor="end">{escape(labels[-1])}</text>'
        )
    return _svg(width, height, body, label)
