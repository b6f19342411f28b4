"""The pass's counters: flat lists with one block of entries per group, and the probabilities' weight
slots. kpi_core.accumulate fills them record by record; the spread functions turn one group's block into
its tallies per window and its open pipeline per day.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Any

from kpi_core.schema import SEGMENTS
from kpi_core.tally import ZERO, OpenTally, Tally

NSEG = len(SEGMENTS)
CACHE_LIMIT = 4096
_ONE = Decimal(1)

WEIGHT_SLOTS = 9
OVERFLOW_SLOT = WEIGHT_SLOTS - 1
STATES = 3
"""Codes: signature x segment x state (0 open, 1 won, 2 lost) -> ``(sig * 4 + segment) * 3 + state``."""
SIGNATURE_STRIDE = NSEG * STATES


EXACT = Context(prec=120, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])
"""The sums' context: wide enough that adding converted amounts (28 significant digits each) never
rounds, so the sums do not depend on the order records come in, and folding a record out then in again
gives exactly what a full pass gives."""


class Counters:
    """The flat counter lists; one block of ``stride`` (or ``open_stride``) entries per group index."""

    def __init__(self, signatures: int, days: int) -> None:
        self.stride = signatures * SIGNATURE_STRIDE
        self.open_stride = days + 1
        self.closed_n: list[int] = []
        self.closed_amount: list[Decimal] = []
        self.closed_no_amount: list[int] = []
        self.cycle_days: list[int] = []
        self.cycle_no_created: list[int] = []
        self.created_n: list[int] = []
        self.open_n: list[int] = []
        self.open_amount: list[Decimal] = []
        """Per pipeline-day position and weight slot (``position * WEIGHT_SLOTS + slot``): changes of the
        open amount at that position, summed by probability, so that the multiplication by the
        probability happens once per slot, not once per record."""
        self.open_weighted: list[Decimal] = []
        """Per pipeline-day position: changes of amount x probability of the overflow slot's records."""

    def copy(self) -> Counters:
        twin = Counters.__new__(Counters)
        twin.__dict__.update({k: list(v) if isinstance(v, list) else v for k, v in vars(self).items()})
        return twin

    def int_lists(self) -> tuple[list[int], ...]:
        return (self.closed_n, self.closed_no_amount, self.cycle_days, self.cycle_no_created, self.created_n)

    def grow(self) -> None:
        for ints in self.int_lists():
            ints.extend([0] * self.stride)
        self.closed_amount.extend([ZERO] * self.stride)
        self.open_n.extend([0] * self.open_stride)
        self.open_amount.extend([ZERO] * (self.open_stride * WEIGHT_SLOTS))
        self.open_weighted.extend([ZERO] * self.open_stride)

    def add_total(self, members: range) -> None:
        """Appends a block that is the sum of the blocks of the groups ``members``."""
        columns: list[tuple[list[Any], int, Any]] = [(v, self.stride, 0) for v in self.int_lists()]
        columns += [(self.closed_amount, self.stride, ZERO), (self.open_n, self.open_stride, 0)]
        columns += [(self.open_amount, self.open_stride * WEIGHT_SLOTS, ZERO)]
        columns += [(self.open_weighted, self.open_stride, ZERO)]
        lo, hi, step = members.start, members.stop, members.step
        for values, stride, zero in columns:
            values.extend(
                [
                    sum(values[lo * stride + code : hi * stride : step * stride], zero)
                    for code in range(stride)
                ]
            )


class Blocks:
    """Counters for groups keyed by partner id (None: direct), each group's block added when first met."""

    def __init__(self, signatures: int, days: int) -> None:
        self.counters = Counters(signatures, days)
        self.group_of: dict[str | None, int] = {}
        self.partner_ids: list[str | None] = []
        self.register(None)

    def register(self, partner_id: str | None) -> int:
        self.group_of[partner_id] = len(self.partner_ids)
        self.partner_ids.append(partner_id)
        self.counters.grow()
        return self.group_of[partner_id]

    def dump(self) -> dict[str, Any]:
        """JSON-ready: the group ids and every counter list (money as exact decimal strings)."""
        c = self.counters
        return {
            "partner_ids": self.partner_ids,
            "ints": {name: getattr(c, name) for name in INT_COUNTERS},
            "money": {name: [format(v, "f") for v in getattr(c, name)] for name in MONEY_COUNTERS},
        }

    @classmethod
    def loaded(cls, state: Mapping[str, Any], signatures: int, days: int) -> Blocks | None:
        """Blocks from :meth:`dump`'s form; None when its lists do not fit this layout."""
        loaded = cls(signatures, days)
        for partner_id in state["partner_ids"][1:]:
            loaded.register(partner_id)
        c = loaded.counters
        for name in INT_COUNTERS:
            values = [int(v) for v in state["ints"][name]]
            if len(values) != len(getattr(c, name)):
                return None
            setattr(c, name, values)
        for name in MONEY_COUNTERS:
            money = [Decimal(v) for v in state["money"][name]]
            if len(money) != len(getattr(c, name)):
                return None
            setattr(c, name, money)
        return loaded


class WeightSlots:
    """The first distinct probabilities each get a slot; the others share the overflow slot, whose
    products are summed record by record."""

    def __init__(self) -> None:
        self.weights: list[Decimal] = []
        self.slot_of: dict[float | None, int] = {}
        self.overflow: dict[float, Decimal] = {}

    def slot(self, probability: float | None) -> int:
        if probability is None or len(self.weights) < OVERFLOW_SLOT:
            weight = ZERO if probability is None else probability_weight(probability)
            if weight in self.weights:
                found = self.weights.index(weight)
            elif len(self.weights) < OVERFLOW_SLOT:
                found = len(self.weights)
                self.weights.append(weight)
            else:
                found = OVERFLOW_SLOT
            if probability is None or probability == probability:  # NaN is never found again: no caching
                self.slot_of[probability] = found
            return found
        if len(self.slot_of) < CACHE_LIMIT:
            self.slot_of[probability] = OVERFLOW_SLOT
        return OVERFLOW_SLOT

    def weight(self, probability: float | None) -> Decimal:
        """The weight of a probability in the overflow slot."""
        if probability is None:
            return ZERO
        found = self.overflow.get(probability)
        if found is None:
            found = probability_weight(probability)
            if len(self.overflow) < CACHE_LIMIT:
                self.overflow[probability] = found
        return found


def probability_weight(value: float) -> Decimal:
    """A stage probability as an exact Decimal in [0, 1] (so that no float touches money); NaN weighs 0."""
    if not math.isfinite(value):
        return ZERO
    exact = Decimal(repr(float(value)))
    return min(max(exact, ZERO), _ONE)


INT_COUNTERS = ("closed_n", "closed_no_amount", "cycle_days", "cycle_no_created", "created_n", "open_n")
MONEY_COUNTERS = ("closed_amount", "open_amount", "open_weighted")


def spread_tallies(
    c: Counters, signatures: Sequence[Sequence[int]], n_windows: int, group: int
) -> list[Tally]:
    """The signature-keyed counters of one group, added into each of the ``n_windows`` windows they
    cover (``signatures[s]``: the windows of signature s)."""
    tallies = [Tally() for _ in range(n_windows)]
    base = group * c.stride
    for signature, members in enumerate(signatures):
        for segment in range(NSEG):
            k = base + (signature * NSEG + segment) * STATES
            won_i, lost_i = k + 1, k + 2
            won, lost = c.closed_n[won_i], c.closed_n[lost_i]
            created_open, created_won, created_lost = c.created_n[k], c.created_n[won_i], c.created_n[lost_i]
            if not (won or lost or created_open or created_won or created_lost):
                continue
            for w in members:
                t = tallies[w]
                t.won[segment] += won
                t.lost[segment] += lost
                t.won_amount[segment] += c.closed_amount[won_i]
                t.won_with_amount += won - c.closed_no_amount[won_i]
                t.cycle_days += c.cycle_days[won_i]
                t.cycle_deals += won - c.cycle_no_created[won_i]
                t.created[segment] += created_open + created_won + created_lost
                t.created_won[segment] += created_won
                t.created_open += created_open
    return tallies


def spread_open(c: Counters, m: int, group: int, weights: Sequence[Decimal]) -> list[OpenTally]:
    """OPEN_AT(d) of one group for each pipeline day: the running sums of the changes at each position."""
    open_at = []
    base = group * c.open_stride
    count, by_slot, overflow = 0, [ZERO] * WEIGHT_SLOTS, ZERO
    for d in range(m):
        i = base + d
        count += c.open_n[i]
        by_slot = [
            a + b
            for a, b in zip(by_slot, c.open_amount[i * WEIGHT_SLOTS : (i + 1) * WEIGHT_SLOTS], strict=True)
        ]
        overflow += c.open_weighted[i]
        weighted = sum((w * a for w, a in zip(weights, by_slot, strict=False)), overflow)
        open_at.append(OpenTally(count, sum(by_slot, ZERO), weighted))
    return open_at
