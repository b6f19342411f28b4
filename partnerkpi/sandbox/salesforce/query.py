"""Running a parsed SOQL query against the org: field resolution (INVALID_FIELD / INVALID_TYPE as
Salesforce words them), filters, ordering, and rendering records as REST JSON or Bulk CSV.

``SELECT ... FROM Opportunity WHERE SystemModstamp >= X ORDER BY SystemModstamp, Id`` walks the
opportunities' modstamp index from a bisected start instead of scanning and sorting a million rows."""

from __future__ import annotations

import csv
import io
import re
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from partnerkpi.sandbox.salesforce.ids import normalize
from partnerkpi.sandbox.salesforce.org import Org
from partnerkpi.sandbox.salesforce.schema import FieldDef, format_datetime, to_json
from partnerkpi.sandbox.salesforce.soql import (
    BoolOp,
    Comparison,
    Condition,
    FieldRef,
    Literal,
    Not,
    Query,
    SoqlError,
)
from partnerkpi.sandbox.salesforce.tables import OpportunityTable, Table, ms_of

Getter = Callable[[int], Any]
Predicate = Callable[[int], bool]

_FILTER_TYPES = {
    "date": ("date", "date"),
    "datetime": ("datetime", "dateTime"),
    "boolean": ("boolean", "boolean"),
    "currency": ("number", "double"),
    "percent": ("number", "double"),
    "double": ("number", "double"),
    "int": ("number", "integer"),
}


@dataclass
class Column:
    ref: FieldRef
    fdef: FieldDef
    relationship: FieldDef | None
    """The lookup field the path goes through (``PartnerAccountId`` for ``PartnerAccount.Name``)."""
    target: Table | None
    getter: Getter


@dataclass
class Result:
    table: Table
    columns: list[Column]
    rows: array[int]
    count_only: bool = False


def _invalid_field(ref: FieldRef, table: Table) -> SoqlError:
    if len(ref.path) > 1:
        return SoqlError(
            "INVALID_FIELD",
            f"Didn't understand relationship '{ref.path[0]}' in field path. If you are attempting to use a custom "
            "relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL "
            "or the describe call for the appropriate names.",
            ref.pos,
        )
    return SoqlError(
        "INVALID_FIELD",
        f"No such column '{ref.path[0]}' on entity '{table.name}'. If you are attempting to use a custom field, be sure "
        "to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the "
        "appropriate names.",
        ref.pos,
    )


def resolve(org: Org, table: Table, ref: FieldRef, tooling: bool) -> Column:
    if len(ref.path) == 1:
        fdef = table.field(ref.path[0])
        if fdef is None or not org.field_access(table, fdef)[0]:
            raise _invalid_field(ref, table)
        return Column(ref, fdef, None, None, table.getter(fdef.name))
    if len(ref.path) != 2:
        raise _invalid_field(ref, table)
    lookup = table.relationship(ref.path[0])
    target = org.table(lookup.reference_to, tooling) if lookup and lookup.reference_to else None
    if lookup is None or target is None:
        raise _invalid_field(ref, table)
    fdef = target.field(ref.path[1])
    if fdef is None or not org.field_access(target, fdef)[0]:
        raise SoqlError(
            "INVALID_FIELD",
            f"No such column '{ref.path[1]}' on entity '{target.name}'. If you are attempting to use a custom field, be "
            "sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for "
            "the appropriate names.",
            ref.pos,
        )
    id_getter = table.getter(lookup.name)
    value_getter = target.getter(fdef.name)
    find = target.find

    def through(row: int) -> Any:
        parent_id = id_getter(row)
        if not parent_id:
            return None
        parent = find(parent_id)
        return None if parent is None else value_getter(parent)

    return Column(ref, fdef, lookup, target, through)


# -- filters ---------------------------------------------------------------------------------------------
def _literal_value(column: Column, literal: Literal) -> Any:
    family, label = _FILTER_TYPES.get(column.fdef.type, ("string", "string"))
    kind = literal.kind
    if kind == "null":
        return None
    ok = {
        "date": kind in ("date", "date_range"),
        "datetime": kind in ("datetime", "date_range"),
        "boolean": kind == "boolean",
        "number": kind == "number",
        "string": kind == "string",
    }[family]
    if not ok:
        quoted = "be enclosed in quotes" if family == "string" else "not be enclosed in quotes"
        raise SoqlError(
            "INVALID_FIELD",
            f"value of filter criterion for field '{column.ref.dotted}' must be of type {label} and should {quoted}",
            literal.pos,
        )
    value = literal.value
    if family == "string":
        if column.fdef.type in ("id", "reference") and len(value) == 15:
            value = normalize(value) or value
        return str(value).lower()
    return value


def _normalized(column: Column) -> Getter:
    getter = column.getter
    if _FILTER_TYPES.get(column.fdef.type, ("string",))[0] == "string":
        return lambda row: None if (v := getter(row)) is None else str(v).lower()
    return getter


def _compare(op: str, value: Any, getter: Getter, is_datetime: bool) -> Predicate:
    if isinstance(value, tuple):  # a date literal's day range
        start, end = value

        def day(row: int) -> date | None:
            v = getter(row)
            if v is None:
                return None
            return v.astimezone(timezone.utc).date() if is_datetime else v  # type: ignore[no-any-return]

        ranges: dict[str, Predicate] = {
            "=": lambda r: (d := day(r)) is not None and start <= d <= end,
            "!=": lambda r: (d := day(r)) is None or not start <= d <= end,
            "<": lambda r: (d := day(r)) is not None and d < start,
            "<=": lambda r: (d := day(r)) is not None and d <= end,
            ">": lambda r: (d := day(r)) is not None and d > end,
            ">=": lambda r: (d := day(r)) is not None and d >= start,
        }
        return ranges[op]
    if value is None:
        if op == "=":
            return lambda r: getter(r) is None
        if op == "!=":
            return lambda r: getter(r) is not None
        return lambda r: False
    ops: dict[str, Predicate] = {
        "=": lambda r: (v := getter(r)) is not None and v == value,
        "!=": lambda r: (v := getter(r)) is None or v != value,
        "<": lambda r: (v := getter(r)) is not None and v < value,
        "<=": lambda r: (v := getter(r)) is not None and v <= value,
        ">": lambda r: (v := getter(r)) is not None and v > value,
        ">=": lambda r: (v := getter(r)) is not None and v >= value,
    }
    return ops[op]


def _like(pattern: str) -> re.Pattern[str]:
    out = []
    for char in pattern:
        out.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def compile_condition(cond: Condition, column_of: Callable[[FieldRef], Column]) -> Predicate:
    if isinstance(cond, BoolOp):
        parts = [compile_condition(item, column_of) for item in cond.items]
        if cond.op == "AND":
            return lambda r: all(p(r) for p in parts)
        return lambda r: any(p(r) for p in parts)
    if isinstance(cond, Not):
        inner = compile_condition(cond.item, column_of)
        return lambda r: not inner(r)
    column = column_of(cond.field)
    getter = _normalized(column)
    if cond.op in ("IN", "NOT IN"):
        assert isinstance(cond.value, tuple)
        values = {_literal_value(column, lit) for lit in cond.value}
        has_null = None in values
        if cond.op == "IN":
            return lambda r: has_null if (v := getter(r)) is None else v in values
        return lambda r: not has_null if (v := getter(r)) is None else v not in values
    assert isinstance(cond.value, Literal)
    if cond.op == "LIKE":
        if column.fdef.type not in (
            "string",
            "picklist",
            "textarea",
            "email",
            "url",
            "phone",
            "id",
            "reference",
        ):
            raise SoqlError(
                "INVALID_FIELD", f"invalid operator on field: {column.ref.dotted}", cond.value.pos
            )
        regex = _like(str(cond.value.value))
        raw = column.getter
        return lambda r: (v := raw(r)) is not None and regex.fullmatch(str(v)) is not None
    value = _literal_value(column, cond.value)
    return _compare(cond.op, value, getter, column.fdef.type == "datetime")


# -- ordering --------------------------------------------------------------------------------------------
def _sort(rows: list[int], keys: list[tuple[Getter, bool, bool]]) -> None:
    for getter, descending, nulls_last in reversed(keys):
        null_rank = 1 if nulls_last != descending else 0

        def key(row: int, getter: Getter = getter, null_rank: int = null_rank) -> tuple[int, Any]:
            v = getter(row)
            if v is None:
                return (null_rank, 0)
            return (1 - null_rank, v.lower() if isinstance(v, str) else v)

        rows.sort(key=key, reverse=descending)


def _modstamp_floor(cond: Condition | None) -> datetime | None:
    """The bound of a top-level ``SystemModstamp >= / > datetime`` conjunct, if any."""
    items: Iterable[Condition] = (
        cond.items if isinstance(cond, BoolOp) and cond.op == "AND" else [cond] if cond else []
    )
    floor = None
    for item in items:
        if isinstance(item, Comparison) and [p.lower() for p in item.field.path] == ["systemmodstamp"]:
            lit = item.value
            if item.op in (">", ">=") and isinstance(lit, Literal) and lit.kind == "datetime":
                floor = lit.value if floor is None else max(floor, lit.value)
    return floor


def _uses_modstamp_index(query: Query) -> bool:
    names = [(o.field.path, o.descending) for o in query.order]
    lowered = [(tuple(p.lower() for p in path), desc) for path, desc in names]
    return lowered in ([(("systemmodstamp",), False)], [(("systemmodstamp",), False), (("id",), False)])


def execute(org: Org, query: Query, include_deleted: bool, tooling: bool = False) -> Result:
    table = org.table(query.sobject, tooling)
    if table is None:
        raise SoqlError(
            "INVALID_TYPE",
            f"sObject type '{query.sobject}' is not supported. If you are attempting to use a custom object, be sure "
            "to append the '__c' after the entity name. Please reference your WSDL or the describe call for the "
            "appropriate names.",
            query.sobject_pos,
        )
    cache: dict[tuple[str, ...], Column] = {}

    def column_of(ref: FieldRef) -> Column:
        key = tuple(p.lower() for p in ref.path)
        if key not in cache:
            cache[key] = resolve(org, table, ref, tooling)
        return cache[key]

    columns = [column_of(ref) for ref in query.fields]
    predicate = compile_condition(query.where, column_of) if query.where else None
    order = [(column_of(o.field).getter, o.descending, o.nulls_last) for o in query.order]
    deleted = table.getter("IsDeleted")
    limit = query.limit
    wanted = None if limit is None else limit + (query.offset or 0)

    if isinstance(table, OpportunityTable) and _uses_modstamp_index(query):
        index = table.by_modstamp
        floor = _modstamp_floor(query.where)
        start = 0 if floor is None else bisect_left(index, (ms_of(floor), -1), key=table.modstamp_key)
        rows = array("i")
        for i in range(start, len(index)):
            row = index[i]
            if (include_deleted or not deleted(row)) and (predicate is None or predicate(row)):
                rows.append(row)
                if wanted is not None and len(rows) >= wanted:
                    break
    else:
        matched = [
            r
            for r in table.rows()
            if (include_deleted or not deleted(r)) and (predicate is None or predicate(r))
        ]
        if order:
            _sort(matched, order)
        if wanted is not None:
            matched = matched[:wanted]
        rows = array("i", matched)
    if query.offset:
        rows = rows[query.offset :]
    return Result(table, columns, rows, query.count)


# -- rendering -------------------------------------------------------------------------------------------
def json_converter(fdef: FieldDef) -> Callable[[Any], Any]:
    """A value -> JSON function chosen once per column (rendering a page calls it 2,000 times a field)."""
    kind = fdef.type
    if kind == "datetime":
        return lambda v: None if v is None else format_datetime(v)
    if kind == "date":
        return lambda v: None if v is None else v.isoformat()
    if kind == "int":
        return lambda v: None if v is None else int(v)
    if kind in ("currency", "percent", "double"):
        return lambda v: None if v is None else float(v)
    return lambda v: to_json(v, fdef)


def render(
    result: Result,
    rows: Iterable[int],
    version: str,
    tooling: bool = False,
    convert: Callable[[FieldDef], Callable[[Any], Any]] = json_converter,
) -> list[dict[str, Any]]:
    """REST query records; ``convert`` picks each column's value -> JSON function (Bulk 1.0 JSON
    results write dates as epoch milliseconds)."""
    base = f"/services/data/v{version}/{'tooling/' if tooling else ''}sobjects"
    table = result.table
    url = f"{base}/{table.name}/"
    id_getter = table.getter("Id")
    field_t = tuple[str, Getter, Callable[[Any], Any]]
    # In SELECT order: a plain field, or a parent relationship (its fields gathered at its first mention).
    plan: list[tuple[str, field_t | None, tuple[Getter, Table, list[field_t]] | None]] = []
    related: dict[str, tuple[Getter, Table, list[field_t]]] = {}
    for column in result.columns:
        if column.relationship is None or column.target is None:
            plan.append((column.fdef.name, (column.fdef.name, column.getter, convert(column.fdef)), None))
            continue
        rel = column.relationship.relationship_name or ""
        if rel not in related:
            related[rel] = (table.getter(column.relationship.name), column.target, [])
            plan.append((rel, None, related[rel]))
        related[rel][2].append(
            (column.fdef.name, column.target.getter(column.fdef.name), convert(column.fdef))
        )
    records = []
    for row in rows:
        record: dict[str, Any] = {"attributes": {"type": table.name, "url": url + id_getter(row)}}
        for key, field, parent_plan in plan:
            if field is not None:
                record[key] = field[2](field[1](row))
                continue
            assert parent_plan is not None
            parent_of, target, fields = parent_plan
            parent_id = parent_of(row)
            parent = target.find(parent_id) if parent_id else None
            if parent is None:
                record[key] = None
                continue
            nested: dict[str, Any] = {
                "attributes": {"type": target.name, "url": f"{base}/{target.name}/{parent_id}"}
            }
            for name, getter, value_of in fields:
                nested[name] = value_of(getter(parent))
            record[key] = nested
        records.append(record)
    return records


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_datetime(value).replace("+0000", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return repr(float(value))
    return str(value)


def render_csv(result: Result, rows: Iterable[int], delimiter: str = ",", line_ending: str = "\n") -> str:
    """Bulk API 2.0 result CSV: a header of the selected paths, every value quoted."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=line_ending, quoting=csv.QUOTE_ALL)
    writer.writerow(
        [
            c.ref.dotted if c.relationship is None else f"{c.relationship.relationship_name}.{c.fdef.name}"
            for c in result.columns
        ]
    )
    for row in rows:
        writer.writerow([_csv_value(c.getter(row)) for c in result.columns])
    return buffer.getvalue()
