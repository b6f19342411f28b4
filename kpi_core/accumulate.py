"""The one pass over the opportunities: every record is read once and added to per-partner counters.

Memory is proportional to partners x periods, never to opportunities. The trick that keeps the loop
cheap: a day falls into a *set* of windows, and the distinct sets ("signatures") are few (at most about
twice the number of windows), so a record adds to one counter per concern (its close and its creation,
keyed by signature; its open span as a +1 at the first pipeline day it is open on and a -1 after the last,
summed up at the end) and the counters are spread over the windows once, at the end. Counters live in
flat lists indexed ``group_index * stride + code`` (no per-record objects, kpi_core.counters). Open
amounts are summed per distinct probability and multiplied once per group, not once per record.

Influenced attribution (kpis.md, "Sourced and influenced") adds a second set of blocks that holds only
what the sourced blocks lack: per partner, the deals it influenced without sourcing them, and under
``ANY_INFLUENCER`` the direct deals that some partner influenced. Only deals with influencers reach them,
so a pass over deals without any costs one attribute test per record.
"""

from __future__ import annotations

import hashlib
import json
import math
import operator
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from datetime import date
from decimal import Decimal, localcontext
from typing import Any

from kpi_core.accumulated import ANY_INFLUENCER, Accumulated, Influence
from kpi_core.counters import (
    CACHE_LIMIT,
    EXACT,
    OVERFLOW_SLOT,
    STATES,
    WEIGHT_SLOTS,
    Blocks,
    Counters,
    WeightSlots,
    spread_open,
    spread_tallies,
)
from kpi_core.day_index import DayIndex
from kpi_core.result import DataQuality
from kpi_core.schema import SEGMENTS, Opportunity, Segment, Status
from kpi_core.settings import channel_key
from kpi_core.tally import ZERO, OpenTally, Tally

_UNCLASSIFIED = SEGMENTS.index(Segment.UNCLASSIFIED)
_WON_WEIGHT = 1.0
"""The probability a won deal counts with in a rebuilt past pipeline."""


def _segment_code(raw: str | None, table: dict[str, Segment]) -> int:
    segment = table.get(channel_key(raw))
    return (SEGMENTS.index(segment) if segment is not None else _UNCLASSIFIED) * STATES


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


STATE_FORMAT = 2
"""Bumped whenever the layout or meaning of :meth:`Accumulator.state` changes: an older saved state is
not loaded (2: a won deal weighs 1 on the past days it was open)."""


class Accumulator:
    """The pass's running state. Every counter is a sum, so :meth:`remove` folds a record out exactly as
    :meth:`add` folded it in: a saved state plus the records that changed since gives what a full pass
    over the whole mirror would (see ``state`` / ``load``)."""

    def __init__(
        self,
        index: DayIndex,
        segment_table: dict[str, Segment],
        partners: Collection[str] | None,
        influenced: bool = False,
    ) -> None:
        self.index = index
        self.segment_table = segment_table
        self.known = sorted(set(partners or ()))
        self.blocks = self._blocks()
        self.influence = self._blocks() if influenced else None
        self.dq = DataQuality()
        self.seen = 0
        self.weights = WeightSlots()
        self._segment_cache: dict[str | None, int] = {}
        for known in self.known:
            self.blocks.register(known)
        self.last_known = len(self.blocks.partner_ids) - 1 if partners is not None else math.inf

    def _blocks(self) -> Blocks:
        return Blocks(len(self.index.signatures), len(self.index.days))

    @property
    def partner_ids(self) -> list[str | None]:
        return self.blocks.partner_ids

    @property
    def fingerprint(self) -> str:
        """What a saved state must have been built for: the windows, pipeline days, channel table,
        partner scope and attribution (a state of another day, config or partner list is never folded
        into)."""
        basis: dict[str, Any] = {
            "format": STATE_FORMAT,
            "windows": [[f.isoformat(), last.isoformat()] for f, last in self.index.windows],
            "days": [d.isoformat() for d in self.index.days],
            "segments": sorted((k, v.value) for k, v in self.segment_table.items()),
            "partners": self.known if self.last_known != math.inf else None,
        }
        if self.influence is not None:  # without it, the fingerprint is what it always was
            basis["influenced"] = True
        return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()

    def _segment(self, channel: str | None) -> int:
        """The segment code of a channel the cache does not hold (the loop's slow path)."""
        segment = _segment_code(channel, self.segment_table)
        if len(self._segment_cache) < CACHE_LIMIT:
            self._segment_cache[channel] = segment
        return segment

    def remove(self, opportunities: Iterable[Opportunity]) -> None:
        """Fold records out: each must be a record that was added before, with the same values."""
        self.add(opportunities, sign=-1)

    def add(self, opportunities: Iterable[Opportunity], sign: int = 1) -> None:
        """Reads every record once; see the module docstring for the layout."""
        self.add_rows(map(pass_row, opportunities), sign)

    def add_rows(self, rows: Iterable[PassRow], sign: int = 1) -> None:
        """:meth:`add` for records already in the pass's own shape (a store that reads only the columns
        the pass needs hands these over, and no Opportunity is built)."""
        with localcontext(EXACT):
            influenced: list[PassRow] | None = [] if self.influence is not None else None
            self.seen += self._add(self.blocks, self.dq, self.last_known, rows, sign, influenced)
            if self.influence is not None and influenced:
                # The same rules once more, into the influence blocks: their data quality and count are
                # the sourced pass's already, so they go to a scratch counter.
                self._add(self.influence, DataQuality(), math.inf, _influence_rows(influenced), sign, None)

    def _add(
        self,
        blocks: Blocks,
        dq: DataQuality,
        last_known: float,
        rows: Iterable[PassRow],
        sign: int,
        influenced: list[PassRow] | None,
    ) -> int:
        """Adds the records to ``blocks`` (those with influencers also to ``influenced``); the count."""
        one = -1 if sign < 0 else 1
        negate = one < 0
        counters = blocks.counters
        group_of = blocks.group_of
        register = blocks.register
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
        collect = influenced.append if influenced is not None else None
        seen = 0

        for row in rows:
            partner_id, amount, original, status, created, closed, probability, channel, deleted, infl = row
            seen += one
            if deleted:
                continue
            if collect is not None and infl:
                collect(row)
            group = group_of.get(partner_id)
            if group is None:
                group = register(partner_id)
            if group > last_known:
                unknown_partner += one
            if original is None or amount is None or amount < ZERO:
                _count_amount_rule(amount, original, dq, one)
                amount = None
            elif negate:
                amount = -amount
            if created is None:
                dq.missing_created += one
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
                if closed is None:
                    dq.closed_without_close_date += one
                    continue
                signature, upper = info.get(closed) or (before if closed < first_day else after)
                if signature >= 0:
                    segment = segment_cache.get(channel, -1)
                    if segment < 0:
                        segment = self._segment(channel)
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
                    segment = segment_cache.get(channel, -1)
                    if segment < 0:
                        segment = self._segment(channel)
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
                    if state == 1:
                        probability = won_weight
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
        return seen

    def result(self) -> Accumulated:
        """The groups' tallies: each partner, then all partners and overall (totals of copies: the running
        state is left as it was, ready for more records)."""
        with localcontext(EXACT):
            return self._result()

    def _result(self) -> Accumulated:
        counters = self.counters.copy()
        n = len(self.partner_ids)
        counters.add_total(range(1, n))  # all partners, at index n
        counters.add_total(range(0, n + 1, n))  # direct + all partners = overall, at n + 1
        tallies, open_at = self._spread(counters, n + 2)
        dq = DataQuality(**self.dq.as_dict())
        influence = None
        if self.influence is not None:
            blocks = self.influence
            extra_tallies, extra_open = self._spread(blocks.counters, len(blocks.partner_ids))
            influence = Influence(list(blocks.partner_ids), extra_tallies, extra_open)
        return Accumulated(list(self.partner_ids), tallies, open_at, dq, self.seen, influence)

    @property
    def counters(self) -> Counters:
        return self.blocks.counters

    def _spread(self, counters: Counters, groups: int) -> tuple[list[list[Tally]], list[list[OpenTally]]]:
        index, m, weights = self.index, len(self.index.days), self.weights.weights
        tallies = [spread_tallies(counters, index.signatures, len(index.windows), g) for g in range(groups)]
        return tallies, [spread_open(counters, m, g, weights) for g in range(groups)]

    def state(self) -> dict[str, Any]:
        """The running state as JSON-ready data (money as exact decimal strings)."""
        state: dict[str, Any] = {
            "format": STATE_FORMAT,
            "fingerprint": self.fingerprint,
            **self.blocks.dump(),
            "weights": [format(w, "f") for w in self.weights.weights],
            "slots": [[p, s] for p, s in self.weights.slot_of.items()],
            "data_quality": self.dq.as_dict(),
            "seen": self.seen,
        }
        if self.influence is not None:
            state["influence"] = self.influence.dump()
        return state

    def load(self, state: Mapping[str, Any]) -> bool:
        """Take over a saved state built for this fingerprint; False (and nothing changed) otherwise."""
        if state.get("format") != STATE_FORMAT or state.get("fingerprint") != self.fingerprint:
            return False
        if self.last_known == math.inf:
            # With no partner scope, a partner whose records all went away would stay a (zero) group
            # that a full pass would not have: only a full pass is exact there.
            return False
        if list(state["partner_ids"])[: len(self.partner_ids)] != self.partner_ids:
            return False
        signatures, days = len(self.index.signatures), len(self.index.days)
        blocks = Blocks.loaded(state, signatures, days)
        influence = (
            Blocks.loaded(state["influence"], signatures, days) if self.influence is not None else None
        )
        if blocks is None or (self.influence is not None and influence is None):
            return False
        self.blocks, self.influence = blocks, influence
        self.weights = WeightSlots()
        self.weights.weights = [Decimal(w) for w in state["weights"]]
        self.weights.slot_of = {p: int(s) for p, s in state["slots"]}
        self.dq = DataQuality(**state["data_quality"])
        self.seen = int(state["seen"])
        return True


def _influence_rows(rows: Iterable[PassRow]) -> Iterator[PassRow]:
    """Each deal once per partner that influenced it without sourcing it, and a direct deal once more
    under ANY_INFLUENCER."""
    for row in rows:
        rest = row[1:]
        for partner_id in row[-1]:
            yield (partner_id, *rest)
        if row[0] is None:
            yield (ANY_INFLUENCER, *rest)


PassRow = tuple[
    str | None,  # partner_id
    Decimal | None,  # amount
    Decimal | None,  # amount_original
    Status | None,  # status
    date | None,  # created_on
    date | None,  # closed_on
    float | None,  # probability
    str | None,  # channel
    bool,  # deleted
    tuple[str, ...],  # influencers
]
"""An opportunity as the pass reads it: only the fields its rules use, in this order."""


PASS_FIELDS = (
    "partner_id", "amount", "amount_original", "status", "created_on", "closed_on", "probability", "channel",
    "deleted", "influencers",
)  # fmt: skip
"""The Opportunity fields of a PassRow, in its order."""
pass_row: Callable[[Opportunity], PassRow] = operator.attrgetter(*PASS_FIELDS)
"""An Opportunity as a PassRow (attrgetter builds the tuple in C: the in-memory pass pays almost nothing)."""
