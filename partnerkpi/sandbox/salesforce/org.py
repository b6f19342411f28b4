"""The emulated org: its objects built from the seed, custom fields created through the Tooling API,
field-level security (a new custom field is invisible until FieldPermissions grant it), and saving a
record with the checks Salesforce makes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from kpi_core.clock import utcnow
from partnerkpi.sandbox.generator import CURRENCIES, STAGES, SeedData, generate
from partnerkpi.sandbox.salesforce.ids import PREFIXES, IdMinter, make_id
from partnerkpi.sandbox.salesforce.schema import (
    CUSTOM_TYPES,
    FieldDef,
    RecordError,
    RequestError,
    coerce,
    standard_objects,
    tooling_objects,
)
from partnerkpi.sandbox.salesforce.tables import (
    LEAD_SOURCES,
    DictTable,
    OpportunityPartnerTable,
    OpportunityTable,
    Table,
)

WRITABLE_OBJECTS = frozenset(
    {"Account", "Opportunity", "PermissionSet", "FieldPermissions", "PermissionSetAssignment"}
)
_ROLES = {
    "platinum": "Distributor",
    "gold": "VAR/Reseller",
    "silver": "VAR/Reseller",
    "registered": "Consultant",
}
_CUSTOM_NAME = re.compile(r"(?P<object>[A-Za-z][A-Za-z0-9_]*)\.(?P<field>[A-Za-z][A-Za-z0-9_]*__c)")
_FOREVER_START = date(1, 1, 1)
_FOREVER_END = date(9999, 12, 31)


@dataclass
class Org:
    """All records of the emulated org, and the one API user."""

    tables: dict[str, Table]
    tooling: dict[str, Table]
    org_id: str
    user_id: str
    profile_permission_set_id: str
    enforce_field_security: bool = True
    ids: IdMinter = field(default_factory=IdMinter)
    """Ids of what is no table row: Bulk jobs of both APIs, batches, result files, query cursors."""

    def table(self, name: str, tooling: bool = False) -> Table | None:
        lowered = name.lower()
        for table_name, table in (self.tooling if tooling else self.tables).items():
            if table_name.lower() == lowered:
                return table
        return None

    # -- field-level security ----------------------------------------------------------------------------
    def user_permission_sets(self) -> set[str]:
        sets = {self.profile_permission_set_id}
        assignments = self.tables["PermissionSetAssignment"]
        for row in assignments.rows():
            if not assignments.deleted(row) and assignments.value(row, "AssigneeId") == self.user_id:
                sets.add(str(assignments.value(row, "PermissionSetId")))
        return sets

    def field_access(self, table: Table, fdef: FieldDef) -> tuple[bool, bool]:
        """(readable, editable) for the API user: custom fields need FieldPermissions."""
        if not fdef.custom or not self.enforce_field_security:
            return True, True
        perms = self.tables["FieldPermissions"]
        wanted = f"{table.name}.{fdef.name}".lower()
        sets = self.user_permission_sets()
        read = edit = False
        for row in perms.rows():
            if perms.deleted(row) or str(perms.value(row, "Field")).lower() != wanted:
                continue
            if perms.value(row, "ParentId") in sets:
                read = read or bool(perms.value(row, "PermissionsRead"))
                edit = edit or bool(perms.value(row, "PermissionsEdit"))
        return read or edit, edit

    def visible_fields(self, table: Table) -> list[FieldDef]:
        return [f for f in table.fields.values() if self.field_access(table, f)[0]]

    # -- custom fields -----------------------------------------------------------------------------------
    def create_custom_field(self, payload: dict[str, Any]) -> str:
        full_name = str(payload.get("FullName") or "")
        metadata = payload.get("Metadata") or {}
        match = _CUSTOM_NAME.fullmatch(full_name)
        if match is None or not isinstance(metadata, dict):
            raise RequestError(
                "INVALID_INPUT", f"Invalid full name or metadata for a custom field: {full_name!r}"
            )
        table = self.table(match["object"])
        if table is None:
            raise RequestError("INVALID_INPUT", f"Cannot find an object named {match['object']}")
        name = match["field"]
        if table.field(name) is not None:
            raise RequestError(
                "DUPLICATE_DEVELOPER_NAME", f"There is already a field named {name[:-3]} on {table.name}."
            )
        kind = str(metadata.get("type") or "")
        sf_type = CUSTOM_TYPES.get(kind)
        if sf_type is None:
            raise RequestError("FIELD_INTEGRITY_EXCEPTION", f"Field type is not supported: {kind!r}")
        label = str(metadata.get("label") or name[:-3])
        precision = int(metadata.get("precision") or 0)
        scale = int(metadata.get("scale") or 0)
        length = int(metadata.get("length") or 0)
        if sf_type in ("currency", "percent", "double"):
            if not 1 <= precision <= 18:
                raise RequestError("FIELD_INTEGRITY_EXCEPTION", "Precision: value must be between 1 and 18")
            if not 0 <= scale <= precision:
                raise RequestError(
                    "FIELD_INTEGRITY_EXCEPTION", "Scale: value must not be greater than the precision"
                )
        elif sf_type == "string":
            if not 1 <= length <= 255:
                raise RequestError("FIELD_INTEGRITY_EXCEPTION", "Length: value must be between 1 and 255")
        else:
            precision = scale = length = 0
        reference_to = relationship = None
        if sf_type == "reference":
            reference_to = str(metadata.get("referenceTo") or "")
            if self.table(reference_to) is None:
                raise RequestError(
                    "FIELD_INTEGRITY_EXCEPTION", f"referenceTo: no such object {reference_to!r}"
                )
            relationship = str(metadata.get("relationshipName") or name[:-3]) + "__r"
            length = 18
        tooling = self.tooling["CustomField"]
        assert isinstance(tooling, DictTable)
        number = tooling.next_number  # the table's own counter: never a count of rows, so never reused
        field_id = make_id(PREFIXES["CustomField"], number)
        fdef = FieldDef(
            name,
            sf_type,
            label,
            length=length,
            precision=precision,
            scale=scale,
            updateable=True,
            createable=True,
            custom=True,
            description=str(metadata.get("description") or ""),
            custom_type=kind,
            custom_id=field_id,
            reference_to=reference_to,
            relationship_name=relationship,
        )
        table.add_field(fdef)
        tooling.insert(
            {
                "DeveloperName": name[:-3],
                "TableEnumOrId": table.name,
                "NamespacePrefix": None,
                "Description": fdef.description or None,
                "FullName": f"{table.name}.{name}",
                "Length": length or None,
                "Precision": precision or None,
                "Scale": scale if sf_type in ("currency", "percent", "double") else None,
                "Metadata": {**metadata, "label": label, "type": kind},
            },
            utcnow(),
            number=number,
        )
        return field_id

    # -- saving ------------------------------------------------------------------------------------------
    def prepare(
        self, table: Table, record: dict[str, Any], creating: bool, as_user: bool = False
    ) -> dict[str, Any]:
        """Check and coerce a record body's fields; RecordError / RequestError as Salesforce answers."""
        values: dict[str, Any] = {}
        refused: list[str] = []
        for key, raw in record.items():
            if key == "attributes" or key.lower() == "id":
                continue
            fdef = table.field(key)
            readable, editable = self.field_access(table, fdef) if fdef else (False, False)
            if fdef is None or not readable:
                raise RecordError(
                    "INVALID_FIELD", f"No such column '{key}' on sobject of type {table.name}", [key]
                )
            allowed = fdef.createable if creating else fdef.updateable
            if not allowed or not (editable or as_user):
                refused.append(fdef.name)
                continue
            values[fdef.name] = coerce(fdef, raw)
        if refused:
            raise RecordError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(refused)}. Please check the security settings of this "
                "field and verify that it is read/write for your profile or permission set.",
                refused,
            )
        if "CurrencyIsoCode" in values and values["CurrencyIsoCode"] not in CURRENCIES:
            raise RecordError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"Currency ISO Code: invalid currency code: {values['CurrencyIsoCode']}",
                ["CurrencyIsoCode"],
            )
        if creating:
            missing = [
                f.name
                for f in table.fields.values()
                if f.createable and not f.nillable and f.type != "boolean" and values.get(f.name) is None
            ]
            if missing:
                raise RecordError(
                    "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
                )
        self._check_unique(table, values, creating)
        return values

    def _check_unique(self, table: Table, values: dict[str, Any], creating: bool) -> None:
        if table.name == "PermissionSetAssignment" and creating:
            for row in table.rows():
                if table.value(row, "AssigneeId") == values.get("AssigneeId") and table.value(
                    row, "PermissionSetId"
                ) == values.get("PermissionSetId"):
                    raise RecordError(
                        "DUPLICATE_VALUE", "Duplicate PermissionSetAssignment. Assignment already exists."
                    )
        if table.name == "PermissionSet" and "Name" in values:
            for row in table.rows():
                if str(table.value(row, "Name")).lower() == str(values["Name"]).lower():
                    raise RecordError(
                        "DUPLICATE_DEVELOPER_NAME",
                        "The API Name you entered is already in use. Enter a unique API name.",
                        ["Name"],
                    )
        if table.name == "FieldPermissions" and creating:
            self._check_field_reference(values)
            for row in table.rows():
                if (
                    table.value(row, "ParentId") == values.get("ParentId")
                    and str(table.value(row, "Field")).lower() == str(values.get("Field", "")).lower()
                ):
                    raise RecordError(
                        "DUPLICATE_VALUE",
                        "duplicate value found: Field duplicates value on record with id: "
                        + table.id_of(row),
                    )

    def _check_field_reference(self, values: dict[str, Any]) -> None:
        """FieldPermissions name an existing object and field (so a grant made before the field fails)."""
        sobject = self.table(str(values.get("SobjectType") or ""))
        if sobject is None:
            raise RecordError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"Sobject Type Name: bad value for restricted picklist field: {values.get('SobjectType')}",
                ["SobjectType"],
            )
        object_name, _, field_name = str(values.get("Field") or "").partition(".")
        if object_name.lower() != sobject.name.lower() or sobject.field(field_name) is None:
            raise RecordError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"Field Name: bad value for restricted picklist field: {values.get('Field')}",
                ["Field"],
            )
        if values.get("ParentId") and self.tables["PermissionSet"].find(str(values["ParentId"])) is None:
            raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["ParentId"])

    def locate(self, table: Table, record_id: Any, label: str) -> int:
        if not isinstance(record_id, str) or not record_id:
            raise RecordError("MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
        row = table.find(record_id)
        if row is None:
            if not record_id.startswith(table.prefix):
                raise RecordError(
                    "MALFORMED_ID", f"{label} ID: id value of incorrect type: {record_id}", ["Id"]
                )
            raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
        if table.deleted(row):
            raise RecordError("ENTITY_IS_DELETED", "entity is deleted", [])
        return row


def _stage_rows(table: DictTable, now: datetime) -> dict[str, tuple[bool, bool, float]]:
    meta: dict[str, tuple[bool, bool, float]] = {}
    for order, stage in enumerate(STAGES, start=1):
        percent = Decimal(int(stage.probability * 100))
        forecast = "Closed" if stage.is_won else "Omitted" if stage.is_closed else "Pipeline"
        if not stage.is_closed and stage.probability >= 0.7:
            forecast = "Commit"
        table.insert(
            {
                "MasterLabel": stage.label,
                "ApiName": stage.label,
                "IsActive": True,
                "SortOrder": order,
                "IsClosed": stage.is_closed,
                "IsWon": stage.is_won,
                "ForecastCategoryName": forecast,
                "DefaultProbability": percent,
            },
            now,
        )
        meta[stage.label] = (stage.is_closed, stage.is_won, float(percent))
    return meta


def build_org(data: SeedData | None = None) -> Org:
    """The org the seed describes: partner Accounts, Opportunities, stages, currencies and rates."""
    data = data or generate()
    created = datetime.combine(data.end.replace(day=1), datetime.min.time(), timezone.utc).replace(
        year=data.end.year - 3
    )
    defs = standard_objects(CURRENCIES, tuple(s.label for s in STAGES), tuple(LEAD_SOURCES.values()))
    tables: dict[str, Table] = {}
    for name in (
        "Account",
        "OpportunityStage",
        "CurrencyType",
        "DatedConversionRate",
        "User",
        "PermissionSet",
        "FieldPermissions",
        "PermissionSetAssignment",
    ):
        tables[name] = DictTable(name, PREFIXES[name], defs[name])
    accounts = tables["Account"]
    assert isinstance(accounts, DictTable)
    for partner in data.partners:
        accounts.insert(
            {
                "Name": partner.name,
                "Type": "Partner",
                "IsPartner": True,
                "CurrencyIsoCode": partner.currency,
                "Industry": None,
            },
            created,
            number=partner.key,
        )
    first_customer = max((p.key for p in data.partners), default=0) + 1
    for i in range(5):
        accounts.insert(
            {
                "Name": f"Customer {i + 1:04d}",
                "Type": "Customer",
                "IsPartner": False,
                "CurrencyIsoCode": "USD",
            },
            created,
            number=first_customer + i,
        )
    stages = tables["OpportunityStage"]
    assert isinstance(stages, DictTable)
    stage_meta = _stage_rows(stages, created)
    currency_types = tables["CurrencyType"]
    assert isinstance(currency_types, DictTable)
    for code in CURRENCIES:
        currency_types.insert(
            {
                "IsoCode": code,
                "ConversionRate": data.static_rates.get(code, Decimal(1)),
                "DecimalPlaces": 2,
                "IsActive": True,
                "IsCorporate": code == data.corporate_currency,
            },
            created,
        )
    dated = tables["DatedConversionRate"]
    assert isinstance(dated, DictTable)
    dated.insert(
        {
            "IsoCode": data.corporate_currency,
            "ConversionRate": Decimal(1),
            "StartDate": _FOREVER_START,
            "NextStartDate": _FOREVER_END,
        },
        created,
    )
    first_of: dict[str, bool] = {}
    for rate in data.dated_rates:
        start = (
            rate.start if first_of.get(rate.currency) else _FOREVER_START
        )  # the first period starts at 0001-01-01
        first_of[rate.currency] = True
        dated.insert(
            {
                "IsoCode": rate.currency,
                "ConversionRate": rate.rate,
                "StartDate": start,
                "NextStartDate": rate.next_start or _FOREVER_END,
            },
            created,
        )
    users = tables["User"]
    assert isinstance(users, DictTable)
    permission_sets = tables["PermissionSet"]
    assert isinstance(permission_sets, DictTable)
    profile_set = permission_sets.insert(
        {
            "Name": "X00eKj000000001AAA",
            "Label": "00eKj000000001",
            "IsOwnedByProfile": True,
            "ProfileId": make_id("00e", 1),
        },
        created,
    )
    columns = data.columns
    if columns is None:
        raise ValueError("the Salesforce emulation needs generated opportunities (SeedData.columns)")
    roles = {p.key: _ROLES.get(p.tier, "VAR/Reseller") for p in data.partners}
    opportunities = OpportunityTable(defs["Opportunity"], columns, stage_meta)
    tables["Opportunity"] = opportunities
    tables["OpportunityPartner"] = OpportunityPartnerTable(defs["OpportunityPartner"], opportunities, roles)
    tooling_tables: dict[str, Table] = {
        "CustomField": DictTable("CustomField", "00N", tooling_objects()["CustomField"])
    }
    org = Org(
        tables=tables,
        tooling=tooling_tables,
        org_id=make_id("00D", 1),
        user_id="",
        profile_permission_set_id=permission_sets.id_of(profile_set),
    )
    _existing_custom_fields(org, data, created)
    return org


def _existing_custom_fields(org: Org, data: SeedData, created: datetime) -> None:
    """Custom fields a real partner org already has (visible to the API user's profile): the partner's
    tier on Account, and a custom partner lookup on Opportunity (orgs without PRM attribute deals so)."""
    org.create_custom_field(
        {
            "FullName": "Account.Partner_Tier__c",
            "Metadata": {
                "label": "Partner Tier",
                "type": "Text",
                "length": 40,
                "description": "Partner program tier",
            },
        }
    )
    org.create_custom_field(
        {
            "FullName": "Opportunity.Partner__c",
            "Metadata": {
                "label": "Partner",
                "type": "Lookup",
                "referenceTo": "Account",
                "relationshipName": "Partner",
                "description": "The partner who brought the deal (kept in step with PartnerAccountId)",
            },
        }
    )
    accounts = org.tables["Account"]
    tiers = {p.key: p.tier.capitalize() for p in data.partners}
    for partner_key, tier in tiers.items():
        row = accounts.find(make_id("001", partner_key))
        if row is not None:
            accounts.records[row]["Partner_Tier__c"] = tier  # type: ignore[attr-defined]
    grants = org.tables["FieldPermissions"]
    for field_name in ("Account.Partner_Tier__c", "Opportunity.Partner__c"):
        grants.insert(
            {
                "ParentId": org.profile_permission_set_id,
                "SobjectType": field_name.split(".")[0],
                "Field": field_name,
                "PermissionsRead": True,
                "PermissionsEdit": True,
            },
            created,
        )


def add_user(org: Org, username: str) -> None:
    users = org.tables["User"]
    assert isinstance(users, DictTable)
    row = users.insert(
        {
            "Username": username,
            "Name": "Partner Ops",
            "Email": username,
            "IsActive": True,
            "ProfileId": make_id("00e", 1),
        },
        utcnow(),
    )
    org.user_id = users.id_of(row)


def json_ready(value: Any) -> Any:
    """Admin answers: Decimal and dates as strings a test can compare."""
    if isinstance(value, (datetime, date, Decimal)):
        return str(value)
    return value
