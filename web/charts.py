"""Small charts drawn server-side as inline SVG: no JavaScript, no chart library, CSP-friendly."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

WIDTH = 480
HEIGHT = 64


def bars(values: Sequence[float | None], titles: Sequence[str], label: str) -> Markup:
    """A bar per value in 0..1 (None: no data, drawn as a grey stub); ``titles`` are tooltips.

    Bars under half height are drawn in the 'down' colour so gaps (a cut link) stand out.
    """
    count = max(1, len(values))
    step = WIDTH / count
    parts = [
        f'<svg class="spark" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}" preserveAspectRatio="none">'
    ]
    for index, (value, title) in enumerate(zip(values, titles, strict=True)):
        x = index * step + 1
        if value is None:
            height, colour = 2.0, "#c3cad3"
        else:
            ratio = min(1.0, max(0.0, value))
            height = max(2.0, ratio * (HEIGHT - 2))
            colour = "#1e7d3a" if ratio >= 0.9 else "#b26a00" if ratio >= 0.5 else "#b3261e"
        parts.append(
            f'<rect x="{x:.1f}" y="{HEIGHT - height:.1f}" width="{max(1.0, step - 2):.1f}" '
            f'height="{height:.1f}" fill="{colour}"><title>{escape(title)}</title></rect>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above


def scale_top(values: Sequence[float | None], fixed: float | None = None) -> float:
    """The top of a line chart's scale: ``fixed`` (100 for percentages) or a round number."""
    if fixed is not None:
        return fixed
    highest = max((v for v in values if v is not None), default=0.0)
    # A round top a little above the highest value, so the line never touches the frame.
    for top in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000):
        if highest * 1.1 <= top:
            return float(top)
    return highest * 1.1


def line(
    values: Sequence[float | None],
    titles: Sequence[str],
    label: str,
    top: float,
) -> Markup:
    """A line over bars of time, 0 at the bottom and ``top`` at the top (the page prints the
    scale: text inside a stretched SVG would be distorted); a gap where a bar has no data. Each
    point carries a tooltip."""
    count = max(1, len(values))
    step = WIDTH / count
    ceiling = top if top > 0 else 1.0
    height = HEIGHT - 4
    parts = [
        f'<svg class="spark history" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}" preserveAspectRatio="none">',
        f'<line x1="0" y1="4" x2="{WIDTH}" y2="4" stroke="#c3cad3" stroke-width="0.5"/>',
    ]
    runs: list[list[str]] = [[]]
    dots: list[str] = []
    for index, (value, title) in enumerate(zip(values, titles, strict=True)):
        if value is None:
            runs.append([])
            continue
        x = index * step + step / 2
        y = HEIGHT - min(1.0, max(0.0, value / ceiling)) * height
        runs[-1].append(f"{x:.1f},{y:.1f}")
        dots.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1.5" fill="#1f4e79">'
            f"<title>{escape(title)}</title></circle>"
        )
    for run in runs:
        if len(run) > 1:
            parts.append(
                f'<polyline points="{" ".join(run)}" fill="none" stroke="#1f4e79" '
                'stroke-width="1.5"/>'
            )
    parts += dots
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above
