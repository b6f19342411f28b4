"""One pass, bounded memory: compute() iterates its input once and keeps no per-record state."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from datetime import date, timedelta

from kpi_core import KpiSettings, Opportunity, Status, compute
from tests.kpi_core.builders import opp

SETTINGS = KpiSettings(periods=["last_30_days", "quarter_to_date", "last_365_days"])
AS_OF = date(2024, 3, 31)


class OnceOnly:
    """An iterable that can be iterated once and has no length, like a database cursor."""

    def __init__(self, records: list[Opportunity]) -> None:
        self._records = records
        self.iterations = 0

    def __iter__(self) -> Iterator[Opportunity]:
        self.iterations += 1
        assert self.iterations == 1, "the input was iterated twice"
        return iter(self._records)


def synthetic(n: int) -> Iterator[Opportunity]:
    statuses = (Status.WON, Status.LOST, Status.OPEN)
    for i in range(n):
        created = AS_OF - timedelta(days=i % 500)
        status = statuses[i % 3]
        closed = created + timedelta(days=i % 40) if status is not Status.OPEN else None
        yield opp(
            status, partner=f"P{i % 50}", amount=100 + i % 7, created=created, closed=closed, probability=0.5
        )


def test_the_input_is_iterated_once() -> None:
    source = OnceOnly(list(synthetic(300)))
    result = compute(source, settings=SETTINGS, as_of=AS_OF)
    assert source.iterations == 1
    assert result.opportunities_seen == 300


def peak_bytes(n: int) -> int:
    tracemalloc.start()
    try:
        compute(synthetic(n), settings=SETTINGS, as_of=AS_OF)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_number_of_opportunities() -> None:
    small, large = peak_bytes(1_000), peak_bytes(10_000)
    # ten times the records, the same 50 partners and periods: the peak stays within a few percent
    assert large < small * 1.1, (small, large)
