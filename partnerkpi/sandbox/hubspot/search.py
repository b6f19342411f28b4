"""The CRM search: filterGroups (OR of ANDed filters), one sort, and HubSpot's limits on both.

Filters given at the top level of the body (``filters``, outside ``filterGroups``) apply too, ANDed with every
group (one group of their own when there is none): HubSpot's API takes them though hubspot-api-client's
PublicObjectSearchRequest model has no such field (HubSpot/hubspot-api-nodejs#491: "all of them are treated
with an 'AND' condition"); Airbyte's source-hubspot 5.x sends its incremental cursor that way. Not documented,
so chosen here: they count towards the 18-filter total, and the six-per-group limit applies to each group as
written (a top-level list longer than six is refused like a group).

The limits are those of HubSpot's "Search the CRM" reference (its "Limits" section, as of 2026-03): at
most five filterGroups, six filters in each, 18 filters in all (a request beyond them is a
VALIDATION_ERROR), pages of at most 200, never past the 10,000th result, and a request body of at most
3,000 characters (400). HubSpot's changelog of August 2024 announced 5 / 10 / 25; the reference documents
the stricter 5 / 6 / 18, and a client built to the reference works under both.

Values compare by the property's type: numbers as decimals, dates and datetimes as instants (a filter value
may be epoch milliseconds or ISO 8601), everything else as case-insensitive text, as HubSpot compares them.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from partnerkpi.sandbox.hubspot.errors import HubSpotError
from partnerkpi.sandbox.hubspot.portal import Record
from partnerkpi.sandbox.hubspot.schema import PropertyDef, parse_instant

MAX_RESULTS = 10_000
MAX_LIMIT = 200
DEFAULT_LIMIT = 10
MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 6
MAX_FILTERS = 18
MAX_BODY_CHARS = 3000
OPERATORS = frozenset(
    {
        "EQ",
        "NEQ",
        "LT",
        "LTE",
        "GT",
        "GTE",
        "BETWEEN",
        "IN",
        "NOT_IN",
        "HAS_PROPERTY",
        "NOT_HAS_PROPERTY",
        "CONTAINS_TOKEN",
        "NOT_CONTAINS_TOKEN",
    }
)
_RANGE = frozenset({"EQ", "LT", "LTE", "GT", "GTE", "BETWEEN"})
Comparable = Any


@dataclass(frozen=True)
class Filter:
    prop: str
    operator: str
    value: str | None
    values: tuple[str, ...]
    high: str | None


@dataclass(frozen=True)
class Query:
    groups: tuple[tuple[Filter, ...], ...]
    sort_prop: str | None
    descending: bool
    properties: tuple[str, ...] | None
    limit: int
    after: int

    def cache_key(self) -> tuple[object, ...]:
        return (self.groups, self.sort_prop, self.descending)


def _bad(message: str) -> HubSpotError:
    return HubSpotError(400, "VALIDATION_ERROR", message)


def check_body_size(text: str) -> None:
    """HubSpot refuses a search whose request body is longer than 3,000 characters."""
    if len(text) > MAX_BODY_CHARS:
        raise _bad(
            f"The search request body is {len(text)} characters long; the maximum is {MAX_BODY_CHARS}."
        )


def parse_query(body: Any) -> Query:
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise _bad("Invalid input JSON on line 1, column 1: Cannot build PublicObjectSearchRequest")
    groups_raw = body.get("filterGroups") or []
    if len(groups_raw) > MAX_GROUPS:
        raise _bad(f"Too many filter groups: {len(groups_raw)}. The maximum is {MAX_GROUPS}.")
    groups: list[tuple[Filter, ...]] = []
    for group in groups_raw:
        filters_raw = (group or {}).get("filters") or []
        if len(filters_raw) > MAX_FILTERS_PER_GROUP:
            raise _bad(
                f"Too many filters in a filter group: {len(filters_raw)}. "
                f"The maximum is {MAX_FILTERS_PER_GROUP}."
            )
        groups.append(_filters(filters_raw))
    top = _filters(body.get("filters") or [])
    if len(top) > MAX_FILTERS_PER_GROUP:
        raise _bad(f"Too many filters: {len(top)}. The maximum is {MAX_FILTERS_PER_GROUP} in a group.")
    total = sum(len(g) for g in groups) + len(top)
    if total > MAX_FILTERS:
        raise _bad(f"Too many filters: {total}. The maximum is {MAX_FILTERS} across all filter groups.")
    if top:
        groups = [g + top for g in groups] if groups else [top]
    limit = int(body.get("limit") or DEFAULT_LIMIT)
    if limit > MAX_LIMIT or limit < 1:
        raise _bad(f"limit must be between 1 and {MAX_LIMIT}, got {limit}.")
    after_raw = body.get("after")
    try:
        after = int(after_raw) if after_raw not in (None, "") else 0
    except (TypeError, ValueError):
        raise _bad(f"Invalid after value '{after_raw}'.") from None
    sort_prop, descending = None, False
    sorts = body.get("sorts") or []
    if sorts:
        first = sorts[0]
        if isinstance(first, dict):
            sort_prop = str(first.get("propertyName") or "")
            descending = str(first.get("direction") or "ASCENDING").upper() == "DESCENDING"
        else:
            text = str(first)
            descending = text.startswith("-")
            sort_prop = text.lstrip("-")
    properties = body.get("properties")
    return Query(
        tuple(groups),
        sort_prop or None,
        descending,
        tuple(str(p) for p in properties) if properties else None,
        limit,
        after,
    )


def _filters(raw: Any) -> tuple[Filter, ...]:
    if not isinstance(raw, list):
        raise _bad("Invalid input JSON: filters must be a list.")
    filters = []
    for f in raw:
        if not isinstance(f, dict):
            raise _bad("Invalid input JSON: a filter must be an object.")
        operator = str(f.get("operator") or "EQ")
        if operator not in OPERATORS:
            raise _bad(f"Invalid operator '{operator}'.")
        if not f.get("propertyName"):
            raise _bad("A filter is missing its propertyName.")
        value = f.get("value")
        filters.append(
            Filter(
                str(f["propertyName"]),
                operator,
                None if value is None else _text(value),
                tuple(_text(v) for v in (f.get("values") or [])),
                None if f.get("highValue") is None else _text(f["highValue"]),
            )
        )
    return tuple(filters)


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def typed(prop: PropertyDef | None, raw: str | None) -> Comparable:
    """A value in the comparable form of its property type (None when absent or unparsable)."""
    if raw is None or raw == "":
        return None
    kind = prop.type if prop else "string"
    if kind == "number":
        try:
            return Decimal(raw)
        except InvalidOperation:
            return None
    if kind in ("date", "datetime"):
        moment = parse_instant(raw)
        return None if moment is None else moment.timestamp()
    return raw.casefold()


def _matches(f: Filter, raw: str | None, prop: PropertyDef | None) -> bool:
    op = f.operator
    if op == "HAS_PROPERTY":
        return raw not in (None, "")
    if op == "NOT_HAS_PROPERTY":
        return raw in (None, "")
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        pattern = (f.value or "").casefold()
        tokens = (raw or "").casefold().split()
        found = any(fnmatch.fnmatchcase(t, pattern) for t in tokens) or (
            " " in pattern and pattern.replace("*", "") in (raw or "").casefold()
        )
        return found if op == "CONTAINS_TOKEN" else not found
    value = typed(prop, raw)
    if op in ("IN", "NOT_IN"):
        inside = value is not None and bool(value in {typed(prop, v) for v in f.values})
        return inside if op == "IN" else not inside
    target = typed(prop, f.value)
    if op == "NEQ":
        return bool(value != target)
    if value is None or target is None:
        return False
    try:
        if op == "EQ":
            return bool(value == target)
        if op == "LT":
            return bool(value < target)
        if op == "LTE":
            return bool(value <= target)
        if op == "GT":
            return bool(value > target)
        if op == "GTE":
            return bool(value >= target)
        high = typed(prop, f.high)
        return high is not None and bool(target <= value <= high)
    except TypeError:
        return False


def matches(query: Query, record: Record, defs: dict[str, PropertyDef]) -> bool:
    if not query.groups:
        return True
    return any(
        all(_matches(f, record.props.get(f.prop), defs.get(f.prop)) for f in group) for group in query.groups
    )


def range_on(query: Query, prop: str, defs: dict[str, PropertyDef]) -> tuple[int | None, int | None] | None:
    """The widest [low, high] in epoch ms that ``prop`` is held to in every group, or None if unbounded."""
    if not query.groups:
        return None
    lows: list[int | None] = []
    highs: list[int | None] = []
    for group in query.groups:
        low: int | None = None
        high: int | None = None
        bounded = False
        for f in group:
            if f.prop != prop or f.operator not in _RANGE:
                continue
            start = typed(defs.get(prop), f.value)
            if start is None:
                continue
            bounded = True
            ms = int(start * 1000)
            if f.operator in ("EQ", "GT", "GTE", "BETWEEN"):
                low = ms if low is None else max(low, ms)
            if f.operator in ("EQ", "LT", "LTE"):
                high = ms if high is None else min(high, ms)
            if f.operator == "BETWEEN":
                end = typed(defs.get(prop), f.high)
                if end is not None:
                    high = int(end * 1000) if high is None else min(high, int(end * 1000))
        if not bounded:
            return None
        lows.append(low)
        highs.append(high)
    overall_low = None if any(v is None for v in lows) else min(v for v in lows if v is not None)
    overall_high = None if any(v is None for v in highs) else max(v for v in highs if v is not None)
    return overall_low, overall_high


def run(
    query: Query, candidates: Iterable[Record], defs: dict[str, PropertyDef], id_order: Callable[[str], int]
) -> list[str]:
    """Ids of the matching records in the query's order (ties and the default order: by id)."""
    found = [r for r in candidates if not r.archived and matches(query, r, defs)]
    if query.sort_prop is None:
        found.sort(key=lambda r: id_order(r.id))
        return [r.id for r in found]
    prop = defs.get(query.sort_prop)
    present = [(typed(prop, r.props.get(query.sort_prop)), id_order(r.id), r.id) for r in found]
    valued = [t for t in present if t[0] is not None]
    empty = [t for t in present if t[0] is None]
    valued.sort(key=lambda t: t[1])
    valued.sort(key=lambda t: t[0], reverse=query.descending)  # stable: ids stay ascending within a value
    empty.sort(key=lambda t: t[1])
    return [t[2] for t in valued + empty]
