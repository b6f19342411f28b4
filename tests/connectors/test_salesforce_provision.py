"""connectors.salesforce.provision: the field metadata each kind asks for, and an existing field of another
type is named. Provisioning against the sandbox: test_salesforce_write.py."""

from __future__ import annotations

from connectors.fields import FieldKind, FieldSpec, ProvisionAction
from connectors.salesforce.provision import field_metadata, incompatibility


def test_field_metadata_by_kind() -> None:
    score = FieldSpec(
        "KPI_Score__c", "Partner quality score", FieldKind.NUMBER, "0-100", precision=5, scale=1
    )
    assert field_metadata(score) == {
        "label": "Partner quality score",
        "description": "0-100",
        "inlineHelpText": "0-100",
        "type": "Number",
        "precision": 5,
        "scale": 1,
    }
    assert field_metadata(FieldSpec("A__c", "a", FieldKind.CURRENCY))["type"] == "Currency"
    assert field_metadata(FieldSpec("A__c", "a", FieldKind.PERCENT))["type"] == "Percent"
    assert field_metadata(FieldSpec("A__c", "a", FieldKind.DATETIME))["type"] == "DateTime"
    assert field_metadata(FieldSpec("A__c", "a", FieldKind.TEXT, length=255))["type"] == "Text"
    assert field_metadata(FieldSpec("A__c", "a", FieldKind.TEXT, length=2000))["type"] == "LongTextArea"


def test_incompatible_types_are_named() -> None:
    spec = FieldSpec("Won__c", "Won revenue", FieldKind.CURRENCY)
    assert incompatibility(spec, {"type": "currency"}, "Account") is None
    why = incompatibility(spec, {"type": "string", "length": 80}, "Account")
    assert why is not None and "Account.Won__c exists as a string field" in why and "Currency" in why
    text = FieldSpec("Why__c", "Why", FieldKind.TEXT, length=255)
    assert incompatibility(text, {"type": "string", "length": 80}, "Account") is not None
    assert ProvisionAction.REFUSED.value == "refused"
