"""``/crm/v3/objects/{deals,companies}``, the writing side: create, update, archive (delete) and the batch
create, update and archive.

Unknown or read-only properties and malformed values in a write refuse the whole request with HubSpot's
400 ``Property values were not valid: [...]``; per-record failures (missing ids, injected faults) answer
207 with ``errors``. An archive answers 204, also for an id that does not exist.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from partnerkpi.sandbox.core import Faults, Request, Response
from partnerkpi.sandbox.hubspot.errors import HubSpotError, invalid_property_values, standard_error
from partnerkpi.sandbox.hubspot.objects import (
    Objects,
    batch_answer,
    batch_inputs,
    missing_objects,
    stamp,
)
from partnerkpi.sandbox.hubspot.portal import (
    COMPANY_ID_BASE,
    CUSTOMER_OFFSET,
    PARTNER_LABEL_TYPE_ID,
    Association,
    AssociationType,
    Record,
)
from partnerkpi.sandbox.hubspot.schema import coerce

_FAILURE_CATEGORIES = {
    "UNABLE_TO_LOCK_ROW": "CONFLICT",
    "FIELD_CUSTOM_VALIDATION_EXCEPTION": "VALIDATION_ERROR",
}
_FAILURE_MESSAGES = {
    "CONFLICT": "Object {id} was modified by another request while this update ran; retry the update.",
    "VALIDATION_ERROR": "Property values were not valid: partner scores are locked while the quarterly partner "
    "review is open (object {id}).",
}


class Writes:
    def __init__(self, objects: Objects, faults: Callable[[], Faults], rng: Callable[[], float]) -> None:
        self.objects = objects
        self.portal = objects.portal
        self.faults = faults
        self.random = rng
        self.failure_attempts: Counter[str] = Counter()

    def validate(self, kind: str, values: Any, admin: bool = False) -> dict[str, str | None]:
        """Every value checked against its property; all problems reported at once, as HubSpot does."""
        if not isinstance(values, dict):
            raise HubSpotError(400, "VALIDATION_ERROR", "Invalid input JSON: properties must be an object")
        defs = self.portal.properties[kind]
        out: dict[str, str | None] = {}
        problems = []
        for name, value in values.items():
            prop = defs.get(name)
            if admin and prop is not None and prop.read_only_value and name != "hs_object_id":
                out[name] = None if value is None else str(value)
                continue
            stored, problem = coerce(prop, name, value)
            if problem is not None:
                problems.append(problem)
            else:
                out[name] = stored or None
        if problems:
            raise invalid_property_values(problems)
        return out

    def apply(self, kind: str, record: Record, values: dict[str, str | None], bump: bool = True) -> None:
        record.props.update(values)
        if bump:
            record.props["hs_lastmodifieddate"] = stamp()
        if kind == "deals":
            self.portal.recompute(record)

    def create(self, kind: str, request: Request) -> Response:
        body = request.json() or {}
        record = self._create_one(kind, body)
        return Response.json(self.objects.render(kind, record, list(self._written(body))), 201)

    @staticmethod
    def _written(body: Any) -> Iterable[str]:
        props = body.get("properties") if isinstance(body, dict) else None
        return props.keys() if isinstance(props, dict) else ()

    def _create_one(self, kind: str, body: Any) -> Record:
        values = self.validate(kind, (body or {}).get("properties") or {})
        if kind == "companies":
            number = max(int(i) for i in self.portal.companies) + 1
            number = max(number, COMPANY_ID_BASE + CUSTOMER_OFFSET * 2)
            now = stamp()
            record = Record(
                str(number), {"createdate": now, "hs_lastmodifieddate": now, "hs_object_id": str(number)}
            )
            record.props.update(values)
            self.portal.companies[record.id] = record
            self.portal.version += 1
            return record
        return self.portal.create_deal(values, self._associations(body.get("associations") or []))

    def _associations(self, raw: list[Any]) -> list[Association]:
        out: list[Association] = []
        for item in raw:
            to = str(((item or {}).get("to") or {}).get("id") or "")
            if to not in self.portal.companies:
                raise HubSpotError(
                    400, "VALIDATION_ERROR", f"Could not find company with id {to} to associate."
                )
            types = []
            for t in item.get("types") or []:
                type_id = int(t.get("associationTypeId"))
                category = str(t.get("associationCategory") or "HUBSPOT_DEFINED")
                label = "Partner" if type_id == PARTNER_LABEL_TYPE_ID and category == "USER_DEFINED" else None
                types.append(AssociationType(category, type_id, "Primary" if type_id == 5 else label))
            out.append(Association(to, types))
        return out

    def update(self, kind: str, request: Request, object_id: str) -> Response:
        body = request.json() or {}
        values = self.validate(kind, body.get("properties") or {})
        record = self.objects.editable(kind, object_id)
        if record is None or record.archived:
            raise HubSpotError(404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.")
        self.apply(kind, record, values)
        return Response.json(self.objects.render(kind, record, list(values)))

    # -- archive (delete) ------------------------------------------------------------------------------
    def archive(self, kind: str, request: Request, object_id: str) -> Response:
        """``DELETE /crm/v3/objects/{kind}/{id}``: to the recycle bin. 204 also for an id that does not
        exist or is archived already: HubSpot answers a delete of an unknown id with 204, not 404
        (n8n-io/n8n#3219)."""
        self.archive_one(kind, object_id)
        return Response(204)

    def batch_archive(self, kind: str, request: Request) -> Response:
        """``POST /crm/v3/objects/{kind}/batch/archive`` with ``{"inputs": [{"id": ...}]}``: 204."""
        inputs = batch_inputs(request.json())
        ids = [item.get("id") if isinstance(item, dict) else None for item in inputs]
        if any(i is None or str(i) == "" for i in ids):  # checked before anything is archived
            raise HubSpotError(
                400,
                "VALIDATION_ERROR",
                "Invalid input JSON: Cannot build SimplePublicObjectId, some of required attributes are "
                "not set [id]",
            )
        for object_id in ids:
            self.archive_one(kind, str(object_id))
        return Response(204)

    def archive_one(self, kind: str, object_id: str) -> Record | None:
        """Archive one object; None when there is no live object of that id. It leaves list, get and
        search and shows with ``archived=true``; hs_lastmodifieddate stays as it was."""
        existing = self.objects.find(kind, object_id)
        if existing is None or existing.archived:
            return None
        record = self.objects.editable(kind, object_id)
        assert record is not None
        record.archived = True
        record.archived_at = stamp()
        return record

    def batch_create(self, kind: str, request: Request) -> Response:
        started = stamp()
        inputs = batch_inputs(request.json())
        for item in inputs:  # validate everything before writing anything
            self.validate(kind, (item or {}).get("properties") or {})
        records = [self._create_one(kind, item or {}) for item in inputs]
        results = [
            self.objects.render(kind, r, list(self._written(i))) for r, i in zip(records, inputs, strict=True)
        ]
        return batch_answer(results, [], started, 201)

    def batch_update(self, kind: str, request: Request) -> Response:
        started = stamp()
        inputs = batch_inputs(request.json())
        seen: set[str] = set()
        planned: list[tuple[str, dict[str, str | None]]] = []
        for item in inputs:
            object_id = str((item or {}).get("id") or "")
            if object_id in seen:
                raise HubSpotError(
                    400, "VALIDATION_ERROR", f"Duplicate IDs found in batch input: [{object_id}]"
                )
            seen.add(object_id)
            planned.append((object_id, self.validate(kind, (item or {}).get("properties") or {})))
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        missing: list[str] = []
        for object_id, values in planned:
            existing = self.objects.find(kind, object_id)
            if existing is None or existing.archived:
                missing.append(object_id)
                continue
            failure = self._injected_failure(object_id)
            if failure is not None:
                errors.append(failure)
                continue
            record = self.objects.editable(kind, object_id)
            assert record is not None
            self.apply(kind, record, values)
            results.append(self.objects.render(kind, record, list(values)))
        if missing:
            errors.append(missing_objects(kind, missing))
        return batch_answer(results, errors, started, 200)

    def _injected_failure(self, object_id: str) -> dict[str, Any] | None:
        faults = self.faults()
        listed = object_id in faults.record_failure_ids
        if not listed and not (faults.record_failure_rate and self.random() < faults.record_failure_rate):
            return None
        if listed and faults.record_failure_times:
            self.failure_attempts[object_id] += 1
            if self.failure_attempts[object_id] > faults.record_failure_times:
                return None
        code = faults.record_failure_code or "CONFLICT"
        category = _FAILURE_CATEGORIES.get(code, code)
        message = _FAILURE_MESSAGES.get(category, "The update of object {id} failed.").format(id=object_id)
        return standard_error(category, message, {"ids": [object_id]})
