"""The HubSpot emulation: routes, auth, rate limits, injected faults and admin actions over one portal.

Counter endpoints (``Sandbox.counters`` keys; every call is counted, refused or not):

- ``hubspot.deals.{list,get,create,update,archive,search,batch_read,batch_create,batch_update,
  batch_archive}`` and the same under ``hubspot.companies.``
- ``hubspot.associations.{list,batch_read,labels}`` (v3 and v4, ``associations.py``)
- ``hubspot.schemas.list`` (``GET /crm/v3/schemas``: the portal has no custom objects, ``{"results": []}``),
  ``hubspot.owners.list`` (``GET /crm/v3/owners``: the one user who owns the portal)
- ``hubspot.pipelines.list``, ``hubspot.pipelines.get``
- ``hubspot.properties.{list,get,create}``, ``hubspot.property_groups.{list,create}``
- ``hubspot.oauth.token``, ``hubspot.oauth.token_info`` (``GET /oauth/v1/access-tokens/{token}``),
  ``hubspot.oauth.private_app_token_info`` (``POST /oauth/v2/private-apps/get/access-token-info``)
- ``hubspot.oauth.token_2026_03`` (``POST /oauth/2026-03/token``, the date-versioned path of HubSpot's current
  OAuth reference and of tap-hubspot 4.5; same grants and errors as ``/oauth/v1/token``)
- ``hubspot.legacy.*``: the legacy v1/v2 endpoints tap-hubspot reads (``legacy.py``, ``legacy_properties.py``)
- ``hubspot.scopes.missing``: contacts and tickets, which the sandbox app has no scope for (403 MISSING_SCOPES)
- ``hubspot.limits.daily`` (``GET /integrations/v1/limit/daily``), ``hubspot.account.details``
  (``GET /account-info/v3/details``: portal id, time zone, company currency USD)

Answers carry ``X-HubSpot-Correlation-Id``; authenticated calls other than search also carry the
``X-HubSpot-RateLimit-*`` headers (the daily pair only for private-app tokens, as HubSpot sends them).
A URL longer than 8,192 characters answers 414 from the edge (HTML), before auth.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from kpi_core.clock import utcnow
from partnerkpi.sandbox.core import Emulation, Request, Response, Route
from partnerkpi.sandbox.generator import SeedData, generate
from partnerkpi.sandbox.hubspot import metadata
from partnerkpi.sandbox.hubspot.auth import Auth
from partnerkpi.sandbox.hubspot.errors import (
    CLOUDFLARE_502,
    URI_TOO_LONG,
    HubSpotError,
    correlation_id,
    error,
    missing_scopes,
    rate_limited,
)
from partnerkpi.sandbox.hubspot.legacy import Legacy
from partnerkpi.sandbox.hubspot.legacy_properties import LegacyProperties
from partnerkpi.sandbox.hubspot.limits import Limits
from partnerkpi.sandbox.hubspot.metadata import Metadata
from partnerkpi.sandbox.hubspot.objects import Objects
from partnerkpi.sandbox.hubspot.portal import (
    COMPANY_ID_BASE,
    HOME_CURRENCY,
    PARTNER,
    PORTAL_ID,
    UNLABELED,
    Association,
    Portal,
)
from partnerkpi.sandbox.hubspot.schema import iso_ms
from partnerkpi.sandbox.hubspot.writes import Writes

MAX_URL_LENGTH = 8192
Handler = Callable[[Request, "re.Match[str]"], Response]
_TYPE_ALIASES = {"deals": r"(?:deals|deal|0-3)", "companies": r"(?:companies|company|0-2)"}
_SCOPES_FOR = {
    alias: scopes
    for aliases, scopes in (
        (("contacts", "contact", "0-1"), ("crm.objects.contacts.read", "crm.schemas.contacts.read")),
        (("tickets", "ticket", "0-5"), ("tickets",)),
    )
    for alias in aliases
}
"""What reading another object's properties needs: the sandbox app is granted deals and companies only."""
_AUTH_FREE = frozenset(
    {
        "hubspot.oauth.token",
        "hubspot.oauth.token_2026_03",
        "hubspot.oauth.token_info",
        "hubspot.oauth.private_app_token_info",
    }
)


class HubSpotEmulation(Emulation):
    name = "hubspot"
    prefixes = (
        "/crm/",
        "/oauth/",
        "/integrations/",
        "/account-info/",
        "/properties/",
        "/deals/",
        "/companies/",
    )

    def __init__(
        self,
        data: SeedData | None = None,
        *,
        private_tokens: tuple[str, ...] = ("pat-sandbox-1",),
        client_id: str = "sandbox-client-id",
        client_secret: str = "sandbox-client-secret",
        refresh_tokens: tuple[str, ...] = ("sandbox-refresh-token",),
        access_token_ttl: float = 1800.0,
        retry_after: bool = True,
        customers: int | None = None,
    ) -> None:
        super().__init__()
        self.data = data or generate()
        self.portal = Portal(self.data, customers)
        self.auth = Auth(private_tokens, client_id, client_secret, refresh_tokens, access_token_ttl)
        self.limits = Limits()
        self.retry_after = retry_after
        """Send Retry-After on 429s (HubSpot does not always)."""
        self.objects = Objects(self.portal)
        self.writes = Writes(self.objects, lambda: self.faults, self.rng.random)
        self.meta = Metadata(self.portal)
        self.legacy = Legacy(self.portal)
        self.legacy_properties = LegacyProperties(self.portal)

    @property
    def access_token(self) -> str:
        """The first private-app token (what a config snippet hands to the connector)."""
        return self.auth.private_tokens[0]

    # -- plumbing ------------------------------------------------------------------------------------
    def routes(self) -> list[Route]:
        table: list[tuple[str, str, Handler, str]] = []
        for kind, alias in _TYPE_ALIASES.items():
            base = rf"/crm/v3/objects/{alias}"
            table += [
                ("GET", base + r"/?", self._for(kind, self.objects.list_page), f"{kind}.list"),
                ("POST", base + r"/?", self._for(kind, self.writes.create), f"{kind}.create"),
                ("POST", base + r"/search/?", self._for(kind, self.objects.search_page), f"{kind}.search"),
                (
                    "POST",
                    base + r"/batch/read/?",
                    self._for(kind, self.objects.batch_read),
                    f"{kind}.batch_read",
                ),
                (
                    "POST",
                    base + r"/batch/create/?",
                    self._for(kind, self.writes.batch_create),
                    f"{kind}.batch_create",
                ),
                (
                    "POST",
                    base + r"/batch/update/?",
                    self._for(kind, self.writes.batch_update),
                    f"{kind}.batch_update",
                ),
                ("GET", base + r"/(?P<id>[^/]+)/?", self._with_id(kind, self.objects.get), f"{kind}.get"),
                (
                    "PATCH",
                    base + r"/(?P<id>[^/]+)/?",
                    self._with_id(kind, self.writes.update),
                    f"{kind}.update",
                ),
                (
                    "DELETE",
                    base + r"/(?P<id>[^/]+)/?",
                    self._with_id(kind, self.writes.archive),
                    f"{kind}.archive",
                ),
                (
                    "POST",
                    base + r"/batch/archive/?",
                    self._for(kind, self.writes.batch_archive),
                    f"{kind}.batch_archive",
                ),
                (
                    "GET",
                    rf"/crm/v3/properties/{alias}/groups/?",
                    self._kind(kind, lambda k, r, m: self.meta.groups(k)),
                    "property_groups.list",
                ),
                (
                    "POST",
                    rf"/crm/v3/properties/{alias}/groups/?",
                    self._kind(kind, lambda k, r, m: self.meta.create_group(k, r)),
                    "property_groups.create",
                ),
                (
                    "GET",
                    rf"/crm/v3/properties/{alias}/?",
                    self._kind(kind, lambda k, r, m: self.meta.properties(k)),
                    "properties.list",
                ),
                (
                    "POST",
                    rf"/crm/v3/properties/{alias}/?",
                    self._kind(kind, lambda k, r, m: self.meta.create_property(k, r)),
                    "properties.create",
                ),
                (
                    "GET",
                    rf"/crm/v3/properties/{alias}/(?P<name>[^/]+)/?",
                    self._kind(kind, lambda k, r, m: self.meta.property(k, m["name"])),
                    "properties.get",
                ),
            ]
        deals, companies = _TYPE_ALIASES["deals"], _TYPE_ALIASES["companies"]
        table += self.objects.associations.routes()
        table += [
            ("GET", r"/crm/v3/schemas/?", lambda r, m: Response.json({"results": []}), "schemas.list"),
            ("GET", r"/crm/v3/owners/?", lambda r, m: metadata.owners(r), "owners.list"),
            (
                "GET",
                rf"/crm/v4/associations/(?P<from>{deals}|{companies})/(?:{deals}|{companies})/labels/?",
                lambda r, m: self.meta.labels("deals" if re.fullmatch(deals, m["from"]) else "companies"),
                "associations.labels",
            ),
            ("GET", rf"/crm/v3/pipelines/{deals}/?", lambda r, m: metadata.pipelines(r), "pipelines.list"),
            (
                "GET",
                rf"/crm/v3/pipelines/{deals}/(?P<pid>[^/]+)/?",
                lambda r, m: metadata.pipeline(r, m["pid"]),
                "pipelines.get",
            ),
            ("POST", r"/oauth/v1/token/?", lambda r, m: self.auth.token(r), "oauth.token"),
            ("POST", r"/oauth/2026-03/token/?", lambda r, m: self.auth.token(r), "oauth.token_2026_03"),
            (
                "GET",
                r"/crm/v3/properties/(?P<kind>contacts|contact|0-1|tickets|ticket|0-5)/?",
                lambda r, m: missing_scopes(list(_SCOPES_FOR[m["kind"]])),
                "scopes.missing",
            ),
            (
                "GET",
                r"/oauth/v1/access-tokens/(?P<token>[^/]+)/?",
                lambda r, m: self.auth.info(m["token"]),
                "oauth.token_info",
            ),
            (
                "POST",
                r"/oauth/v2/private-apps/get/access-token-info/?",
                lambda r, m: self.auth.private_app_info(r),
                "oauth.private_app_token_info",
            ),
            ("GET", r"/integrations/v1/limit/daily/?", self._daily_usage, "limits.daily"),
            ("GET", r"/account-info/v3/details/?", self._account, "account.details"),
        ]
        table += self.legacy.routes() + self.legacy_properties.routes()
        return [
            Route(method, re.compile(pattern), self._locked(handler), f"hubspot.{name}")
            for method, pattern, handler, name in table
        ]

    def _for(self, kind: str, handler: Callable[[str, Request], Response]) -> Handler:
        return lambda request, match: handler(kind, request)

    def _kind(self, kind: str, handler: Callable[[str, Request, re.Match[str]], Response]) -> Handler:
        return lambda request, match: handler(kind, request, match)

    def _with_id(self, kind: str, handler: Callable[[str, Request, str], Response]) -> Handler:
        return lambda request, match: handler(kind, request, match["id"])

    def _locked(self, handler: Handler) -> Handler:
        def run(request: Request, match: re.Match[str]) -> Response:
            with self.lock:
                try:
                    return handler(request, match)
                except HubSpotError as exc:
                    return exc.response()
                except (ValueError, TypeError, AttributeError) as exc:
                    return error(400, "VALIDATION_ERROR", f"Invalid input JSON: {exc}")

        return run

    def before(self, request: Request, route: Route) -> Response | None:
        if len(request.raw_path) > MAX_URL_LENGTH:
            return Response.text(URI_TOO_LONG, 414, "text/html")
        if route.endpoint in _AUTH_FREE:
            return None
        with self.lock:
            refused = self.auth.check(request, self.faults.session_expiry_after_calls)
            if refused is not None:
                return refused
            verdict = self.limits.admit(
                self.faults, route.endpoint.endswith(".search"), self.auth.kind(request) == "private"
            )
        if verdict is not None:
            return rate_limited(verdict.policy, verdict.retry_after if self.retry_after else None)
        return None

    def decorate(self, request: Request, response: Response) -> None:
        response.headers.setdefault("X-HubSpot-Correlation-Id", correlation_id())
        if response.status in (401, 414) or request.path.startswith("/oauth/"):
            return
        if request.path.rstrip("/").endswith("/search"):
            return
        with self.lock:
            kind = self.auth.kind(request)
            if kind is not None:
                response.headers.update(self.limits.headers(self.faults, kind == "private"))

    def server_error(self, request: Request) -> Response:
        if self.rng.random() < 0.5:
            return Response.text(CLOUDFLARE_502, 502, "text/html")
        return error(500, "INTERNAL_ERROR", "internal error")

    def not_found(self, request: Request) -> Response:
        return error(404, "OBJECT_NOT_FOUND", f"Resource not found: {request.method} {request.path}")

    # -- small endpoints -----------------------------------------------------------------------------
    def _daily_usage(self, request: Request, match: re.Match[str]) -> Response:
        now = utcnow()
        return Response.json(
            [
                {
                    "name": "api-calls-daily",
                    "usageLimit": self.limits.daily_limit(self.faults),
                    "currentUsage": self.limits.daily_used,
                    "collectedAt": int(now.timestamp() * 1000),
                    "fetchStatus": "SUCCESS",
                    "resetsAt": None,
                }
            ]
        )

    def _account(self, request: Request, match: re.Match[str]) -> Response:
        return Response.json(
            {
                "portalId": PORTAL_ID,
                "accountType": "STANDARD",
                "timeZone": "US/Eastern",
                "companyCurrency": HOME_CURRENCY,
                "additionalCurrencies": sorted(c for c in self.data.static_rates if c != HOME_CURRENCY),
                "utcOffset": "-05:00",
                "utcOffsetMilliseconds": -18000000,
                "uiDomain": "app.hubspot.com",
                "dataHostingLocation": "na1",
            }
        )

    # -- admin: change records as a CRM user would ---------------------------------------------------
    def admin(self, action: str, payload: Any) -> Any:
        p = payload or {}
        actions: dict[str, Callable[[], Any]] = {
            "update_deal": lambda: self.update_deal(
                str(p["id"]), dict(p.get("properties") or {}), **_shortcuts(p)
            ),
            "archive_deal": lambda: self.archive_deal(str(p["id"])),
            "create_deal": lambda: self.create_deal(dict(p.get("properties") or {}), p.get("company_id")),
            "touch_deals": lambda: self.touch_deals(int(p.get("count", 1)), p.get("start_id")),
            "edit_company_property": lambda: self.edit_company_property(
                str(p["id"]), str(p["property"]), p.get("value")
            ),
            "deal": lambda: self.deal_state(str(p["id"])),
            "state": self.state,
        }
        if action not in actions:
            raise KeyError(action)
        with self.lock:
            try:
                return actions[action]()
            except HubSpotError as exc:
                raise ValueError(exc.message) from exc

    def update_deal(
        self, deal_id: str, properties: dict[str, Any] | None = None, **shortcuts: Any
    ) -> dict[str, Any]:
        """Move a stage, edit an amount...: bumps hs_lastmodifieddate, as an edit in the portal does."""
        with self.lock:
            values = self.writes.validate("deals", {**(properties or {}), **shortcuts}, admin=True)
            key = self.portal.deal_key(deal_id)
            if key is None:
                raise ValueError(f"no deal {deal_id}")
            record = self.portal.editable_deal(key)
            self.writes.apply("deals", record, values)
            return dict(record.props)

    def archive_deal(self, deal_id: str) -> dict[str, Any]:
        """Archive (delete) a deal: it leaves the default list and search; hs_lastmodifieddate stays put."""
        with self.lock:
            key = self.portal.deal_key(deal_id)
            if key is None:
                raise ValueError(f"no deal {deal_id}")
            self.writes.archive_one("deals", deal_id)
            record = self.portal.deal(key)
            return {"id": deal_id, "archived": True, "archivedAt": record.archived_at}

    def create_deal(self, properties: dict[str, Any], company_id: str | None = None) -> dict[str, Any]:
        """A deal made in the portal; with ``company_id`` it is associated to that company, labelled Partner
        when the company is a partner."""
        with self.lock:
            values = self.writes.validate("deals", properties)
            associations = []
            if company_id is not None:
                company = str(company_id)
                if company not in self.portal.companies:
                    raise ValueError(f"no company {company}")
                partner = int(company) - COMPANY_ID_BASE <= len(self.data.partners)
                associations.append(Association(company, [UNLABELED, PARTNER] if partner else [UNLABELED]))
            record = self.portal.create_deal(values, associations)
            return {"id": record.id, "properties": dict(record.props)}

    def touch_deals(self, count: int, start_id: str | None = None) -> dict[str, Any]:
        """Bump hs_lastmodifieddate of ``count`` live deals (from ``start_id`` in id order), 1 ms apart."""
        with self.lock:
            start = self.portal.deal_key(start_id) if start_id else 1
            now = utcnow()
            touched: list[str] = []
            for key in self.portal.deal_keys(start or 1):
                if len(touched) >= count:
                    break
                if self.portal.is_archived(key):
                    continue
                record = self.portal.editable_deal(key)
                record.props["hs_lastmodifieddate"] = iso_ms(now + timedelta(milliseconds=len(touched)))
                touched.append(record.id)
            return {"touched": len(touched), "first": touched[:1], "last": touched[-1:], "since": iso_ms(now)}

    def edit_company_property(self, company_id: str, name: str, value: Any) -> dict[str, Any]:
        with self.lock:
            record = self.portal.companies.get(company_id)
            if record is None:
                raise ValueError(f"no company {company_id}")
            values = self.writes.validate("companies", {name: value}, admin=True)
            self.writes.apply("companies", record, values)
            self.portal.version += 1
            return dict(record.props)

    def deal_state(self, deal_id: str) -> dict[str, Any]:
        key = self.portal.deal_key(deal_id)
        if key is None:
            raise ValueError(f"no deal {deal_id}")
        record = self.portal.deal(key)
        return {
            "id": record.id,
            "properties": dict(record.props),
            "archived": record.archived,
            "associations": [
                {"company_id": a.company_id, "types": [t.to_json() for t in a.types]}
                for a in self.portal.deal_associations(key)
            ],
        }

    def state(self) -> dict[str, Any]:
        """Ground truth for tests: sizes, custom properties, usage, tokens."""
        with self.lock:
            portal = self.portal
            keys = list(portal.deal_keys())
            archived = sum(1 for k in keys if portal.is_archived(k))
            return {
                "deals": len(keys),
                "archived_deals": archived,
                "live_deals": len(keys) - archived,
                "companies": len(portal.companies),
                "partner_companies": len(self.data.partners),
                "edited_deals": len(portal.edited),
                "custom_properties": {
                    kind: sorted(n for n, p in props.items() if not p.hubspot_defined)
                    for kind, props in portal.properties.items()
                },
                "property_groups": {kind: sorted(groups) for kind, groups in portal.groups.items()},
                "daily_used": self.limits.daily_used,
                "access_tokens": len(self.auth.access),
            }


def _shortcuts(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: payload[k] for k in ("dealstage", "amount", "closedate") if k in payload}
