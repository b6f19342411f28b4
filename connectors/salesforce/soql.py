"""SOQL building: every value goes through a literal function, every name through a check, so that no
value (a quote, a backslash, a newline) can change the shape of a query."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timezone

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")
_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}


class SoqlError(ValueError):
    """A name that is not an API name, or a value of a type SOQL has no literal for."""


def name(value: str) -> str:
    """An object, field or relationship path (``Account.CurrencyIsoCode``), checked."""
    if not _NAME.match(value):
        raise SoqlError(f"not a Salesforce API name: {value!r}")
    return value


def string(value: str) -> str:
    """A quoted string literal with SOQL's escapes."""
    return "'" + "".join(_ESCAPES.get(ch, ch) for ch in value) + "'"


def datetime_literal(value: datetime) -> str:
    """A dateTime literal (unquoted, UTC, e.g. 2026-11-22T21:03:23Z)."""
    if value.tzinfo is None:
        raise SoqlError("a SOQL datetime needs a timezone-aware value")
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def literal(value: object) -> str:
    """The SOQL literal of a Python value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return datetime_literal(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return string(value)
    raise SoqlError(f"no SOQL literal for a {type(value).__name__}")


def in_list(values: Iterable[object]) -> str:
    """``('a', 'b')`` for an IN clause; never empty (SOQL has no empty list)."""
    items = [literal(v) for v in values]
    if not items:
        raise SoqlError("an IN list needs at least one value")
    return "(" + ", ".join(items) + ")"


def select(
    fields: Sequence[str],
    sobject: str,
    where: Sequence[str] = (),
    order_by: Sequence[str] = (),
    limit: int | None = None,
    children: Sequence[str] = (),
) -> str:
    """A SELECT; ``where`` holds conditions already built with the functions above, joined by AND;
    ``children`` holds relationship subqueries built with ``child``."""
    columns = [name(f) for f in fields] + [f"({c})" for c in children]
    parts = [f"SELECT {', '.join(columns)} FROM {name(sobject)}"]
    if where:
        parts.append("WHERE " + " AND ".join(where))
    if order_by:
        parts.append("ORDER BY " + ", ".join(name(f) for f in order_by))
    if limit is not None:
        parts.append(f"LIMIT {int(limit)}")
    return " ".join(parts)


def count(sobject: str, where: Sequence[str] = ()) -> str:
    """``SELECT COUNT() FROM ...``: one call that answers totalSize and no rows."""
    query = f"SELECT COUNT() FROM {name(sobject)}"
    return query + (" WHERE " + " AND ".join(where) if where else "")


def condition(field: str, operator: str, value: object) -> str:
    """``Field op literal`` with a checked field and operator."""
    if operator not in {"=", "!=", "<", "<=", ">", ">="}:
        raise SoqlError(f"unsupported operator {operator!r}")
    return f"{name(field)} {operator} {literal(value)}"


def is_in(field: str, values: Iterable[object]) -> str:
    return f"{name(field)} IN {in_list(values)}"


def child(
    fields: Sequence[str], relationship: str, where: Sequence[str] = (), limit: int | None = None
) -> str:
    """A parent-to-child subquery for ``select(children=...)``."""
    return select(fields, relationship, where=where, limit=limit)


def selected(query: str) -> tuple[list[str], str]:
    """The field paths and the object of a query built by ``select`` or ``count``: what every record of
    its answer must carry (``COUNT()`` and child subqueries are not such fields)."""
    if not query.startswith("SELECT "):
        raise SoqlError("not a SELECT query")
    body = query[len("SELECT ") :]
    depth, start, columns = 0, 0, []
    for i, ch in enumerate(body):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0 and ch == ",":
            columns.append(body[start:i].strip())
            start = i + 1
        elif depth == 0 and body.startswith(" FROM ", i):
            columns.append(body[start:i].strip())
            sobject = body[i + len(" FROM ") :].split(" ", 1)[0]
            return [c for c in columns if _NAME.match(c)], sobject
    raise SoqlError("not a SELECT ... FROM query")
