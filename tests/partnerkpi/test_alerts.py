"""Alerts go out as webhooks with httpx (mocked with respx); a webhook that fails never fails the sync."""

from __future__ import annotations

import json
import logging
from datetime import date
from decimal import Decimal

import httpx
import pytest
import respx

from connectors.retry import RetryPolicy
from kpi_core.result import DataQuality, Figure, GroupKey, GroupKind, GroupKpis, KpiResult, PeriodWindow
from partnerkpi.alerts import AlertsConfig, Webhook, run_alert, score_drop_alerts, send_alerts

FAST = RetryPolicy(attempts=3, initial_wait=0.0, max_wait=0.0)
HOOK = "https://hooks.example.test/T000/B000/canary-secret-token"
PERIOD = PeriodWindow(
    "last_90_days",
    date(2026, 11, 22),
    date(2026, 8, 25),
    date(2026, 11, 22),
    date(2026, 5, 27),
    date(2026, 8, 24),
)


def scored(pid: str, score: float, prior: float) -> GroupKpis:
    change = score - prior
    return GroupKpis(
        GroupKey(GroupKind.PARTNER, pid), PERIOD, {"quality_score": Figure(score, prior, change, None)}
    )


def result(*groups: GroupKpis) -> KpiResult:
    return KpiResult(date(2026, 11, 22), "USD", [PERIOD], list(groups), DataQuality())


def config(fmt: str = "json", **kw: object) -> AlertsConfig:
    return AlertsConfig(webhooks=[Webhook(url=HOOK, format=fmt)], **kw)  # type: ignore[arg-type]


def test_score_drop_beyond_threshold_alerts_and_small_drops_do_not() -> None:
    alerts = score_drop_alerts(
        "crm",
        result(scored("a", 50, 75), scored("b", 70, 75), scored("c", 90, 60)),
        config(score_drop_points=10),
    )
    assert len(alerts) == 1
    assert [d["partner_id"] for d in alerts[0].details["partners"]] == ["a"]


def test_only_failed_and_partial_runs_alert() -> None:
    assert run_alert("crm", "ok", "", 1) is None
    failed = run_alert("crm", "failed", "auth refused", 7)
    assert failed is not None and failed.event == "failed" and "run 7" in failed.title


@respx.mock
def test_generic_json_payload() -> None:
    route = respx.post(HOOK).mock(return_value=httpx.Response(200))
    alerts = score_drop_alerts("crm", result(scored("a", Decimal("50"), Decimal("75"))), config())  # type: ignore[arg-type]
    assert send_alerts(alerts, config(), policy=FAST) == 1
    body = json.loads(route.calls[0].request.content)
    assert body["event"] == "score_drop" and body["connector"] == "crm"
    assert body["details"]["partners"][0]["change"] == "-25"


@respx.mock
def test_slack_payload_is_text() -> None:
    route = respx.post(HOOK).mock(return_value=httpx.Response(200))
    alert = run_alert("crm", "partial", "3 partner record(s) were not written", 4)
    assert alert is not None
    send_alerts([alert], config("slack"), policy=FAST)
    text = json.loads(route.calls[0].request.content)["text"]
    assert text.startswith("*partnerkpi sync partial on crm (run 4)*") and "3 partner record(s)" in text


@respx.mock
def test_retries_429_and_5xx_then_delivers() -> None:
    route = respx.post(HOOK).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "0"}),
            httpx.Response(503),
            httpx.Response(200),
        ]
    )
    alert = run_alert("crm", "failed", "x", 1)
    assert alert is not None
    assert send_alerts([alert], config(), policy=FAST) == 1
    assert route.call_count == 3


@respx.mock
def test_undeliverable_alert_is_logged_without_the_url_and_does_not_raise(
    caplog: pytest.LogCaptureFixture,
) -> None:
    respx.post(HOOK).mock(side_effect=httpx.ConnectError("boom"))
    alert = run_alert("crm", "failed", "x", 1)
    assert alert is not None
    with caplog.at_level(logging.WARNING):
        assert send_alerts([alert], config(), policy=FAST) == 0
    assert "not delivered" in caplog.text
    assert "canary-secret-token" not in caplog.text


@respx.mock
def test_a_4xx_is_not_retried() -> None:
    route = respx.post(HOOK).mock(return_value=httpx.Response(404))
    alert = run_alert("crm", "failed", "x", 1)
    assert alert is not None
    assert send_alerts([alert], config(), policy=FAST) == 0
    assert route.call_count == 1


def test_webhook_url_is_a_secret_in_repr() -> None:
    assert "canary-secret-token" not in repr(config())
