"""Record storage per object. Small objects keep one dict per record; Opportunity keeps typed columns
(a million rows in tens of megabytes) and an index sorted by (SystemModstamp, Id) that incremental reads
bisect; OpportunityPartner is a view over the opportunities' partner column."""

from __future__ import annotations

import abc
from array import array
from bisect import bisect_left, insort
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from partnerkpi.sandbox.generator import CHANNELS, CURRENCIES, STAGE_KEYS, STAGES, OpportunityColumns
from partnerkpi.sandbox.salesforce.ids import make_id, normalize, number_of
from partnerkpi.sandbox.salesforce.schema import FieldDef

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NONE = -(2**63)

LEAD_SOURCES: dict[str, str] = {
    "paid_search": "Advertisement",
    "paid_social": "Purchased List",
    "email": "Email",
    "direct": "Web",
    "organic": "Word of mouth",
    "social": "Public Relations",
    "referral": "Partner Referral",
    "offline": "Other",
}
UNKNOWN_STAGE_NAME = "Legacy - Pending Review"
STAGE_NAMES: dict[str, str] = {**{s.key: s.label for s in STAGES}, "retired_stage": UNKNOWN_STAGE_NAME}


def ms_of(moment: datetime) -> int:
    return int((moment - _EPOCH) / timedelta(milliseconds=1))


def from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


class Table(abc.ABC):
    """One object's records; a row is an int handle."""

    def __init__(self, name: str, prefix: str, fields: list[FieldDef]) -> None:
        self.name = name
        self.prefix = prefix
        self.fields: dict[str, FieldDef] = {}
        self._lower: dict[str, str] = {}
        for fdef in fields:
            self.add_field(fdef)

    def add_field(self, fdef: FieldDef) -> None:
        self.fields[fdef.name] = fdef
        self._lower[fdef.name.lower()] = fdef.name

    def field(self, name: str) -> FieldDef | None:
        canonical = self._lower.get(name.lower())
        return self.fields[canonical] if canonical else None

    def relationship(self, name: str) -> FieldDef | None:
        lowered = name.lower()
        for fdef in self.fields.values():
            if fdef.relationship_name and fdef.relationship_name.lower() == lowered:
                return fdef
        return None

    @abc.abstractmethod
    def rows(self) -> Iterable[int]: ...

    @abc.abstractmethod
    def getter(self, name: str) -> Callable[[int], Any]:
        """A fast reader of field ``name`` (canonical) for any row."""

    @abc.abstractmethod
    def find(self, record_id: str) -> int | None: ...

    @abc.abstractmethod
    def write(self, row: int, values: dict[str, Any], now: datetime) -> None: ...

    @abc.abstractmethod
    def insert(self, values: dict[str, Any], now: datetime) -> int: ...

    def value(self, row: int, name: str) -> Any:
        return self.getter(name)(row)

    def deleted(self, row: int) -> bool:
        return bool(self.getter("IsDeleted")(row))

    def delete(self, row: int, now: datetime) -> None:
        self.write(row, {"IsDeleted": True}, now)

    def id_of(self, row: int) -> str:
        return str(self.getter("Id")(row))


class DictTable(Table):
    def __init__(self, name: str, prefix: str, fields: list[FieldDef]) -> None:
        super().__init__(name, prefix, fields)
        self.records: list[dict[str, Any]] = []
        self._ids: dict[str, int] = {}
        self.next_number = 1

    def rows(self) -> Iterable[int]:
        return range(len(self.records))

    def getter(self, name: str) -> Callable[[int], Any]:
        records = self.records
        return lambda row: records[row].get(name)

    def find(self, record_id: str) -> int | None:
        row = self._ids.get(record_id)
        if row is not None:
            return row
        normalized = normalize(record_id)
        return self._ids.get(normalized) if normalized else None

    def insert(self, values: dict[str, Any], now: datetime, number: int | None = None) -> int:
        number = number if number is not None else self.next_number
        self.next_number = max(self.next_number, number + 1)
        record_id = make_id(self.prefix, number)
        record: dict[str, Any] = {f: None for f in self.fields}
        defaults = {f: False for f, d in self.fields.items() if d.type == "boolean"}
        record.update(defaults)
        record.update(values)
        record.update(Id=record_id, IsDeleted=bool(values.get("IsDeleted", False)))
        record.setdefault("CreatedDate", now)
        record["CreatedDate"] = values.get("CreatedDate") or now
        record["LastModifiedDate"] = values.get("LastModifiedDate") or now
        record["SystemModstamp"] = values.get("SystemModstamp") or now
        self.records.append(record)
        self._ids[record_id] = len(self.records) - 1
        return len(self.records) - 1

    def write(self, row: int, values: dict[str, Any], now: datetime) -> None:
        self.records[row].update(values)
        self.records[row]["LastModifiedDate"] = now
        self.records[row]["SystemModstamp"] = now


class OpportunityTable(Table):
    """Opportunities in columns copied from the seed (so writes never touch the other emulation's data)."""

    def __init__(
        self,
        fields: list[FieldDef],
        seed: OpportunityColumns,
        stage_meta: dict[str, tuple[bool, bool, float]],
    ) -> None:
        super().__init__("Opportunity", "006", fields)
        self.partner = array("i", seed.partner)
        self.amount = array("q", (_NONE if a < 0 else a * 100 for a in seed.amount))
        self.currency = array("b", seed.currency)
        self.stage = array("h", seed.stage)
        self.created = array("q", (c * 1000 for c in seed.created))
        self.close = array("i", seed.close)
        self.lead_source = array("b", seed.channel)
        self.modified = array("q", (m * 1000 for m in seed.modified))
        self.is_deleted = array("b", seed.deleted)
        self.link_modified = array(
            "q", (m if d else c for c, m, d in zip(self.created, self.modified, self.is_deleted, strict=True))
        )
        """The SystemModstamp of each opportunity's OpportunityPartner row: a record of its own, created with
        the opportunity, touched only when the partner changes or the opportunity is deleted (which deletes
        it), not by every edit of the opportunity (Object Reference, OpportunityPartner and Partner)."""
        self.currencies: list[str] = list(CURRENCIES)
        self.stage_names: list[str] = [STAGE_NAMES[k] for k in STAGE_KEYS]
        self.lead_sources: list[str] = [LEAD_SOURCES[c] for c in CHANNELS]
        self.stage_meta = stage_meta
        """StageName -> (IsClosed, IsWon, DefaultProbability percent)."""
        self.probability = array("h", (self._default_probability(self.stage_names[s]) for s in self.stage))
        self.overrides: dict[str, dict[int, Any]] = {}
        self.by_modstamp = array("i", sorted(range(len(self.stage)), key=lambda r: (self.modified[r], r)))

    def _default_probability(self, stage_name: str) -> int:
        meta = self.stage_meta.get(stage_name)
        return int(meta[2]) if meta else 30

    def __len__(self) -> int:
        return len(self.stage)

    def rows(self) -> Iterable[int]:
        return range(len(self.stage))

    def modstamp_key(self, row: int) -> tuple[int, int]:
        return (self.modified[row], row)

    def find(self, record_id: str) -> int | None:
        normalized = normalize(record_id)
        if normalized is None or not normalized.startswith(self.prefix):
            return None
        number = number_of(normalized)
        if number is None or not 1 <= number <= len(self.stage) or make_id(self.prefix, number) != normalized:
            return None
        return number - 1

    def getter(self, name: str) -> Callable[[int], Any]:
        simple: dict[str, Callable[[int], Any]] = {
            "Id": lambda r: make_id("006", r + 1),
            "Name": lambda r: f"Opportunity {r + 1}",
            "PartnerAccountId": lambda r: make_id("001", self.partner[r]) if self.partner[r] else None,
            "Partner__c": lambda r: make_id("001", self.partner[r]) if self.partner[r] else None,
            "Amount": lambda r: None if self.amount[r] == _NONE else Decimal(self.amount[r]).scaleb(-2),
            "CurrencyIsoCode": lambda r: self.currencies[self.currency[r]],
            "StageName": lambda r: self.stage_names[self.stage[r]],
            "CloseDate": lambda r: date.fromordinal(self.close[r]),
            "CreatedDate": lambda r: from_ms(self.created[r]),
            "LastModifiedDate": lambda r: from_ms(self.modified[r]),
            "SystemModstamp": lambda r: from_ms(self.modified[r]),
            "Probability": lambda r: None if self.probability[r] < 0 else Decimal(self.probability[r]),
            "LeadSource": lambda r: (
                None if self.lead_source[r] < 0 else self.lead_sources[self.lead_source[r]]
            ),
            "IsDeleted": lambda r: bool(self.is_deleted[r]),
            "IsClosed": lambda r: self.stage_meta.get(self.stage_names[self.stage[r]], (False, False, 0))[0],
            "IsWon": lambda r: self.stage_meta.get(self.stage_names[self.stage[r]], (False, False, 0))[1],
        }
        base = simple.get(name)
        overrides = self.overrides.get(name)
        if base is None:
            store = self.overrides.setdefault(name, {})
            return store.get
        if overrides:
            return lambda r: overrides[r] if r in overrides else base(r)
        return base

    @staticmethod
    def _code(values: list[str], value: str) -> int:
        if value not in values:
            values.append(value)
        return values.index(value)

    def write(self, row: int, values: dict[str, Any], now: datetime) -> None:
        link_before = (self.partner[row], self.is_deleted[row])
        for name, value in values.items():
            if name == "Amount":
                self.amount[row] = _NONE if value is None else int(Decimal(value) * 100)
            elif name == "CurrencyIsoCode":
                self.currency[row] = self._code(self.currencies, value)
            elif name == "StageName":
                self.stage[row] = self._code(self.stage_names, value)
                if "Probability" not in values:
                    self.probability[row] = self._default_probability(value)
            elif name == "Probability":
                self.probability[row] = -1 if value is None else int(value)
            elif name == "CloseDate":
                self.close[row] = value.toordinal()
            elif name == "PartnerAccountId":
                self.partner[row] = number_of(value) or 0 if value else 0
            elif name == "LeadSource":
                self.lead_source[row] = -1 if value is None else self._code(self.lead_sources, value)
            elif name == "IsDeleted":
                self.is_deleted[row] = 1 if value else 0
            elif name in ("CreatedDate",):
                self.created[row] = ms_of(value)
            else:
                self.overrides.setdefault(name, {})[row] = value
        self._touch(row, ms_of(now))
        if (self.partner[row], self.is_deleted[row]) != link_before:
            self.link_modified[row] = self.modified[row]

    def _touch(self, row: int, ms: int) -> None:
        old = (self.modified[row], row)
        pos = bisect_left(self.by_modstamp, old, key=self.modstamp_key)
        if pos < len(self.by_modstamp) and self.by_modstamp[pos] == row:
            del self.by_modstamp[pos]
        self.modified[row] = max(ms, self.modified[row] + 1)
        insort(self.by_modstamp, row, key=self.modstamp_key)

    def insert(self, values: dict[str, Any], now: datetime) -> int:
        row = len(self.stage)
        ms = ms_of(now)
        self.partner.append(0)
        self.amount.append(_NONE)
        self.currency.append(0)
        self.stage.append(0)
        self.created.append(ms)
        self.close.append(now.date().toordinal())
        self.lead_source.append(-1)
        self.modified.append(ms - 1)
        self.is_deleted.append(0)
        self.link_modified.append(ms)
        self.probability.append(-1)
        self.by_modstamp.append(row)
        name = values.get("Name")
        rest = {k: v for k, v in values.items() if k != "Name"}
        if name is not None and name != f"Opportunity {row + 1}":
            rest["Name"] = name
        self.write(row, rest, now)
        return row


class OpportunityPartnerTable(Table):
    """OpportunityPartner rows: one primary partner row per opportunity that has a partner."""

    def __init__(
        self, fields: list[FieldDef], opportunities: OpportunityTable, roles: dict[int, str]
    ) -> None:
        super().__init__("OpportunityPartner", "00I", fields)
        self.opps = opportunities
        self.roles = roles

    def rows(self) -> Iterable[int]:
        partner = self.opps.partner
        return (r for r in range(len(partner)) if partner[r])

    def find(self, record_id: str) -> int | None:
        normalized = normalize(record_id)
        number = number_of(normalized) if normalized and normalized.startswith(self.prefix) else None
        if number is None or not 1 <= number <= len(self.opps) or not self.opps.partner[number - 1]:
            return None
        return number - 1

    def getter(self, name: str) -> Callable[[int], Any]:
        o = self.opps
        getters: dict[str, Callable[[int], Any]] = {
            "Id": lambda r: make_id("00I", r + 1),
            "OpportunityId": lambda r: make_id("006", r + 1),
            "AccountToId": lambda r: make_id("001", o.partner[r]),
            "Role": lambda r: self.roles.get(o.partner[r], "VAR/Reseller"),
            "IsPrimary": lambda r: True,
            "IsDeleted": lambda r: bool(o.is_deleted[r]),
            "CreatedDate": lambda r: from_ms(o.created[r]),
            "LastModifiedDate": lambda r: from_ms(o.link_modified[r]),
            "SystemModstamp": lambda r: from_ms(o.link_modified[r]),
        }
        return getters.get(name, lambda r: None)

    def write(self, row: int, values: dict[str, Any], now: datetime) -> None:
        raise NotImplementedError("OpportunityPartner rows follow their opportunity")

    def insert(self, values: dict[str, Any], now: datetime) -> int:
        raise NotImplementedError("OpportunityPartner rows follow their opportunity")
