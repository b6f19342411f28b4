"""docs/connectors.md's complete example connector runs as documented (against respx, not the internet)."""

from __future__ import annotations

import json
import re
import sys
import types
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from connectors import (
    AuthError,
    CheckStatus,
    Connector,
    ConnectorError,
    FieldKind,
    FieldSpec,
    FieldUpdate,
    ProvisionAction,
)
from kpi_core.schema import Status

DOC = Path(__file__).resolve().parents[2] / "docs" / "connectors.md"
BASE = "https://api.acme-crm.example/v1"


def example_module(monkeypatch: pytest.MonkeyPatch, defining: str = "AcmeConnector") -> types.ModuleType:
    """The docs' example that defines the class ``defining``, run as a module of its own."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    source = next(b for b in blocks if f"class {defining}(" in b)
    module = types.ModuleType(f"partnerkpi_docs_example_{defining.lower()}")
    monkeypatch.setitem(sys.modules, module.__name__, module)  # pydantic resolves annotations there
    exec(compile(source, str(DOC), "exec"), module.__dict__)
    return module


def deal(**values: Any) -> dict[str, Any]:
    return {
        "id": 5, "partner_id": 1, "amount": "92", "amount_usd": "100", "currency": "EUR", "status": "won",
        "stage": "Closed", "created_at": "2026-01-01T00:00:00Z", "closed_at": "2026-02-01",
        "modified_at": "2026-02-01T10:00:00+00:00", **values,
    }  # fmt: skip


def test_the_documented_example_connector_works(monkeypatch: pytest.MonkeyPatch) -> None:
    module = example_module(monkeypatch)
    cls = module.AcmeConnector
    assert issubclass(cls, Connector) and cls.type_name == "acme"
    connector = cls(module.AcmeConfig(name="acme", type="acme", api_token="s3cret"))
    with respx.mock(base_url=BASE) as api:
        api.get("/me").respond(json={"email": "bot@acme.example", "api_calls_left": 300})
        api.get("/deals/deleted").respond(json={"ids": [9]})
        api.get("/partners").respond(json=[{"id": 1, "name": "Partner One"}])
        api.get("/deals").mock(
            side_effect=[
                httpx.Response(429, headers={"Retry-After": "0"}),
                httpx.Response(200, json={"results": [deal()], "next_cursor": "c2"}),
                httpx.Response(200, json={"results": [deal(id=6, status="open")], "next_cursor": None}),
            ]
        )
        api.post("/partners/batch-update").respond(
            json={
                "results": [{"id": "1"}, {"id": "2", "errors": [{"code": "LOCKED", "message": "row lock"}]}]
            }
        )
        api.get("/partner-fields").respond(json=[{"name": "score", "type": "number"}])
        api.post("/partner-fields").respond(json={})

        assert [line.status for line in connector.check()] == [CheckStatus.OK, CheckStatus.WARN]
        batches = list(connector.pull(None))
        assert batches[0].deleted_opportunity_ids == ["9"] and batches[0].partners[0].id == "1"
        opps = [o for b in batches for o in b.opportunities]
        assert [(o.id, o.status, o.amount) for o in opps] == [
            ("5", Status.WON, Decimal(100)),
            ("6", Status.OPEN, Decimal(100)),
        ]
        assert opps[1].closed_on is None
        assert batches[-1].watermark == "2026-02-01T10:00:00+00:00"
        assert connector.stats.retries == 1

        score = {"score": FieldSpec("score", "Score", FieldKind.NUMBER)}
        results = connector.write_fields(
            [FieldUpdate("1", {"score": Decimal("1.5")}), FieldUpdate("2", {"score": None})], score
        )
        assert [(r.partner_id, r.ok) for r in results] == [("1", True), ("2", False)]
        assert results[1].errors[0].retryable

        provisioned = connector.provision_fields(
            [FieldSpec("score", "Score", FieldKind.NUMBER), FieldSpec("rev", "Revenue", FieldKind.CURRENCY)]
        )
        assert [p.action for p in provisioned] == [ProvisionAction.UNCHANGED, ProvisionAction.CREATED]

        api.get("/me").respond(401)
        line = connector.check()[0]
        assert line.status is CheckStatus.FAIL and "s3cret" not in line.message
        api.get("/partners/1").respond(403)
        with pytest.raises(AuthError, match=r"refused \(HTTP 403\)"):
            connector.read_fields(["1"], ["score"])
    connector.close()


def test_the_documented_json_export_names_a_bad_record_and_stores_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    module = example_module(monkeypatch, "JsonExportConnector")
    path = tmp_path / "deals.json"
    good = {"id": "d1", "status": "won", "modified_at": "2026-10-01T09:00:00Z"}
    path.write_text(json.dumps([good, good, good, {**good, "modified_at": "2026-10-01T09:00:00"}]))
    connector = module.JsonExportConnector(
        module.JsonExportConfig(name="export", type="json-export", path=path)
    )
    with pytest.raises(ConnectorError) as refused:
        list(connector.pull(None))
    assert str(refused.value) == f"export: cannot read {path}: 3.modified_at: input should have timezone info"
    path.unlink()
    with pytest.raises(ConnectorError, match=r"cannot read .*deals.json: No such file or directory"):
        list(connector.pull(None))
    assert [line.status for line in connector.check()] == [CheckStatus.FAIL]
