"""Seeded partner data for the sandbox: deterministic by seed, neutral of any CRM.

Each emulation maps these records into its own shapes (Salesforce ids and stage names, HubSpot ids and
dealstages), so the same seed yields the same business in both. The stage and channel keys below are
neutral; ``STAGES`` gives each stage's meaning (closed? won? probability).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal


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


@dataclass(frozen=True, slots=True)
class SeedPartner:
    key: int
    name: str
    tier: str
    currency: str


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


@dataclass
class SeedData:
    partners: list[SeedPartner]
    opportunities: list[SeedOpportunity]
    dated_rates: list[SeedRate]
    static_rates: dict[str, Decimal]
    corporate_currency: str = "USD"


def _month_starts(first: date, months: int) -> list[date]:
    out = []
    y, m = first.year, first.month
    for _ in range(months + 1):
        out.append(date(y, m, 1))
        m += 1
        if m == 13:
            y, m = y + 1, 1
    return out


def generate(
    seed: int = 42,
    partners: int = 50,
    opportunities: int = 5_000,
    end: date = date(2026, 10, 31),
    months: int = 24,
) -> SeedData:
    """Partners of different tiers and sizes; opportunities over ``months`` months up to ``end``."""
    rng = random.Random(seed)
    start = end - timedelta(days=months * 30)
    partner_list = [
        SeedPartner(
            key=i + 1,
            name=f"Partner {i + 1:04d}",
            tier=TIERS[min(int(rng.paretovariate(1.5)) - 1, len(TIERS) - 1)],
            currency=rng.choices(CURRENCIES, weights=(6, 3, 1))[0],
        )
        for i in range(partners)
    ]
    month_starts = _month_starts(date(start.year, start.month, 1), months + 1)
    dated = []
    for code, base in (("EUR", 0.92), ("GBP", 0.79)):
        for i, month in enumerate(month_starts[:-1]):
            drift = 1 + 0.03 * rng.uniform(-1, 1)
            dated.append(
                SeedRate(code, Decimal(f"{base * drift:.6f}"), month, month_starts[i + 1] if i + 1 < len(month_starts) - 1 else None)
            )
    win_bias = {p.key: rng.uniform(0.25, 0.75) for p in partner_list}
    weights = [rng.paretovariate(1.2) for _ in partner_list]
    span_days = (end - start).days
    opps = []
    for k in range(1, opportunities + 1):
        partner = rng.choices(partner_list, weights=weights)[0] if partner_list and rng.random() < 0.8 else None
        created = start + timedelta(days=rng.randrange(span_days))
        created_at = datetime.combine(created, time(rng.randrange(24), rng.randrange(60)), timezone.utc)
        cycle = max(1, int(rng.lognormvariate(3.8, 0.6)))
        close = created + timedelta(days=cycle)
        if close <= end:
            p_win = win_bias[partner.key] if partner else 0.4
            stage = "closed_won" if rng.random() < p_win else "closed_lost"
        else:
            stage = rng.choice(("prospecting", "qualification", "proposal", "negotiation"))
        currency = partner.currency if partner else "USD"
        amount: Decimal | None = Decimal(int(rng.lognormvariate(9.5, 0.8))).quantize(Decimal("1"))
        if rng.random() < 0.003:
            amount = None
        if rng.random() < 0.002:
            stage = UNKNOWN_STAGE
        modified = min(datetime.combine(min(close, end), time(12), timezone.utc), datetime.combine(end, time(23), timezone.utc))
        opps.append(
            SeedOpportunity(
                key=k,
                name=f"Opportunity {k}",
                partner_key=partner.key if partner else None,
                amount=amount,
                currency=currency,
                stage=stage,
                created_at=created_at,
                close_date=close,
                channel=rng.choice(CHANNELS) if rng.random() < 0.95 else None,
                modified_at=max(modified, created_at),
                deleted=rng.random() < 0.003,
            )
        )
    return SeedData(
        partners=partner_list,
        opportunities=opps,
        dated_rates=dated,
        static_rates={"USD": Decimal(1), "EUR": Decimal("0.92"), "GBP": Decimal("0.79")},
    )
