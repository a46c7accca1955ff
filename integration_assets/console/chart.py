"""A score-over-time line chart as inline SVG, drawn on the server.

No chart library, no script, no external request: the page works offline and under the
console's strict CSP (the SVG is markup, its style attributes are presentation attributes).
Scores are 0-100, so the y axis is fixed; the x axis is the order of the measurements
(evenly spaced, the first and last date labelled), which keeps a burst of syncs readable.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

WIDTH = 560
HEIGHT = 150
LEFT = 34
RIGHT = 10
TOP = 10
BOTTOM = 22


def _x(index: int, count: int) -> float:
    span = WIDTH - LEFT - RIGHT
    return LEFT + (span / 2 if count == 1 else span * index / (count - 1))


def _y(score: float) -> float:
    clamped = min(max(score, 0.0), 100.0)
    return TOP + (HEIGHT - TOP - BOTTOM) * (100.0 - clamped) / 100.0


def score_chart(points: Sequence[tuple[datetime, float]], label: str) -> str:
    """An `<svg>` of `points` ((measured at, overall score), oldest first), or a line of text
    saying there is nothing to draw yet."""
    if not points:
        return '<p class="muted chart-empty">No quality measured yet.</p>'
    count = len(points)
    grid = "".join(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_y(level):.1f}" y2="{_y(level):.1f}" '
        f'stroke="#e3e6eb"/><text x="{LEFT - 4}" y="{_y(level) + 4:.1f}" text-anchor="end" '
        f'font-size="10" fill="#777">{level}</text>'
        for level in (0, 50, 100)
    )
    coords = [(_x(i, count), _y(score)) for i, (_, score) in enumerate(points)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    dots = "".join(
        f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#1c4f9c">'
        f"<title>{escape(f'{at:%Y-%m-%d %H:%M} UTC: {score:.1f}')}</title></circle>"
        for (x, y), (at, score) in zip(coords, points, strict=True)
    )
    first, last = points[0][0], points[-1][0]
    axis = (
        f'<text x="{LEFT}" y="{HEIGHT - 6}" font-size="10" fill="#777">{first:%Y-%m-%d %H:%M}</text>'
        f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 6}" font-size="10" fill="#777" '
        f'text-anchor="end">{last:%Y-%m-%d %H:%M}</text>'
    )
    return (
        f'<svg class="score-chart" role="img" aria-label="{escape(label)}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'data-points="{count}">{grid}{axis}'
        f'<polyline fill="none" stroke="#1c4f9c" stroke-width="2" points="{line}"/>{dots}</svg>'
    )
