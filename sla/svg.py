"""Line charts as inline SVG text: no script, no fonts, no network.

The HTML report must open on a machine without network access, so the
charts are drawn here as plain SVG elements: a frame, grid lines at "nice"
ticks, one polyline per series (broken where a value is missing), dashed
limit lines and a legend. Three scales cover the report's charts: linear,
logarithmic, and the "nines" scale of HDR percentile plots, where 90 %,
99 %, 99.9 % ... are evenly spaced (position = -log10(1 - p/100)).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

Point = tuple[float, float | None]

# Eight colors that stay apart for the common kinds of color blindness
# (Okabe and Ito's palette, with black swapped for a dark blue).
PALETTE = (
    "#0072b2",
    "#e69f00",
    "#009e73",
    "#cc79a7",
    "#56b4e9",
    "#d55e00",
    "#f0e442",
    "#1f3a5f",
)
FAILURE_COLOR = "#c0392b"

WIDTH = 1100
HEIGHT = 300
MARGIN_LEFT = 72
MARGIN_RIGHT = 240
MARGIN_TOP = 14
MARGIN_BOTTOM = 44


@dataclass(frozen=True)
class Series:
    """One line: (x, y) points in data units; a None y breaks the line."""

    label: str
    points: tuple[Point, ...]
    color: str
    dashed: bool = False
    width: float = 1.8


@dataclass(frozen=True)
class Limit:
    """A horizontal line at a threshold's limit."""

    label: str
    value: float
    color: str = FAILURE_COLOR


@dataclass(frozen=True)
class Scale:
    """Maps data values to 0..1 along an axis, with its ticks."""

    label: str
    low: float
    high: float
    ticks: tuple[tuple[float, str], ...]
    position_of: Callable[[float], float] = field(default=lambda v: v)

    def fraction(self, value: float) -> float:
        low, high = self.position_of(self.low), self.position_of(self.high)
        if high == low:
            return 0.0
        return (self.position_of(value) - low) / (high - low)


# Scales ---------------------------------------------------------------------------


def nice_step(span: float, target_ticks: int = 6) -> float:
    """1, 2 or 5 times a power of ten, giving about ``target_ticks`` ticks."""
    if span <= 0:
        return 1.0
    raw = span / target_ticks
    power = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 5, 10):
        if raw <= multiple * power:
            return multiple * power
    return 10 * power


def tick_text(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 10_000:
        return f"{value:,.0f}"
    return f"{value:.6g}"


def linear_scale(
    label: str, values: Sequence[float], *, floor: float = 0.0, tight: bool = False
) -> Scale:
    """From ``floor`` (or the smallest value) up to a nice step above the top,
    or exactly to the top when ``tight`` (a time axis ends with the run)."""
    low = min([floor, *values])
    top = max([low, *values])
    step = nice_step(top - low or 1.0)
    if top <= low:
        top = low + step
    high = top if tight else math.ceil(top / step) * step
    count = math.floor((high - low) / step + 1e-9)
    ticks = tuple((low + i * step, tick_text(low + i * step)) for i in range(count + 1))
    return Scale(label, low, high, ticks)


def log_scale(label: str, values: Sequence[float]) -> Scale:
    """Powers of ten around the positive values (1, 10, 100 ...)."""
    positive = [v for v in values if v > 0] or [1.0]
    low = 10 ** math.floor(math.log10(min(positive)))
    high = 10 ** math.ceil(math.log10(max(positive)))
    high = high if high > low else low * 10
    exponents = range(round(math.log10(low)), round(math.log10(high)) + 1)
    ticks = tuple((10.0**e, tick_text(10.0**e)) for e in exponents)
    return Scale(label, low, high, ticks, _log10_clamped)


def _log10_clamped(value: float) -> float:
    return math.log10(max(value, 1e-12))


def nines(percentile: float) -> float:
    """Position on the nines axis: 0 for 0 %, 1 for 90 %, 2 for 99 % ..."""
    return -math.log10(max(1.0 - percentile / 100.0, 1e-12))


def nines_scale(label: str, max_nines: int) -> Scale:
    """0 %, 90 %, 99 %, ... up to ``max_nines`` nines."""
    top = max(max_nines, 1)
    ticks = [(0.0, "0%")]
    for n in range(1, top + 1):
        percentile = 100.0 - 100.0 / 10**n
        ticks.append((percentile, f"{percentile:.{max(n - 2, 0)}f}%"))
    return Scale(label, 0.0, ticks[-1][0], tuple(ticks), nines)


# Drawing --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    width: int
    height: int

    @property
    def plot_width(self) -> float:
        return self.width - MARGIN_LEFT - MARGIN_RIGHT

    @property
    def plot_height(self) -> float:
        return self.height - MARGIN_TOP - MARGIN_BOTTOM

    def x(self, fraction: float) -> float:
        return MARGIN_LEFT + fraction * self.plot_width

    def y(self, fraction: float) -> float:
        return MARGIN_TOP + (1 - fraction) * self.plot_height


def line_chart(
    series: Sequence[Series],
    x_scale: Scale,
    y_scale: Scale,
    *,
    limits: Sequence[Limit] = (),
    width: int = WIDTH,
    height: int = HEIGHT,
    title: str = "",
) -> str:
    """An SVG element with grid, axes, lines, limit lines and a legend."""
    frame = _Frame(width, height)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}" class="chart">',
        *_grid(frame, x_scale, y_scale),
        *(_polylines(frame, s, x_scale, y_scale) for s in series),
        *(_limit_line(frame, limit, y_scale) for limit in limits),
        *_legend(frame, series, limits),
        "</svg>",
    ]
    return "\n".join(p for p in parts if p)


def _grid(frame: _Frame, x_scale: Scale, y_scale: Scale) -> list[str]:
    left, right = frame.x(0), frame.x(1)
    top, bottom = frame.y(1), frame.y(0)
    parts = [
        f'<rect x="{left:.1f}" y="{top:.1f}" width="{right - left:.1f}" '
        f'height="{bottom - top:.1f}" fill="#fff" stroke="#888"/>'
    ]
    for value, text in y_scale.ticks:
        y = frame.y(y_scale.fraction(value))
        parts.append(
            f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{right:.1f}" y2="{y:.1f}" '
            f'stroke="#e4e4e4"/><text x="{left - 6:.1f}" y="{y + 4:.1f}" '
            f'text-anchor="end" class="tick">{escape(text)}</text>'
        )
    for value, text in x_scale.ticks:
        x = frame.x(x_scale.fraction(value))
        parts.append(
            f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{bottom:.1f}" '
            f'stroke="#eeeeee"/><text x="{x:.1f}" y="{bottom + 16:.1f}" '
            f'text-anchor="middle" class="tick">{escape(text)}</text>'
        )
    parts.append(
        f'<text x="{(left + right) / 2:.1f}" y="{frame.height - 6:.1f}" '
        f'text-anchor="middle" class="axis">{escape(x_scale.label)}</text>'
    )
    parts.append(
        f'<text x="14" y="{(top + bottom) / 2:.1f}" text-anchor="middle" '
        f'class="axis" transform="rotate(-90 14 {(top + bottom) / 2:.1f})">'
        f"{escape(y_scale.label)}</text>"
    )
    return parts


def _segments(
    frame: _Frame, series: Series, x_scale: Scale, y_scale: Scale
) -> list[list[str]]:
    """Runs of consecutive points that have a value, as "x,y" strings."""
    runs: list[list[str]] = [[]]
    for x, y in series.points:
        if y is None or not math.isfinite(y):
            if runs[-1]:
                runs.append([])
            continue
        fx = min(max(x_scale.fraction(x), 0.0), 1.0)
        fy = min(max(y_scale.fraction(y), 0.0), 1.0)
        runs[-1].append(f"{frame.x(fx):.1f},{frame.y(fy):.1f}")
    return [run for run in runs if run]


def _polylines(frame: _Frame, series: Series, x_scale: Scale, y_scale: Scale) -> str:
    dash = ' stroke-dasharray="6 4"' if series.dashed else ""
    lines = []
    for run in _segments(frame, series, x_scale, y_scale):
        if len(run) == 1:
            x, y = run[0].split(",")
            lines.append(f'<circle cx="{x}" cy="{y}" r="2.2" fill="{series.color}"/>')
            continue
        lines.append(
            f'<polyline fill="none" stroke="{series.color}" '
            f'stroke-width="{series.width}"{dash} points="{" ".join(run)}">'
            f"<title>{escape(series.label)}</title></polyline>"
        )
    return "\n".join(lines)


def _limit_line(frame: _Frame, limit: Limit, y_scale: Scale) -> str:
    fraction = y_scale.fraction(limit.value)
    if not 0.0 <= fraction <= 1.0:
        return ""
    y = frame.y(fraction)
    return (
        f'<line x1="{frame.x(0):.1f}" y1="{y:.1f}" x2="{frame.x(1):.1f}" '
        f'y2="{y:.1f}" stroke="{limit.color}" stroke-width="1.4" '
        f'stroke-dasharray="3 3"><title>{escape(limit.label)}</title></line>'
    )


def _legend(
    frame: _Frame, series: Sequence[Series], limits: Sequence[Limit]
) -> list[str]:
    x = frame.x(1) + 14
    parts = []
    entries = [(s.label, s.color, s.dashed) for s in series]
    entries += [(limit.label, limit.color, True) for limit in limits]
    for i, (label, color, dashed) in enumerate(entries):
        y = MARGIN_TOP + 10 + i * 18
        dash = ' stroke-dasharray="4 3"' if dashed else ""
        parts.append(
            f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{x + 22:.1f}" y2="{y:.1f}" '
            f'stroke="{color}" stroke-width="2.4"{dash}/>'
            f'<text x="{x + 28:.1f}" y="{y + 4:.1f}" class="legend">'
            f"{escape(_shorten(label, 30))}</text>"
        )
    return parts


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
