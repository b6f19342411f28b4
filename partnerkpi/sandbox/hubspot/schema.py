"""Property definitions and groups of the emulated portal, and how a written value is checked and stored.

Every stored value is a string, as HubSpot keeps them: numbers as written (``"1250.5"``), booleans
``"true"``/``"false"``, dates ``YYYY-MM-DD``, datetimes ISO 8601 with milliseconds and ``Z`` (written as ISO
or epoch milliseconds).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from partnerkpi.sandbox.hubspot.errors import HubSpotError, property_problem

TYPES = ("number", "string", "date", "datetime", "enumeration", "bool")
FIELD_TYPES: dict[str, tuple[str, ...]] = {
    "number": ("number", "calculation_equation", "text"),
    "string": ("text", "textarea", "html", "phonenumber", "file"),
    "date": ("date",),
    "datetime": ("date",),
    "enumeration": ("select", "radio", "checkbox", "booleancheckbox", "calculation_equation"),
    "bool": ("booleancheckbox", "select", "radio"),
}
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
NUMBER_PATTERN = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
"""A number property value as HubSpot's API takes it: ASCII digits, an optional single minus sign and an
optional single decimal point; no exponent, no thousands separators ("Upcoming: A change for number
properties in CRM APIs", HubSpot developer changelog; HubSpot answers "1.4210854715202004e-14 was not a
valid number." to an amount in exponent notation, Atlas-Authority/marketing-automation#206). Blanks around
the value are still trimmed: HubSpot cancelled the change that would have refused them."""
MAX_NUMBER = Decimal("1.7976931348623157e308")
"""HubSpot keeps number properties as doubles: a value beyond the largest double is not a number there."""
PORTAL_CREATED = "2019-06-03T14:22:09.519Z"


def iso_ms(moment: datetime) -> str:
    """HubSpot's timestamp format: ``2024-05-01T13:02:11.123Z``."""
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_instant(raw: str) -> datetime | None:
    """ISO 8601 (with Z or an offset, or a bare date) or epoch milliseconds, as HubSpot accepts them."""
    text = raw.strip()
    try:
        if re.fullmatch(r"-?[0-9]{1,20}", text):
            return datetime.fromtimestamp(int(text) / 1000, timezone.utc)
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), timezone.utc)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):  # also epoch milliseconds past year 9999
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@dataclass
class PropertyDef:
    name: str
    label: str
    type: str
    field_type: str
    group_name: str
    description: str = ""
    options: list[dict[str, Any]] = field(default_factory=list)
    hubspot_defined: bool = True
    read_only_value: bool = False
    calculated: bool = False
    show_currency_symbol: bool | None = None
    display_order: int = -1
    created_at: str = PORTAL_CREATED
    updated_at: str = PORTAL_CREATED

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "updatedAt": self.updated_at,
            "createdAt": self.created_at,
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group_name,
            "options": self.options,
            "displayOrder": self.display_order,
            "calculated": self.calculated,
            "externalOptions": False,
            "hasUniqueValue": False,
            "hidden": False,
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyValue": self.read_only_value,
            },
            "formField": not self.hubspot_defined,
            "dataSensitivity": "non_sensitive",
        }
        if self.hubspot_defined:
            body["hubspotDefined"] = True
        if self.show_currency_symbol is not None:
            body["showCurrencySymbol"] = self.show_currency_symbol
        return body


@dataclass
class PropertyGroup:
    name: str
    label: str
    display_order: int = -1
    archived: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "displayOrder": self.display_order,
            "archived": self.archived,
        }


def _p(
    name: str, label: str, type_: str, field_type: str, group: str, read_only: bool = False, **extra: Any
) -> PropertyDef:
    return PropertyDef(name, label, type_, field_type, group, read_only_value=read_only, **extra)


def _enum(values: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [
        {"label": label, "value": value, "displayOrder": i, "hidden": False}
        for i, (value, label) in enumerate(values)
    ]


_BOOL_OPTIONS = _enum([("true", "Yes"), ("false", "No")])
ANALYTICS_SOURCES = (
    "ORGANIC_SEARCH",
    "PAID_SEARCH",
    "EMAIL_MARKETING",
    "SOCIAL_MEDIA",
    "REFERRALS",
    "OTHER_CAMPAIGNS",
    "DIRECT_TRAFFIC",
    "OFFLINE",
    "PAID_SOCIAL",
    "AI_REFERRALS",
)


def builtin_deal_properties(currencies: list[str]) -> list[PropertyDef]:
    g = "dealinformation"
    return [
        _p("dealname", "Deal Name", "string", "text", g),
        _p("amount", "Amount", "number", "number", g, show_currency_symbol=True),
        _p(
            "deal_currency_code",
            "Currency",
            "enumeration",
            "select",
            g,
            options=_enum([(c, c) for c in currencies]),
        ),
        _p(
            "amount_in_home_currency",
            "Amount in company currency",
            "number",
            "calculation_equation",
            g,
            read_only=True,
            calculated=True,
            show_currency_symbol=True,
        ),
        _p("dealstage", "Deal Stage", "enumeration", "radio", g),
        _p("pipeline", "Pipeline", "enumeration", "select", g),
        _p("closedate", "Close Date", "datetime", "date", g),
        _p("createdate", "Create Date", "datetime", "date", g),
        _p("hs_is_closed_won", "Is Closed Won", "bool", "booleancheckbox", g, True, options=_BOOL_OPTIONS),
        _p("hs_is_closed", "Is Deal Closed?", "bool", "booleancheckbox", g, True, options=_BOOL_OPTIONS),
        _p("hs_deal_stage_probability", "Deal probability", "number", "number", g, True, calculated=True),
        _p(
            "hs_analytics_source",
            "Original Source Type",
            "enumeration",
            "select",
            "analyticsinformation",
            True,
            options=_enum([(s, s.replace("_", " ").title()) for s in ANALYTICS_SOURCES]),
        ),
        _p("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", g, True),
        _p("hs_object_id", "Record ID", "number", "number", g, True),
    ]


def builtin_company_properties() -> list[PropertyDef]:
    g = "companyinformation"
    return [
        _p("name", "Company name", "string", "text", g),
        _p("domain", "Company Domain Name", "string", "text", g),
        _p(
            "type",
            "Type",
            "enumeration",
            "select",
            g,
            options=_enum(
                [
                    ("PROSPECT", "Prospect"),
                    ("PARTNER", "Partner"),
                    ("RESELLER", "Reseller"),
                    ("OTHER", "Other"),
                ]
            ),
        ),
        _p("createdate", "Create Date", "datetime", "date", g, True),
        _p("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", g, True),
        _p("hs_object_id", "Record ID", "number", "number", g, True),
    ]


def builtin_groups(object_type: str) -> list[PropertyGroup]:
    if object_type == "deals":
        return [
            PropertyGroup("dealinformation", "Deal information", 0),
            PropertyGroup("analyticsinformation", "Analytics information", 1),
        ]
    return [
        PropertyGroup("companyinformation", "Company information", 0),
        PropertyGroup("analyticsinformation", "Web analytics history", 1),
    ]


def parse_number(text: str) -> Decimal | None:
    """A number property value as HubSpot accepts it (see NUMBER_PATTERN, MAX_NUMBER), or None: every
    number a write brings in goes through here, so nothing non-finite or huge reaches the portal."""
    stripped = text.strip()
    if not NUMBER_PATTERN.fullmatch(stripped):
        return None
    try:
        number = Decimal(stripped)
    except InvalidOperation:
        return None
    return number if number.is_finite() and abs(number) <= MAX_NUMBER else None


def coerce(prop: PropertyDef | None, name: str, value: Any) -> tuple[str | None, dict[str, Any] | None]:
    """The stored string for ``value`` written to ``prop``, or the problem HubSpot reports for it."""
    if prop is None:
        return None, property_problem(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
    if prop.read_only_value:
        return None, property_problem(
            name, "READ_ONLY_VALUE", f'"{name}" is a read only property; its value cannot be set.'
        )
    if value is None or value == "":
        return "", None
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if prop.type == "number":
        number = parse_number(text)
        if number is None:
            return None, property_problem(name, "INVALID_DOUBLE", f"{text} was not a valid number.", text)
        return text.strip(), None
    if prop.type == "bool":
        if text.lower() not in ("true", "false"):
            return None, property_problem(name, "INVALID_BOOLEAN", f"{text} was not a valid boolean value.")
        return text.lower(), None
    if prop.type in ("date", "datetime"):
        moment = parse_instant(text)
        if moment is None:
            return None, property_problem(name, "INVALID_DATE", f"{text} was not a valid date.")
        if prop.type == "date":
            if moment.astimezone(timezone.utc).time() != datetime.min.time():
                return None, property_problem(
                    name, "INVALID_DATE", f"{text} is not a valid date: date values must be at midnight UTC."
                )
            return moment.date().isoformat(), None
        return iso_ms(moment), None
    if prop.type == "enumeration" and prop.options:
        allowed = {o["value"] for o in prop.options}
        chosen = text.split(";") if prop.field_type == "checkbox" else [text]
        bad = [c for c in chosen if c not in allowed]
        if bad:
            return None, property_problem(
                name,
                "INVALID_OPTION",
                f"{bad[0]} was not one of the allowed options: [{', '.join(o['label'] for o in prop.options)}]",
            )
    return text, None


def validate_definition(
    body: Any, groups: dict[str, PropertyGroup], existing: dict[str, PropertyDef]
) -> PropertyDef:
    """A property create request checked as HubSpot checks it (name, type/fieldType pair, group, duplicate)."""
    if not isinstance(body, dict):
        raise HubSpotError(
            400, "VALIDATION_ERROR", "Invalid input JSON on line 1, column 1: expected an object"
        )
    missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)]
    if missing:
        raise HubSpotError(
            400,
            "VALIDATION_ERROR",
            f"Invalid input JSON: missing required field(s): {', '.join(missing)}",
        )
    name, type_, field_type = str(body["name"]), str(body["type"]), str(body["fieldType"])
    if not NAME_PATTERN.fullmatch(name):
        raise HubSpotError(
            400,
            "VALIDATION_ERROR",
            f"Property name '{name}' is invalid: names must start with a lowercase letter and contain only "
            "lowercase letters, numbers and underscores.",
        )
    if type_ not in TYPES:
        raise HubSpotError(
            400, "VALIDATION_ERROR", f"Invalid property type '{type_}'; expected one of {', '.join(TYPES)}."
        )
    if field_type not in FIELD_TYPES[type_]:
        raise HubSpotError(
            400,
            "VALIDATION_ERROR",
            f"fieldType '{field_type}' is not valid for a property of type '{type_}'.",
        )
    group = str(body["groupName"])
    if group not in groups:
        raise HubSpotError(400, "VALIDATION_ERROR", f"Property group '{group}' does not exist.")
    if name in existing:
        raise HubSpotError(
            409,
            "OBJECT_ALREADY_EXISTS",
            f"Property named '{name}' already exists.",
            {"name": [name]},
        )
    options = body.get("options") or []
    if type_ == "bool" and not options:
        options = _BOOL_OPTIONS
    return PropertyDef(
        name=name,
        label=str(body["label"]),
        type=type_,
        field_type=field_type,
        group_name=group,
        description=str(body.get("description") or ""),
        options=[
            {
                "label": str(o.get("label", o.get("value", ""))),
                "value": str(o.get("value", "")),
                "displayOrder": int(o.get("displayOrder", i)),
                "hidden": bool(o.get("hidden", False)),
            }
            for i, o in enumerate(options)
            if isinstance(o, dict)
        ],
        hubspot_defined=False,
        show_currency_symbol=bool(body["showCurrencySymbol"]) if "showCurrencySymbol" in body else None,
        display_order=int(body.get("displayOrder", -1)),
    )
