"""The one pass over the opportunities: every record is read once and added to per-partner counters.

Memory is proportional to partners x periods, never to opportunities. The trick that keeps the loop
cheap: a day falls into a *set* of windows, and the distinct sets ("signatures") are few (at most about
twice the number of windows), so a record adds to one counter per concern (its close and its creation,
keyed by signature; its open span as a +1 at the first pipeline day it is open on and a -1 after the last,
summed up at the end) and the counters are spread over the windows once, at the end. Counters live in
flat lists indexed ``group_index * stride + code`` (no per-record objects). Open amounts are summed per
distinct probability and multiplied once per group, not once per record.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import Any

from kpi_core.result import DataQuality
from kpi_core.schema import SEGMENTS, Opportunity, Segment, Status
from kpi_core.settings import channel_key
from kpi_core.tally import ZERO, OpenTally, Tally

Window = tuple[date, date]
_NSEG = len(SEGMENTS)
_UNCLASSIFIED = SEGMENTS.index(Segment.UNCLASSIFIED)
_CACHE_LIMIT = 4096
_ONE = Decimal(1)
_WON_WEIGHT = 1.0
"""The probability a won deal counts with in a rebuilt past pipeline."""


WEIGHT_SLOTS = 9
OVERFLOW_SLOT = WEIGHT_SLOTS - 1
_STATES = 3
"""Codes: signature x segment x state (0 open, 1 won, 2 lost) -> ``(sig * 4 + segment) * 3 + state``."""
_SIGNATURE_STRIDE = _NSEG * _STATES


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
            code = signatures.setdefault(members, len(signatures)) * _SIGNATURE_STRIDE if members else -1
            info[day] = (code, bisect.bisect_left(pipeline_days, day))
        return cls(tuple(windows), tuple(signatures), pipeline_days, info, first)


@dataclass
class Accumulated:
    """The pass's outcome: per group index, a Tally per window and an OpenTally per pipeline day.

    Index 0 is direct, 1 .. len(partner_ids) - 1 one partner each; then all partners, then overall."""

    partner_ids: list[str | None]
    tallies: list[list[Tally]]
    open_at: list[list[OpenTally]]
    data_quality: DataQuality = field(default_factory=DataQuality)
    seen: int = 0

    @property
    def all_partners(self) -> int:
        return len(self.partner_ids)

    @property
    def overall(self) -> int:
        return len(self.partner_ids) + 1


class _Counters:
    """The flat counter lists; one block of ``stride`` (or ``open_stride``) entries per group index."""

    def __init__(self, signatures: int, days: int) -> None:
        self.stride = signatures * _SIGNATURE_STRIDE
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

    def copy(self) -> _Counters:
        twin = _Counters.__new__(_Counters)
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


def _segment_code(raw: str | None, table: dict[str, Segment]) -> int:
    segment = table.get(channel_key(raw))
    return (SEGMENTS.index(segment) if segment is not None else _UNCLASSIFIED) * _STATES


def _count_amount_rule(amount: Decimal | None, original: Decimal | None, dq: DataQuality, one: int) -> None:
    """Counts (``one``: +1, or -1 for a record folded out) why an amount is unusable (called only for
    such amounts)."""
    if original is None:
        dq.missing_amount += one
        return
    if amount is None:
        dq.unknown_currency += one
    if (amount if amount is not None else original) < 0:
        dq.negative_amount += one


class _WeightSlots:
    """The first distinct probabilities each get a slot; the others share the overflow slot, whose
    products are summed record by record."""

    def __init__(self) -> None:
        self.weights: list[Decimal] = []
        self.slot_of: dict[float | None, int] = {}
        self.overflow: dict[float, Decimal] = {}

    def slot(self, probability: float | None) -> int:
        if probability is None or len(self.weights) < OVERFLOW_SLOT:
            weight = ZERO if probability is None else _probability(probability)
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
        if len(self.slot_of) < _CACHE_LIMIT:
            self.slot_of[probability] = OVERFLOW_SLOT
        return OVERFLOW_SLOT

    def weight(self, probability: float | None) -> Decimal:
        """The weight of a probability in the overflow slot."""
        if probability is None:
            return ZERO
        found = self.overflow.get(probability)
        if found is None:
            found = _probability(probability)
            if len(self.overflow) < _CACHE_LIMIT:
                self.overflow[probability] = found
        return found


def _probability(value: float) -> Decimal:
    """A stage probability as an exact Decimal in [0, 1] (so that no float touches money); NaN weighs 0."""
    if not math.isfinite(value):
        return ZERO
    exact = Decimal(repr(float(value)))
    return min(max(exact, ZERO), _ONE)


EXACT = Context(prec=120, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])
"""The sums' context: wide enough that adding converted amounts (28 significant digits each) never
rounds, so the sums do not depend on the order records come in, and folding a record out then in again
gives exactly what a full pass gives."""

STATE_FORMAT = 2
"""Bumped whenever the layout or meaning of :meth:`Accumulator.state` changes: an older saved state is
not loaded (2: a won deal weighs 1 on the past days it was open)."""


class Accumulator:
    """The pass's running state. Every counter is a sum, so :meth:`remove` folds a record out exactly as
    :meth:`add` folded it in: a saved state plus the records that changed since gives what a full pass
    over the whole mirror would (see ``state`` / ``load``)."""

    def __init__(
        self, index: DayIndex, segment_table: dict[str, Segment], partners: Collection[str] | None
    ) -> None:
        self.index = index
        self.segment_table = segment_table
        self.known = sorted(set(partners or ()))
        self.counters = _Counters(len(index.signatures), len(index.days))
        self.dq = DataQuality()
        self.seen = 0
        self.group_of: dict[str | None, int] = {}
        self.partner_ids: list[str | None] = []
        self.weights = _WeightSlots()
        self._segment_cache: dict[str | None, int] = {}
        self._register(None)
        for known in self.known:
            self._register(known)
        self.last_known = len(self.partner_ids) - 1 if partners is not None else math.inf

    @property
    def fingerprint(self) -> str:
        """What a saved state must have been built for: the windows, pipeline days, channel table and
        partner scope (a state of another day, config or partner list is never folded into)."""
        basis = {
            "format": STATE_FORMAT,
            "windows": [[f.isoformat(), last.isoformat()] for f, last in self.index.windows],
            "days": [d.isoformat() for d in self.index.days],
            "segments": sorted((k, v.value) for k, v in self.segment_table.items()),
            "partners": self.known if self.last_known != math.inf else None,
        }
        return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()

    def _register(self, partner_id: str | None) -> int:
        self.group_of[partner_id] = len(self.partner_ids)
        self.partner_ids.append(partner_id)
        self.counters.grow()
        return self.group_of[partner_id]

    def _segment(self, channel: str | None) -> int:
        """The segment code of a channel the cache does not hold (the loop's slow path)."""
        segment = _segment_code(channel, self.segment_table)
        if len(self._segment_cache) < _CACHE_LIMIT:
            self._segment_cache[channel] = segment
        return segment

    def remove(self, opportunities: Iterable[Opportunity]) -> None:
        """Fold records out: each must be a record that was added before, with the same values."""
        self.add(opportunities, sign=-1)

    def add(self, opportunities: Iterable[Opportunity], sign: int = 1) -> None:
        """Reads every record once; see the module docstring for the layout."""
        with localcontext(EXACT):
            self._add(opportunities, sign)

    def _add(self, opportunities: Iterable[Opportunity], sign: int) -> None:
        one = -1 if sign < 0 else 1
        negate = one < 0
        dq = self.dq
        counters = self.counters
        group_of = self.group_of
        register = self._register
        last_known = self.last_known
        unknown_partner = 0
        segment_cache = self._segment_cache
        weights = self.weights
        slot_of = weights.slot_of
        index = self.index
        info = index.info
        m = len(index.days)
        first_day = index.first
        before, after = (-1, 0), (-1, m)
        stride, open_stride = counters.stride, counters.open_stride
        closed_n, closed_amount, closed_no_amount = (
            counters.closed_n,
            counters.closed_amount,
            counters.closed_no_amount,
        )
        cycle_days, cycle_no_created, created_n = (
            counters.cycle_days,
            counters.cycle_no_created,
            counters.created_n,
        )
        open_n, open_amount, open_weighted = counters.open_n, counters.open_amount, counters.open_weighted
        won_status, lost_status, open_status = Status.WON, Status.LOST, Status.OPEN
        won_weight = _WON_WEIGHT
        seen = 0

        for opp in opportunities:
            seen += one
            if opp.deleted:
                continue
            partner_id = opp.partner_id
            group = group_of.get(partner_id)
            if group is None:
                group = register(partner_id)
            if group > last_known:
                unknown_partner += one
            amount = opp.amount
            original = opp.amount_original
            if original is None or amount is None or amount < ZERO:
                _count_amount_rule(amount, original, dq, one)
                amount = None
            elif negate:
                amount = -amount
            created = opp.created_on
            if created is None:
                dq.missing_created += one
            status = opp.status
            if status is won_status:
                state = 1
            elif status is open_status:
                state = 0
            elif status is lost_status:
                state = 2
            else:
                dq.unknown_stage += one
                continue
            segment = -1
            base = group * stride
            if state:
                closed = opp.closed_on
                if closed is None:
                    dq.closed_without_close_date += one
                    continue
                signature, upper = info.get(closed) or (before if closed < first_day else after)
                if signature >= 0:
                    segment = segment_cache.get(opp.channel, -1)
                    if segment < 0:
                        segment = self._segment(opp.channel)
                    i = base + signature + segment + state
                    closed_n[i] += one
                    if amount is None:
                        closed_no_amount[i] += one
                    else:
                        closed_amount[i] += amount
                    if state == 1:
                        if created is None:
                            cycle_no_created[i] += one
                        else:
                            cycle = closed.toordinal() - created.toordinal()
                            if cycle > 0:
                                cycle_days[i] += cycle * one
            else:
                upper = m
            if created is None:
                continue
            signature, lower = info.get(created) or (before if created < first_day else after)
            if signature >= 0:
                if segment < 0:
                    segment = segment_cache.get(opp.channel, -1)
                    if segment < 0:
                        segment = self._segment(opp.channel)
                created_n[base + signature + segment + state] += one
            if lower < upper:
                # open on pipeline days lower .. upper - 1: +1 from ``lower``, -1 from ``upper`` (prefix sums)
                i = group * open_stride + lower
                open_n[i] += one
                ends = upper < m
                if ends:
                    open_n[i + upper - lower] -= one
                if amount is not None:
                    # Won by now: on the past days it was open it weighs 1 (kpis.md: today's records,
                    # so today's certainty), whatever probability its stage carries, even none.
                    probability = won_weight if state == 1 else opp.probability
                    slot = slot_of.get(probability)
                    if slot is None:
                        slot = weights.slot(probability)
                    open_amount[i * WEIGHT_SLOTS + slot] += amount
                    if ends:
                        open_amount[(i + upper - lower) * WEIGHT_SLOTS + slot] -= amount
                    if slot == OVERFLOW_SLOT:
                        weighted = amount * weights.weight(probability)
                        open_weighted[i] += weighted
                        if ends:
                            open_weighted[i + upper - lower] -= weighted

        dq.unknown_partner += unknown_partner
        self.seen += seen

    def result(self) -> Accumulated:
        """The groups' tallies: each partner, then all partners and overall (totals of copies: the running
        state is left as it was, ready for more records)."""
        with localcontext(EXACT):
            return self._result()

    def _result(self) -> Accumulated:
        counters = self.counters.copy()
        n = len(self.partner_ids)
        m = len(self.index.days)
        counters.add_total(range(1, n))  # all partners, at index n
        counters.add_total(range(0, n + 1, n))  # direct + all partners = overall, at n + 1
        tallies = [_spread_tallies(counters, self.index, g) for g in range(n + 2)]
        open_at = [_spread_open(counters, m, g, self.weights.weights) for g in range(n + 2)]
        dq = DataQuality(**self.dq.as_dict())
        return Accumulated(list(self.partner_ids), tallies, open_at, dq, self.seen)

    def state(self) -> dict[str, Any]:
        """The running state as JSON-ready data (money as exact decimal strings)."""
        c = self.counters
        return {
            "format": STATE_FORMAT,
            "fingerprint": self.fingerprint,
            "partner_ids": self.partner_ids,
            "ints": {name: getattr(c, name) for name in _INT_COUNTERS},
            "money": {name: [format(v, "f") for v in getattr(c, name)] for name in _MONEY_COUNTERS},
            "weights": [format(w, "f") for w in self.weights.weights],
            "slots": [[p, s] for p, s in self.weights.slot_of.items()],
            "data_quality": self.dq.as_dict(),
            "seen": self.seen,
        }

    def load(self, state: Mapping[str, Any]) -> bool:
        """Take over a saved state built for this fingerprint; False (and nothing changed) otherwise."""
        if state.get("format") != STATE_FORMAT or state.get("fingerprint") != self.fingerprint:
            return False
        if self.last_known == math.inf:
            # With no partner scope, a partner whose records all went away would stay a (zero) group
            # that a full pass would not have: only a full pass is exact there.
            return False
        partner_ids = list(state["partner_ids"])
        if partner_ids[: len(self.partner_ids)] != self.partner_ids:
            return False
        loaded = _Counters(len(self.index.signatures), len(self.index.days))
        for _ in partner_ids:
            loaded.grow()
        for name in _INT_COUNTERS:
            values = [int(v) for v in state["ints"][name]]
            if len(values) != len(getattr(loaded, name)):
                return False
            setattr(loaded, name, values)
        for name in _MONEY_COUNTERS:
            money = [Decimal(v) for v in state["money"][name]]
            if len(money) != len(getattr(loaded, name)):
                return False
            setattr(loaded, name, money)
        self.counters = loaded
        self.partner_ids = partner_ids
        self.group_of = {p: i for i, p in enumerate(partner_ids)}
        self.weights = _WeightSlots()
        self.weights.weights = [Decimal(w) for w in state["weights"]]
        self.weights.slot_of = {p: int(s) for p, s in state["slots"]}
        self.dq = DataQuality(**state["data_quality"])
        self.seen = int(state["seen"])
        return True


_INT_COUNTERS = ("closed_n", "closed_no_amount", "cycle_days", "cycle_no_created", "created_n", "open_n")
_MONEY_COUNTERS = ("closed_amount", "open_amount", "open_weighted")


def accumulate(
    opportunities: Iterable[Opportunity],
    index: DayIndex,
    segment_table: dict[str, Segment],
    partners: Collection[str] | None,
) -> Accumulated:
    """One full pass: every record read once."""
    acc = Accumulator(index, segment_table, partners)
    acc.add(opportunities)
    return acc.result()


def _spread_tallies(c: _Counters, index: DayIndex, group: int) -> list[Tally]:
    """The signature-keyed counters of one group, added into each window they cover."""
    tallies = [Tally() for _ in index.windows]
    base = group * c.stride
    for signature, members in enumerate(index.signatures):
        for segment in range(_NSEG):
            k = base + (signature * _NSEG + segment) * _STATES
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


def _spread_open(c: _Counters, m: int, group: int, weights: Sequence[Decimal]) -> list[OpenTally]:
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
