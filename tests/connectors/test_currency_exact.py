"""Exact to the cent (issue 14): a Currency value for an Account in another currency is converted on the
exact KPI and rounded once, half-up, to the field's scale; the plan then finds nothing to rewrite."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
import yaml

from connectors.fields import FieldSpec, FieldUpdate, FieldValue
from connectors.salesforce.pull import ID_CHUNK
from connectors.salesforce.write import to_account_currency
from kpi_core.money import RateTable
from kpi_core.result import GroupKind, KpiResult
from partnerkpi.config import AppConfig, load_config
from partnerkpi.demo import demo_config, sandbox_connectors
from partnerkpi.pipeline import provision_connector, sync_connector
from partnerkpi.progress import ProgressReporter
from partnerkpi.sandbox.core import Sandbox
from partnerkpi.sandbox.testing import SandboxFactory
from partnerkpi.state import StateStore
from tests.connectors.test_salesforce_fixtures import PULL_CONSTANT_CALLS, calls_besides_login, emulation
from tests.writeback.test_writeback import partner_group, result
from writeback import ConnectorWriteback, desired_values
from writeback.mapping import FieldMapping
from writeback.values import to_scale

CENT = Decimal("0.01")
EUR_RATES = RateTable("USD", static={"USD": Decimal(1), "EUR": Decimal("0.92")})
NAME = "salesforce-sandbox"
AS_OF = date(2026, 10, 31)
PERIOD = "last_365_days"

CURRENCY_FIELDS = {
    "PK_Won_Revenue_365__c": ("won_revenue", "value"),
    "PK_Won_Revenue_Prior__c": ("won_revenue", "prior"),
    "PK_Avg_Deal_Size__c": ("avg_deal_size", "value"),
    "PK_Open_Amount__c": ("open_amount", "value"),
    "PK_Weighted_Amount__c": ("weighted_amount", "value"),
    "PK_Pipeline_Change__c": ("pipeline_change", "value"),
}


def double_rounded(exact: Decimal, rate: Decimal) -> Decimal:
    """The old way: rounded in USD (half-up), converted, rounded again (half-even)."""
    return (exact.quantize(CENT, ROUND_HALF_UP) * rate).quantize(CENT, ROUND_HALF_EVEN)


def test_the_issues_case_9862_9256_usd_at_0_92_is_written_9073_89() -> None:
    mapping = FieldMapping(field="Won__c", kpi="won_revenue", period="p")
    converted, problem = to_account_currency(Decimal("9862.9256"), "EUR", EUR_RATES)
    assert problem is None and converted == Decimal("9073.891552")  # exact: nothing rounded yet
    assert to_scale(converted, mapping) == Decimal("9073.89")
    assert double_rounded(Decimal("9862.9256"), Decimal("0.92")) == Decimal("9073.90")  # the bug it was


def test_desired_values_convert_the_exact_figure_and_round_once() -> None:
    """Through writeback's one path: exact value -> the connector's conversion -> one rounding."""
    wb = ConnectorWriteback(fields=[FieldMapping(field="Won__c", kpi="won_revenue", period="last_90_days")])
    seen: list[FieldValue] = []

    def held(
        updates: Sequence[FieldUpdate], specs: Mapping[str, FieldSpec]
    ) -> dict[str, dict[str, FieldValue]]:
        seen.extend(u.values["Won__c"] for u in updates)
        return {
            u.partner_id: {"Won__c": to_account_currency(u.values["Won__c"], "EUR", EUR_RATES)[0]}
            for u in updates
        }

    kpis = result(partner_group("p1", 70, "9862.9256", 0.5))
    assert desired_values(kpis, wb, ["p1"], held=held) == {"p1": {"Won__c": Decimal("9073.89")}}
    assert seen == [Decimal("9862.9256")]  # the connector was handed the exact figure
    assert desired_values(kpis, wb, ["p1"]) == {"p1": {"Won__c": Decimal("9862.93")}}  # no conversion


def test_rounding_is_half_up_once_also_for_negative_amounts() -> None:
    mapping = FieldMapping(field="Change__c", kpi="pipeline_change", period="p")
    assert to_scale(Decimal("-10.005"), mapping) == Decimal("-10.01")
    assert to_scale(Decimal("10.005"), mapping) == Decimal("10.01")
    assert to_scale(Decimal("10.0049999"), mapping) == Decimal("10.00")


# -- through the sandbox -----------------------------------------------------------------------------------


def write_config(tmp_path: Path, sandbox: Sandbox, verify_live: bool) -> AppConfig:
    connectors = [c for c in sandbox_connectors(sandbox) if c["type"] == "salesforce"]
    doc = demo_config(tmp_path, connectors)
    doc["writeback"][NAME] = {
        "verify_live": verify_live,
        "fields": [
            {"field": field, "kpi": kpi, "period": PERIOD, "value": part}
            for field, (kpi, part) in CURRENCY_FIELDS.items()
        ]
        + [{"field": "PK_Updated_At__c", "kpi": "updated_at"}],
    }
    path = tmp_path / "partnerkpi.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return load_config(path)


def exact_figures(kpis: KpiResult) -> dict[str, dict[str, Decimal | None]]:
    """partner id -> field -> the KPI exactly as computed (reporting currency, unrounded)."""
    out: dict[str, dict[str, Decimal | None]] = {}
    for group in kpis.groups:
        if group.group.kind is not GroupKind.PARTNER or group.period.name != PERIOD:
            continue
        assert group.group.partner_id is not None
        row: dict[str, Decimal | None] = {}
        for field, (kpi, part) in CURRENCY_FIELDS.items():
            fig = group.figures.get(kpi)
            raw = getattr(fig, part) if fig is not None else None
            row[field] = None if raw is None else Decimal(str(raw))
        out[group.group.partner_id] = row
    return out


@pytest.mark.parametrize("verify_live", [False, True])
def test_every_currency_field_in_another_currency_is_the_exact_conversion_rounded_once(
    tmp_path: Path, sandbox_factory: SandboxFactory, verify_live: bool
) -> None:
    sandbox = sandbox_factory(seed=11, partners=240, opportunities=6_000, hubspot=False)
    cfg = write_config(tmp_path, sandbox, verify_live)
    assert provision_connector(cfg, NAME)
    store = StateStore.open(cfg.state.url)
    run = sync_connector(cfg, store, NAME, ProgressReporter.silent(), as_of=AS_OF)
    assert run.status == "ok", run.message
    assert run.result is not None
    exact = exact_figures(run.result)

    org = emulation(sandbox)
    rates = org.data.static_rates
    assert org.data.corporate_currency == "USD"
    names = ", ".join(CURRENCY_FIELDS)
    accounts = org.state(
        "Account", soql=f"SELECT Id, CurrencyIsoCode, {names} FROM Account WHERE IsPartner = true"
    )
    checked = old_off = 0
    currencies = set()
    for account in accounts:
        code = str(account["CurrencyIsoCode"])
        if code == "USD":
            continue
        currencies.add(code)
        rate = Decimal(str(rates[code]))
        for field in CURRENCY_FIELDS:
            figure = exact[str(account["Id"])][field]
            held = account.get(field)
            if figure is None:
                assert held is None, (account["Id"], field)
                continue
            expected = (figure * rate).quantize(CENT, ROUND_HALF_UP)
            assert Decimal(str(held)) == expected, (account["Id"], code, field, figure, held)
            checked += 1
            old_off += double_rounded(figure, rate) != expected
    print(f"{checked} Currency fields in {sorted(currencies)} checked; {old_off} were a cent off before")
    assert currencies == {"EUR", "GBP"}
    assert checked >= 500
    assert old_off > 0  # enough fields that double rounding would show

    # What the CRM holds is what the ledger holds: the next run (live values compared too, with
    # verify_live) has nothing to rewrite.
    sandbox.reset_counters()
    second = sync_connector(cfg, store, NAME, ProgressReporter.silent(), as_of=AS_OF)
    assert second.status == "ok", second.message
    assert second.counts["planned_fields"] == 0
    # ... and the conversion costs no call: the pull's own calls (plus the live read with verify_live)
    live_reads = math.ceil(len(accounts) / ID_CHUNK) if verify_live else 0
    assert calls_besides_login(sandbox) == PULL_CONSTANT_CALLS + live_reads
