"""A SOQL parser for the subset real clients send.

SELECT fields (with parent relationship paths such as ``PartnerAccount.Name``) or ``COUNT()``, FROM one
object, WHERE with AND/OR/NOT and parentheses (mixing AND and OR without parentheses is refused, as SOQL
refuses it), ``= != <> < <= > >= IN NOT IN LIKE``, string/number/boolean/NULL/date/datetime literals and
the common date literals (TODAY, LAST_N_DAYS:n, ...), ORDER BY with ASC/DESC and NULLS FIRST/LAST, LIMIT
and OFFSET. Errors carry the position, so they print as Salesforce prints them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

# dateTime literals: the SOQL reference ("Date Formats and Date Literals in WHERE",
# developer.salesforce.com/docs/platform/salesforce-soql-sosl/guide/sforce-api-calls-soql-select-dateformats)
# gives YYYY-MM-DDThh:mm:ss with Z or +/-hh:mm; the REST reference ("Valid Date and DateTime Formats") adds
# the optional fraction .SSS and points to W3C XML Schema dateTime, whose fraction has any number of digits.
# Real orgs accept six (tap-salesforce sends ``.000000Z`` on every incremental run), so any count is taken
# and kept to the microsecond; an empty fraction, a missing zone or ``+hhmm`` stay MALFORMED_QUERY.
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:\\.|[^'\\])*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>[+-]?\d+(?:\.\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?::\d+)?)
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),.])
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}
_KEYWORDS = {
    "select", "from", "where", "and", "or", "not", "in", "like", "order", "by", "asc", "desc",
    "nulls", "first", "last", "limit", "offset", "null", "true", "false", "includes", "excludes",
}  # fmt: skip


class SoqlError(Exception):
    """A query Salesforce would refuse: ``code`` is its errorCode, ``pos`` the offending character."""

    def __init__(self, code: str, message: str, pos: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.pos = pos

    def render(self, soql: str) -> str:
        """Salesforce's multi-line message: the query, a caret, the row and column, the reason."""
        before = soql[: self.pos]
        row = before.count("\n") + 1
        line_start = before.rfind("\n") + 1
        column = self.pos - line_start + 1
        line = soql.splitlines()[row - 1] if soql else ""
        return f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{self.message}"


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int

    @property
    def word(self) -> str:
        return self.text.lower() if self.kind == "ident" else ""


@dataclass(frozen=True)
class FieldRef:
    path: tuple[str, ...]
    pos: int

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Literal:
    kind: str
    """string, number, boolean, null, date, datetime, or date_range (a date literal such as TODAY)."""
    value: Any
    pos: int
    text: str


@dataclass(frozen=True)
class Comparison:
    field: FieldRef
    op: str
    """= != < <= > >= IN NOT IN LIKE"""
    value: Literal | tuple[Literal, ...]


@dataclass(frozen=True)
class BoolOp:
    op: str
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Comparison | BoolOp | Not


@dataclass(frozen=True)
class OrderItem:
    field: FieldRef
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class Query:
    text: str
    fields: tuple[FieldRef, ...]
    count: bool
    sobject: str
    sobject_pos: int
    where: Condition | None
    order: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None


def tokenize(soql: str) -> list[Token]:
    tokens = []
    pos = 0
    while pos < len(soql):
        match = _TOKEN.match(soql, pos)
        if match is None:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: {soql[pos]}", pos)
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    return tokens


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), body)


def parse_datetime(text: str) -> datetime:
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text).astimezone(timezone.utc)


def date_range(name: str, today: date) -> tuple[date, date] | None:
    """The closed day range a date literal stands for; None for a name SOQL does not know."""
    base, _, n_text = name.upper().partition(":")
    n = int(n_text) if n_text else 0
    quarter_start = date(today.year, ((today.month - 1) // 3) * 3 + 1, 1)
    month_start = today.replace(day=1)

    def month_end(first: date, months: int = 1) -> date:
        y, m = first.year + (first.month - 1 + months) // 12, (first.month - 1 + months) % 12 + 1
        return date(y, m, 1) - timedelta(days=1)

    def shift_months(first: date, months: int) -> date:
        total = first.year * 12 + first.month - 1 + months
        return date(total // 12, total % 12 + 1, 1)

    simple: dict[str, tuple[date, date]] = {
        "TODAY": (today, today),
        "YESTERDAY": (today - timedelta(days=1), today - timedelta(days=1)),
        "TOMORROW": (today + timedelta(days=1), today + timedelta(days=1)),
        "THIS_MONTH": (month_start, month_end(month_start)),
        "LAST_MONTH": (shift_months(month_start, -1), month_start - timedelta(days=1)),
        "NEXT_MONTH": (shift_months(month_start, 1), month_end(shift_months(month_start, 1))),
        "THIS_QUARTER": (quarter_start, month_end(quarter_start, 3)),
        "LAST_QUARTER": (shift_months(quarter_start, -3), quarter_start - timedelta(days=1)),
        "NEXT_QUARTER": (shift_months(quarter_start, 3), month_end(shift_months(quarter_start, 3), 3)),
        "THIS_YEAR": (date(today.year, 1, 1), date(today.year, 12, 31)),
        "LAST_YEAR": (date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
    }
    if not n_text:
        return simple.get(base)
    if base == "LAST_N_DAYS":
        return (today - timedelta(days=n), today)
    if base == "NEXT_N_DAYS":
        return (today + timedelta(days=1), today + timedelta(days=n))
    if base == "N_DAYS_AGO":
        return (today - timedelta(days=n), today - timedelta(days=n))
    return None


class _Parser:
    def __init__(self, soql: str, today: date) -> None:
        self.soql = soql
        self.tokens = tokenize(soql)
        self.i = 0
        self.today = today

    # -- token helpers ---------------------------------------------------------------------------------
    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            raise SoqlError("MALFORMED_QUERY", "unexpected token: <EOF>", len(self.soql))
        self.i += 1
        return token

    def unexpected(self, token: Token | None) -> SoqlError:
        if token is None:
            return SoqlError("MALFORMED_QUERY", "unexpected token: <EOF>", len(self.soql))
        return SoqlError("MALFORMED_QUERY", f"unexpected token: {token.text}", token.pos)

    def at_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token.word in words

    def expect_word(self, word: str) -> Token:
        token = self.peek()
        if token is None or token.word != word:
            raise self.unexpected(token)
        return self.next()

    def expect_punct(self, text: str) -> Token:
        token = self.peek()
        if token is None or token.text != text:
            raise self.unexpected(token)
        return self.next()

    # -- grammar ---------------------------------------------------------------------------------------
    def query(self) -> Query:
        self.expect_word("select")
        fields: list[FieldRef] = []
        count = False
        if self.at_word("count") and (nxt := self.peek(1)) is not None and nxt.text == "(":
            self.next()
            self.expect_punct("(")
            self.expect_punct(")")
            count = True
        else:
            fields.append(self.field())
            while (token := self.peek()) is not None and token.text == ",":
                self.next()
                fields.append(self.field())
        self.expect_word("from")
        sobject = self.next()
        if sobject.kind != "ident" or sobject.word in _KEYWORDS:
            raise self.unexpected(sobject)
        where = None
        if self.at_word("where"):
            self.next()
            where = self.condition()
        order: list[OrderItem] = []
        if self.at_word("order"):
            self.next()
            self.expect_word("by")
            order.append(self.order_item())
            while (token := self.peek()) is not None and token.text == ",":
                self.next()
                order.append(self.order_item())
        limit = offset = None
        if self.at_word("limit"):
            self.next()
            limit = self.integer()
        if self.at_word("offset"):
            self.next()
            offset = self.integer()
        if self.peek() is not None:
            raise self.unexpected(self.peek())
        return Query(
            self.soql, tuple(fields), count, sobject.text, sobject.pos, where, tuple(order), limit, offset
        )

    def integer(self) -> int:
        token = self.next()
        if token.kind != "number" or not token.text.isdigit():
            raise self.unexpected(token)
        return int(token.text)

    def field(self) -> FieldRef:
        token = self.next()
        if token.kind != "ident" or token.word in _KEYWORDS or ":" in token.text:
            raise self.unexpected(token)
        path = [token.text]
        while (dot := self.peek()) is not None and dot.text == ".":
            self.next()
            part = self.next()
            if part.kind != "ident":
                raise self.unexpected(part)
            path.append(part.text)
        return FieldRef(tuple(path), token.pos)

    def order_item(self) -> OrderItem:
        field = self.field()
        descending = False
        if self.at_word("asc", "desc"):
            descending = self.next().word == "desc"
        nulls_last = descending
        if self.at_word("nulls"):
            self.next()
            which = self.next()
            if which.word not in ("first", "last"):
                raise self.unexpected(which)
            nulls_last = which.word == "last"
        return OrderItem(field, descending, nulls_last)

    def condition(self) -> Condition:
        items = [self.unary()]
        joiner: str | None = None
        while self.at_word("and", "or"):
            token = self.next()
            if joiner is not None and token.word != joiner:
                raise self.unexpected(token)  # SOQL needs parentheses to mix AND and OR
            joiner = token.word
            items.append(self.unary())
        if joiner is None:
            return items[0]
        return BoolOp(joiner.upper(), tuple(items))

    def unary(self) -> Condition:
        if self.at_word("not"):
            self.next()
            return Not(self.unary())
        token = self.peek()
        if token is not None and token.text == "(":
            self.next()
            inner = self.condition()
            self.expect_punct(")")
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        field = self.field()
        token = self.next()
        if token.kind == "op":
            op = "!=" if token.text == "<>" else token.text
            return Comparison(field, op, self.literal())
        if token.word == "like":
            return Comparison(field, "LIKE", self.literal())
        if token.word == "not" and self.at_word("in"):
            self.next()
            return Comparison(field, "NOT IN", self.literal_list())
        if token.word == "in":
            return Comparison(field, "IN", self.literal_list())
        raise self.unexpected(token)

    def literal_list(self) -> tuple[Literal, ...]:
        self.expect_punct("(")
        values = [self.literal()]
        while (token := self.peek()) is not None and token.text == ",":
            self.next()
            values.append(self.literal())
        self.expect_punct(")")
        return tuple(values)

    def literal(self) -> Literal:
        token = self.next()
        if token.kind == "string":
            return Literal("string", _unquote(token.text), token.pos, token.text)
        if token.kind == "number":
            try:
                return Literal("number", Decimal(token.text), token.pos, token.text)
            except InvalidOperation:  # pragma: no cover - the regex admits only numbers
                raise self.unexpected(token) from None
        if token.kind == "date":
            try:
                return Literal("date", date.fromisoformat(token.text), token.pos, token.text)
            except ValueError:
                raise SoqlError(
                    "MALFORMED_QUERY", f"line 1:{token.pos} no viable alternative at character ' '", token.pos
                ) from None
        if token.kind == "datetime":
            try:
                return Literal("datetime", parse_datetime(token.text), token.pos, token.text)
            except ValueError:
                raise self.unexpected(token) from None
        if token.kind == "ident":
            if token.word == "null":
                return Literal("null", None, token.pos, token.text)
            if token.word in ("true", "false"):
                return Literal("boolean", token.word == "true", token.pos, token.text)
            span = date_range(token.text, self.today)
            if span is not None:
                return Literal("date_range", span, token.pos, token.text)
        raise self.unexpected(token)


def parse(soql: str, today: date | None = None) -> Query:
    """Parse ``soql``; raises :class:`SoqlError` (MALFORMED_QUERY) where Salesforce would."""
    return _Parser(soql, today or datetime.now(timezone.utc).date()).query()
