"""Charts drawn on the server as SVG: no script, no CDN, and the same figures in a table beside them.

`bar_chart` takes month labels and up to two bar series (and an optional line on its own
scale, such as a rate in %), and returns the SVG markup; the page puts the numbers in a table.
"""
import math

from django.utils.html import escape
from django.utils.safestring import mark_safe

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 44, 12, 30


def _nice_max(value, ticks=4):
    """The top of the axis: `ticks` steps of 1, 2 or 5 × a power of ten (whole steps, so a count
    axis never reads 0.25), covering the largest value."""
    if value <= 0:
        return ticks
    magnitude = 10 ** math.floor(math.log10(value / ticks)) if value >= ticks else 1
    for step in (1, 2, 5, 10):
        if value <= step * magnitude * ticks:
            return step * magnitude * ticks
    return 10 * magnitude * ticks


def _fmt(value):
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def bar_chart(*, title, labels, bars, line=None, line_unit="%"):
    """bars: [(name, values)] (one or two series); line: (name, values) on a right-hand axis."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_max(max([v for _, values in bars for v in values] or [0]))
    parts = [f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" xmlns="http://www.w3.org/2000/svg" aria-hidden="true" '
             f'focusable="false"><title>{escape(title)}</title>']
    for n in range(5):
        y = TOP + plot_h - plot_h * n / 4
        parts.append(f'<line class="grid-line" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(top * n / 4)}</text>')
    slot = plot_w / max(len(labels), 1)
    width = slot * 0.7 / max(len(bars), 1)
    for s, (name, values) in enumerate(bars):
        for i, value in enumerate(values):
            h = plot_h * value / top
            x = LEFT + slot * i + slot * 0.15 + width * s
            parts.append(f'<rect class="bar{" second" if s else ""}" x="{x:.1f}" y="{TOP + plot_h - h:.1f}" '
                         f'width="{width:.1f}" height="{h:.1f}"><title>{escape(labels[i])}: {escape(name)} '
                         f'{value:g}</title></rect>')
    if line:
        name, values = line
        line_top = _nice_max(max(values or [0]))
        points = " ".join(f"{LEFT + slot * i + slot / 2:.1f},{TOP + plot_h - plot_h * v / line_top:.1f}"
                          for i, v in enumerate(values))
        parts.append(f'<polyline class="line" points="{points}"/>')
        for n in range(5):
            y = TOP + plot_h - plot_h * n / 4
            parts.append(f'<text x="{LEFT + plot_w + 6}" y="{y + 4:.1f}">{_fmt(line_top * n / 4)}{line_unit}</text>')
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{TOP + plot_h}" y2="{TOP + plot_h}"/>')
    every = max(1, math.ceil(len(labels) / 6))
    for i, label in enumerate(labels):
        if (len(labels) - 1 - i) % every == 0:  # counted from the newest month, which is always labelled
            parts.append(f'<text x="{LEFT + slot * i + slot / 2:.1f}" y="{HEIGHT - 10}" text-anchor="middle">'
                         f'{escape(label)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))
