"""HubSpot's legacy property-definition endpoints, over the portal's one set of definitions (the v3
``/crm/v3/properties`` answers come from the same ``PropertyDef``\\s):

- ``GET /properties/v1/{deals|companies}/properties`` and ``GET /properties/v2/{deals|companies}/properties``
  answer a bare JSON array of definitions (HubSpot's legacy reference, "Get all deal properties" /
  "Get all company properties"; v2 answers v1's shape).
- ``GET /companies/v2/properties``, the older companies path tap-hubspot 4.5 reads: answered as
  ``/properties/v1/companies/properties`` (HubSpot forwards these old ``/{object}/v2/properties`` paths to
  the properties API, as seen for contacts in hubspot-ruby#164; the path is in no current reference).

The definition's legacy keys (``readOnlyValue``, ``readOnlyDefinition``, ``mutableDefinitionNotDeletable``,
``hubspotDefined``, ``createdAt`` as epoch ms...) are those of HubSpot's old docs' example bodies; the
current reference shows the response only as an array of objects.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from partnerkpi.sandbox.core import Request, Response
from partnerkpi.sandbox.hubspot.legacy import epoch_ms
from partnerkpi.sandbox.hubspot.portal import Portal
from partnerkpi.sandbox.hubspot.schema import PropertyDef

Handler = Callable[[Request, "re.Match[str]"], Response]
_KINDS = {"deals": "deals", "deal": "deals", "companies": "companies", "company": "companies"}


def definition(prop: PropertyDef) -> dict[str, Any]:
    return {
        "name": prop.name,
        "label": prop.label,
        "description": prop.description,
        "groupName": prop.group_name,
        "type": prop.type,
        "fieldType": prop.field_type,
        "options": [{**o, "readOnly": prop.hubspot_defined} for o in prop.options],
        "createdAt": epoch_ms(prop.created_at),
        "updatedAt": epoch_ms(prop.updated_at),
        "displayOrder": prop.display_order,
        "readOnlyValue": prop.read_only_value,
        "readOnlyDefinition": prop.hubspot_defined,
        "hidden": False,
        "mutableDefinitionNotDeletable": prop.hubspot_defined,
        "calculated": prop.calculated,
        "externalOptions": False,
        "formField": not prop.hubspot_defined,
        "hubspotDefined": prop.hubspot_defined,
        "deleted": False,
        "displayMode": "current_value",
        "showCurrencySymbol": bool(prop.show_currency_symbol),
        "hasUniqueValue": False,
        "searchableInGlobalSearch": False,
        "optionsAreMutable": not prop.hubspot_defined and prop.type == "enumeration",
    }


class LegacyProperties:
    def __init__(self, portal: Portal) -> None:
        self.portal = portal

    def routes(self) -> list[tuple[str, str, Handler, str]]:
        kinds = "|".join(_KINDS)
        return [
            (
                "GET",
                rf"/properties/(?P<version>v1|v2)/(?P<kind>{kinds})/properties/?",
                lambda r, m: self.listing(_KINDS[m["kind"]]),
                "legacy.properties.list",
            ),
            (
                "GET",
                r"/companies/v2/properties/?",
                lambda r, m: self.listing("companies"),
                "legacy.companies.properties",
            ),
        ]

    def listing(self, kind: str) -> Response:
        return Response.json([definition(p) for p in self.portal.properties[kind].values()])
