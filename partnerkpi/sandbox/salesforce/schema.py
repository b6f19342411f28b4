"""Field definitions of the emulated objects (describe.py renders them) and how a written value is checked
and stored (type, length, precision and scale) with the error Salesforce gives when it is not."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from partnerkpi.sandbox.salesforce.ids import normalize

NUMERIC = frozenset({"currency", "percent", "double", "int"})
TEXT = frozenset({"string", "picklist", "textarea", "id", "reference", "email", "url", "phone"})


class RecordError(Exception):
    """A per-record failure: one entry of a SaveResult's ``errors``."""

    def __init__(self, code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields or []

    def as_json(self) -> dict[str, Any]:
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}


class RequestError(Exception):
    """A failure of the whole request (HTTP 400 and a JSON list of errors), e.g. JSON_PARSER_ERROR."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass
class FieldDef:
    name: str
    type: str
    label: str = ""
    length: int = 0
    precision: int = 0
    scale: int = 0
    updateable: bool = False
    createable: bool = False
    nillable: bool = True
    custom: bool = False
    reference_to: str | None = None
    relationship_name: str | None = None
    description: str = ""
    custom_type: str = ""
    """The Metadata type a custom field was created with (Currency, Percent, Number, DateTime, Text)."""
    custom_id: str = ""
    picklist: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.label:
            self.label = self.name


CUSTOM_TYPES: dict[str, str] = {
    "Currency": "currency",
    "Percent": "percent",
    "Number": "double",
    "DateTime": "datetime",
    "Date": "date",
    "Text": "string",
    "Checkbox": "boolean",
    "Lookup": "reference",
}


def _system() -> list[FieldDef]:
    return [
        FieldDef("Id", "id", "Record ID", length=18, nillable=False),
        FieldDef("IsDeleted", "boolean", "Deleted", nillable=False),
        FieldDef("CreatedDate", "datetime", "Created Date", nillable=False),
        FieldDef("LastModifiedDate", "datetime", "Last Modified Date", nillable=False),
        FieldDef("SystemModstamp", "datetime", "System Modstamp", nillable=False),
    ]


def _rw(name: str, type_: str, label: str = "", **kw: Any) -> FieldDef:
    return FieldDef(name, type_, label, updateable=True, createable=True, **kw)


def standard_objects(
    currencies: tuple[str, ...], stages: tuple[str, ...], lead_sources: tuple[str, ...]
) -> dict[str, list[FieldDef]]:
    currency = _rw("CurrencyIsoCode", "picklist", "Currency ISO Code", length=3, picklist=currencies)
    return {
        "Account": [
            *_system(),
            _rw("Name", "string", "Account Name", length=255, nillable=False),
            _rw("Type", "picklist", "Account Type", length=255, picklist=("Partner", "Customer", "Prospect")),
            _rw("Industry", "picklist", "Industry", length=255),
            _rw("IsPartner", "boolean", "Partner Account", nillable=False),
            currency,
        ],
        "Opportunity": [
            *_system(),
            _rw("Name", "string", "Name", length=120, nillable=False),
            _rw(
                "AccountId",
                "reference",
                "Account ID",
                length=18,
                reference_to="Account",
                relationship_name="Account",
            ),
            _rw(
                "PartnerAccountId",
                "reference",
                "Partner Account ID",
                length=18,
                reference_to="Account",
                relationship_name="PartnerAccount",
            ),
            _rw("Amount", "currency", "Amount", precision=16, scale=2),
            currency,
            _rw("StageName", "picklist", "Stage", length=255, nillable=False, picklist=stages),
            _rw("CloseDate", "date", "Close Date", nillable=False),
            _rw("Probability", "percent", "Probability (%)", precision=3, scale=0),
            _rw("LeadSource", "picklist", "Lead Source", length=255, picklist=lead_sources),
            FieldDef("IsClosed", "boolean", "Closed", nillable=False),
            FieldDef("IsWon", "boolean", "Won", nillable=False),
        ],
        "OpportunityPartner": [
            *_system(),
            FieldDef(
                "OpportunityId",
                "reference",
                "Opportunity ID",
                18,
                reference_to="Opportunity",
                relationship_name="Opportunity",
            ),
            FieldDef(
                "AccountToId",
                "reference",
                "Account ID",
                18,
                reference_to="Account",
                relationship_name="AccountTo",
            ),
            FieldDef("Role", "picklist", "Role", 40),
            FieldDef("IsPrimary", "boolean", "Primary", nillable=False),
        ],
        "OpportunityStage": [
            *_system(),
            FieldDef("MasterLabel", "string", "Master Label", 255),
            FieldDef("ApiName", "string", "Api Name", 255),
            FieldDef("IsActive", "boolean", "Is Active"),
            FieldDef("SortOrder", "int", "Sort Order"),
            FieldDef("IsClosed", "boolean", "Closed"),
            FieldDef("IsWon", "boolean", "Won"),
            FieldDef("ForecastCategoryName", "string", "Forecast Category Name", 40),
            FieldDef("DefaultProbability", "percent", "Probability (%)", precision=3, scale=0),
        ],
        "CurrencyType": [
            *_system(),
            FieldDef("IsoCode", "picklist", "Currency ISO Code", 3, picklist=currencies),
            FieldDef("ConversionRate", "double", "Conversion Rate", precision=18, scale=6),
            FieldDef("DecimalPlaces", "int", "Decimal Places"),
            FieldDef("IsActive", "boolean", "Active"),
            FieldDef("IsCorporate", "boolean", "Corporate"),
        ],
        "DatedConversionRate": [
            *_system(),
            FieldDef("IsoCode", "picklist", "Currency ISO Code", 3, picklist=currencies),
            FieldDef("ConversionRate", "double", "Conversion Rate", precision=18, scale=6),
            FieldDef("StartDate", "date", "Start Date"),
            FieldDef("NextStartDate", "date", "Next Start Date"),
        ],
        "User": [
            *_system(),
            FieldDef("Username", "string", "Username", 80),
            FieldDef("Name", "string", "Full Name", 121),
            FieldDef("Email", "email", "Email", 128),
            FieldDef("IsActive", "boolean", "Active"),
            FieldDef("ProfileId", "reference", "Profile ID", 18),
        ],
        "PermissionSet": [
            *_system(),
            _rw("Name", "string", "Name", length=80, nillable=False),
            _rw("Label", "string", "Label", length=80, nillable=False),
            _rw("Description", "textarea", "Description", length=255),
            FieldDef("IsOwnedByProfile", "boolean", "Is Owned By Profile"),
            FieldDef("ProfileId", "reference", "Profile ID", 18),
            FieldDef("NamespacePrefix", "string", "Namespace Prefix", 15),
        ],
        "FieldPermissions": [
            *_system(),
            FieldDef(
                "ParentId",
                "reference",
                "Parent ID",
                18,
                createable=True,
                nillable=False,
                reference_to="PermissionSet",
                relationship_name="Parent",
            ),
            FieldDef("SobjectType", "picklist", "Sobject Type Name", 40, createable=True, nillable=False),
            FieldDef("Field", "picklist", "Field Name", 255, createable=True, nillable=False),
            _rw("PermissionsRead", "boolean", "Read Access", nillable=False),
            _rw("PermissionsEdit", "boolean", "Edit Access", nillable=False),
        ],
        "PermissionSetAssignment": [
            *_system(),
            FieldDef(
                "AssigneeId",
                "reference",
                "Assignee ID",
                18,
                createable=True,
                nillable=False,
                reference_to="User",
                relationship_name="Assignee",
            ),
            FieldDef(
                "PermissionSetId",
                "reference",
                "Permission Set ID",
                18,
                createable=True,
                nillable=False,
                reference_to="PermissionSet",
                relationship_name="PermissionSet",
            ),
        ],
    }


def tooling_objects() -> dict[str, list[FieldDef]]:
    return {
        "CustomField": [
            *_system(),
            FieldDef("DeveloperName", "string", "Developer Name", 40),
            FieldDef("TableEnumOrId", "string", "Table Enum or ID", 40),
            FieldDef("NamespacePrefix", "string", "Namespace Prefix", 15),
            FieldDef("Description", "textarea", "Description", 1000),
            FieldDef("FullName", "string", "Full Name", 255),
            FieldDef("Length", "int", "Length"),
            FieldDef("Precision", "int", "Precision"),
            FieldDef("Scale", "int", "Scale"),
            FieldDef("Metadata", "complexvalue", "Metadata"),
        ],
    }


def _number(raw: Any, fdef: FieldDef) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise RequestError(
            "JSON_PARSER_ERROR", f"Cannot deserialize instance of double from {_json_kind(raw)} value {raw}"
        )
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise RequestError(
            "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of double from VALUE_STRING value {raw} or request may be missing a required field",
        ) from None
    if not value.is_finite():
        raise RequestError("JSON_PARSER_ERROR", f"Cannot deserialize instance of double from value {raw}")
    return value


def _json_kind(raw: Any) -> str:
    if isinstance(raw, bool):
        return "VALUE_TRUE" if raw else "VALUE_FALSE"
    if isinstance(raw, str):
        return "VALUE_STRING"
    if isinstance(raw, (list, tuple)):
        return "START_ARRAY"
    if isinstance(raw, dict):
        return "START_OBJECT"
    return "VALUE_NUMBER"


def parse_datetime_value(text: str) -> datetime:
    """The datetime formats the REST API accepts in a record body (ISO 8601, ``Z`` or an offset)."""
    cleaned = text.strip()
    if cleaned.endswith("Z"):
        cleaned = cleaned[:-1] + "+00:00"
    if len(cleaned) > 5 and cleaned[-5] in "+-" and cleaned[-3] != ":" and "T" in cleaned:
        cleaned = cleaned[:-2] + ":" + cleaned[-2:]
    parsed = datetime.fromisoformat(cleaned)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def coerce(fdef: FieldDef, raw: Any) -> Any:
    """The stored value of ``raw`` written to ``fdef``; RecordError / RequestError as Salesforce answers."""
    if raw is None or (raw == "" and fdef.type not in ("string", "textarea", "picklist")):
        if not fdef.nillable:
            raise RecordError(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{fdef.name}]", [fdef.name]
            )
        return None
    kind = fdef.type
    if kind in NUMERIC:
        value = _number(raw, fdef)
        if kind == "int":
            value = value.to_integral_value(ROUND_HALF_UP)
        else:
            value = value.quantize(Decimal(1).scaleb(-fdef.scale), ROUND_HALF_UP)
        integer_digits = fdef.precision - fdef.scale if fdef.precision else 18
        if abs(value) >= Decimal(10) ** integer_digits:
            raise RecordError(
                "NUMBER_OUTSIDE_VALID_RANGE",
                f"{fdef.label}: value outside of valid range on numeric field: {raw}",
                [fdef.name],
            )
        return value
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise RequestError(
            "JSON_PARSER_ERROR", f"Cannot deserialize instance of boolean from {_json_kind(raw)} value {raw}"
        )
    if kind == "date":
        try:
            return date.fromisoformat(str(raw)[:10])
        except ValueError:
            raise RequestError(
                "JSON_PARSER_ERROR", f'Cannot deserialize value of type `date` from String "{raw}"'
            ) from None
    if kind == "datetime":
        try:
            return parse_datetime_value(str(raw))
        except ValueError:
            raise RequestError(
                "JSON_PARSER_ERROR", f'Cannot deserialize value of type `datetime` from String "{raw}"'
            ) from None
    if kind == "reference":
        normalized = normalize(str(raw))
        if normalized is None:
            raise RecordError("MALFORMED_ID", f"{fdef.label}: id value of incorrect type: {raw}", [fdef.name])
        return normalized
    if isinstance(raw, (dict, list)):
        raise RequestError(
            "JSON_PARSER_ERROR", f"Cannot deserialize instance of string from {_json_kind(raw)} value"
        )
    text = str(raw).lower() if isinstance(raw, bool) else str(raw)
    if fdef.length and len(text) > fdef.length:
        raise RecordError(
            "STRING_TOO_LONG",
            f"{fdef.label}: data value too large: {text} (max length={fdef.length})",
            [fdef.name],
        )
    if not text and not fdef.nillable:
        raise RecordError(
            "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{fdef.name}]", [fdef.name]
        )
    return text or None


def format_datetime(value: datetime) -> str:
    """Salesforce's REST form: ``2020-10-22T21:03:23.000+0000``."""
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds")[:-6] + "+0000"


def to_json(value: Any, fdef: FieldDef | None = None) -> Any:
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        if fdef is not None and fdef.type == "int":
            return int(value)
        return float(value)
    return value
