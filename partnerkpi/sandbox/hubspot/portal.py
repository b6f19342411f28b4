"""The emulated HubSpot portal: the seed's partners as companies, its opportunities as deals, their
associations, pipelines and properties.

A million deals must fit: seed deals stay in the generator's columns and are rendered on demand; only deals
written to (by the API or the admin) are kept as records. Ids are numeric strings in id order, so list paging
is index arithmetic; an index on hs_lastmodifieddate (built on first use) narrows searches on that range.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, localcontext

from kpi_core.clock import utcnow
from partnerkpi.sandbox.generator import STAGES, UNKNOWN_STAGE, SeedData, SeedOpportunity, epoch_seconds
from partnerkpi.sandbox.hubspot.schema import (
    PropertyDef,
    PropertyGroup,
    builtin_company_properties,
    builtin_deal_properties,
    builtin_groups,
    iso_ms,
)

DEAL_ID_BASE = 9_000_000_000
COMPANY_ID_BASE = 5_000_000_000
CUSTOMER_OFFSET = 100_000
PORTAL_ID = 24_681_357
HOME_CURRENCY = "USD"
DEFAULT_TYPE_ID = 341
PRIMARY_TYPE_ID = 5
PARTNER_LABEL_TYPE_ID = 7
PARTNER_LABEL = "Partner"
UNKNOWN_STAGE_ID = "10295099"
"""A retired stage: the dirty records carry it, no pipeline lists it."""

CHANNEL_SOURCES = {
    "paid_search": "PAID_SEARCH",
    "paid_social": "PAID_SOCIAL",
    "email": "EMAIL_MARKETING",
    "direct": "DIRECT_TRAFFIC",
    "organic": "ORGANIC_SEARCH",
    "social": "SOCIAL_MEDIA",
    "referral": "REFERRALS",
    "offline": "OFFLINE",
}


@dataclass(frozen=True)
class Stage:
    id: str
    label: str
    probability: str
    is_closed: bool
    neutral: str


@dataclass(frozen=True)
class Pipeline:
    id: str
    label: str
    display_order: int
    stages: tuple[Stage, ...]


def _stages(ids: Sequence[str], labels: Sequence[str], probabilities: Sequence[str]) -> tuple[Stage, ...]:
    return tuple(
        Stage(i, label, p, info.is_closed, info.key)
        for i, label, p, info in zip(ids, labels, probabilities, STAGES, strict=True)
    )


PIPELINES: tuple[Pipeline, ...] = (
    Pipeline(
        "default",
        "Sales Pipeline",
        0,
        _stages(
            (
                "appointmentscheduled",
                "qualifiedtobuy",
                "presentationscheduled",
                "contractsent",
                "closedwon",
                "closedlost",
            ),
            (
                "Appointment Scheduled",
                "Qualified To Buy",
                "Presentation Scheduled",
                "Contract Sent",
                "Closed Won",
                "Closed Lost",
            ),
            ("0.2", "0.4", "0.6", "0.9", "1.0", "0.0"),
        ),
    ),
    Pipeline(
        "3410523",
        "Partner Pipeline",
        1,
        _stages(
            ("10295101", "10295102", "10295103", "10295104", "10295105", "10295106"),
            ("Registered", "Qualified", "Proposal", "Negotiation", "Won", "Lost"),
            ("0.1", "0.25", "0.5", "0.8", "1.0", "0.0"),
        ),
    ),
)
STAGE_BY_ID: dict[str, tuple[Pipeline, Stage]] = {s.id: (p, s) for p in PIPELINES for s in p.stages}
_STAGE_FOR: dict[tuple[str, str], Stage] = {(p.id, s.neutral): s for p in PIPELINES for s in p.stages}


@dataclass(frozen=True)
class AssociationType:
    category: str
    type_id: int
    label: str | None

    def to_json(self) -> dict[str, object]:
        return {"category": self.category, "typeId": self.type_id, "label": self.label}


UNLABELED = AssociationType("HUBSPOT_DEFINED", DEFAULT_TYPE_ID, None)
PRIMARY = AssociationType("HUBSPOT_DEFINED", PRIMARY_TYPE_ID, "Primary")
PARTNER = AssociationType("USER_DEFINED", PARTNER_LABEL_TYPE_ID, PARTNER_LABEL)
ASSOCIATION_LABELS = (UNLABELED, PRIMARY, PARTNER)
INVERSE_TYPES = {
    DEFAULT_TYPE_ID: AssociationType("HUBSPOT_DEFINED", 342, None),
    PRIMARY_TYPE_ID: AssociationType("HUBSPOT_DEFINED", 6, "Primary"),
    PARTNER_LABEL_TYPE_ID: AssociationType("USER_DEFINED", 8, PARTNER_LABEL),
}
"""Each deal-to-company type's company-to-deal side (HubSpot's association type ids: 341/342 unlabeled, 5/6
primary; a user-defined label gets a pair of ids)."""
V3_TYPE_NAMES = {
    DEFAULT_TYPE_ID: "deal_to_company_unlabeled",
    PRIMARY_TYPE_ID: "deal_to_company",
    342: "company_to_deal_unlabeled",
    6: "company_to_deal",
}


@dataclass
class Association:
    company_id: str
    types: list[AssociationType]


@dataclass
class Record:
    """One CRM object: its id and all its property values (strings; None = no value)."""

    id: str
    props: dict[str, str | None]
    archived: bool = False
    archived_at: str | None = None

    @property
    def created_at(self) -> str:
        return self.props.get("createdate") or "1970-01-01T00:00:00.000Z"

    @property
    def updated_at(self) -> str:
        return self.props.get("hs_lastmodifieddate") or self.created_at


def _millis(key: int) -> int:
    """A stable sub-second part, so timestamps look like HubSpot's (seed times are whole seconds)."""
    return (key * 7919) % 1000


class Rates:
    """Units of a currency per 1 USD, by the date they start applying."""

    def __init__(self, data: SeedData) -> None:
        self.starts: dict[str, list[date]] = {}
        self.values: dict[str, list[Decimal]] = {}
        for rate in sorted(data.dated_rates, key=lambda r: (r.currency, r.start)):
            self.starts.setdefault(rate.currency, []).append(rate.start)
            self.values.setdefault(rate.currency, []).append(rate.rate)
        self.static = data.static_rates

    def to_home(self, amount: Decimal, currency: str, day: date) -> Decimal:
        if currency == HOME_CURRENCY:
            return amount
        starts = self.starts.get(currency)
        if starts:
            i = max(0, bisect_right(starts, day) - 1)
            rate = self.values[currency][i]
        else:
            rate = self.static.get(currency, Decimal(1))
        return amount / rate


def money_text(value: Decimal) -> str:
    """To the cent, however many digits the amount has (a valid amount may be as large as a double): the
    default 28-digit context would refuse to quantize 1e30."""
    with localcontext() as wide:
        wide.prec = max(wide.prec, value.adjusted() + 3)
        quantized = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        whole = quantized == quantized.to_integral()
        return format(quantized.normalize(), "f") if whole else format(quantized, "f")


class Portal:
    def __init__(self, data: SeedData, customers: int | None = None) -> None:
        self.data = data
        self.seed: Sequence[SeedOpportunity] = data.opportunities
        self.n_seed = len(self.seed)
        self.rates = Rates(data)
        self.edited: dict[int, Record] = {}
        self.associations: dict[int, list[Association]] = {}
        self.next_key = self.n_seed + 1
        self.version = 0
        self.properties: dict[str, dict[str, PropertyDef]] = {
            "deals": {p.name: p for p in builtin_deal_properties(sorted(data.static_rates))},
            "companies": {p.name: p for p in builtin_company_properties()},
        }
        self.groups: dict[str, dict[str, PropertyGroup]] = {
            t: {g.name: g for g in builtin_groups(t)} for t in ("deals", "companies")
        }
        self._set_stage_options()
        self.companies: dict[str, Record] = {}
        start = datetime.combine(data.end - timedelta(days=800), time(9), timezone.utc)
        for p in data.partners:
            self._add_company(
                COMPANY_ID_BASE + p.key,
                p.name,
                f"{p.name.lower().replace(' ', '-')}.example.com",
                "PARTNER",
                start + timedelta(minutes=p.key),
            )
        n_customers = customers if customers is not None else max(5, len(data.partners) // 2)
        self.customer_ids: list[str] = []
        for i in range(1, n_customers + 1):
            record = self._add_company(
                COMPANY_ID_BASE + CUSTOMER_OFFSET + i,
                f"Customer {i:04d}",
                f"customer-{i:04d}.example.org",
                None,
                start + timedelta(hours=i),
            )
            self.customer_ids.append(record.id)
        self._date_indexes: dict[str, tuple[array[int], array[int]]] = {}

    # -- companies -----------------------------------------------------------------------------------
    def _add_company(
        self, number: int, name: str, domain: str, kind: str | None, created: datetime
    ) -> Record:
        stamp = iso_ms(created + timedelta(milliseconds=_millis(number)))
        record = Record(
            str(number),
            {
                "name": name,
                "domain": domain,
                "type": kind,
                "createdate": stamp,
                "hs_lastmodifieddate": stamp,
                "hs_object_id": str(number),
            },
        )
        self.companies[record.id] = record
        return record

    def _set_stage_options(self) -> None:
        deal_props = self.properties["deals"]
        deal_props["dealstage"].options = [
            {"label": s.label, "value": s.id, "displayOrder": i, "hidden": False}
            for p in PIPELINES
            for i, s in enumerate(p.stages)
        ]
        deal_props["pipeline"].options = [
            {"label": p.label, "value": p.id, "displayOrder": p.display_order, "hidden": False}
            for p in PIPELINES
        ]

    # -- deals ---------------------------------------------------------------------------------------
    def deal_id(self, key: int) -> str:
        return str(DEAL_ID_BASE + key)

    def deal_key(self, deal_id: str) -> int | None:
        """The internal key of a deal id, or None when no such deal exists."""
        if not deal_id.isdigit():
            return None
        key = int(deal_id) - DEAL_ID_BASE
        if 1 <= key <= self.n_seed or key in self.edited:
            return key
        return None

    def last_key(self) -> int:
        return self.next_key - 1

    def deal(self, key: int) -> Record:
        record = self.edited.get(key)
        return record if record is not None else self._seed_deal(key)

    def editable_deal(self, key: int) -> Record:
        """The deal's stored record (rendering a seed deal into one the first time it is written)."""
        record = self.edited.get(key)
        if record is None:
            record = self.edited[key] = self._seed_deal(key)
        self.version += 1
        return record

    def pipeline_for(self, o: SeedOpportunity) -> Pipeline:
        return PIPELINES[1] if o.partner_key is not None and o.key % 3 == 0 else PIPELINES[0]

    def _seed_deal(self, key: int) -> Record:
        o = self.seed[key - 1]
        pipeline = self.pipeline_for(o)
        if o.stage == UNKNOWN_STAGE:
            stage_id, closed, won, probability = UNKNOWN_STAGE_ID, False, False, None
        else:
            stage = _STAGE_FOR[(pipeline.id, o.stage)]
            stage_id, closed, probability = stage.id, stage.is_closed, stage.probability
            won = o.stage == "closed_won"
        close_moment = datetime.combine(o.close_date, time(0), timezone.utc)
        home: str | None = None
        if o.amount is not None:
            day = o.close_date if closed else utcnow().date()
            home = money_text(self.rates.to_home(o.amount, o.currency, day))
        deal_id = self.deal_id(key)
        modified = iso_ms(o.modified_at + timedelta(milliseconds=_millis(key)))
        return Record(
            deal_id,
            {
                "dealname": o.name,
                "amount": None if o.amount is None else format(o.amount, "f"),
                "deal_currency_code": o.currency,
                "amount_in_home_currency": home,
                "dealstage": stage_id,
                "pipeline": pipeline.id,
                "closedate": iso_ms(close_moment),
                "createdate": iso_ms(o.created_at + timedelta(milliseconds=_millis(key))),
                "hs_is_closed_won": "true" if won else "false",
                "hs_is_closed": "true" if closed else "false",
                "hs_deal_stage_probability": probability,
                "hs_analytics_source": CHANNEL_SOURCES.get(o.channel) if o.channel else None,
                "hs_lastmodifieddate": modified,
                "hs_object_id": deal_id,
            },
            archived=o.deleted,
            archived_at=modified if o.deleted else None,
        )

    def is_archived(self, key: int) -> bool:
        """Without rendering the deal (list paging over a million deals asks this of every one)."""
        record = self.edited.get(key)
        if record is not None:
            return record.archived
        columns = self.data.columns
        if columns is not None:
            return bool(columns.deleted[key - 1])
        return self.seed[key - 1].deleted

    def deal_associations(self, key: int) -> list[Association]:
        stored = self.associations.get(key)
        if stored is not None:
            return stored
        if key > self.n_seed:
            return []
        o = self.seed[key - 1]
        if o.partner_key is None:
            return []
        out = [Association(str(COMPANY_ID_BASE + o.partner_key), [UNLABELED, PARTNER])]
        if key % 4 == 1 and self.customer_ids:
            customer = self.customer_ids[key % len(self.customer_ids)]
            out.insert(0, Association(customer, [PRIMARY, UNLABELED]))
        return out

    def create_deal(self, props: dict[str, str | None], associations: list[Association]) -> Record:
        key = self.next_key
        self.next_key += 1
        deal_id = self.deal_id(key)
        now = iso_ms(utcnow())
        values: dict[str, str | None] = {
            "pipeline": "default",
            "dealstage": PIPELINES[0].stages[0].id,
            "createdate": now,
            "hs_is_closed_won": "false",
            "hs_is_closed": "false",
        }
        values.update(props)
        values["hs_lastmodifieddate"] = now
        values["hs_object_id"] = deal_id
        record = Record(deal_id, values)
        self.recompute(record)
        self.edited[key] = record
        self.associations[key] = associations
        self.version += 1
        return record

    def recompute(self, record: Record) -> None:
        """HubSpot's calculated deal properties, after a write."""
        props = record.props
        found = STAGE_BY_ID.get(props.get("dealstage") or "")
        closed = found is not None and found[1].is_closed
        props["hs_is_closed"] = "true" if closed else "false"
        props["hs_is_closed_won"] = (
            "true" if found is not None and found[1].neutral == "closed_won" else "false"
        )
        props["hs_deal_stage_probability"] = found[1].probability if found else None
        amount, currency = props.get("amount"), props.get("deal_currency_code") or HOME_CURRENCY
        if amount:
            day = utcnow().date()
            if closed and props.get("closedate"):
                day = date.fromisoformat(str(props["closedate"])[:10])
            props["amount_in_home_currency"] = money_text(self.rates.to_home(Decimal(amount), currency, day))
        else:
            props["amount_in_home_currency"] = None

    def deal_keys(self, start_key: int = 1) -> Iterator[int]:
        """Every deal key from ``start_key`` in id order (seed deals, then created ones)."""
        yield from range(max(1, start_key), self.n_seed + 1)
        for key in range(max(self.n_seed + 1, start_key), self.next_key):
            if key in self.edited:
                yield key

    # -- the date indexes (hs_lastmodifieddate, createdate) -------------------------------------------
    INDEXED_DATES = ("hs_lastmodifieddate", "createdate")

    def modified_index(self) -> tuple[array[int], array[int]]:
        """Seed deal keys sorted by hs_lastmodifieddate (then key), and those dates in epoch ms."""
        return self.date_index("hs_lastmodifieddate")

    def date_index(self, prop: str) -> tuple[array[int], array[int]]:
        """Seed deal keys sorted by ``prop`` (one of INDEXED_DATES; then key), and its values in epoch ms,
        as the seed renders them (edited deals are read from their records instead)."""
        cached = self._date_indexes.get(prop)
        if cached is None:
            modified = prop == "hs_lastmodifieddate"
            columns = self.data.columns
            if columns is not None:
                seconds = columns.modified if modified else columns.created
                values = [seconds[i] * 1000 + _millis(i + 1) for i in range(self.n_seed)]
            else:
                values = [
                    epoch_seconds(m) * 1000 + m.microsecond // 1000 + _millis(o.key)
                    for o in self.seed
                    for m in [o.modified_at if modified else o.created_at]
                ]
            order = sorted(range(self.n_seed), key=values.__getitem__)
            cached = (array("q", (i + 1 for i in order)), array("q", (values[i] for i in order)))
            self._date_indexes[prop] = cached
        return cached

    def index_span(self, low_ms: int | None, high_ms: int | None, prop: str = "hs_lastmodifieddate") -> range:
        """Positions in :meth:`date_index` of seed deals whose ``prop`` lies in [low, high] (ms)."""
        _, values = self.date_index(prop)
        lo = 0 if low_ms is None else bisect_left(values, low_ms)
        hi = len(values) if high_ms is None else bisect_right(values, high_ms)
        return range(lo, hi)

    def keys_modified_between(self, low_ms: int | None, high_ms: int | None) -> Iterator[int]:
        """Candidate keys whose hs_lastmodifieddate may lie in [low, high] (edited deals always included)."""
        keys, _ = self.modified_index()
        edited = self.edited
        for i in self.index_span(low_ms, high_ms):
            key = keys[i]
            if key not in edited:
                yield key
        yield from edited
