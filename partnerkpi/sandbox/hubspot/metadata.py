"""The portal's metadata endpoints: pipelines, properties and property groups, association labels (the
associations themselves are read in ``associations.py``)."""

from __future__ import annotations

from typing import Any

from kpi_core.clock import utcnow
from partnerkpi.sandbox.core import Request, Response
from partnerkpi.sandbox.hubspot.errors import HubSpotError
from partnerkpi.sandbox.hubspot.portal import ASSOCIATION_LABELS, INVERSE_TYPES, PIPELINES, Pipeline, Portal
from partnerkpi.sandbox.hubspot.schema import PORTAL_CREATED, PropertyGroup, iso_ms, validate_definition


def pipeline_json(pipeline: Pipeline) -> dict[str, Any]:
    return {
        "label": pipeline.label,
        "displayOrder": pipeline.display_order,
        "id": pipeline.id,
        "stages": [
            {
                "label": s.label,
                "displayOrder": i,
                "metadata": {"isClosed": "true" if s.is_closed else "false", "probability": s.probability},
                "id": s.id,
                "createdAt": PORTAL_CREATED,
                "updatedAt": PORTAL_CREATED,
                "archived": False,
                "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
            }
            for i, s in enumerate(pipeline.stages)
        ],
        "createdAt": PORTAL_CREATED,
        "updatedAt": PORTAL_CREATED,
        "archived": False,
    }


def pipelines(request: Request) -> Response:
    return Response.json({"results": [pipeline_json(p) for p in PIPELINES]})


def pipeline(request: Request, pipeline_id: str) -> Response:
    for p in PIPELINES:
        if p.id == pipeline_id:
            return Response.json(pipeline_json(p))
    raise HubSpotError(404, "OBJECT_NOT_FOUND", f"Unable to find pipeline {pipeline_id}.")


OWNER = {
    "id": "71422915",
    "email": "sandbox.admin@example.com",
    "type": "PERSON",
    "firstName": "Sandbox",
    "lastName": "Admin",
    "userId": 9241177,
    "userIdIncludingInactive": 9241177,
    "createdAt": PORTAL_CREATED,
    "updatedAt": PORTAL_CREATED,
    "archived": False,
    "teams": [],
}
"""The portal's one owner, the user who created it (every HubSpot portal has at least that one)."""


def owners(request: Request) -> Response:
    """``GET /crm/v3/owners``: the owner list (``archived=true``: none were deactivated)."""
    archived = (request.param("archived") or "false").lower() == "true"
    return Response.json({"results": [] if archived else [OWNER]})


class Metadata:
    def __init__(self, portal: Portal) -> None:
        self.portal = portal

    def properties(self, kind: str) -> Response:
        return Response.json({"results": [p.to_json() for p in self.portal.properties[kind].values()]})

    def property(self, kind: str, name: str) -> Response:
        prop = self.portal.properties[kind].get(name)
        if prop is None:
            raise HubSpotError(
                404, "OBJECT_NOT_FOUND", f"Unable to find property {name} for object type {kind}."
            )
        return Response.json(prop.to_json())

    def create_property(self, kind: str, request: Request) -> Response:
        prop = validate_definition(request.json(), self.portal.groups[kind], self.portal.properties[kind])
        prop.created_at = prop.updated_at = iso_ms(utcnow())
        self.portal.properties[kind][prop.name] = prop
        self.portal.version += 1
        return Response.json(prop.to_json(), 201)

    def groups(self, kind: str) -> Response:
        return Response.json({"results": [g.to_json() for g in self.portal.groups[kind].values()]})

    def create_group(self, kind: str, request: Request) -> Response:
        body = request.json()
        if not isinstance(body, dict) or not body.get("name") or not body.get("label"):
            raise HubSpotError(
                400, "VALIDATION_ERROR", "Invalid input JSON: a group needs a name and a label"
            )
        name = str(body["name"])
        groups = self.portal.groups[kind]
        if name in groups:
            raise HubSpotError(
                409,
                "OBJECT_ALREADY_EXISTS",
                f"Property group named '{name}' already exists.",
                {"name": [name]},
            )
        group = groups[name] = PropertyGroup(name, str(body["label"]), int(body.get("displayOrder", -1)))
        return Response.json(group.to_json(), 201)

    @staticmethod
    def labels(from_kind: str) -> Response:
        if from_kind == "deals":
            return Response.json({"results": [t.to_json() for t in ASSOCIATION_LABELS]})
        return Response.json({"results": [t.to_json() for t in INVERSE_TYPES.values()]})
