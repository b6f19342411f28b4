"""connectors.hubspot.provision: the property definitions we create, and an existing property of another
type is named and left unchanged."""

from __future__ import annotations

from types import SimpleNamespace

from connectors.fields import FieldKind, FieldSpec
from connectors.hubspot.provision import definition, incompatibility


def test_property_definitions_and_incompatibility() -> None:
    rate = FieldSpec("partner_win_rate", "Win rate", FieldKind.PERCENT, description="Deals won of closed.")
    body = definition(rate, "partner_kpis")
    assert body["type"] == "number" and body["label"] == "Win rate (%)"
    assert "63.15 means 63.15 %" in body["description"]
    money = definition(FieldSpec("partner_revenue", "Revenue", FieldKind.CURRENCY), "partner_kpis")
    assert money["showCurrencySymbol"] is True
    assert definition(FieldSpec("at", "At", FieldKind.DATETIME), "g")["type"] == "datetime"
    assert incompatibility(rate, SimpleNamespace(type="number", field_type="number")) is None
    why = incompatibility(rate, SimpleNamespace(type="string", field_type="text"))
    assert why is not None and "type string" in why and "left unchanged" in why
