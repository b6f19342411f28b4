"""Seeded partner data for the sandbox: deterministic by seed, neutral of any CRM.

Each emulation maps these records into its own shapes (Salesforce ids and stage names, HubSpot ids and
dealstages), so the same seed yields the same business in both. The stage and channel keys below are
neutral; ``STAGES`` gives each stage's meaning (closed? won? probability).

A million opportunities must fit a benchmark machine, so they are kept in typed columns
(:class:`OpportunityColumns`, about 40 bytes a record) and a :class:`SeedOpportunity` is built only when a
caller reads one. ``SeedData.opportunities`` behaves as a read-only sequence of them.
"""

from __future__ import annotations

import math
import random
from array import array
from bisect import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from itertools import accumulate
from typing import overload


@dataclass(frozen=True, slots=True)
class StageInfo:
    key: str
    label: str
    is_closed: bool
    is_won: bool
    probability: float


STAGES: tuple[StageInfo, ...] = (
    StageInfo("prospecting", "Prospecting", False, False, 0.10),
    StageInfo("qualification", "Qualification", False, False, 0.20),
    StageInfo("proposal", "Proposal/Price Quote", False, False, 0.50),
    StageInfo("negotiation", "Negotiation/Review", False, False, 0.80),
    StageInfo("closed_won", "Closed Won", True, True, 1.0),
    StageInfo("closed_lost", "Closed Lost", True, False, 0.0),
)
UNKNOWN_STAGE = "retired_stage"
"""A stage that exists on a few dirty records but not in the stage metadata."""

STAGE_KEYS: tuple[str, ...] = (*(s.key for s in STAGES), UNKNOWN_STAGE)
"""Column codes of the stage: an index into this tuple (the last one is the dirty stage)."""

CHANNELS: tuple[str, ...] = (
    "paid_search",
    "paid_social",
    "email",
    "direct",
    "organic",
    "social",
    "referral",
    "offline",
)
CURRENCIES: tuple[str, ...] = ("USD", "EUR", "GBP")
TIERS: tuple[str, ...] = ("platinum", "gold", "silver", "registered")
SIZES: tuple[str, ...] = ("enterprise", "mid_market", "small")

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_TIER_WIN_RATE = {"platinum": 0.55, "gold": 0.45, "silver": 0.36, "registered": 0.27}
_TIER_VOLUME = {"platinum": 6.0, "gold": 3.0, "silver": 1.5, "registered": 0.6}
_SIZE_AMOUNT_MU = {"enterprise": 10.4, "mid_market": 9.6, "small": 8.8}
_SIZE_CYCLE_MU = {"enterprise": 4.4, "mid_market": 4.1, "small": 3.7}
_CHANNEL_WEIGHTS = (14, 8, 12, 10, 16, 6, 26, 8)
_MISSING = -1


@dataclass(frozen=True, slots=True)
class SeedPartner:
    key: int
    name: str
    tier: str
    currency: str
    size: str = "mid_market"
    """enterprise, mid_market or small: drives deal sizes and cycle lengths."""
    win_rate: float = 0.4
    """The partner's underlying chance to win a deal it closes (the data shows it, noisily)."""


@dataclass(frozen=True, slots=True)
class SeedOpportunity:
    key: int
    name: str
    partner_key: int | None
    """None: a direct deal."""
    amount: Decimal | None
    currency: str
    stage: str
    """A key of STAGES, or UNKNOWN_STAGE on a dirty record."""
    created_at: datetime
    close_date: date
    """Expected close day while open; the close day once closed."""
    channel: str | None
    modified_at: datetime
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class SeedRate:
    """Units of ``currency`` per 1 USD (the corporate currency) from ``start`` to ``next_start``."""

    currency: str
    rate: Decimal
    start: date
    next_start: date | None


def epoch_seconds(moment: datetime) -> int:
    return int((moment - _EPOCH).total_seconds())


def from_epoch(seconds: int) -> datetime:
    return _EPOCH + timedelta(seconds=seconds)


@dataclass
class OpportunityColumns(Sequence[SeedOpportunity]):
    """The opportunities as typed columns; row ``i`` is the opportunity with key ``i + 1``.

    Codes: ``partner`` 0 = direct; ``amount`` whole currency units, -1 = none; ``currency`` index into
    CURRENCIES; ``stage`` index into STAGE_KEYS; ``created``/``modified`` epoch seconds (UTC); ``close``
    a proleptic ordinal day; ``channel`` index into CHANNELS, -1 = none; ``deleted`` 0/1.
    """

    partner: array[int] = field(default_factory=lambda: array("i"))
    amount: array[int] = field(default_factory=lambda: array("q"))
    currency: array[int] = field(default_factory=lambda: array("b"))
    stage: array[int] = field(default_factory=lambda: array("b"))
    created: array[int] = field(default_factory=lambda: array("q"))
    close: array[int] = field(default_factory=lambda: array("i"))
    channel: array[int] = field(default_factory=lambda: array("b"))
    modified: array[int] = field(default_factory=lambda: array("q"))
    deleted: array[int] = field(default_factory=lambda: array("b"))

    def __len__(self) -> int:
        return len(self.stage)

    @overload
    def __getitem__(self, index: int) -> SeedOpportunity: ...

    @overload
    def __getitem__(self, index: slice) -> list[SeedOpportunity]: ...

    def __getitem__(self, index: int | slice) -> SeedOpportunity | list[SeedOpportunity]:
        if isinstance(index, slice):
            return [self.record(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self.record(index)

    def __iter__(self) -> Iterator[SeedOpportunity]:
        return (self.record(i) for i in range(len(self)))

    def record(self, i: int) -> SeedOpportunity:
        partner = self.partner[i]
        amount = self.amount[i]
        channel = self.channel[i]
        return SeedOpportunity(
            key=i + 1,
            name=f"Opportunity {i + 1}",
            partner_key=partner or None,
            amount=None if amount == _MISSING else Decimal(amount),
            currency=CURRENCIES[self.currency[i]],
            stage=STAGE_KEYS[self.stage[i]],
            created_at=from_epoch(self.created[i]),
            close_date=date.fromordinal(self.close[i]),
            channel=None if channel == _MISSING else CHANNELS[channel],
            modified_at=from_epoch(self.modified[i]),
            deleted=bool(self.deleted[i]),
        )


@dataclass
class SeedData:
    partners: list[SeedPartner]
    opportunities: Sequence[SeedOpportunity]
    """An :class:`OpportunityColumns` from :func:`generate`; any sequence of SeedOpportunity works."""
    dated_rates: list[SeedRate]
    static_rates: dict[str, Decimal]
    corporate_currency: str = "USD"
    seed: int = 0
    end: date = date(2026, 10, 31)
    """The last day of the generated history (no record is modified after it)."""

    @property
    def columns(self) -> OpportunityColumns | None:
        """The compact columns when the opportunities are generated ones (emulations read them fast)."""
        return self.opportunities if isinstance(self.opportunities, OpportunityColumns) else None


def _month_starts(first: date, months: int) -> list[date]:
    out = []
    y, m = first.year, first.month
    for _ in range(months + 1):
        out.append(date(y, m, 1))
        m += 1
        if m == 13:
            y, m = y + 1, 1
    return out


def _quarter_end(day: date) -> date:
    month = ((day.month - 1) // 3) * 3 + 3
    nxt = date(day.year + 1, 1, 1) if month == 12 else date(day.year, month + 1, 1)
    return nxt - timedelta(days=1)


def _partners(rng: random.Random, count: int) -> list[SeedPartner]:
    out = []
    for i in range(count):
        tier = TIERS[len(TIERS) - 1 - min(int(rng.paretovariate(1.5)) - 1, len(TIERS) - 1)]  # few platinum
        size = rng.choices(SIZES, weights=(2, 5, 6) if tier in ("silver", "registered") else (5, 5, 2))[0]
        win = min(0.9, max(0.05, _TIER_WIN_RATE[tier] + rng.uniform(-0.12, 0.12)))
        out.append(
            SeedPartner(
                key=i + 1,
                name=f"Partner {i + 1:04d}",
                tier=tier,
                currency=rng.choices(CURRENCIES, weights=(5, 3, 2))[0],
                size=size,
                win_rate=round(win, 4),
            )
        )
    return out


def _dated_rates(rng: random.Random, first_month: date, months: int) -> list[SeedRate]:
    month_starts = _month_starts(first_month, months)
    dated = []
    for code, base in (("EUR", 0.92), ("GBP", 0.79)):
        level = base
        for i, month in enumerate(month_starts[:-1]):
            level *= 1 + 0.015 * rng.uniform(-1, 1)  # a random walk: rates drift month to month
            nxt = month_starts[i + 1] if i + 1 < len(month_starts) - 1 else None
            dated.append(SeedRate(code, Decimal(f"{level:.6f}"), month, nxt))
    return dated


def generate(
    seed: int = 42,
    partners: int = 50,
    opportunities: int = 5_000,
    end: date = date(2026, 10, 31),
    months: int = 24,
) -> SeedData:
    """Partners of different tiers and sizes; opportunities over ``months`` months up to ``end``.

    Realism that the KPIs can see: partner volume and win rates by tier, deal sizes and cycle lengths by
    partner size, more closes in the last weeks of a quarter, won deals taking longer than lost ones, open
    deals at a stage matching their age (a few slipped past their expected close), monthly drifting FX
    rates, a channel mix, and a few deleted and dirty records (no amount, a retired stage).
    """
    rng = random.Random(seed)
    start = end - timedelta(days=months * 30)
    partner_list = _partners(rng, partners)
    first_month = date(start.year, start.month, 1)
    dated = _dated_rates(
        rng, first_month, (end.year - first_month.year) * 12 + end.month - first_month.month + 1
    )

    cum_partner = list(accumulate(_TIER_VOLUME[p.tier] * rng.paretovariate(2.0) for p in partner_list))
    total_partner = cum_partner[-1] if cum_partner else 0.0
    cum_channel = list(accumulate(_CHANNEL_WEIGHTS))
    total_channel = cum_channel[-1]
    # Creation seasonality: a mild yearly wave (busier in spring and autumn).
    span_days = (end - start).days
    cum_day = list(
        accumulate(
            1.0 + 0.25 * math.sin(2 * math.pi * (start + timedelta(days=d)).timetuple().tm_yday / 182.5)
            for d in range(span_days)
        )
    )
    total_day = cum_day[-1]

    start_ord = start.toordinal()
    end_ord = end.toordinal()
    end_cap = epoch_seconds(datetime.combine(end, time(23, 0), timezone.utc))
    start_epoch = epoch_seconds(datetime.combine(start, time(0), timezone.utc))
    partner_info = [
        (p.key, CURRENCIES.index(p.currency), p.win_rate, _SIZE_AMOUNT_MU[p.size], _SIZE_CYCLE_MU[p.size])
        for p in partner_list
    ]
    direct_currencies = list(accumulate((5, 3, 2)))
    quarter_end_cache: dict[int, int] = {}

    cols = OpportunityColumns()
    random_ = rng.random
    gauss = rng.gauss
    n_partners = len(partner_info)
    won_code, lost_code, unknown_code = 4, 5, 6
    for _ in range(opportunities):
        if n_partners and random_() < 0.8:
            info = partner_info[min(bisect(cum_partner, random_() * total_partner), n_partners - 1)]
        else:  # a direct deal, in whichever currency the customer buys in
            info = (0, bisect(direct_currencies, random_() * 10), 0.33, 9.4, 3.9)
        pkey, cur, p_win, amount_mu, cycle_mu = info
        day = min(bisect(cum_day, random_() * total_day), span_days - 1)
        created = start_epoch + day * 86400 + int(random_() * 86400)
        created_ord = start_ord + day
        won = random_() < p_win
        cycle = max(1, int(math.exp(gauss(cycle_mu + (0.15 if won else -0.2), 0.55))))
        close_ord = created_ord + cycle
        if close_ord <= end_ord and random_() < 0.35:  # pushed to the quarter's last weeks
            qe = quarter_end_cache.get(close_ord)
            if qe is None:
                qe = quarter_end_cache[close_ord] = _quarter_end(date.fromordinal(close_ord)).toordinal()
            close_ord = min(max(close_ord, qe - int(random_() * 14)), end_ord)
        if close_ord <= end_ord and random_() >= 0.03:
            stage = won_code if won else lost_code
            modified = close_ord * 86400 - 719163 * 86400 + 8 * 3600 + int(random_() * 36000)
        else:
            # Still open: the stage follows the deal's age against its expected cycle.
            age = end_ord - created_ord
            stage = min(3, int(4 * age / max(cycle, 1)))
            if close_ord <= end_ord:
                stage = 3  # slipped: stuck in negotiation past its expected close
            modified = created + int(random_() * max(1, end_cap - created))
        if random_() < 0.002:
            stage = unknown_code
        amount = int(math.exp(gauss(amount_mu, 0.8)))
        if random_() < 0.003:
            amount = _MISSING
        r = random_()
        channel = _MISSING if r < 0.05 else min(bisect(cum_channel, (r - 0.05) / 0.95 * total_channel), 7)
        cols.partner.append(pkey)
        cols.amount.append(amount)
        cols.currency.append(cur)
        cols.stage.append(stage)
        cols.created.append(created)
        cols.close.append(close_ord)
        cols.channel.append(channel)
        cols.modified.append(min(max(modified, created), end_cap))
        cols.deleted.append(1 if random_() < 0.003 else 0)
    return SeedData(
        partners=partner_list,
        opportunities=cols,
        dated_rates=dated,
        static_rates={"USD": Decimal(1), "EUR": Decimal("0.92"), "GBP": Decimal("0.79")},
        seed=seed,
        end=end,
    )
