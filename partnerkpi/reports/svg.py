"""Small inline SVG charts for the HTML report: sparklines, share bars, a channel-mix chart and a
pipeline comparison. Plain strings, no library: the report must open without any network, print
cleanly, and stay small for a thousand partners, so the markup is compact and styled by CSS classes
(colours in html_style: the Okabe-Ito palette, safe for colour-blind readers). Every chart carries a
<title> (its accessible name) and a <desc> or visible labels with the numbers it shows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from partnerkpi.reports.view import SEGMENTS

SEGMENT_LABELS = {"paid": "Paid", "earned": "Earned", "owned": "Owned", "unclassified": "Unclassified"}


def num(x: float) -> str:
    """A coordinate with at most one decimal and no trailing zero (compact markup)."""
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def clip(label: str, limit: int = 22) -> str:
    """A label short enough for a chart's label column (the full name is in the chart's description)."""
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def _open(css: str, width: float, height: float, title: str, desc: str = "") -> str:
    described = f"<desc>{escape(desc)}</desc>" if desc else ""
    return (
        f'<svg class="{css}" viewBox="0 0 {num(width)} {num(height)}" role="img">'
        f"<title>{escape(title)}</title>{described}"
    )


# -- sparklines -------------------------------------------------------------------------------------
SPARK_W, SPARK_H, SPARK_PAD = 70, 18, 2
"""The sparkline's box in CSS pixels (the stylesheet gives the <svg> this size; no viewBox, so that the
path's coordinates are small integers)."""


def _domain(values: Sequence[float], floor: float | None, min_span: float) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if floor is not None:
        lo = min(lo, floor)
    if hi - lo < min_span:
        middle = (hi + lo) / 2
        lo, hi = middle - min_span / 2, middle + min_span / 2
        if floor is not None and lo < floor:
            lo, hi = floor, floor + min_span
    return lo, hi


def spark_points(
    values: Sequence[float | None], floor: float | None, min_span: float
) -> list[tuple[int, int]]:
    """Each defined value as integer (x, y) in the sparkline's box; x spreads all values, y is up for more."""
    known = [v for v in values if v is not None]
    if not known:
        return []
    lo, hi = _domain(known, floor, min_span)
    step = (SPARK_W - 2 * SPARK_PAD) / max(len(values) - 1, 1)
    height = SPARK_H - 2 * SPARK_PAD
    out = []
    for i, v in enumerate(values):
        if v is not None:
            x = SPARK_PAD + i * step if len(values) > 1 else SPARK_W - SPARK_PAD
            y = SPARK_PAD + height * (1 - (v - lo) / (hi - lo if hi > lo else 1))
            out.append((round(x), round(y)))
    return out


def relative_path(points: Sequence[tuple[int, int]]) -> str:
    """``M x y`` then relative line steps: the shortest path text for a sparkline."""
    (x0, y0), rest = points[0], points[1:]
    steps = []
    for (px, py), (x, y) in zip(points[:-1], rest, strict=True):
        steps.append(f"{x - px}{'' if y - py < 0 else ' '}{y - py}")
    return f"M{x0} {y0}" + ("l" + " ".join(steps) if steps else "h0")


def sparkline(
    values: Sequence[float | None], title: str, floor: float | None = None, min_span: float = 1e-9
) -> str:
    """A line of the values, oldest left (the stylesheet colours it and marks the latest point); empty
    when no value is defined."""
    points = spark_points(values, floor, min_span)
    if not points:
        return ""
    return f'<svg role=img><title>{escape(title)}</title><path d="{relative_path(points)}"/></svg>'


def spark_markers() -> str:
    """The dots that end the sparklines (referenced by the stylesheet), defined once per page."""
    dots = "".join(
        f'<marker id="dot-{name}" viewBox="0 0 4 4" refX="2" refY="2" markerWidth="4" markerHeight="4" '
        f'markerUnits="userSpaceOnUse"><circle cx="2" cy="2" r="2" fill="{colour}"/></marker>'
        for name, colour in (("score", "#0072B2"), ("rev", "#009E73"))
    )
    return f'<svg class="defs" width="0" height="0" aria-hidden="true"><defs>{dots}</defs></svg>'


# -- share bars -------------------------------------------------------------------------------------
MIX_BAR_W = 90
"""A partner's channel-mix bar, in CSS pixels."""


def _segment_path(segment: str, x: float, width: float, height: float, y: float = 0.0) -> str:
    return f'<path class="s-{segment}" d="M{num(x)} {num(y)}h{num(width)}v{num(height)}h-{num(width)}z"/>'


def share_bar(shares: Mapping[str, float], title: str) -> str:
    """A 100% bar of the four segments' shares (a partner's channel mix): one thick line per segment,
    always in SEGMENTS order so that the stylesheet colours them by position; hollow when empty."""
    parts = [f"<svg role=img><title>{escape(title)}</title>"]
    edge = 0
    total = 0.0
    for segment in SEGMENTS:
        total += shares.get(segment, 0.0)
        end = round(min(total, 1.0) * MIX_BAR_W)
        parts.append(f"<line x1={edge} x2={end} />" if edge else f"<line x2={end} />")
        edge = end
    if edge == 0:
        parts.append(f'<path class="none" d="M.5 -4.5h{MIX_BAR_W - 1}v9h-{MIX_BAR_W - 1}z"/>')
    parts.append("</svg>")
    return "".join(parts)


def swatch(segment: str) -> str:
    """A legend key: a small square in the segment's colour (SVG, so that it prints)."""
    return (
        f'<svg class="key" viewBox="0 0 10 10" aria-hidden="true">{_segment_path(segment, 0, 10, 10)}</svg>'
    )


def _legend(items: Sequence[tuple[str, str]], y: float, x0: float) -> str:
    """A row of keys inside a chart: (css class suffix, label) pairs."""
    out, x = [], x0
    for css, label in items:
        out.append(_segment_path(css, x, 10, 10, y))
        out.append(f'<text class="lg" x="{num(x + 14)}" y="{num(y + 9)}">{escape(label)}</text>')
        x += 22 + 7 * len(label)
    return "".join(out)


# -- the channel-mix chart --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MixRow:
    """One group's bar: its label, each segment's share, and a note after the bar (e.g. the total)."""

    label: str
    shares: Sequence[tuple[str, float]]
    note: str = ""


MIX_W, MIX_LABEL, MIX_BAR, MIX_ROW, MIX_TOP = 560.0, 140.0, 330.0, 36.0, 30.0
DIVIDER_GAP = 22.0


@dataclass(frozen=True, slots=True)
class Divider:
    """A labelled rule between two groups of rows (e.g. the totals, then the top partners)."""

    after: int
    label: str


def row_tops(count: int, top: float, step: float, divider: Divider | None) -> list[float]:
    """Each row's top edge, leaving room for the divider."""
    gap = DIVIDER_GAP if divider is not None and 0 < divider.after < count else 0.0
    return [
        top + i * step + (gap if divider is not None and i >= divider.after else 0.0) for i in range(count)
    ]


def _divider(divider: Divider | None, tops: Sequence[float], width: float) -> str:
    if divider is None or not 0 < divider.after < len(tops):
        return ""
    y = tops[divider.after] - DIVIDER_GAP + 2
    return (
        f'<path class="rule" d="M0 {num(y)}h{num(width)}"/>'
        f'<text class="lg" x="0" y="{num(y + 13)}">{escape(divider.label)}</text>'
    )


_DARK_SEGMENTS = {"paid"}
"""Segments whose colour needs a white label."""


def _mix_bar(row: MixRow, y: float) -> str:
    parts = [f'<text class="gl" x="{num(MIX_LABEL - 8)}" y="{num(y + 13)}">{escape(clip(row.label))}</text>']
    x = MIX_LABEL
    if not row.shares:
        parts.append(
            f'<path class="none" d="M{num(x + 0.5)} {num(y + 0.5)}h{num(MIX_BAR - 1)}v17h-{num(MIX_BAR - 1)}z"/>'
        )
    for segment, share in row.shares:
        width = share * MIX_BAR
        parts.append(_segment_path(segment, x, width, 18, y))
        if share >= 0.08:
            ink = "in lt" if segment in _DARK_SEGMENTS else "in"
            parts.append(
                f'<text class="{ink}" x="{num(x + width / 2)}" y="{num(y + 13)}">{share * 100:.0f}%</text>'
            )
        x += width
    if row.note:
        parts.append(
            f'<text class="nt" x="{num(MIX_LABEL + MIX_BAR + 8)}" y="{num(y + 13)}">{escape(row.note)}</text>'
        )
    return "".join(parts)


def mix_chart(rows: Sequence[MixRow], title: str, desc: str, divider: Divider | None = None) -> str:
    """100% stacked bars of the channel mix, one per group, with a legend and the percentages."""
    tops = row_tops(len(rows), MIX_TOP, MIX_ROW, divider)
    height = (tops[-1] if tops else MIX_TOP) + MIX_ROW - 10
    legend = _legend([(s, SEGMENT_LABELS[s]) for s in SEGMENTS], 2, MIX_LABEL)
    bars = "".join(_mix_bar(row, y) for row, y in zip(rows, tops, strict=True))
    return (
        _open("chart", MIX_W, height, title, desc) + legend + _divider(divider, tops, MIX_W) + bars + "</svg>"
    )


# -- the pipeline chart -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PairRow:
    """One group's two bars (now and before), with their printed values."""

    label: str
    now: float | None
    before: float | None
    now_text: str
    before_text: str


PAIR_W, PAIR_LABEL, PAIR_BAR, PAIR_ROW, PAIR_TOP = 560.0, 140.0, 300.0, 40.0, 30.0


def _pair_bars(row: PairRow, y: float, scale: float) -> str:
    parts = [f'<text class="gl" x="{num(PAIR_LABEL - 8)}" y="{num(y + 15)}">{escape(clip(row.label))}</text>']
    for offset, value, text, css in (
        (0.0, row.now, row.now_text, "now"),
        (15.0, row.before, row.before_text, "before"),
    ):
        width = max((value or 0.0) * scale, 0.0)
        parts.append(_segment_path(css, PAIR_LABEL, width, 13, y + offset))
        parts.append(
            f'<text class="nt" x="{num(PAIR_LABEL + width + 6)}" y="{num(y + offset + 10.5)}">{escape(text)}</text>'
        )
    return "".join(parts)


def pair_chart(
    rows: Sequence[PairRow], legend: tuple[str, str], title: str, desc: str, divider: Divider | None = None
) -> str:
    """Horizontal bar pairs on one scale (e.g. the open pipeline now against the prior period's)."""
    largest = max([v for r in rows for v in (r.now, r.before) if v is not None and v > 0], default=1.0)
    scale = PAIR_BAR / largest
    tops = row_tops(len(rows), PAIR_TOP, PAIR_ROW, divider)
    height = (tops[-1] if tops else PAIR_TOP) + PAIR_ROW - 8
    keys = _legend([("now", legend[0]), ("before", legend[1])], 2, PAIR_LABEL)
    bars = "".join(_pair_bars(row, y, scale) for row, y in zip(rows, tops, strict=True))
    return (
        _open("chart", PAIR_W, height, title, desc) + keys + _divider(divider, tops, PAIR_W) + bars + "</svg>"
    )
