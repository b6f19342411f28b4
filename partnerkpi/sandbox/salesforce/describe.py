"""The describe answers (describeGlobal's sobjects, sObject describe, each field result) as declarations:
one template of every key the real API always sends, with its default, and the few values that depend on
the object or field. Clients index these keys directly (dlt reads ``compoundFieldName``, Airbyte and
tap-salesforce read ``queryable``, ``type``, ``soapType``), so a missing key is a KeyError in them.

Keys and types: SOAP API Developer Guide, "DescribeSObjectResult" and its "Field" and "ChildRelationship"
(developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_describesobjects_describesobjectresult.htm),
which the REST describe returns as JSON; cross-checked with clients modelled on real answers
(g8rswimmer/go-sfdc sobject/describe.go, iabuhilal/php-salesforce-kit src/Models/Fields.php).
"""

from __future__ import annotations

import copy
from typing import Any

from partnerkpi.sandbox.salesforce.schema import FieldDef

FIELD_RESULT: dict[str, Any] = {
    "aggregatable": True,
    "aiPredictionField": False,
    "autoNumber": False,
    "byteLength": 0,
    "calculated": False,
    "calculatedFormula": None,
    "cascadeDelete": False,
    "caseSensitive": False,
    "compoundFieldName": None,
    "controllerName": None,
    "createable": False,
    "custom": False,
    "defaultValue": None,
    "defaultValueFormula": None,
    "defaultedOnCreate": False,
    "dependentPicklist": False,
    "deprecatedAndHidden": False,
    "digits": 0,
    "displayLocationInDecimal": False,
    "encrypted": False,
    "externalId": False,
    "extraTypeInfo": None,
    "filterable": True,
    "filteredLookupInfo": None,
    "formulaTreatNullNumberAsZero": False,
    "groupable": True,
    "highScaleNumber": False,
    "htmlFormatted": False,
    "idLookup": False,
    "inlineHelpText": None,
    "label": "",
    "length": 0,
    "mask": None,
    "maskType": None,
    "name": "",
    "nameField": False,
    "namePointing": False,
    "nillable": True,
    "permissionable": False,
    "picklistValues": [],
    "polymorphicForeignKey": False,
    "precision": 0,
    "queryByDistance": False,
    "referenceTargetField": None,
    "referenceTo": [],
    "relationshipName": None,
    "relationshipOrder": None,
    "restrictedDelete": False,
    "restrictedPicklist": False,
    "scale": 0,
    "searchPrefilterable": False,
    "soapType": "xsd:string",
    "sortable": True,
    "type": "string",
    "unique": False,
    "updateable": False,
    "writeRequiresMasterRead": False,
}
"""Every key of a describe field result, with the value a plain standard field has."""

SOBJECT_RESULT: dict[str, Any] = {
    "activateable": False,
    "associateEntityType": None,
    "associateParentEntity": None,
    "createable": False,
    "custom": False,
    "customSetting": False,
    "deepCloneable": False,
    "deletable": False,
    "deprecatedAndHidden": False,
    "feedEnabled": False,
    "hasSubtypes": False,
    "isInterface": False,
    "isSubtype": False,
    "keyPrefix": None,
    "label": "",
    "labelPlural": "",
    "layoutable": True,
    "mergeable": False,
    "mruEnabled": False,
    "name": "",
    "queryable": True,
    "replicateable": True,
    "retrieveable": True,
    "searchable": False,
    "triggerable": False,
    "undeletable": False,
    "updateable": False,
    "urls": {},
}
"""Every key of a describeGlobal sobjects entry (the full describe adds FULL_SOBJECT_RESULT's)."""

FULL_SOBJECT_RESULT: dict[str, Any] = {
    "actionOverrides": [],
    "childRelationships": [],
    "compactLayoutable": False,
    "dataTranslationEnabled": False,
    "defaultImplementation": None,
    "extendedBy": None,
    "extendsInterfaces": None,
    "fields": [],
    "implementedBy": None,
    "implementsInterfaces": None,
    "listviewable": None,
    "lookupLayoutable": None,
    "namedLayoutInfos": [],
    "networkScopeFieldName": None,
    "recordTypeInfos": [],
    "searchLayoutable": False,
    "sobjectDescribeOptions": {},
    "supportedScopes": [{"label": "All", "name": "everything"}],
}

LABELS: dict[str, tuple[str, str]] = {
    "Account": ("Account", "Accounts"),
    "Opportunity": ("Opportunity", "Opportunities"),
    "OpportunityPartner": ("Opportunity Partner", "Opportunity Partners"),
    "OpportunityStage": ("Opportunity Stage", "Opportunity Stages"),
    "CurrencyType": ("Currency", "Currencies"),
    "DatedConversionRate": ("Dated Exchange Rate", "Dated Exchange Rates"),
    "User": ("User", "Users"),
    "PermissionSet": ("Permission Set", "Permission Sets"),
    "FieldPermissions": ("Field Permissions", "Field Permissions"),
    "PermissionSetAssignment": ("Permission Set Assignment", "Permission Set Assignments"),
    "CustomField": ("Custom Field Definition", "Custom Field Definitions"),
}
"""label and labelPlural as a stock org (English) names them."""

_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "double": "xsd:double",
    "int": "xsd:int",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "complexvalue": "urn:JsonNode",
}
_SYSTEM_FIELDS = frozenset(
    {"Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp", "CreatedById"}
)
_UNSORTABLE = frozenset({"textarea", "complexvalue"})
_UNGROUPABLE = frozenset({"currency", "percent", "double", "datetime", "textarea", "complexvalue"})


def field_result(fdef: FieldDef) -> dict[str, Any]:
    """The describe field result of ``fdef``: the template with what this field sets."""
    kind = fdef.type
    return {
        **FIELD_RESULT,
        "aggregatable": kind not in ("boolean", *_UNSORTABLE),
        "byteLength": fdef.length * 3,
        "createable": fdef.createable,
        "custom": fdef.custom,
        "defaultValue": False if kind == "boolean" and fdef.createable else None,
        "defaultedOnCreate": kind == "boolean" or fdef.name in _SYSTEM_FIELDS,
        "digits": 9 if kind == "int" else 0,
        "extraTypeInfo": "plaintextarea" if kind == "textarea" else None,
        "filterable": kind not in _UNSORTABLE,
        "groupable": kind not in _UNGROUPABLE,
        "idLookup": fdef.name == "Id",
        "inlineHelpText": fdef.description or None,
        "label": fdef.label,
        "length": fdef.length,
        "name": fdef.name,
        "nameField": fdef.name == "Name",
        "nillable": fdef.nillable,
        "permissionable": fdef.custom or (fdef.updateable and fdef.nillable),
        "picklistValues": [
            {"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v}
            for v in fdef.picklist
        ],
        "precision": fdef.precision,
        "referenceTo": [fdef.reference_to] if fdef.reference_to else [],
        "relationshipName": fdef.relationship_name,
        "restrictedPicklist": fdef.name == "CurrencyIsoCode",
        "scale": fdef.scale,
        "searchPrefilterable": kind == "reference",
        "soapType": _SOAP_TYPES.get(kind, "xsd:string"),
        "sortable": kind not in _UNSORTABLE,
        "type": kind,
        "updateable": fdef.updateable,
    }


def sobject_result(
    name: str,
    prefix: str,
    base_url: str,
    writable: bool,
    fields: list[FieldDef] | None = None,
) -> dict[str, Any]:
    """describeGlobal's entry for an object, or (with ``fields``) its full describe."""
    label, plural = LABELS.get(name, (name, name + "s"))
    out: dict[str, Any] = {
        **SOBJECT_RESULT,
        "createable": writable,
        "deletable": writable,
        "keyPrefix": prefix,
        "label": label,
        "labelPlural": plural,
        "name": name,
        "searchable": name in ("Account", "Opportunity"),
        "triggerable": writable,
        "undeletable": writable,
        "updateable": writable,
        "mergeable": name == "Account",
        "urls": {
            "sobject": base_url,
            "describe": f"{base_url}/describe",
            "rowTemplate": f"{base_url}/{{ID}}",
        },
    }
    if fields is not None:
        out.update({**copy.deepcopy(FULL_SOBJECT_RESULT), "fields": [field_result(f) for f in fields]})
    return out
