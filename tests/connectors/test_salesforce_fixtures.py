"""Helpers of the Salesforce connector's sandbox tests (no tests here): a connector wired to a sandbox,
with a fast retry policy, and the constants the call-count assertions use."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from connectors.base import PullBatch
from connectors.fields import FieldKind, FieldSpec
from connectors.retry import RetryPolicy
from connectors.salesforce import SalesforceConfig, SalesforceConnector
from kpi_core.schema import Opportunity, Partner
from partnerkpi.sandbox.core import Sandbox
from partnerkpi.sandbox.salesforce import SalesforceEmulation

FAST_RETRIES = RetryPolicy(attempts=6, initial_wait=0.01, max_wait=0.05)

PULL_CONSTANT_CALLS = 7
"""REST calls of every pull besides the opportunity pages (connectors/salesforce/pull.py): describe
Opportunity, OpportunityStage, CurrencyType, DatedConversionRate, partner Accounts, deletions, COUNT()."""

SPECS = (
    FieldSpec(
        "KPI_Won_Revenue__c",
        "Partner won revenue",
        FieldKind.CURRENCY,
        "Revenue of the deals this partner won in the last 90 days, in this account's currency.",
        precision=18,
        scale=2,
    ),
    FieldSpec(
        "KPI_Win_Rate__c",
        "Partner win rate",
        FieldKind.PERCENT,
        "Share of this partner's closed deals that were won in the last 90 days.",
        precision=5,
        scale=2,
    ),
    FieldSpec(
        "KPI_Quality_Score__c",
        "Partner quality score",
        FieldKind.NUMBER,
        "0 to 100: how this partner ranks against the other partners (revenue, deals, win rate).",
        precision=5,
        scale=1,
    ),
    FieldSpec(
        "KPI_Updated_At__c",
        "Partner KPIs updated at",
        FieldKind.DATETIME,
        "When these partner figures last changed.",
    ),
    FieldSpec(
        "KPI_Score_Breakdown__c",
        "Partner score breakdown",
        FieldKind.TEXT,
        "Why the partner has its score: each component's percentile.",
        length=255,
    ),
)
SPEC_MAP = {s.name: s for s in SPECS}


def emulation(sandbox: Sandbox) -> SalesforceEmulation:
    found = sandbox.emulation("salesforce")
    assert isinstance(found, SalesforceEmulation)
    return found


def password_auth(sandbox: Sandbox) -> dict[str, Any]:
    creds = emulation(sandbox).credentials
    return {
        "flow": "password",
        "username": creds.username,
        "password": creds.password,
        "security_token": creds.security_token,
    }


def connector(
    sandbox: Sandbox,
    *,
    auth: dict[str, Any] | None = None,
    policy: RetryPolicy = FAST_RETRIES,
    **overrides: Any,
) -> SalesforceConnector:
    config = SalesforceConfig.model_validate(
        {
            "name": "salesforce",
            "type": "salesforce",
            "login_url": sandbox.url,
            "ca_bundle": str(sandbox.ca_path),
            "auth": auth or password_auth(sandbox),
            "bulk_poll_seconds": 0.05,
            **overrides,
        }
    )
    return SalesforceConnector(config, retry_policy=policy)


def calls_besides_login(sandbox: Sandbox) -> int:
    return sandbox.calls("salesforce.") - sandbox.counters["salesforce.soap_login"]


def opportunities(batches: Iterable[PullBatch]) -> dict[str, Opportunity]:
    return {o.id: o for b in batches for o in b.opportunities}


def partners(batches: Iterable[PullBatch]) -> dict[str, Partner]:
    return {p.id: p for b in batches for p in b.partners}


def deleted(batches: Iterable[PullBatch]) -> set[str]:
    return {i for b in batches for i in b.deleted_opportunity_ids}


def final_watermark(batches: list[PullBatch]) -> str:
    marks = [b.watermark for b in batches if b.watermark]
    assert marks, "a pull hands over a watermark"
    return marks[-1]
