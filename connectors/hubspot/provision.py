"""Company properties for the KPIs: the "Partner KPIs" group and one property per field, created when
missing, left alone when present and compatible, refused (never altered) when present with another type.

HubSpot has no percent type: a rate is a number whose scale (percentage points: 63.15 means 63.15 %) is
written into its label and description. Money is a number shown with the portal's currency symbol.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connectors.errors import ProvisionError
from connectors.fields import FieldKind, FieldSpec, ProvisionAction, ProvisionResult
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.config import PROPERTY_NAME, PropertyGroup
from connectors.hubspot.failures import HubSpotApiError
from connectors.hubspot.standard_properties import is_default_company_property

log = logging.getLogger(__name__)

OBJECT_TYPE = "companies"


@dataclass(frozen=True, slots=True)
class PropertyShape:
    type: str
    field_type: str
    show_currency_symbol: bool = False


SHAPES: dict[FieldKind, PropertyShape] = {
    FieldKind.CURRENCY: PropertyShape("number", "number", show_currency_symbol=True),
    FieldKind.PERCENT: PropertyShape("number", "number"),
    FieldKind.NUMBER: PropertyShape("number", "number"),
    FieldKind.DATETIME: PropertyShape("datetime", "date"),
    FieldKind.TEXT: PropertyShape("string", "text"),
}
PERCENT_NOTE = "In percent: 63.15 means 63.15 % (not 0.6315)."
CURRENCY_NOTE = "In the portal's company currency."
FOOTER = "Written by partnerkpi; edits here are overwritten on its next run."


def label_for(spec: FieldSpec) -> str:
    if spec.kind is FieldKind.PERCENT and "%" not in spec.label:
        return f"{spec.label} (%)"
    return spec.label


def description_for(spec: FieldSpec) -> str:
    parts = [spec.description.strip()] if spec.description.strip() else []
    if spec.kind is FieldKind.PERCENT:
        parts.append(PERCENT_NOTE)
    if spec.kind is FieldKind.CURRENCY:
        parts.append(CURRENCY_NOTE)
    parts.append(FOOTER)
    return " ".join(parts)


def definition(spec: FieldSpec, group: str) -> dict[str, Any]:
    """The property create body (a plain dict: the SDK's PropertyCreate has no showCurrencySymbol)."""
    shape = SHAPES[spec.kind]
    body: dict[str, Any] = {
        "name": spec.name,
        "label": label_for(spec),
        "type": shape.type,
        "fieldType": shape.field_type,
        "groupName": group,
        "description": description_for(spec),
        "formField": False,
    }
    if shape.show_currency_symbol:
        body["showCurrencySymbol"] = True
    return body


def incompatibility(spec: FieldSpec, existing: Any) -> str | None:
    """Why an existing property cannot hold the field's values (None: it can)."""
    shape = SHAPES[spec.kind]
    kind = str(getattr(existing, "type", "") or "")
    if kind != shape.type:
        return (
            f"company property {spec.name} exists with type {kind or 'unknown'} "
            f"({getattr(existing, 'field_type', '')}); the KPI needs type {shape.type} ({spec.kind.value}). "
            "It was left unchanged: map the KPI to another property name, or change the property in HubSpot"
        )
    return None


def is_default_property(name: str, found: Any = None) -> bool:
    """A property HubSpot defines (never partnerkpi's to write): a default company property or an
    ``hs_`` name (standard_properties), or one the portal flags ``hubspotDefined``."""
    return is_default_company_property(name) or bool(getattr(found, "hubspot_defined", False))


def why_not_ours(name: str, spec: FieldSpec | None, found: Any) -> str | None:
    """Why company property ``name`` must not be written (None: one of ours, with the expected type)."""
    if is_default_property(name, found):
        return f"company property {name} is a HubSpot default property; partnerkpi writes only its own properties"
    if spec is None:
        return f"company property {name} is not a field of the writeback mapping"
    if found is None:
        return f"company property {name} does not exist: run `partnerkpi provision`"
    why = incompatibility(spec, found)
    if why is not None:
        return why
    meta = getattr(found, "modification_metadata", None)
    if getattr(meta, "read_only_value", False) or getattr(found, "calculated", False):
        return f"company property {name} is read-only in HubSpot: map the KPI to another property"
    return None


def refuse_unowned(
    targets: Iterable[str], specs: Mapping[str, FieldSpec], existing: Mapping[str, Any]
) -> None:
    """Defence in depth at write time: ProvisionError naming the first target that is not one of our
    properties with the expected type, before anything of the batch is sent."""
    for name in dict.fromkeys(targets):
        why = why_not_ours(name, specs.get(name), existing.get(name))
        if why is not None:
            raise ProvisionError(f"nothing was written: {why}")


class Provisioner:
    def __init__(self, client: HubSpotClient, group: PropertyGroup) -> None:
        self.client = client
        self.group = group
        self._known: dict[str, Any] | None = None

    def existing_properties(self) -> dict[str, Any]:
        api = self.client.apis.properties
        answer = self.client.call(lambda: api.get_all(OBJECT_TYPE, archived=False))
        self._known = {str(p.name): p for p in answer.results or []}
        return self._known

    def known_properties(self) -> dict[str, Any]:
        """The company properties as last read (read once when never read)."""
        return self._known if self._known is not None else self.existing_properties()

    def ensure_group(self) -> bool:
        """True when the group had to be created."""
        api = self.client.apis.property_groups
        answer = self.client.call(lambda: api.get_all(OBJECT_TYPE))
        if any(str(g.name) == self.group.name for g in answer.results or []):
            return False
        body = {"name": self.group.name, "label": self.group.label, "displayOrder": -1}
        try:
            self.client.call(lambda: api.create(OBJECT_TYPE, body))
        except HubSpotApiError as exc:
            if exc.status != 409:
                raise ProvisionError(
                    f"could not create the company property group {self.group.name}: {exc}"
                ) from None
        log.info("HubSpot: created company property group %s", self.group.name)
        return True

    def provision(self, specs: Sequence[FieldSpec]) -> list[ProvisionResult]:
        existing = self.existing_properties()
        self._known = None  # properties are created below: the next write reads them again
        missing = [s for s in specs if s.name not in existing and PROPERTY_NAME.match(s.name)]
        if missing:
            self.ensure_group()
        return [self._one(spec, existing) for spec in specs]

    def _one(self, spec: FieldSpec, existing: dict[str, Any]) -> ProvisionResult:
        if not PROPERTY_NAME.match(spec.name):
            return ProvisionResult(
                spec.name,
                ProvisionAction.REFUSED,
                "not a HubSpot property name (lower-case letters, digits and underscores, starting with a letter)",
            )
        current = existing.get(spec.name)
        if current is not None:
            why = incompatibility(spec, current)
            if why is not None:
                return ProvisionResult(spec.name, ProvisionAction.REFUSED, why)
            return ProvisionResult(
                spec.name, ProvisionAction.UNCHANGED, f"company property {spec.name} exists"
            )
        api = self.client.apis.properties
        body = definition(spec, self.group.name)
        try:
            self.client.call(lambda: api.create(OBJECT_TYPE, body))
        except HubSpotApiError as exc:
            if exc.status == 409:  # created meanwhile (another run): judge what is there now
                return self._one(spec, self.existing_properties())
            return ProvisionResult(spec.name, ProvisionAction.REFUSED, f"could not be created: {exc}")
        return ProvisionResult(
            spec.name,
            ProvisionAction.CREATED,
            f"created company property {spec.name} ({SHAPES[spec.kind].type}) in group {self.group.label}",
        )

    def check(self, specs: Sequence[FieldSpec]) -> list[tuple[FieldSpec, str | None]]:
        """Each spec with what is wrong with its property (None: present and compatible)."""
        existing = self.existing_properties()
        out: list[tuple[FieldSpec, str | None]] = []
        for spec in specs:
            current = existing.get(spec.name)
            if current is None:
                out.append((spec, f"company property {spec.name} is missing: run `partnerkpi provision`"))
            else:
                out.append((spec, incompatibility(spec, current)))
        return out
