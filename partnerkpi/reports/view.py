"""A typed reading of the report document (docs/output-schema.md) for the renderers.

The HTML report renders the same JSON document other programs read, so that what a person sees and
what a BI tool loads can never disagree. This module turns its strings and numbers back into Decimal,
float and int, and ranks the partners."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from kpi_core.schema import SEGMENTS as SEGMENT_MEMBERS

T = TypeVar("T", Decimal, float, int)

SEGMENTS: tuple[str, ...] = tuple(s.value for s in SEGMENT_MEMBERS)
"""The document's segment keys, in kpi_core's order (the charts colour segments by position)."""
AGGREGATES = ("partners", "direct", "overall")


@dataclass(frozen=True, slots=True)
class Fig(Generic[T]):
    """One figure of one group: its value, the prior period's, and the change (and the same against
    last year, when the document has it)."""

    value: T | None
    prior: T | None
    change: T | None
    change_pct: float | None
    last_year: T | None = None
    change_vs_last_year: T | None = None
    change_pct_vs_last_year: float | None = None


def _as_money(raw: object) -> Decimal | None:
    return None if raw is None else Decimal(str(raw))


def _as_float(raw: object) -> float | None:
    return None if raw is None else float(raw)  # type: ignore[arg-type]


def _as_int(raw: object) -> int | None:
    return None if raw is None else int(raw)  # type: ignore[call-overload]


def _fig(raw: Mapping[str, Any] | None, convert: Callable[[object], T | None]) -> Fig[T]:
    """A figure of the document, its numbers read with ``convert`` (the shares stay floats)."""
    if raw is None:
        return Fig(None, None, None, None)
    return Fig(
        convert(raw["value"]),
        convert(raw["prior"]),
        convert(raw["change"]),
        raw["change_pct"],
        convert(raw.get("last_year")),
        convert(raw.get("change_vs_last_year")),
        raw.get("change_pct_vs_last_year"),
    )


def money_fig(raw: Mapping[str, Any] | None) -> Fig[Decimal]:
    return _fig(raw, _as_money)


def rate_fig(raw: Mapping[str, Any] | None) -> Fig[float]:
    return _fig(raw, _as_float)


def count_fig(raw: Mapping[str, Any] | None) -> Fig[int]:
    return _fig(raw, _as_int)


@dataclass(frozen=True, slots=True)
class GroupView:
    """One group of one period, as the document holds it."""

    kind: str
    partner_id: str | None
    name: str | None
    low_sample: bool | None
    pipeline_prior_source: str
    figures: Mapping[str, Any]
    channels: Mapping[str, Mapping[str, Any]]
    tier: Mapping[str, str | None] | None = None
    """With kpi.tiers: ``{"tier", "reached_on", "previous"}`` of a partner group; None without."""
    influenced: Mapping[str, Any] = field(default_factory=dict)
    """With influenced attribution: the figures over the group's influenced deals; empty without."""

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> GroupView:
        group = raw["group"]
        return cls(
            kind=group["kind"],
            partner_id=group.get("partner_id"),
            name=group.get("name"),
            low_sample=raw.get("low_sample"),
            pipeline_prior_source=raw.get("pipeline_prior_source", "rebuilt"),
            figures=raw.get("figures", {}),
            channels=raw.get("channels", {}),
            tier=(
                {
                    "tier": raw["tier"],
                    "reached_on": raw.get("tier_reached_on"),
                    "previous": raw.get("tier_previous"),
                }
                if "tier" in raw
                else None
            ),
            influenced=raw.get("influenced", {}),
        )

    @property
    def label(self) -> str:
        """What a person calls the group: the partner's name, else its id, else the kind."""
        if self.kind == "partner":
            return self.name or self.partner_id or "?"
        return {"partners": "All partners", "direct": "Direct", "overall": "Overall"}.get(
            self.kind, self.kind
        )

    def money(self, name: str) -> Fig[Decimal]:
        return money_fig(self.figures.get(name))

    def influenced_money(self, name: str) -> Fig[Decimal]:
        return money_fig(self.influenced.get(name))

    def rate(self, name: str) -> Fig[float]:
        return rate_fig(self.figures.get(name))

    def count(self, name: str) -> Fig[int]:
        return count_fig(self.figures.get(name))

    def channel_money(self, segment: str, name: str) -> Fig[Decimal]:
        return money_fig(self.channels.get(segment, {}).get(name))

    def channel_rate(self, segment: str, name: str) -> Fig[float]:
        return rate_fig(self.channels.get(segment, {}).get(name))

    def revenue_shares(self) -> list[tuple[str, float]]:
        """Each segment's share of won revenue in the period (segments with no share left out)."""
        shares = ((s, self.channel_rate(s, "revenue_share").value) for s in SEGMENTS)
        return [(s, v) for s, v in shares if v]


@dataclass(frozen=True, slots=True)
class PeriodView:
    name: str
    as_of: date
    first: date
    last: date
    prior_first: date
    prior_last: date
    partners: Sequence[GroupView]
    """Ranked: by quality score, highest first (then won revenue, then name)."""
    aggregates: Mapping[str, GroupView]
    last_year_first: date | None = None
    """With compare_to: last_year, the same window a year earlier."""
    last_year_last: date | None = None

    @property
    def title(self) -> str:
        return self.name.replace("_", " ").capitalize()


@dataclass(frozen=True, slots=True)
class ConnectorView:
    name: str
    as_of: date
    currency: str
    opportunities_seen: int
    data_quality: Mapping[str, int]
    last_run: Mapping[str, Any] | None
    periods: Sequence[PeriodView]


@dataclass(frozen=True, slots=True)
class DocumentView:
    schema: str
    generated_at: datetime
    connectors: Sequence[ConnectorView]


def _rank_key(g: GroupView) -> tuple[float, Decimal, str]:
    score = g.rate("quality_score").value
    revenue = g.money("won_revenue").value
    return (-(score if score is not None else -1.0), -(revenue or Decimal(0)), g.label.casefold())


def rank(partners: Sequence[GroupView]) -> list[GroupView]:
    return sorted(partners, key=_rank_key)


def _period(raw: Mapping[str, Any], groups: Sequence[GroupView]) -> PeriodView:
    return PeriodView(
        name=raw["name"],
        as_of=date.fromisoformat(raw["as_of"]),
        first=date.fromisoformat(raw["first"]),
        last=date.fromisoformat(raw["last"]),
        prior_first=date.fromisoformat(raw["prior_first"]),
        prior_last=date.fromisoformat(raw["prior_last"]),
        partners=rank([g for g in groups if g.kind == "partner"]),
        aggregates={g.kind: g for g in groups if g.kind in AGGREGATES},
        last_year_first=_as_date(raw.get("last_year_first")),
        last_year_last=_as_date(raw.get("last_year_last")),
    )


def _as_date(raw: str | None) -> date | None:
    return None if raw is None else date.fromisoformat(raw)


def connector_view(raw: Mapping[str, Any]) -> ConnectorView:
    by_period: dict[str, list[GroupView]] = {}
    for g in raw.get("groups", []):
        by_period.setdefault(g["period"], []).append(GroupView.parse(g))
    return ConnectorView(
        name=raw["name"],
        as_of=date.fromisoformat(raw["as_of"]),
        currency=raw["currency"],
        opportunities_seen=int(raw.get("opportunities_seen", 0)),
        data_quality=dict(raw.get("data_quality", {})),
        last_run=raw.get("last_run"),
        periods=[_period(p, by_period.get(p["name"], [])) for p in raw.get("periods", [])],
    )


def document_view(document: Mapping[str, Any]) -> DocumentView:
    return DocumentView(
        schema=document["schema"],
        generated_at=datetime.fromisoformat(document["generated_at"]),
        connectors=[connector_view(c) for c in document["connectors"]],
    )
