"""Creating the KPI fields on Account through the Tooling API, and granting read access to them through a
permission set (a field created by API is invisible to users until field-level security grants it).

Idempotent: a field that exists with a compatible type is left alone (UNCHANGED); one with an
incompatible type is REFUSED and never altered; a permission that exists is not written again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from simple_salesforce.api import Salesforce

from connectors.answers import parse_answer
from connectors.errors import ProvisionError
from connectors.fields import FieldKind, FieldSpec, ProvisionAction, ProvisionResult
from connectors.salesforce import soql
from connectors.salesforce.answers import Describe
from connectors.salesforce.client import SalesforceClient, sobject
from connectors.salesforce.failures import SalesforceApiError
from connectors.salesforce.field_names import field_key, is_custom_field
from connectors.salesforce.reader import Reader

log = logging.getLogger(__name__)

COMPATIBLE_TYPES: dict[FieldKind, frozenset[str]] = {
    FieldKind.CURRENCY: frozenset({"currency"}),
    FieldKind.PERCENT: frozenset({"percent"}),
    FieldKind.NUMBER: frozenset({"double", "int"}),
    FieldKind.DATETIME: frozenset({"datetime"}),
    FieldKind.TEXT: frozenset({"string", "textarea"}),
}
DESCRIBE_TYPES = {
    "Currency": "currency",
    "Percent": "percent",
    "Number": "double",
    "DateTime": "datetime",
    "Text": "string",
    "LongTextArea": "textarea",
    "TextArea": "textarea",
}
"""Metadata field type -> the type describe() reports."""
TEXT_MAX = 255
HELP_MAX = 510
DESCRIPTION_MAX = 1000


def field_metadata(spec: FieldSpec) -> dict[str, Any]:
    """The Tooling API's CustomField Metadata for a spec."""
    meta: dict[str, Any] = {
        "label": spec.label[:40],
        "description": spec.description[:DESCRIPTION_MAX],
        "inlineHelpText": spec.description[:HELP_MAX],
    }
    if spec.kind is FieldKind.CURRENCY:
        meta.update(type="Currency", precision=spec.precision, scale=spec.scale)
    elif spec.kind is FieldKind.PERCENT:
        meta.update(type="Percent", precision=spec.precision, scale=spec.scale)
    elif spec.kind is FieldKind.NUMBER:
        meta.update(type="Number", precision=spec.precision, scale=spec.scale)
    elif spec.kind is FieldKind.DATETIME:
        meta.update(type="DateTime")
    elif spec.length <= TEXT_MAX:
        meta.update(type="Text", length=spec.length)
    else:
        meta.update(type="LongTextArea", length=spec.length, visibleLines=5)
    return meta


def incompatibility(spec: FieldSpec, existing: Mapping[str, Any], sobject: str) -> str | None:
    """Why an existing field cannot hold the spec's values (None: it can)."""
    kind = str(existing.get("type") or "")
    if kind not in COMPATIBLE_TYPES[spec.kind]:
        wanted = field_metadata(spec)["type"]
        return (
            f"{sobject}.{spec.name} exists as a {kind or 'unknown'} field, but {spec.label!r} needs {wanted}; "
            "it was left unchanged: rename the mapping's field, or change or delete the existing field in Setup"
        )
    if spec.kind is FieldKind.TEXT:
        length = int(existing.get("length") or 0)
        if kind == "string" and length < min(spec.length, TEXT_MAX):
            return (
                f"{sobject}.{spec.name} is a Text({length}) field, shorter than the {spec.length} characters "
                f"{spec.label!r} may need; it was left unchanged: lengthen it in Setup"
            )
    return None


def why_not_ours(
    name: str, spec: FieldSpec | None, found: Mapping[str, Any] | None, sobject: str
) -> str | None:
    """Why ``name`` must not be written (None: it is one of our fields, present with the expected type)."""
    where = f"{sobject}.{name}"
    if not is_custom_field(name) or (found is not None and found.get("custom") is False):
        return f"{where} is a standard field; partnerkpi writes only its own custom fields (API names ending in __c)"
    if spec is None:
        return f"{where} is not a field of the writeback mapping"
    if found is None:
        return f"{where} does not exist, or this user cannot see it: run `partnerkpi provision`"
    why = incompatibility(spec, found, sobject)
    if why is not None:
        return why
    if found.get("updateable") is False:
        return (
            f"{where} exists but this user cannot edit it: run `partnerkpi provision` (writer_permission_set)"
        )
    return None


def refuse_unowned(
    targets: Iterable[str],
    specs: Mapping[str, FieldSpec],
    described: Mapping[str, Mapping[str, Any]],
    sobject: str,
) -> None:
    """Defence in depth at write time: ProvisionError naming the first target that is not one of our
    custom fields with the expected type, before anything of the batch is sent."""
    by_key = {field_key(name): found for name, found in described.items()}
    for name in dict.fromkeys(targets):
        why = why_not_ours(name, specs.get(name), by_key.get(field_key(name)), sobject)
        if why is not None:
            raise ProvisionError(f"nothing was written: {why}")


@dataclass
class Provisioner:
    client: SalesforceClient
    reader: Reader
    sobject: str
    permission_set: str
    writer_permission_set: str | None = None
    _known: dict[str, dict[str, Any]] | None = field(default=None, init=False, repr=False)

    def existing_fields(self) -> dict[str, dict[str, Any]]:
        described = self.client.read(
            f"describing {self.sobject}",
            lambda sf: getattr(sf, self.sobject).describe(),
            lambda answer, call: parse_answer(Describe, answer, call),
        )
        self._known = described.by_name()
        return self._known

    def known_fields(self) -> dict[str, dict[str, Any]]:
        """The partner object's fields as last described (describing it once when never described)."""
        return self._known if self._known is not None else self.existing_fields()

    def provision(self, specs: Sequence[FieldSpec]) -> list[ProvisionResult]:
        existing = self.existing_fields()
        self._known = None  # fields are created and granted below: the next write describes again
        results = [self._one(spec, existing.get(spec.name)) for spec in specs]
        usable = [r.field for r in results if r.action is not ProvisionAction.REFUSED]
        if not usable:
            return results
        notes: dict[str, list[str]] = {name: [] for name in usable}
        for name in self.grant(self.permission_set, usable, edit=False):
            notes[name].append(f"read access granted via permission set {self.permission_set}")
        if self.writer_permission_set:
            for name in self.grant(self.writer_permission_set, usable, edit=True):
                notes[name].append(f"edit access granted via permission set {self.writer_permission_set}")
            assigned = self.assign_to_me(self.writer_permission_set)
            if assigned:
                notes[usable[0]].append(assigned)
        return [
            ProvisionResult(r.field, r.action, "; ".join([r.message, *notes.get(r.field, [])]).strip("; "))
            for r in results
        ]

    def _one(self, spec: FieldSpec, existing: Mapping[str, Any] | None) -> ProvisionResult:
        if not is_custom_field(spec.name):
            return ProvisionResult(
                spec.name, ProvisionAction.REFUSED, f"{spec.name}: custom field API names end in __c"
            )
        if existing is not None:
            return self._judge(spec, existing)
        body: dict[str, Any] = {"FullName": f"{self.sobject}.{spec.name}", "Metadata": field_metadata(spec)}
        try:
            self.client.call(
                f"creating {self.sobject}.{spec.name}",
                lambda sf: sf.toolingexecute("sobjects/CustomField", method="POST", data=body),
            )
        except SalesforceApiError as exc:
            if exc.code == "DUPLICATE_DEVELOPER_NAME":
                # the field exists but field-level security hides it from describe: judge its metadata
                hidden = self.hidden_field(spec.name)
                if hidden is not None:
                    return self._judge(spec, hidden)
            return ProvisionResult(spec.name, ProvisionAction.REFUSED, f"could not be created: {exc}")
        log.info("created %s.%s (%s)", self.sobject, spec.name, body["Metadata"]["type"])
        return ProvisionResult(
            spec.name,
            ProvisionAction.CREATED,
            f"created {self.sobject}.{spec.name} as {body['Metadata']['type']}",
        )

    def _judge(self, spec: FieldSpec, existing: Mapping[str, Any]) -> ProvisionResult:
        why = incompatibility(spec, existing, self.sobject)
        if why is not None:
            return ProvisionResult(spec.name, ProvisionAction.REFUSED, why)
        return ProvisionResult(spec.name, ProvisionAction.UNCHANGED, f"{self.sobject}.{spec.name} exists")

    def hidden_field(self, name: str) -> dict[str, Any] | None:
        """A custom field's type from the Tooling API (describe shows only fields the user may read)."""
        query = soql.select(
            ["Id", "DeveloperName", "Metadata"],
            "CustomField",
            where=[
                soql.condition("DeveloperName", "=", name.removesuffix("__c")),
                soql.condition("TableEnumOrId", "=", self.sobject),
            ],
        )
        answer: dict[str, Any] = self.client.call(
            f"reading the Tooling API's {self.sobject}.{name}",
            lambda sf: sf.toolingexecute("query/", method="GET", params={"q": query}),
        )
        for row in answer.get("records") or ():
            meta = row.get("Metadata") or {}
            kind = DESCRIBE_TYPES.get(str(meta.get("type") or ""), str(meta.get("type") or "").lower())
            return {"name": name, "type": kind, "length": meta.get("length") or 0}
        return None

    # -- field-level security ----------------------------------------------------------------------------
    def permission_set_id(self, set_name: str, create: bool) -> str | None:
        query = soql.select(["Id"], "PermissionSet", where=[soql.condition("Name", "=", set_name)])
        for row in self.reader.records(query, what=f"reading permission set {set_name}"):
            return str(row["Id"])
        if not create:
            return None
        body = {
            "Name": set_name,
            "Label": set_name.replace("_", " "),
            "Description": "Access to the partner KPI fields written by partnerkpi.",
        }
        answer: dict[str, Any] = self.client.call(
            f"creating permission set {set_name}", lambda sf: sobject(sf, "PermissionSet").create(body)
        )
        return str(answer["id"])

    def field_permissions(self, permission_set_id: str) -> dict[str, dict[str, Any]]:
        query = soql.select(
            ["Id", "Field", "PermissionsRead", "PermissionsEdit"],
            "FieldPermissions",
            where=[
                soql.condition("ParentId", "=", permission_set_id),
                soql.condition("SobjectType", "=", self.sobject),
            ],
        )
        return {
            str(r["Field"]).lower(): r for r in self.reader.records(query, what="reading FieldPermissions")
        }

    def grant(self, set_name: str, fields: Sequence[str], *, edit: bool) -> list[str]:
        """Read (and, with ``edit``, edit) access on ``fields`` through a permission set, created when
        missing; the fields whose access changed."""
        set_id = self.permission_set_id(set_name, create=True)
        assert set_id is not None
        current = self.field_permissions(set_id)
        changed = []
        for name in fields:
            qualified = f"{self.sobject}.{name}"
            row = current.get(qualified.lower())
            wanted = {"PermissionsRead": True, "PermissionsEdit": edit}
            if (
                row is not None
                and _flag(row.get("PermissionsRead"))
                and (_flag(row.get("PermissionsEdit")) or not edit)
            ):
                continue
            if row is not None:
                row_id = str(row["Id"])

                def update(sf: Salesforce, row_id: str = row_id, values: dict[str, Any] = wanted) -> Any:
                    return sobject(sf, "FieldPermissions").update(row_id, values)

                self.client.call(f"granting access to {qualified}", update)
            else:
                values = {"ParentId": set_id, "SobjectType": self.sobject, "Field": qualified, **wanted}

                def create(sf: Salesforce, values: dict[str, Any] = values) -> Any:
                    return sobject(sf, "FieldPermissions").create(values)

                self.client.call(f"granting access to {qualified}", create)
            changed.append(name)
        return changed

    def current_user_id(self) -> str | None:
        """The API user's id: by username when the flow has one, else from the OAuth userinfo."""
        username = getattr(self.client.config.auth, "username", None)
        if username:
            query = soql.select(["Id"], "User", where=[soql.condition("Username", "=", username)], limit=1)
            for row in self.reader.records(query, what="reading the API user"):
                return str(row["Id"])
            return None
        try:
            info: Any = self.client.call("reading the OAuth userinfo", lambda sf: sf.oauth2("userinfo"))
        except SalesforceApiError:
            return None
        user = info.get("user_id") if isinstance(info, Mapping) else None
        return str(user) if user else None

    def assign_to_me(self, set_name: str) -> str:
        """Assign the writer permission set to the API user (so writeback may edit the fields); a note
        for the result, empty when nothing changed."""
        set_id = self.permission_set_id(set_name, create=False)
        user_id = self.current_user_id()
        if set_id is None or user_id is None:
            return f"assign permission set {set_name} to the integration user in Setup (its id is not known)"
        query = soql.select(
            ["Id"],
            "PermissionSetAssignment",
            where=[
                soql.condition("PermissionSetId", "=", set_id),
                soql.condition("AssigneeId", "=", user_id),
            ],
        )
        if any(True for _ in self.reader.records(query, what="reading permission set assignments")):
            return ""
        body = {"PermissionSetId": set_id, "AssigneeId": user_id}
        self.client.call(
            f"assigning permission set {set_name}",
            lambda sf: sobject(sf, "PermissionSetAssignment").create(body),
        )
        return f"permission set {set_name} assigned to the integration user"


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")
