"""Charts drawn on the server as inline SVG: no script, no CDN, readable with styles off.

Each function returns markup for one chart: bars (stacked) or lines over a row of labels (days),
with a legend, four grid lines, a <title> per bar or point (hover shows the number) and
optional threshold lines. The numbers themselves are also printed beside each chart by the
dashboard template, so nothing is only in the picture.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 8, 28, 26
PALETTE = ("#2b6cb0", "#38a169", "#d69e2e", "#e53e3e", "#805ad5", "#718096", "#dd6b20")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    color: str = ""


@dataclass(frozen=True)
class Threshold:
    value: float
    label: str
    color: str = "#c53030"


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def percent(value: float) -> str:
    return f"{value:.0%}" if value >= 0.1 else f"{value:.2%}"


def _nice_top(value: float) -> float:
    """A round upper bound for the y axis (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _frame(labels: Sequence[str], top: float, fmt: Callable[[float], str], title: str) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):
        y = TOP + plot_h * (1 - i / 4)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(fmt(top * i / 4))}</text>"
        )
    step = max(1, math.ceil(len(labels) / 8))
    slot = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    for i, label in enumerate(labels):
        if i % step == 0:
            x = LEFT + slot * (i + 0.5)
            parts.append(
                f'<text class="tick" x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    return parts


def _legend(series: Sequence[Series], thresholds: Sequence[Threshold] = ()) -> list[str]:
    parts, x = [], LEFT
    for item in series:
        parts.append(
            f'<rect x="{x}" y="8" width="10" height="10" fill="{item.color}"/>'
            f'<text class="legend" x="{x + 14}" y="17">{escape(item.name)}</text>'
        )
        x += 22 + 7 * len(item.name)
    for line in thresholds:
        parts.append(
            f'<line x1="{x}" x2="{x + 14}" y1="13" y2="13" stroke="{line.color}" '
            f'stroke-dasharray="4 3" stroke-width="2"/>'
            f'<text class="legend" x="{x + 18}" y="17">{escape(line.label)}</text>'
        )
        x += 26 + 7 * len(line.label)
    return parts


def _colored(series: Sequence[Series]) -> list[Series]:
    return [
        s if s.color else Series(s.name, s.values, PALETTE[i % len(PALETTE)])
        for i, s in enumerate(series)
    ]


def stacked_bars(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    fmt: Callable[[float], str] = _number,
) -> SafeString:
    """One bar per label, the series stacked in order (e.g. digests per day by status)."""
    series = _colored(series)
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    top = _nice_top(max(totals, default=0))
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    bar = max(slot * 0.7, 1.0)
    parts = _frame(labels, top, fmt, title) + _legend(series)
    for i, label in enumerate(labels):
        base = 0.0
        x = LEFT + slot * i + (slot - bar) / 2
        for item in series:
            value = item.values[i]
            if value <= 0:
                continue
            height = plot_h * value / top
            y = TOP + plot_h * (1 - (base + value) / top)
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                f'height="{height:.1f}" fill="{item.color}"><title>{escape(label)}: '
                f"{escape(item.name)} {escape(fmt(value))}</title></rect>"
            )
            base += value
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every text above is escaped)


def lines(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    fmt: Callable[[float], str] = _number,
    thresholds: Sequence[Threshold] = (),
) -> SafeString:
    """One line per series over the labels, with dashed threshold lines (e.g. complaint limits)."""
    series = _colored(series)
    highest = max([v for s in series for v in s.values] + [t.value for t in thresholds] + [0])
    top = _nice_top(highest)
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    parts = _frame(labels, top, fmt, title) + _legend(series, thresholds)
    for line in thresholds:
        y = TOP + plot_h * (1 - line.value / top)
        parts.append(
            f'<line class="threshold" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" '
            f'y2="{y:.1f}" stroke="{line.color}" stroke-dasharray="4 3" stroke-width="1.5">'
            f"<title>{escape(line.label)}</title></line>"
        )
    for item in series:
        points = [
            (LEFT + slot * (i + 0.5), TOP + plot_h * (1 - value / top))
            for i, value in enumerate(item.values)
        ]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(
                f'<polyline class="line" points="{path}" fill="none" '
                f'stroke="{item.color}" stroke-width="2"/>'
            )
        for (x, y), label, value in zip(points, labels, item.values, strict=True):
            parts.append(
                f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{item.color}">'
                f"<title>{escape(label)}: {escape(item.name)} {escape(fmt(value))}</title>"
                "</circle>"
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every text above is escaped)
