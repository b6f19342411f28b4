"""``check``: the token and its scopes, the deal data the pull needs, the KPI properties, the rate budget
left; each a line an ops engineer can act on."""

from __future__ import annotations

from collections.abc import Sequence

from connectors.base import CheckResult, CheckStatus
from connectors.errors import ConnectorError
from connectors.fields import FieldSpec
from connectors.hubspot.answers import PIPELINES, TOKEN_INFO, Pipelines, TokenInfo
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.config import HubSpotConfig, OAuthAuth
from connectors.hubspot.provision import Provisioner
from connectors.hubspot.pull import DealPuller
from connectors.hubspot.read import read_daily_limit

NEEDED_SCOPES = {
    "crm.objects.deals.read": "read deals",
    "crm.objects.companies.read": "read partner companies",
    "crm.objects.companies.write": "write KPI values onto companies",
    "crm.schemas.companies.read": "check the KPI properties",
}
PROVISION_SCOPES = {"crm.schemas.companies.write": "create the KPI properties (provision)"}


def _line(name: str, status: CheckStatus, message: str) -> CheckResult:
    return CheckResult(f"hubspot.{name}", status, message)


def run_checks(
    client: HubSpotClient,
    config: HubSpotConfig,
    puller: DealPuller,
    provisioner: Provisioner,
    specs: Sequence[FieldSpec],
) -> list[CheckResult]:
    try:
        results = [_token(client, config)]
    except ConnectorError as exc:
        return [CheckResult("hubspot.credentials", CheckStatus.FAIL, str(exc), exc)]
    results.append(_pipelines(puller))
    results.append(_partners(puller, config))
    if specs:
        results.extend(_properties(provisioner, specs))
    results.append(_budget(client))
    return results


def _token(client: HubSpotClient, config: HubSpotConfig) -> CheckResult:
    if not isinstance(config.auth, OAuthAuth):
        client.read(Pipelines, PIPELINES, client.apis.pipelines.get_all, "deals")
        return _line("credentials", CheckStatus.OK, f"private app token accepted by {config.host}")
    token = client.tokens.token()
    info = client.read(TokenInfo, TOKEN_INFO, client.apis.access_tokens.get, token)
    scopes = set(info.scopes)
    missing = [f"{s} ({why})" for s, why in NEEDED_SCOPES.items() if s not in scopes]
    if missing:
        return _line(
            "credentials",
            CheckStatus.FAIL,
            f"OAuth token for hub {info.hub_id} lacks scopes: {', '.join(missing)}; re-install the app",
        )
    lacking = [f"{s} ({why})" for s, why in PROVISION_SCOPES.items() if s not in scopes]
    message = f"OAuth token for hub {info.hub_id} ({info.hub_domain}) with the scopes needed"
    if lacking:
        return _line("credentials", CheckStatus.WARN, message + f"; missing {', '.join(lacking)}")
    return _line("credentials", CheckStatus.OK, message)


def _pipelines(puller: DealPuller) -> CheckResult:
    try:
        stages = puller.load_stages()
    except ConnectorError as exc:
        return _line("pipelines", CheckStatus.FAIL, str(exc))
    if not stages:
        return _line(
            "pipelines", CheckStatus.FAIL, "no deal pipeline stages: deals cannot be judged won/lost"
        )
    closed = sum(1 for s in stages.values() if s.is_closed)
    return _line("pipelines", CheckStatus.OK, f"{len(stages)} deal stages ({closed} closed)")


def _partners(puller: DealPuller, config: HubSpotConfig) -> CheckResult:
    if config.partner.deal_property is not None:
        return _line(
            "partners",
            CheckStatus.OK,
            f"partner company id from deal property {config.partner.deal_property}",
        )
    try:
        found = puller.load_partner_type()
    except ConnectorError as exc:
        return _line("partners", CheckStatus.FAIL, str(exc))
    assert found is not None
    return _line(
        "partners",
        CheckStatus.OK,
        f"association label {config.partner.label!r} is type {found[1]} ({found[0]})",
    )


def _properties(provisioner: Provisioner, specs: Sequence[FieldSpec]) -> list[CheckResult]:
    try:
        judged = provisioner.check(specs)
    except ConnectorError as exc:
        return [_line("properties", CheckStatus.FAIL, str(exc))]
    problems = [why for _, why in judged if why is not None]
    if problems:
        return [_line("properties", CheckStatus.FAIL, "; ".join(problems))]
    return [_line("properties", CheckStatus.OK, f"{len(specs)} KPI properties present and compatible")]


def _budget(client: HubSpotClient) -> CheckResult:
    seen = client.pacer.last
    daily, daily_remaining = seen.daily, seen.daily_remaining
    if daily is None or daily_remaining is None:  # no daily headers (HubSpot omits them at times): ask
        try:
            limit = read_daily_limit(client)
        except ConnectorError as exc:
            return _line("rate_budget", CheckStatus.FAIL, str(exc))
        if limit is not None:
            daily, daily_remaining = limit.usage_limit, max(limit.usage_limit - limit.current_usage, 0)
    if seen.max is None and daily is None:
        return _line("rate_budget", CheckStatus.WARN, "HubSpot sent no rate-limit headers; pacing on config")
    parts = []
    if seen.max is not None:
        interval = seen.interval_seconds or 10.0
        parts.append(f"{seen.remaining}/{seen.max} requests left in the {interval:g} s window")
    status = CheckStatus.OK
    if daily is not None and daily_remaining is not None:
        parts.append(f"{daily_remaining:,}/{daily:,} daily calls left")
        used_share = 1 - daily_remaining / daily if daily else 1.0
        if used_share >= client.pacer.budget.share:
            status = CheckStatus.FAIL
            parts.append(f"past the {client.pacer.budget.share:.0%} guard: runs will stop")
        elif used_share >= client.pacer.budget.share * 0.8:
            status = CheckStatus.WARN
    return _line("rate_budget", status, "; ".join(parts))
