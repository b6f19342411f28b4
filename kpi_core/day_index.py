"""Which windows and pipeline days each calendar day belongs to: the pass's one lookup per date."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from kpi_core.counters import SIGNATURE_STRIDE

Window = tuple[date, date]


@dataclass(frozen=True)
class DayIndex:
    """For each day that matters: which windows contain it (a signature) and where it sits among the
    pipeline days; one dict lookup per date in the hot loop."""

    windows: tuple[Window, ...]
    signatures: tuple[tuple[int, ...], ...]
    """Signature number -> the indexes of the windows that contain its days."""
    days: tuple[date, ...]
    """The pipeline days d of OPEN_AT(d), ascending."""
    info: dict[date, tuple[int, int]]
    """day -> (signature x 12, or -1 outside every window; the number of pipeline days before it)."""
    first: date
    """Days before ``first`` are (-1, 0); days not in ``info`` from ``first`` on are (-1, len(days))."""

    @classmethod
    def build(cls, windows: Sequence[Window], days: Iterable[date]) -> DayIndex:
        pipeline_days = tuple(sorted(set(days)))
        starts = [f for f, _ in windows] + list(pipeline_days[:1])
        stops = [last for _, last in windows] + list(pipeline_days[-1:])
        first, last = min(starts), max(stops) + timedelta(days=1)
        signatures: dict[tuple[int, ...], int] = {}
        info: dict[date, tuple[int, int]] = {}
        for offset in range((last - first).days + 1):
            day = first + timedelta(days=offset)
            members = tuple(i for i, (f, end) in enumerate(windows) if f <= day <= end)
            code = signatures.setdefault(members, len(signatures)) * SIGNATURE_STRIDE if members else -1
            info[day] = (code, bisect.bisect_left(pipeline_days, day))
        return cls(tuple(windows), tuple(signatures), pipeline_days, info, first)
