"""The connector protocol's cases (issue 17): every connector, the built-ins and the docs' example, passes
the same rules (tests/connectors/test_protocol.py), each against a small local CRM of its own.

A ``Case`` says what the connector can do (writes fields, counts API calls, pulls full refreshes), and its
``open`` gives a ready connector on a fresh CRM with the hooks the rules need (``Live``). A rule applies to
the cases with the capability it tests (``rule``); adding a connector is one entry in ``CASES``.
"""

from __future__ import annotations

import copy
import csv
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
import respx

from connectors.base import Connector, PullBatch
from connectors.fields import FieldKind, FieldSpec, FieldUpdate, FieldValue
from connectors.file import FileConnector
from connectors.hubspot import HubSpotConnector
from connectors.salesforce import SalesforceConnector
from connectors.values import to_decimal
from kpi_core.schema import Opportunity
from partnerkpi.sandbox.testing import SandboxFactory
from tests.connectors import test_hubspot_sandbox as hubspot
from tests.connectors import test_salesforce_fixtures as salesforce
from tests.connectors.acme_fake import BASE as ACME_BASE
from tests.connectors.acme_fake import AcmeFake
from tests.connectors.test_file_docs import example_module
from tests.connectors.test_file_writeback import COLUMNS as FILE_COLUMNS
from tests.connectors.test_file_writeback import SPECS as FILE_SPECS
from tests.connectors.test_file_writeback import make as file_connector
from tests.connectors.test_salesforce_write import partner_ids as salesforce_partner_ids

CHANGED_AMOUNT = Decimal(1234)
"""What a case's ``change`` sets one opportunity's amount to, in the reporting currency."""


@dataclass(frozen=True)
class Env:
    """What a case may build its CRM with."""

    tmp_path: Path
    sandbox_factory: SandboxFactory
    monkeypatch: pytest.MonkeyPatch


@dataclass(frozen=True)
class Live:
    """A ready connector on a fresh CRM, and the hooks into that CRM the rules need."""

    connector: Connector[Any]
    partner_ids: Sequence[str]
    """Partner records that exist in the CRM (writes target them)."""
    change: Callable[[], str]
    """Sets one live opportunity's amount to CHANGED_AMOUNT in the CRM, as a user would; its id."""
    snapshot: Callable[[], object]
    """Everything a write could alter in the CRM (partner records, field definitions), comparable."""
    calls_seen: Callable[[], int] | None = None
    """The CRM's own count of the API calls it answered (API connectors)."""


@dataclass(frozen=True)
class Case:
    name: str
    connector_class: Callable[[Env], type[Connector[Any]]]
    open: Callable[[Env], AbstractContextManager[Live]]
    builtin: bool
    """Registered under its type name in connectors.registry."""
    full_refresh: bool
    api: bool
    """Talks to an API (and counts its calls in ``stats.api_calls``)."""
    specs: tuple[FieldSpec, ...] = ()
    """The fields writes target, one of each kind the CRM holds; empty: the connector writes no fields."""
    foreign_field: str = ""
    """A field name the connector could hold but does not own (not in ``specs``, never provisioned)."""

    @property
    def writes(self) -> bool:
        return bool(self.specs)

    @property
    def spec_map(self) -> dict[str, FieldSpec]:
        return {s.name: s for s in self.specs}


# -- helpers of the rules ------------------------------------------------------------------------------
def opportunities(batches: Iterable[PullBatch]) -> dict[str, Opportunity]:
    return {o.id: o for b in batches for o in b.opportunities}


def partner_ids(batches: Iterable[PullBatch]) -> set[str]:
    return {p.id for b in batches for p in b.partners}


def final_watermark(batches: Sequence[PullBatch]) -> str | None:
    marks = [b.watermark for b in batches if b.watermark is not None]
    return marks[-1] if marks else None


def sample_values(specs: Sequence[FieldSpec], number: int) -> dict[str, FieldValue]:
    """Exact values for each spec's kind (as writeback works them out), different for each partner."""
    by_kind: dict[FieldKind, FieldValue] = {
        FieldKind.CURRENCY: Decimal("1250.505") + number,
        FieldKind.PERCENT: Decimal("63.1"),
        FieldKind.NUMBER: Decimal(7 + number),
        FieldKind.DATETIME: datetime(2026, 11, 1, 8, 30, tzinfo=timezone.utc),
        FieldKind.TEXT: f"Revenue p8{number}",
    }
    return {s.name: by_kind[s.kind] for s in specs}


def as_held(
    connector: Connector[Any], updates: Sequence[FieldUpdate], specs: Mapping[str, FieldSpec]
) -> list[FieldUpdate]:
    """The updates as writeback hands them over: through ``stored_values``, then rounded once, half-up, to
    each field's scale."""
    held = connector.stored_values(updates, specs)
    return [
        FieldUpdate(p, {n: _rounded(v, specs[n]) for n, v in values.items()}) for p, values in held.items()
    ]


def _rounded(value: FieldValue, spec: FieldSpec) -> FieldValue:
    if spec.kind in (FieldKind.TEXT, FieldKind.DATETIME) or not isinstance(value, (Decimal, int, float, str)):
        return value
    return to_decimal(value).quantize(Decimal(1).scaleb(-spec.scale), rounding=ROUND_HALF_UP)


Test = TypeVar("Test", bound=Callable[..., None])


def rule(applies: Callable[[Case], bool] = lambda case: True) -> Callable[[Test], Test]:
    """Runs a rule's test for every case it ``applies`` to, by capability."""

    def parametrize(test: Test) -> Test:
        params = [pytest.param(c, id=c.name) for c in CASES if applies(c)]
        marked: Test = pytest.mark.parametrize("case", params)(test)
        return marked

    return parametrize


# -- file: a small CSV export in tmp_path --------------------------------------------------------------
FILE_ROWS = [
    ["a", "P1", "Partner One", "100", "Won", "2026-09-01", "2026-10-01"],
    ["b", "P2", "Partner Two", "250.50", "Lost", "2026-09-02", "2026-10-02"],
    ["c", "", "", "80", "Open", "2026-09-03", ""],
    ["d", "P3", "", "42", "Won", "2026-09-04", "2026-10-04"],
]


def _write_export(path: Path, rows: Sequence[Sequence[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(
            [["Id", "Partner", "PartnerName", "Amount", "Stage", "Created", "Closed"], *rows]
        )


@contextmanager
def file_crm(env: Env) -> Iterator[Live]:
    source = env.tmp_path / "in.csv"
    _write_export(source, FILE_ROWS)
    connector = file_connector(
        env.tmp_path,
        columns={**FILE_COLUMNS, "partner": "Partner", "partner_name": "PartnerName"},
        stages={"Won": "won", "Lost": "lost", "Open": "open"},
    )
    output = env.tmp_path / "out" / "scores.csv"

    def change() -> str:
        _write_export(source, [[*FILE_ROWS[0][:3], str(CHANGED_AMOUNT), *FILE_ROWS[0][4:]], *FILE_ROWS[1:]])
        return FILE_ROWS[0][0]

    with connector:
        yield Live(
            connector, ["P1", "P2", "P3"], change, lambda: output.read_bytes() if output.exists() else None
        )


# -- salesforce: a fresh sandbox org --------------------------------------------------------------------
@contextmanager
def salesforce_crm(env: Env) -> Iterator[Live]:
    sandbox = env.sandbox_factory(partners=5, opportunities=60, hubspot=False)
    org = salesforce.emulation(sandbox)

    def change() -> str:
        rows = org.state("Opportunity", soql="SELECT Id FROM Opportunity WHERE IsDeleted = false")
        changed = min(str(r["Id"]) for r in rows)
        org.update_opportunity(changed, Amount=int(CHANGED_AMOUNT), CurrencyIsoCode="USD")
        return changed

    def snapshot() -> object:
        return org.state("Account")  # every field of every account, custom fields included

    with salesforce.connector(sandbox) as connector:
        yield Live(
            connector,
            salesforce_partner_ids(sandbox)[:3],
            change,
            snapshot,
            lambda: sandbox.calls("salesforce."),
        )


# -- hubspot: a fresh sandbox portal --------------------------------------------------------------------
@contextmanager
def hubspot_crm(env: Env) -> Iterator[Live]:
    with hubspot.portal(60, partners=5) as crm:
        portal = crm.emulation.portal

        def change() -> str:
            changed = min(crm.live_deal_ids(), key=int)
            crm.emulation.update_deal(changed, {"amount": str(CHANGED_AMOUNT), "deal_currency_code": "USD"})
            return changed

        def snapshot() -> object:
            companies = {i: dict(c.props) for i, c in portal.companies.items()}
            return copy.deepcopy((companies, portal.properties["companies"], portal.groups["companies"]))

        with crm.connector() as connector:
            ids = sorted(portal.companies, key=int)[:3]
            yield Live(connector, ids, change, snapshot, lambda: crm.sandbox.calls("hubspot."))


# -- acme: docs/connectors.md's complete minimal connector, on a fake of its API ---------------------------
def acme_class(env: Env) -> type[Connector[Any]]:
    cls: type[Connector[Any]] = example_module(env.monkeypatch).AcmeConnector
    return cls


@contextmanager
def acme_crm(env: Env) -> Iterator[Live]:
    module = example_module(env.monkeypatch)
    fake = AcmeFake.seeded()

    def change() -> str:
        fake.change_deal("2", str(CHANGED_AMOUNT))
        return "2"

    connector = module.AcmeConnector(
        module.AcmeConfig(name="acme", type="acme", api_token="t0ken", page_size=2)
    )
    with respx.mock(base_url=ACME_BASE, assert_all_called=False) as api, connector:
        api.route().mock(side_effect=fake.handle)
        yield Live(connector, ["1", "2", "3"], change, fake.snapshot, lambda: fake.calls)


# -- json-export: docs/connectors.md's read-only full-refresh example, on a JSON file -----------------------
EXPORT_DEALS = [
    {"id": "d1", "partner_id": "P1", "amount": "100", "status": "won", "created_on": "2026-09-01",
     "closes_on": "2026-10-01", "channel": "web", "modified_at": "2026-10-01T09:00:00+02:00"},
    {"id": "d2", "partner_id": "P2", "amount": "250.50", "status": "lost", "created_on": "2026-09-02",
     "closes_on": "2026-10-02", "modified_at": "2026-10-02T09:00:00Z"},
    {"id": "d3", "amount": "80", "status": "open", "created_on": "2026-09-03", "closes_on": "2026-12-03",
     "probability": 0.4, "modified_at": "2026-10-03T09:00:00Z"},
]  # fmt: skip


def export_class(env: Env) -> type[Connector[Any]]:
    cls: type[Connector[Any]] = example_module(env.monkeypatch, "JsonExportConnector").JsonExportConnector
    return cls


@contextmanager
def export_crm(env: Env) -> Iterator[Live]:
    module = example_module(env.monkeypatch, "JsonExportConnector")
    path = env.tmp_path / "deals.json"
    path.write_text(json.dumps(EXPORT_DEALS), encoding="utf-8")

    def change() -> str:
        path.write_text(json.dumps([{**EXPORT_DEALS[0], "amount": str(CHANGED_AMOUNT)}, *EXPORT_DEALS[1:]]))
        return "d1"

    config = module.JsonExportConfig(name="export", type="json-export", path=path)
    with module.JsonExportConnector(config) as connector:
        yield Live(connector, [], change, path.read_bytes)


ACME_SPECS = (
    FieldSpec("won_revenue", "Won revenue", FieldKind.CURRENCY),
    FieldSpec("win_rate", "Win rate", FieldKind.PERCENT),
    FieldSpec("quality_score", "Quality score", FieldKind.NUMBER, scale=1),
    FieldSpec("kpis_updated_at", "KPIs updated at", FieldKind.DATETIME),
    FieldSpec("score_breakdown", "Score breakdown", FieldKind.TEXT),
)
CASES: list[Case] = [
    Case(
        "file",
        lambda env: FileConnector,
        file_crm,
        builtin=True,
        full_refresh=True,
        api=False,
        specs=tuple(FILE_SPECS.values()),
        foreign_field="foreign_score",
    ),
    Case(
        "salesforce",
        lambda env: SalesforceConnector,
        salesforce_crm,
        builtin=True,
        full_refresh=False,
        api=True,
        specs=salesforce.SPECS,
        foreign_field="KPI_Foreign_Score__c",
    ),
    Case(
        "hubspot",
        lambda env: HubSpotConnector,
        hubspot_crm,
        builtin=True,
        full_refresh=False,
        api=True,
        specs=tuple(hubspot.SPECS),
        foreign_field="partner_foreign_score",
    ),
    Case(
        "acme",
        acme_class,
        acme_crm,
        builtin=False,
        full_refresh=False,
        api=True,
        specs=ACME_SPECS,
        foreign_field="foreign_score",
    ),
    Case("json-export", export_class, export_crm, builtin=False, full_refresh=True, api=False),
]
