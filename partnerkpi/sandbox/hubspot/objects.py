"""``/crm/v3/objects/{deals,companies}``, the reading side: list, get, search and batch read (the writes
are in ``writes.py``), and the helpers both sides share.

Limits as HubSpot applies them: list pages of at most 100 (a larger ``limit`` is cut to 100), search pages
of at most 200 and never past the 10,000th result (a request with ``after`` at or beyond 10,000 answers
400; the page that reaches it still offers ``paging.next.after``), batches of at most 100 inputs.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode

from kpi_core.clock import utcnow
from partnerkpi.sandbox.core import Request, Response
from partnerkpi.sandbox.hubspot import search
from partnerkpi.sandbox.hubspot.associations import Associations
from partnerkpi.sandbox.hubspot.errors import HubSpotError, standard_error
from partnerkpi.sandbox.hubspot.portal import Portal, Record
from partnerkpi.sandbox.hubspot.schema import iso_ms

LIST_MAX = 100
LIST_DEFAULT = 10
BATCH_MAX = 100
DEFAULT_PROPERTIES = {
    "deals": (
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    ),
    "companies": ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
}
SINGULAR = {"deals": "DEAL", "companies": "COMPANY"}


def stamp() -> str:
    return iso_ms(utcnow())


def requested_properties(request: Request) -> list[str] | None:
    """``properties`` as repeated parameters, comma-separated, or both."""
    names = [n.strip() for raw in request.query.get("properties", []) for n in raw.split(",") if n.strip()]
    return names or None


def batch_inputs(body: Any) -> list[Any]:
    """The ``inputs`` of a batch request, at most BATCH_MAX of them."""
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise HubSpotError(400, "VALIDATION_ERROR", "Invalid input JSON: missing required field 'inputs'")
    inputs: list[Any] = body["inputs"]
    if len(inputs) > BATCH_MAX:
        raise HubSpotError(
            400, "VALIDATION_ERROR", f"Batch input cannot exceed {BATCH_MAX} inputs; got {len(inputs)}."
        )
    return inputs


def batch_answer(
    results: list[dict[str, Any]], errors: list[dict[str, Any]], started: str, ok: int
) -> Response:
    """A batch's answer: ``ok`` when every input went through, 207 with ``errors`` otherwise."""
    body: dict[str, Any] = {"status": "COMPLETE", "results": results}
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
    body["startedAt"] = started
    body["completedAt"] = stamp()
    return Response.json(body, 207 if errors else ok)


def _next_link(request: Request, host: str, after: str) -> str:
    """The next page's URL: the request's own path and parameters with ``after`` moved on. dlt's verified
    hubspot source follows ``paging.next.link`` alone, so the link must keep properties, associations and
    limit, as HubSpot's links do."""
    query = [(k, v) for k, values in request.query.items() if k != "after" for v in values]
    return f"https://{host}{request.path}?" + urlencode([*query, ("after", after)])


def missing_objects(kind: str, ids: list[str]) -> dict[str, Any]:
    """The 207 item for the ids of a batch that name no live object."""
    return standard_error(
        "OBJECT_NOT_FOUND",
        f"Could not get some {SINGULAR[kind]} objects, they may be deleted or not exist. "
        "Check that ids are valid.",
        {"ids": ids},
    )


class Objects:
    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self._search_cache: OrderedDict[tuple[object, ...], list[str]] = OrderedDict()
        self.associations = Associations(portal)

    # -- rendering -----------------------------------------------------------------------------------
    def render(
        self,
        kind: str,
        record: Record,
        properties: Iterable[str] | None,
        associations: list[str] | None = None,
        host: str = "api.hubapi.com",
    ) -> dict[str, Any]:
        defs = self.portal.properties[kind]
        names = DEFAULT_PROPERTIES[kind] if properties is None else properties
        props = {n: record.props.get(n) for n in names if n in defs}
        body: dict[str, Any] = {
            "id": record.id,
            "properties": props,
            "createdAt": record.created_at,
            "updatedAt": record.updated_at,
            "archived": record.archived,
        }
        if record.archived and record.archived_at:
            body["archivedAt"] = record.archived_at
        if associations:
            embedded = self.associations.embedded(kind, record.id, associations, host)
            if embedded:
                body["associations"] = embedded
        return body

    # -- lookup --------------------------------------------------------------------------------------
    def find(self, kind: str, object_id: str) -> Record | None:
        if kind == "companies":
            return self.portal.companies.get(object_id)
        key = self.portal.deal_key(object_id)
        return None if key is None else self.portal.deal(key)

    def editable(self, kind: str, object_id: str) -> Record | None:
        """The object's stored record, for a write (the portal's version moves on)."""
        if kind == "companies":
            record = self.portal.companies.get(object_id)
            if record is not None:
                self.portal.version += 1
            return record
        key = self.portal.deal_key(object_id)
        return None if key is None else self.portal.editable_deal(key)

    # -- list / get ----------------------------------------------------------------------------------
    def list_page(self, kind: str, request: Request) -> Response:
        limit = min(LIST_MAX, max(1, int(request.param("limit") or LIST_DEFAULT)))
        archived = (request.param("archived") or "false").lower() == "true"
        after = request.param("after")
        properties = requested_properties(request)
        associations = self.associations.requested(request)
        host = request.header("Host") or "api.hubapi.com"
        page: list[Record] = []
        next_id: str | None = None
        for object_id, record_of in self._ordered(kind, after, archived):
            if len(page) == limit:
                next_id = object_id
                break
            page.append(record_of())
        body: dict[str, Any] = {
            "results": [self.render(kind, r, properties, associations, host) for r in page]
        }
        if next_id is not None:
            body["paging"] = {"next": {"after": next_id, "link": _next_link(request, host, next_id)}}
        return Response.json(body)

    def _ordered(
        self, kind: str, after: str | None, archived: bool
    ) -> Iterable[tuple[str, Callable[[], Record]]]:
        start = int(after) if after and after.isdigit() else 0
        if kind == "companies":
            for record in sorted(self.portal.companies.values(), key=lambda r: int(r.id)):
                if int(record.id) >= start and record.archived == archived:
                    yield record.id, lambda record=record: record  # type: ignore[misc]
            return
        portal = self.portal
        first = max(1, start - int(portal.deal_id(0))) if start else 1
        for key in portal.deal_keys(first):
            if portal.is_archived(key) == archived:
                yield portal.deal_id(key), lambda key=key: portal.deal(key)  # type: ignore[misc]

    def get(self, kind: str, request: Request, object_id: str) -> Response:
        archived = (request.param("archived") or "false").lower() == "true"
        record = self.find(kind, object_id)
        if record is None or record.archived != archived:
            raise HubSpotError(404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.")
        associations = self.associations.requested(request)
        host = request.header("Host") or "api.hubapi.com"
        return Response.json(self.render(kind, record, requested_properties(request), associations, host))

    # -- search --------------------------------------------------------------------------------------
    def search_page(self, kind: str, request: Request) -> Response:
        search.check_body_size(request.body.decode("utf-8", "replace"))
        query = search.parse_query(request.json())
        if query.after >= search.MAX_RESULTS:
            raise HubSpotError(400, "VALIDATION_ERROR", "There was a problem with the request.")
        ids = self._matching(kind, query)
        end = min(query.after + query.limit, search.MAX_RESULTS)
        page = ids[query.after : end]
        body: dict[str, Any] = {
            "total": len(ids),
            "results": [self.render(kind, self._must(kind, i), query.properties) for i in page],
        }
        if query.after + len(page) < len(ids):
            body["paging"] = {"next": {"after": str(query.after + len(page))}}
        return Response.json(body)

    def _must(self, kind: str, object_id: str) -> Record:
        record = self.find(kind, object_id)
        assert record is not None
        return record

    def _matching(self, kind: str, query: search.Query) -> list[str]:
        cache_key = (kind, self.portal.version, *query.cache_key())
        cached = self._search_cache.get(cache_key)
        if cached is not None:
            self._search_cache.move_to_end(cache_key)
            return cached
        defs = self.portal.properties[kind]
        fast = self._by_date_index(query) if kind == "deals" else None
        if fast is not None:
            return self._remember(cache_key, fast)
        candidates: Iterable[Record]
        if kind == "companies":
            candidates = self.portal.companies.values()
        else:
            portal = self.portal
            bounds = search.range_on(query, "hs_lastmodifieddate", defs)
            keys = portal.deal_keys() if bounds is None else portal.keys_modified_between(*bounds)
            candidates = (portal.deal(k) for k in keys if not portal.is_archived(k))
        return self._remember(cache_key, search.run(query, candidates, defs, int))

    def _remember(self, cache_key: tuple[object, ...], ids: list[str]) -> list[str]:
        self._search_cache[cache_key] = ids
        while len(self._search_cache) > 8:
            self._search_cache.popitem(last=False)
        return ids

    def _by_date_index(self, query: search.Query) -> list[str] | None:
        """A query bounded only on one indexed date (hs_lastmodifieddate: the incremental sync; createdate:
        its live-deal count), sorted by that date or by id, straight from the portal's index without
        rendering a million deals; None when the query is anything else."""
        if len(query.groups) > 1:
            return None
        filters = query.groups[0] if query.groups else ()
        names = {f.prop for f in filters} or {query.sort_prop or "hs_lastmodifieddate"}
        if len(names) != 1 or query.sort_prop not in (None, *names):
            return None
        prop_name = next(iter(names))
        if prop_name not in self.portal.INDEXED_DATES:
            return None
        prop = self.portal.properties["deals"][prop_name]
        bounds: list[tuple[str, int, int]] = []
        for f in filters:
            if f.operator not in ("EQ", "LT", "LTE", "GT", "GTE", "BETWEEN"):
                return None
            low, high = search.typed(prop, f.value), search.typed(prop, f.high)
            if low is None or (f.operator == "BETWEEN" and high is None):
                return None
            bounds.append((f.operator, round(low * 1000), round((high or 0) * 1000)))

        def within(ms: int) -> bool:
            for op, low, high in bounds:
                if not (
                    (op == "EQ" and ms == low)
                    or (op == "LT" and ms < low)
                    or (op == "LTE" and ms <= low)
                    or (op == "GT" and ms > low)
                    or (op == "GTE" and ms >= low)
                    or (op == "BETWEEN" and low <= ms <= high)
                ):
                    return False
            return True

        portal = self.portal
        keys, values = portal.date_index(prop_name)
        span = search.range_on(query, prop_name, portal.properties["deals"]) or (None, None)
        edited = portal.edited
        rows = [
            (values[i], keys[i])
            for i in portal.index_span(*span, prop=prop_name)
            if keys[i] not in edited and not portal.is_archived(keys[i]) and within(values[i])
        ]
        for key, record in edited.items():
            stamp = search.typed(prop, record.props.get(prop_name))
            if not record.archived and stamp is not None and within(round(stamp * 1000)):
                rows.append((round(stamp * 1000), key))
        if query.sort_prop is None:
            rows.sort(key=lambda row: row[1])
        elif query.descending:
            rows.sort(key=lambda row: (-row[0], row[1]))
        else:
            rows.sort()
        return [portal.deal_id(key) for _, key in rows]

    def batch_read(self, kind: str, request: Request) -> Response:
        started = stamp()
        body = request.json()
        inputs = batch_inputs(body)
        archived = (request.param("archived") or "false").lower() == "true"
        properties = body.get("properties") or None
        results, missing = [], []
        for item in inputs:
            object_id = str((item or {}).get("id") or "")
            record = self.find(kind, object_id)
            if record is None or record.archived != archived:
                missing.append(object_id)
            else:
                results.append(self.render(kind, record, properties))
        errors = [missing_objects(kind, missing)] if missing else []
        return batch_answer(results, errors, started, 200)
