"""connectors.hubspot.write without a server: how each field kind's value is written, and a 207 answer's
errors mapped to their records. Batch writes against the sandbox: test_hubspot_sandbox.py."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from types import SimpleNamespace

import pytest

from connectors.fields import FieldKind, FieldSpec
from connectors.hubspot.write import UnwritableValue, _results, format_value


def spec(kind: FieldKind, length: int = 255) -> FieldSpec:
    return FieldSpec("x", "X", kind, length=length)


def test_format_values() -> None:
    assert format_value(Decimal("1E+3"), spec(FieldKind.CURRENCY)) == "1000"
    assert format_value(Decimal("63.15"), spec(FieldKind.PERCENT)) == "63.15"
    assert format_value(0.1, spec(FieldKind.NUMBER)) == "0.1"
    assert format_value(None, spec(FieldKind.NUMBER)) == ""
    moment = datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
    assert format_value(moment, spec(FieldKind.DATETIME)) == "2026-05-01T12:00:00.123Z"
    assert format_value("abcdef", spec(FieldKind.TEXT, length=3)) == "abc"
    with pytest.raises(UnwritableValue):
        format_value("soon", spec(FieldKind.DATETIME))
    with pytest.raises(UnwritableValue):
        format_value(Decimal("NaN"), spec(FieldKind.NUMBER))


def test_207_errors_mapped_to_their_records() -> None:
    answer = SimpleNamespace(
        results=[SimpleNamespace(id="1"), SimpleNamespace(id="3")],
        errors=[
            SimpleNamespace(category="CONFLICT", message="modified meanwhile", context={"ids": ["2"]}),
            SimpleNamespace(category="OBJECT_NOT_FOUND", message="gone", context={"ids": ["4"]}),
        ],
    )
    results = _results([("1", {}), ("2", {}), ("3", {}), ("4", {})], answer)
    by_id = {r.partner_id: r for r in results}
    assert by_id["1"].ok and by_id["3"].ok
    assert not by_id["2"].ok and by_id["2"].errors[0].retryable and by_id["2"].errors[0].code == "CONFLICT"
    assert not by_id["4"].ok and not by_id["4"].errors[0].retryable
