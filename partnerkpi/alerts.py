"""Alerts: webhooks (generic JSON or Slack-compatible) on a failed or partial run, and when a partner's
quality score drops by more than a configured number of points. Sent with httpx under the one retry
policy; an alert that cannot be sent is logged and never fails the sync."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from connectors.retry import DEFAULT_POLICY, RetryHint, RetryPolicy, parse_retry_after
from kpi_core.result import GroupKind, KpiResult

if TYPE_CHECKING:  # partnerkpi.exit_codes imports the config, which imports this module
    from partnerkpi.exit_codes import ExitCode

log = logging.getLogger("partnerkpi.alerts")

Event = Literal["failed", "partial", "score_drop"]
ALL_EVENTS: tuple[Event, ...] = ("failed", "partial", "score_drop")


class Webhook(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: SecretStr = Field(
        description="The webhook URL (a secret: Slack's carry a token). Use ${VAR} or url_file."
    )
    format: Literal["json", "slack"] = "json"
    events: list[Event] = Field(default_factory=lambda: list(ALL_EVENTS))
    timeout_seconds: float = Field(default=10.0, gt=0)


class AlertsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    webhooks: list[Webhook] = Field(default_factory=list)
    score_drop_points: float = Field(
        default=10.0, gt=0, description="Alert when a partner's quality score falls by more than this."
    )
    score_drop_period: str | None = Field(
        default=None, description="The period to watch (default: the first)."
    )


@dataclass(frozen=True, slots=True)
class Alert:
    event: Event
    connector: str
    title: str
    details: dict[str, Any]


def run_alert(
    connector: str, status: str, message: str, run_id: int | None, exit_code: ExitCode | None = None
) -> Alert | None:
    """The alert for a failed or partial run (an unexpected error is a failed run like any other); None
    for ok, locked (skipped) and interrupted runs. ``exit_code`` adds the code and what to do about it."""
    if status not in ("failed", "partial"):
        return None
    event: Event = "failed" if status == "failed" else "partial"
    details: dict[str, Any] = {"message": message}
    if exit_code is not None:
        details.update(exit_code=int(exit_code), action=exit_code.action)
    return Alert(event, connector, f"partnerkpi sync {status} on {connector} (run {run_id})", details)


def score_drop_alerts(
    connector: str, result: KpiResult, config: AlertsConfig, names: dict[str, str | None] | None = None
) -> list[Alert]:
    period = config.score_drop_period or (result.periods[0].name if result.periods else None)
    drops: list[dict[str, Any]] = []
    for g in result.groups:
        if g.group.kind is not GroupKind.PARTNER or g.period.name != period:
            continue
        fig = g.figures.get("quality_score")
        if fig is None or fig.change is None or float(fig.change) >= -config.score_drop_points:
            continue
        pid = g.group.partner_id or ""
        drops.append(
            {
                "partner_id": pid,
                "partner": (names or {}).get(pid) or pid,
                "score": fig.value,
                "prior": fig.prior,
                "change": fig.change,
            }
        )
    if not drops:
        return []
    drops.sort(key=lambda d: float(d["change"] or 0))
    title = (
        f"{len(drops)} partner score(s) dropped by more than {config.score_drop_points:g} points ({period})"
    )
    return [Alert("score_drop", connector, title, {"period": period, "partners": drops})]


def _payload(alert: Alert, fmt: str) -> dict[str, Any]:
    if fmt == "slack":
        lines = [f"*{alert.title}*"]
        if alert.event == "score_drop":
            for d in alert.details["partners"][:20]:
                lines.append(f"• {d['partner']}: {float(d['prior']):.1f} → {float(d['score']):.1f}")
        elif alert.details.get("message"):
            lines.append(str(alert.details["message"]))
        if "exit_code" in alert.details:
            lines.append(f"exit {alert.details['exit_code']}: {alert.details['action']}")
        return {"text": "\n".join(lines)}
    return {
        "event": alert.event,
        "connector": alert.connector,
        "title": alert.title,
        "details": alert.details,
    }


def _classify(exc: BaseException) -> RetryHint | None:
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        if status == 429 or status >= 500:
            return RetryHint(parse_retry_after(exc.response.headers.get("Retry-After")), f"HTTP {status}")
        return None
    if isinstance(exc, httpx.TransportError):
        return RetryHint(None, type(exc).__name__)
    return None


def send_alerts(
    alerts: Sequence[Alert],
    config: AlertsConfig,
    client: httpx.Client | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> int:
    """Send each alert to each webhook that wants its event; return how many were delivered."""
    if not alerts or not config.webhooks:
        return 0
    own = client is None
    http = client or httpx.Client(trust_env=False)
    delivered = 0
    try:
        for alert in alerts:
            for hook in config.webhooks:
                if alert.event not in hook.events:
                    continue

                def post(hook: Webhook = hook, alert: Alert = alert) -> None:
                    response = http.post(
                        hook.url.get_secret_value(),
                        json=_jsonable(_payload(alert, hook.format)),
                        timeout=hook.timeout_seconds,
                    )
                    response.raise_for_status()

                try:
                    policy.call(post, _classify)
                    delivered += 1
                except httpx.HTTPError as exc:
                    # Never the URL: Slack webhook URLs are credentials.
                    status = (
                        exc.response.status_code
                        if isinstance(exc, httpx.HTTPStatusError)
                        else type(exc).__name__
                    )
                    log.warning(
                        "alert %r to a %s webhook not delivered: %s", alert.event, hook.format, status
                    )
    finally:
        if own:
            http.close()
    return delivered


def _jsonable(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    return value
