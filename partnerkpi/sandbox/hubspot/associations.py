"""Associations between CRM objects, as each API version reads them: the ``associations`` parameter of the v3
list and get, ``GET /crm/v3/objects/{type}/{id}/associations/{to}``, ``GET /crm/v4/objects/{type}/{id}/
associations/{to}`` and the v3 and v4 batch reads ``POST /crm/v{3,4}/associations/{from}/{to}/batch/read``.

The portal holds deal-company links (read from either side). Every other standard object type (contacts,
line items, tickets...) exists in every HubSpot portal, so associations to it are empty, not 404 (Airbyte's
deals stream reads deal->contacts and deal->line_items on every page); an unknown object type in a path stays
404 in HubSpot's error format, and in a list's ``associations`` parameter it is HubSpot's 400 "Unable to infer
object type from: false" (quoted in HubSpot/hubspot-api-php#128).

Pages: v3 and v4 single-object reads take ``limit`` (at most 500, HubSpot's documented maximum) and ``after``;
the v3 batch read and the associations embedded in a list or get carry at most 100 per object with
``paging.next.link`` to the v3 read (HubSpot/hubspot-api-python#135 quotes such a page); the v4 batch read 500
per input. The ``after`` cursors are offsets here (HubSpot's are opaque strings; clients pass them back).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kpi_core.clock import utcnow
from partnerkpi.sandbox.core import Request, Response
from partnerkpi.sandbox.hubspot.errors import HubSpotError, standard_error
from partnerkpi.sandbox.hubspot.portal import (
    INVERSE_TYPES,
    V3_TYPE_NAMES,
    AssociationType,
    Portal,
)
from partnerkpi.sandbox.hubspot.schema import iso_ms

OBJECT_TYPES: dict[str, tuple[str, str]] = {
    "contacts": ("contact", "0-1"),
    "companies": ("company", "0-2"),
    "deals": ("deal", "0-3"),
    "tickets": ("ticket", "0-5"),
    "products": ("product", "0-7"),
    "line_items": ("line_item", "0-8"),
    "quotes": ("quote", "0-14"),
    "communications": ("communication", "0-18"),
    "feedback_submissions": ("feedback_submission", "0-19"),
    "tasks": ("task", "0-27"),
    "notes": ("note", "0-46"),
    "meetings": ("meeting", "0-47"),
    "calls": ("call", "0-48"),
    "emails": ("email", "0-49"),
    "leads": ("lead", "0-136"),
}
"""HubSpot's standard object types: plural name -> (singular name, objectTypeId), as HubSpot's "Object type
IDs" reference lists them; a path or parameter may name a type by any of the three."""
_BY_NAME = {alias: plural for plural, names in OBJECT_TYPES.items() for alias in (plural, *names)}
HOLDERS = r"(?:deals|deal|0-3|companies|company|0-2)"
"""The object types the portal holds records of (the ``from`` side of every association route)."""
BATCH_MAX = 1000
PAGE_MAX = 500
EMBEDDED_PAGE = 100


def object_type(name: str) -> str | None:
    """The plural name of a standard object type named by plural, singular or id; None when unknown."""
    return _BY_NAME.get(name.strip().lower())


@dataclass(frozen=True)
class Link:
    to_id: str
    types: tuple[AssociationType, ...]


def v3_name(from_kind: str, t: AssociationType) -> str:
    """A type as v3 names it: ``deal_to_company`` (primary), ``..._unlabeled``, a label in snake case."""
    known = V3_TYPE_NAMES.get(t.type_id)
    return known if known is not None else (t.label or "").lower().replace(" ", "_")


class Associations:
    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self._by_company: tuple[int, dict[str, list[Link]]] | None = None

    # -- the data ------------------------------------------------------------------------------------
    def links(self, from_kind: str, object_id: str, to_kind: str) -> list[Link]:
        """What ``object_id`` is associated with among ``to_kind`` (empty for types the portal holds none of)."""
        if from_kind == "deals" and to_kind == "companies":
            key = self.portal.deal_key(object_id)
            if key is None or self.portal.is_archived(key):
                return []
            return [Link(a.company_id, tuple(a.types)) for a in self.portal.deal_associations(key)]
        if from_kind == "companies" and to_kind == "deals":
            return self._company_deals().get(object_id, [])
        return []

    def _company_deals(self) -> dict[str, list[Link]]:
        """Company id -> its live deals with the inverse types, rebuilt when the portal changes."""
        portal = self.portal
        if self._by_company is not None and self._by_company[0] == portal.version:
            return self._by_company[1]
        index: dict[str, list[Link]] = {}
        for key in portal.deal_keys():
            if portal.is_archived(key):
                continue
            deal_id = portal.deal_id(key)
            for a in portal.deal_associations(key):
                types = tuple(INVERSE_TYPES.get(t.type_id, t) for t in a.types)
                index.setdefault(a.company_id, []).append(Link(deal_id, types))
        self._by_company = (portal.version, index)
        return index

    # -- embedded in the v3 list and get -------------------------------------------------------------
    @staticmethod
    def requested(request: Request) -> list[str]:
        """The ``associations`` parameter (repeated, comma-separated or both) as plural type names."""
        out: list[str] = []
        for raw in request.query.get("associations", []):
            for name in (n.strip() for n in raw.split(",")):
                if not name:
                    continue
                kind = object_type(name)
                if kind is None:
                    raise HubSpotError(400, "VALIDATION_ERROR", f"Unable to infer object type from: {name}")
                if kind not in out:
                    out.append(kind)
        return out

    def embedded(self, kind: str, object_id: str, to_kinds: list[str], host: str) -> dict[str, Any]:
        """The ``associations`` member of a v3 object: only the types it has associations of."""
        body: dict[str, Any] = {}
        for to_kind in to_kinds:
            rows = self._v3_rows(kind, object_id, to_kind)
            if rows:
                body[to_kind] = self._v3_page(rows, 0, EMBEDDED_PAGE, kind, object_id, to_kind, host)
        return body

    def _v3_rows(self, kind: str, object_id: str, to_kind: str) -> list[dict[str, str]]:
        return [
            {"id": link.to_id, "type": v3_name(kind, t)}
            for link in self.links(kind, object_id, to_kind)
            for t in link.types
        ]

    @staticmethod
    def _v3_page(
        rows: list[dict[str, str]], after: int, limit: int, kind: str, object_id: str, to_kind: str, host: str
    ) -> dict[str, Any]:
        window = rows[after : after + limit]
        page: dict[str, Any] = {"results": window}
        if after + len(window) < len(rows):
            nxt = str(after + len(window))
            link = f"https://{host}/crm/v3/objects/{kind}/{object_id}/associations/{to_kind}?after={nxt}"
            page["paging"] = {"next": {"after": nxt, "link": link}}
        return page

    # -- the association endpoints -------------------------------------------------------------------
    def routes(self) -> list[tuple[str, str, Callable[[Request, re.Match[str]], Response], str]]:
        single = rf"/crm/v(?P<v>[34])/objects/(?P<from>{HOLDERS})/(?P<id>[^/]+)/associations/(?P<to>[^/]+)/?"
        batch = rf"/crm/v(?P<v>[34])/associations/(?P<from>{HOLDERS})/(?P<to>[^/]+)/batch/read/?"
        return [
            ("GET", single, self._single, "associations.list"),
            ("POST", batch, self._batch, "associations.batch_read"),
        ]

    def _kinds(self, match: re.Match[str]) -> tuple[str, str]:
        from_kind, to_kind = object_type(match["from"]), object_type(match["to"])
        if from_kind is None or to_kind is None:
            unknown = match["from"] if from_kind is None else match["to"]
            raise HubSpotError(404, "OBJECT_NOT_FOUND", f"Unable to infer object type from: {unknown}")
        return from_kind, to_kind

    def _single(self, request: Request, match: re.Match[str]) -> Response:
        from_kind, to_kind = self._kinds(match)
        object_id = match["id"]
        limit = min(PAGE_MAX, max(1, int(request.param("limit") or PAGE_MAX)))
        after = int(request.param("after") or 0)
        host = request.header("Host") or "api.hubapi.com"
        if match["v"] == "3":
            rows = self._v3_rows(from_kind, object_id, to_kind)
            return Response.json(self._v3_page(rows, after, limit, from_kind, object_id, to_kind, host))
        links = self.links(from_kind, object_id, to_kind)
        window = links[after : after + limit]
        body: dict[str, Any] = {"results": [self._v4_item(link) for link in window]}
        if after + len(window) < len(links):
            nxt = str(after + len(window))
            link = f"https://{host}/crm/v4/objects/{from_kind}/{object_id}/associations/{to_kind}?after={nxt}"
            body["paging"] = {"next": {"after": nxt, "link": link}}
        return Response.json(body)

    @staticmethod
    def _v4_item(link: Link) -> dict[str, Any]:
        return {"toObjectId": int(link.to_id), "associationTypes": [t.to_json() for t in link.types]}

    def _batch(self, request: Request, match: re.Match[str]) -> Response:
        """Each input's associations; an input with none is a 207 error item ``NO_ASSOCIATIONS_FOUND``."""
        from_kind, to_kind = self._kinds(match)
        started = iso_ms(utcnow())
        body = request.json()
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list):
            raise HubSpotError(400, "VALIDATION_ERROR", "Invalid input JSON: missing required field 'inputs'")
        if len(inputs) > BATCH_MAX:
            raise HubSpotError(
                400, "VALIDATION_ERROR", f"Batch input cannot exceed {BATCH_MAX} inputs; got {len(inputs)}."
            )
        host = request.header("Host") or "api.hubapi.com"
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for item in inputs:
            object_id = str((item or {}).get("id") or "")
            after = int((item or {}).get("after") or 0)
            if match["v"] == "3":
                rows = self._v3_rows(from_kind, object_id, to_kind)
                found = bool(rows)
                page = self._v3_page(rows, after, EMBEDDED_PAGE, from_kind, object_id, to_kind, host)
                result: dict[str, Any] = {"from": {"id": object_id}, "to": page["results"]}
                if "paging" in page:
                    result["paging"] = page["paging"]
            else:
                links = self.links(from_kind, object_id, to_kind)
                found = bool(links)
                window = links[after : after + PAGE_MAX]
                result = {"from": {"id": object_id}, "to": [self._v4_item(link) for link in window]}
                if after + len(window) < len(links):
                    result["paging"] = {"next": {"after": str(after + len(window))}}
            if found:
                results.append(result)
                continue
            singular_to, singular_from = OBJECT_TYPES[to_kind][0], OBJECT_TYPES[from_kind][0]
            errors.append(
                standard_error(
                    "VALIDATION_ERROR",
                    f"No {singular_to} is associated with {singular_from} {object_id}.",
                    {"fromObjectId": [object_id], "toObjectType": [singular_to]},
                    "crm.associations.NO_ASSOCIATIONS_FOUND",
                )
            )
        payload: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if errors:
            payload["numErrors"] = len(errors)
            payload["errors"] = errors
        payload["startedAt"] = started
        payload["completedAt"] = iso_ms(utcnow())
        return Response.json(payload, 207 if errors else 200)
