"""Charts drawn on the server as SVG: bar, stacked bar, line, area, pie and donut.

Why SVG from the server, not a chart library: the page needs no script to show a chart
(print, a page saved as a file, a browser with scripts off), the strict
Content-Security-Policy stays as it is, nothing is downloaded, and a chart is a few
kilobytes of markup inside the page (a vendored library would be 60-200 KB of script to
ship, load and keep up to date). Its drawing is plain geometry, here; ``_chart.html``
writes it out.

- **Readable**: every mark has its label and value in a ``<title>`` (shown on hover, read
  by screen readers) and, where it links to its rows, an ``<a>`` with the same words;
  colours come from the stylesheet's series variables, so light, dark and print
  themes each have theirs.
- **Axes that fit**: value axes have round ticks (1, 2 or 5 times a power of ten)
  written as the column writes its values (money as money); zero is a line of its own
  and negative values go below it (left of it for bars); long category labels are cut
  with "…" (the whole in the title) and rotated when many; dates are spaced as time.
- **Pies** show positive values only, and say so when some are left out.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

#: How wide the drawing is (it scales to the page; text keeps its size relative to it).
WIDTH = 640
#: Colours a chart cycles through (the stylesheet's ``.s0`` … ``.s7``).
COLOURS = 8


@dataclass
class Series:
    """One set of values across the chart's categories (a value may be None: no bar)."""

    name: str
    values: list[float | None]
    shown: list[str]  # each value as the page writes it
    hrefs: list[str | None]  # where each value's mark leads (its rows), if anywhere


@dataclass
class Mark:
    """One shape of the chart: a bar, a point, a slice, a line or an area."""

    shape: str  # "rect", "circle", "path"
    attrs: dict[str, str]
    title: str = ""  # its words: "Travel: 1,234.00"
    href: str | None = None
    css: str = ""


@dataclass
class Text:
    x: float
    y: float
    text: str
    anchor: str = "start"
    css: str = ""
    rotate: float = 0
    full: str = ""  # the whole text when ``text`` is cut short


@dataclass
class Figure:
    """A chart as ``_chart.html`` draws it."""

    kind: str
    title: str
    height: float
    marks: list[Mark] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    lines: list[tuple[float, float, float, float, str]] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (css class, words)
    note: str = ""
    width: int = WIDTH

    @property
    def empty(self) -> bool:
        return not self.marks


def draw(
    kind: str, title: str, categories: Sequence[str], series: Sequence[Series],
    write: Callable[[float], str], *, days: Sequence[dt.date | None] = (),
) -> Figure:  # fmt: skip
    """A chart of ``series`` across ``categories``; ``write`` writes an axis value as
    the values are written; ``days`` (one per category) spaces a line or area as time."""
    if kind in ("pie", "donut"):
        return _pie(kind, title, categories, series[0])
    if kind == "bar":
        return _bars(title, categories, series)
    return _columns(kind, title, categories, series, write, days)


def cut(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round values from at most ``low`` to at least ``high``, 0 among them."""
    low, high = min(low, 0.0), max(high, 0.0)
    if high == low:
        high = low + 1
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    out = []
    value = first
    while value < high + step * 1e-9:
        out.append(round(value, 10))
        value += step
    if out[-1] < high:
        out.append(out[-1] + step)
    return out


def _word(s: Series, i: int, category: str, several: bool) -> str:
    return f"{category}, {s.name}: {s.shown[i]}" if several else f"{category}: {s.shown[i]}"


def _bars(title: str, categories: Sequence[str], series: Sequence[Series]) -> Figure:
    """Horizontal bars, one row per category (several series side by side in it); long
    labels have room on the left; negative values run left of the zero line."""
    n = len(series)
    row = 8 + 20 * n if n > 1 else 28
    values = [v for s in series for v in s.values if v is not None]
    low, high = min([*values, 0.0]), max([*values, 0.0])
    left, right = 160.0, WIDTH - 110.0
    span = (high - low) or 1.0

    def x(v: float) -> float:
        return left + (v - low) / span * (right - left)

    fig = Figure("bar", title, len(categories) * row + 8)
    zero = x(0)
    for i, category in enumerate(categories):
        top = i * row + 4
        fig.texts.append(Text(left - 10, top + row / 2 + 4, cut(category, 24), "end",
                              full=category))  # fmt: skip
        for j, s in enumerate(series):
            v = s.values[i]
            if v is None:
                continue
            y = top + 2 + (j * 20 if n > 1 else 0)
            a, b = sorted((zero, x(v)))
            css = f"s{j % COLOURS}" + (" negative" if v < 0 else "")
            fig.marks.append(Mark("rect", {"x": f"{a:.1f}", "y": f"{y:.1f}",
                                           "width": f"{max(b - a, 0.5):.1f}", "height": "18"},
                                  _word(s, i, category, n > 1), s.hrefs[i], css))  # fmt: skip
            fig.texts.append(Text(b + 6, y + 14, s.shown[i], css="value"))
    fig.lines.append((zero, 0, zero, fig.height, "axis"))
    if n > 1:
        fig.legend = [(f"s{j % COLOURS}", s.name) for j, s in enumerate(series)]
    return fig


def _columns(kind: str, title: str, categories: Sequence[str], series: Sequence[Series],
             write: Callable[[float], str], days: Sequence[dt.date | None]) -> Figure:  # fmt: skip
    """Columns stacked (``stacked``), or lines or areas: a value axis on the left with
    round ticks, zero a line of its own, categories (or days, spaced as time) along it."""
    stacked = kind == "stacked"
    tops: list[float] = []
    bottoms: list[float] = []
    for i in range(len(categories)):
        values = [s.values[i] or 0.0 for s in series]
        if stacked:
            tops.append(sum(v for v in values if v > 0))
            bottoms.append(sum(v for v in values if v < 0))
        else:
            tops.append(max(values, default=0.0))
            bottoms.append(min(values, default=0.0))
    scale = ticks(min(bottoms, default=0.0), max(tops, default=0.0))
    rotate = len(categories) > 8 or max((len(c) for c in categories), default=0) > 12
    left, right, top, bottom = 80.0, WIDTH - 16.0, 12.0, 232.0
    fig = Figure(kind, title, bottom + (90 if rotate else 40))

    def y(v: float) -> float:
        return bottom - (v - scale[0]) / (scale[-1] - scale[0]) * (bottom - top)

    timed = len(days) == len(categories) and all(days) and kind in ("line", "area")
    ordinals = [d.toordinal() for d in days if d] if timed else []
    start, end = (min(ordinals), max(ordinals)) if ordinals else (0, 0)
    count = max(len(categories), 1)

    def x(i: int) -> float:
        if timed and end != start:
            return left + 20 + (ordinals[i] - start) / (end - start) * (right - left - 40)
        return left + (i + 0.5) * (right - left) / count

    for value in scale:
        fig.lines.append((left, y(value), right, y(value), "axis" if value == 0 else "grid"))
        fig.texts.append(Text(left - 6, y(value) + 4, write(value), "end", "tick"))
    every = max(1, math.ceil(len(categories) / 24))  # at most 24 labels along the bottom
    for i, category in enumerate(categories):
        if i % every == 0:
            anchor = "end" if rotate else "middle"
            fig.texts.append(Text(x(i), bottom + 18, cut(category, 18), anchor,
                                  rotate=-40 if rotate else 0, full=category))  # fmt: skip
    if stacked:
        _stack(fig, categories, series, x, y, (right - left) / count)
    else:
        _lines(fig, kind, categories, series, x, y)
    if len(series) > 1:
        fig.legend = [(f"s{j % COLOURS}", s.name) for j, s in enumerate(series)]
    return fig


def _stack(
    fig: Figure, categories: Sequence[str], series: Sequence[Series],
    x: Callable[[int], float], y: Callable[[float], float], slot: float,
) -> None:  # fmt: skip
    width = min(slot * 0.7, 60.0)
    several = len(series) > 1
    for i, category in enumerate(categories):
        up = down = 0.0
        for j, s in enumerate(series):
            v = s.values[i]
            if not v:
                continue
            base = up if v > 0 else down
            a, b = sorted((y(base), y(base + v)))
            if v > 0:
                up += v
            else:
                down += v
            fig.marks.append(Mark("rect", {"x": f"{x(i) - width / 2:.1f}", "y": f"{a:.1f}",
                                           "width": f"{width:.1f}",
                                           "height": f"{max(b - a, 0.5):.1f}"},
                                  _word(s, i, category, several), s.hrefs[i],
                                  f"s{j % COLOURS}"))  # fmt: skip


def _lines(
    fig: Figure, kind: str, categories: Sequence[str], series: Sequence[Series],
    x: Callable[[int], float], y: Callable[[float], float],
) -> None:  # fmt: skip
    several = len(series) > 1
    for j, s in enumerate(series):
        css = f"s{j % COLOURS}"
        points = sorted((x(i), y(v)) for i, v in enumerate(s.values) if v is not None)
        if not points:
            continue
        path = "M" + " L".join(f"{px:.1f},{py:.1f}" for px, py in points)
        if kind == "area":
            zero = y(0)
            fill = f"{path} L{points[-1][0]:.1f},{zero:.1f} L{points[0][0]:.1f},{zero:.1f} Z"
            fig.marks.append(Mark("path", {"d": fill}, s.name, None, f"{css} area"))
        fig.marks.append(Mark("path", {"d": path}, s.name, None, f"{css} line"))
        for i, v in enumerate(s.values):
            if v is not None:
                fig.marks.append(Mark("circle", {"cx": f"{x(i):.1f}", "cy": f"{y(v):.1f}",
                                                 "r": "4"},
                                      _word(s, i, categories[i], several), s.hrefs[i],
                                      f"{css} point"))  # fmt: skip


def _pie(kind: str, title: str, categories: Sequence[str], s: Series) -> Figure:
    """Slices of the positive values, largest share first as given; a donut has a hole
    with the total's words in it."""
    fig = Figure(kind, title, 260)
    cx, cy, r = 130.0, 130.0, 120.0
    hole = 62.0 if kind == "donut" else 0.0
    kept = [(i, float(v)) for i, v in enumerate(s.values) if v is not None and v > 0]
    if len(kept) < sum(1 for v in s.values if v is not None):
        fig.note = "Zero and negative values are not in the pie; the table lists them."
    whole = sum(v for _, v in kept)
    angle = -math.pi / 2
    for n, (i, v) in enumerate(kept):
        sweep = v / whole * 2 * math.pi
        css = f"s{n % COLOURS}"
        words = f"{categories[i]}: {s.shown[i]} ({v / whole:.0%})"
        fig.marks.append(Mark("path", {"d": _slice(cx, cy, r, hole, angle, sweep)}, words,
                              s.hrefs[i], css))  # fmt: skip
        fig.legend.append((css, words))
        angle += sweep
    return fig


def _slice(cx: float, cy: float, r: float, hole: float, start: float, sweep: float) -> str:
    if sweep >= 2 * math.pi - 1e-9:  # one slice: the whole ring, as two halves
        half = _slice(cx, cy, r, hole, start, math.pi)
        return half + " " + _slice(cx, cy, r, hole, start + math.pi, math.pi)
    end = start + sweep
    big = 1 if sweep > math.pi else 0

    def at(radius: float, a: float) -> str:
        return f"{cx + radius * math.cos(a):.2f},{cy + radius * math.sin(a):.2f}"

    outer = f"M{at(r, start)} A{r:.0f},{r:.0f} 0 {big} 1 {at(r, end)}"
    if not hole:
        return f"{outer} L{cx:.2f},{cy:.2f} Z"
    return f"{outer} L{at(hole, end)} A{hole:.0f},{hole:.0f} 0 {big} 0 {at(hole, start)} Z"


def as_number(value: Any) -> float | None:
    """A stored value as a length on the chart (None for none)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None  # "inf" and "nan" are no length
