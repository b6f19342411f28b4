"""HubSpot's legacy (numeric-versioned) read endpoints that singer-io tap-hubspot 4.5 still drives, over the
same portal the v3 API serves.

HubSpot still serves them: its legacy reference lists them ("the APIs in this section use legacy numeric
versioning ... will be deprecated in a future release",
https://developers.hubspot.com/docs/api-reference/legacy/overview), and none is on the sunsetted list
(https://developers.hubspot.com/docs/api-reference/deprecated-apis). Served here:

- ``GET /deals/v1/deal/paged`` (``limit`` default 100, at most 250; ``offset``; ``properties``,
  ``propertiesWithHistory``, ``includeAssociations``): ``{"deals", "hasMore", "offset"}``
  (.../legacy/crm-deals-v1/get-deals-v1-deal-paged). The reference's note that it returns only the last
  30 days is copied from the "recent" pages (it then points to itself for "all of your deals"); tap-hubspot
  reads every deal through it, so every live deal is served, in id order (the order is not documented).
- ``GET /deals/v1/deal/recent/modified`` (``count`` default 20, at most 100; ``offset``; ``since``):
  ``{"results", "hasMore", "offset", "total"}``, most recently modified first, only the last 30 days and
  at most the 10,000 most recent (.../legacy/crm-deals-v1/get-deals-v1-deal-recent-create-d, the sibling
  page; the modified one documents the same parameters). ``since`` is exclusive ("modified after").
- ``GET /deals/v1/deal/{id}``: one deal with all its properties and associations.
- ``GET /companies/v2/companies/paged`` (``limit`` default 100, at most 250; ``offset``; ``properties``,
  ``propertiesWithHistory``): ``{"companies", "has-more", "offset"}`` (.../legacy/crm-companies-v2/
  get-companies-v2-companies-paged, whose example shows the hyphenated ``has-more``).
- ``GET /companies/v2/companies/recent/modified``: as the deals' one (``count`` default 100, at most 100:
  documented only in HubSpot's old docs; tap-hubspot lists the path but no longer calls it).
- ``GET /companies/v2/companies/{id}``: one company with all its properties.

Objects carry the legacy property shape: each set property is ``{"value", "timestamp", "source",
"sourceId", "versions": [{"name", "value", "timestamp", "source", "sourceVid"}]}`` with dates as epoch
milliseconds in strings; unset properties are left out (the reference's example bodies). The emulation
keeps no property history, so ``versions`` holds the current value only (what HubSpot sends without
``includePropertyVersions``); every value's timestamp is the object's ``hs_lastmodifieddate`` (its
``createdate`` for ``createdate``): a choice, the timestamp of each write is not kept. v1 deals carry no
``imports`` field since 2021 (changelog "removal of the imports field from the v1 deals api").
Errors are HubSpot's JSON body (``errors.error``; ``requestId`` was dropped in 2020, changelog
"upcoming changes to error responses"); a bad number in a query parameter is a 400 VALIDATION_ERROR
(the message is the sandbox's own).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from kpi_core.clock import utcnow
from partnerkpi.sandbox.core import Request, Response
from partnerkpi.sandbox.hubspot.errors import HubSpotError
from partnerkpi.sandbox.hubspot.portal import DEAL_ID_BASE, PORTAL_ID, Portal, Record
from partnerkpi.sandbox.hubspot.schema import PropertyDef, parse_instant

Handler = Callable[[Request, "re.Match[str]"], Response]
PAGED_DEFAULT, PAGED_MAX = 100, 250
RECENT_WINDOW = timedelta(days=30)
RECENT_CAP = 10_000
RECENT_LIMITS = {"deals": (20, 100), "companies": (100, 100)}


def epoch_ms(text: str | None) -> int | None:
    moment = parse_instant(text) if text else None
    return None if moment is None else int(moment.timestamp() * 1000)


def int_param(request: Request, name: str, default: int | None = None) -> int | None:
    raw = request.param(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise HubSpotError(
            400, "VALIDATION_ERROR", f"Invalid value for {name}: {raw!r} is not a number"
        ) from None


def true_param(request: Request, name: str) -> bool:
    return (request.param(name) or "").lower() == "true"


class Legacy:
    def __init__(self, portal: Portal) -> None:
        self.portal = portal

    def routes(self) -> list[tuple[str, str, Handler, str]]:
        """(method, path pattern, handler, counter name) rows for the emulation's route table."""
        return [
            ("GET", r"/deals/v1/deal/paged/?", lambda r, m: self.deals_paged(r), "legacy.deals.paged"),
            (
                "GET",
                r"/deals/v1/deal/recent/modified/?",
                lambda r, m: self.recent(r, "deals"),
                "legacy.deals.recent_modified",
            ),
            ("GET", r"/deals/v1/deal/(?P<id>[^/]+)/?", lambda r, m: self.deal(m["id"]), "legacy.deals.get"),
            (
                "GET",
                r"/companies/v2/companies/paged/?",
                lambda r, m: self.companies_paged(r),
                "legacy.companies.paged",
            ),
            (
                "GET",
                r"/companies/v2/companies/recent/modified/?",
                lambda r, m: self.recent(r, "companies"),
                "legacy.companies.recent_modified",
            ),
            (
                "GET",
                r"/companies/v2/companies/(?P<id>[^/]+)/?",
                lambda r, m: self.company(m["id"]),
                "legacy.companies.get",
            ),
        ]

    # -- the legacy object shape ---------------------------------------------------------------------
    def properties(self, kind: str, record: Record, names: Iterable[str] | None) -> dict[str, Any]:
        """The set properties among ``names`` (all when None) in the legacy value-and-versions shape."""
        defs = self.portal.properties[kind]
        modified = epoch_ms(record.updated_at) or 0
        created = epoch_ms(record.created_at) or modified
        out: dict[str, Any] = {}
        for name in defs if names is None else names:
            prop, raw = defs.get(name), record.props.get(name)
            if prop is None or raw is None:
                continue
            value = legacy_value(prop, raw)
            stamp = created if name == "createdate" else modified
            source = "CALCULATED" if prop.calculated or prop.read_only_value else "CRM_UI"
            out[name] = versioned(name, value, stamp, source)
        return out

    def deal_json(self, record: Record, names: Iterable[str] | None, associations: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"portalId": PORTAL_ID, "dealId": int(record.id), "isDeleted": record.archived}
        properties = self.properties("deals", record, names)
        if associations:
            key = self.portal.deal_key(record.id)
            companies = [] if key is None else self.portal.deal_associations(key)
            body["associations"] = {
                "associatedVids": [],
                "associatedCompanyIds": list(dict.fromkeys(int(a.company_id) for a in companies)),
                "associatedDealIds": [],
                "associatedTicketIds": [],
            }
            # "This will also automatically include the num_associated_contacts property" (the reference);
            # the sandbox has no contacts.
            stamp = epoch_ms(record.updated_at) or 0
            properties["num_associated_contacts"] = versioned(
                "num_associated_contacts", "0", stamp, "CALCULATED"
            )
        body["properties"] = properties
        body["stateChanges"] = []
        return body

    def company_json(self, record: Record, names: Iterable[str] | None) -> dict[str, Any]:
        return {
            "portalId": PORTAL_ID,
            "companyId": int(record.id),
            "isDeleted": record.archived,
            "properties": self.properties("companies", record, names),
            "additionalDomains": [],
            "stateChanges": [],
            "mergeAudits": [],
        }

    # -- paged lists ---------------------------------------------------------------------------------
    def deals_paged(self, request: Request) -> Response:
        limit, offset = _paged_window(request)
        names, include_all = _requested(request)
        associations = true_param(request, "includeAssociations")
        portal = self.portal
        start = max(1, offset - DEAL_ID_BASE + 1) if offset else 1
        page: list[Record] = []
        more = False
        for key in portal.deal_keys(start):
            if portal.is_archived(key):
                continue
            if len(page) == limit:
                more = True
                break
            page.append(portal.deal(key))
        deals = [self.deal_json(r, None if include_all else names, associations) for r in page]
        last = int(page[-1].id) if page else offset
        return Response.json({"deals": deals, "hasMore": more, "offset": last})

    def companies_paged(self, request: Request) -> Response:
        limit, offset = _paged_window(request)
        names, include_all = _requested(request)
        live = sorted((r for r in self.portal.companies.values() if not r.archived), key=lambda r: int(r.id))
        after = [r for r in live if int(r.id) > offset]
        page = after[:limit]
        body = {
            "companies": [self.company_json(r, None if include_all else names) for r in page],
            "has-more": len(after) > limit,
            "offset": int(page[-1].id) if page else offset,
        }
        return Response.json(body)

    # -- recently modified ---------------------------------------------------------------------------
    def recent(self, request: Request, kind: str) -> Response:
        default, most = RECENT_LIMITS[kind]
        count = min(most, max(1, int_param(request, "count", default) or default))
        offset = max(0, int_param(request, "offset", 0) or 0)
        floor = int((utcnow() - RECENT_WINDOW).timestamp() * 1000)
        since = int_param(request, "since")
        matched = sorted(
            self._modified_since(kind, max(floor, since + 1 if since is not None else floor)), reverse=True
        )
        window = matched[:RECENT_CAP]
        page = window[offset : offset + count]
        render: Callable[[Record], dict[str, Any]] = (
            (lambda r: self.deal_json(r, None, True))
            if kind == "deals"
            else (lambda r: self.company_json(r, None))
        )
        return Response.json(
            {
                "results": [render(self._find(kind, object_id)) for _, object_id in page],
                "hasMore": offset + count < len(window),
                "offset": offset + len(page),
                "total": len(matched),
            }
        )

    def _modified_since(self, kind: str, low_ms: int) -> list[tuple[int, int]]:
        """(hs_lastmodifieddate ms, id) of live objects modified at or after ``low_ms``."""
        out: list[tuple[int, int]] = []
        if kind == "companies":
            records: Iterable[Record] = self.portal.companies.values()
        else:
            portal = self.portal
            records = (portal.deal(k) for k in dict.fromkeys(portal.keys_modified_between(low_ms, None)))
        for record in records:
            stamp = epoch_ms(record.updated_at)
            if not record.archived and stamp is not None and stamp >= low_ms:
                out.append((stamp, int(record.id)))
        return out

    def _find(self, kind: str, object_id: int) -> Record:
        record = self.portal.companies.get(str(object_id)) if kind == "companies" else None
        if kind == "deals":
            key = self.portal.deal_key(str(object_id))
            record = None if key is None else self.portal.deal(key)
        assert record is not None
        return record

    # -- one object ----------------------------------------------------------------------------------
    def deal(self, deal_id: str) -> Response:
        key = self.portal.deal_key(deal_id)
        record = None if key is None else self.portal.deal(key)
        if record is None or record.archived:
            raise HubSpotError(404, "OBJECT_NOT_FOUND", f"Deal {deal_id} does not exist")
        return Response.json(self.deal_json(record, None, True))

    def company(self, company_id: str) -> Response:
        record = self.portal.companies.get(company_id)
        if record is None or record.archived:
            raise HubSpotError(404, "OBJECT_NOT_FOUND", f"Company {company_id} does not exist")
        return Response.json(self.company_json(record, None))


def versioned(name: str, value: str, stamp: int, source: str) -> dict[str, Any]:
    """One property in the legacy shape, its current value as its only version."""
    version = {"name": name, "value": value, "timestamp": stamp, "source": source, "sourceVid": []}
    return {"value": value, "timestamp": stamp, "source": source, "sourceId": None, "versions": [version]}


def legacy_value(prop: PropertyDef, raw: str) -> str:
    """Dates and datetimes as epoch milliseconds (the legacy APIs' form), everything else as stored."""
    if prop.type in ("date", "datetime"):
        ms = epoch_ms(raw)
        return raw if ms is None else str(ms)
    return raw


def _paged_window(request: Request) -> tuple[int, int]:
    """``limit`` (default 100, a larger one cut to 250: the reference says only "x <= 250") and ``offset``."""
    limit = min(PAGED_MAX, max(1, int_param(request, "limit", PAGED_DEFAULT) or PAGED_DEFAULT))
    return limit, max(0, int_param(request, "offset", 0) or 0)


def _requested(request: Request) -> tuple[list[str], bool]:
    """The properties asked for (``properties`` and ``propertiesWithHistory``, each repeatable or
    comma-separated), and whether ``includeAllProperties=true`` asks for all of them (the parameter
    HubSpot recommended to tap-hubspot, per its code comment; not in the reference)."""
    names: list[str] = []
    for param in ("properties", "propertiesWithHistory"):
        for raw in request.query.get(param, []):
            names += [n.strip() for n in raw.split(",") if n.strip()]
    return list(dict.fromkeys(names)), true_param(request, "includeAllProperties")
