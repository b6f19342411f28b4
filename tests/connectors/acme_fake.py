"""A small stateful fake of the made-up Acme CRM API that docs/connectors.md's example connector calls,
served under respx: partners with typed custom fields, deals stamped with ``modified_at``, deleted ids.
Enough state that a re-pull sees a change, a write reads back, and a refused write leaves no trace."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

BASE = "https://api.acme-crm.example/v1"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
NUMERIC_TYPES = frozenset({"currency", "percent", "number"})


def _deal(number: int, partner: int | None, status: str, amount: str) -> dict[str, Any]:
    return {
        "id": number, "partner_id": partner, "amount": amount, "amount_usd": amount, "currency": "USD",
        "status": status, "stage": status.title(), "created_at": "2026-09-01T10:00:00Z",
        "closed_at": "2026-10-01" if status != "open" else None,
        "expected_close": "2026-12-01" if status == "open" else None,
        "probability": 0.4 if status == "open" else None, "source": "referral",
    }  # fmt: skip


@dataclass
class AcmeFake:
    """The CRM's state, and ``handle`` answering each request as the API would."""

    partners: dict[str, dict[str, Any]] = field(default_factory=dict)
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    deals: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted: dict[str, str] = field(default_factory=dict)
    """Deleted deal id -> when (ISO)."""
    ticks: int = 0
    calls: int = 0

    @classmethod
    def seeded(cls) -> AcmeFake:
        fake = cls(partners={"1": {"name": "Partner One"}, "2": {"name": "Partner Two"}, "3": {"name": None}})
        seeds = [
            (1, "won", "100"),
            (2, "lost", "250.50"),
            (None, "open", "80"),
            (3, "won", "42"),
            (1, "open", "7"),
        ]
        for number, (partner, status, amount) in enumerate(seeds, start=1):
            fake.deals[str(number)] = {**_deal(number, partner, status, amount), "modified_at": fake.now()}
        fake.deleted["99"] = fake.now()
        return fake

    def now(self) -> str:
        """The fake's own clock: every change is a minute after the last one."""
        self.ticks += 1
        return (T0 + timedelta(minutes=self.ticks)).isoformat()

    def change_deal(self, deal_id: str, amount_usd: str) -> None:
        self.deals[deal_id].update(
            amount=amount_usd, amount_usd=amount_usd, currency="USD", modified_at=self.now()
        )

    def snapshot(self) -> object:
        """Everything a write can change: the partner records and the field definitions."""
        return copy.deepcopy((self.partners, self.fields))

    # -- the API ---------------------------------------------------------------------------------------
    def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        path = request.url.path.removeprefix(httpx.URL(BASE).path)
        params = request.url.params
        route = (request.method, path)
        if route == ("GET", "/me"):
            return httpx.Response(200, json={"email": "bot@acme.example", "api_calls_left": 50_000})
        if route == ("GET", "/partners"):
            return httpx.Response(
                200, json=[{"id": int(i), "name": p["name"]} for i, p in self.partners.items()]
            )
        if route == ("GET", "/deals/deleted"):
            since = params.get("since", "")
            return httpx.Response(
                200, json={"ids": [int(i) for i, at in self.deleted.items() if at >= since]}
            )
        if route == ("GET", "/deals"):
            return self._deals(
                params.get("modified_since", ""), int(params.get("limit", "500")), params.get("cursor")
            )
        if route == ("GET", "/partner-fields"):
            return httpx.Response(200, json=list(self.fields.values()))
        if route == ("POST", "/partner-fields"):
            body = _json(request)
            self.fields[body["name"]] = {"name": body["name"], "type": body["type"]}
            return httpx.Response(200, json={})
        if route == ("POST", "/partners/batch-update"):
            return httpx.Response(200, json={"results": [self._update(item) for item in _json(request)]})
        found = re.fullmatch(r"/partners/(\w+)", path)
        if request.method == "GET" and found and found[1] in self.partners:
            record = self.partners[found[1]]
            wanted = [f for f in params.get("fields", "").split(",") if f]
            return httpx.Response(200, json={"id": found[1], **{f: record.get(f) for f in wanted}})
        return httpx.Response(404, json={"message": f"no {request.method} {path}"})

    def _deals(self, since: str, limit: int, cursor: str | None) -> httpx.Response:
        """Deals modified at or after ``since``, sorted by (modified_at, id), ``limit`` a page."""
        matching = sorted(
            (d for d in self.deals.values() if d["modified_at"] >= since),
            key=lambda d: (d["modified_at"], d["id"]),
        )
        start = int(cursor or 0)
        more = start + limit < len(matching)
        page = {
            "results": matching[start : start + limit],
            "next_cursor": str(start + limit) if more else None,
        }
        return httpx.Response(200, json=page)

    def _update(self, item: dict[str, Any]) -> dict[str, Any]:
        """One record of a batch update: all its fields, or none of them and the reasons."""
        partner_id, values = str(item["id"]), dict(item["fields"])
        if partner_id not in self.partners:
            return {"id": partner_id, "errors": [{"code": "NOT_FOUND", "message": "no such partner"}]}
        unknown = [name for name in values if name not in self.fields]
        if unknown:
            errors = [{"code": "UNKNOWN_FIELD", "message": f"no field {n}", "field": n} for n in unknown]
            return {"id": partner_id, "errors": errors}
        for name, value in values.items():
            numeric = self.fields[name]["type"] in NUMERIC_TYPES and value is not None
            self.partners[partner_id][name] = float(value) if numeric else value
        return {"id": partner_id}


def _json(request: httpx.Request) -> Any:
    return json.loads(request.content)
