"""``check``: credentials, object and field access, the KPI fields, the API budget: each a line an ops
engineer can act on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connectors.answers import parse_answer
from connectors.base import CheckResult, CheckStatus
from connectors.errors import BudgetExhausted, ConnectorError
from connectors.fields import FieldSpec
from connectors.salesforce import soql
from connectors.salesforce.answers import Limits, StageRow
from connectors.salesforce.auth import who
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.provision import Provisioner, incompatibility
from connectors.salesforce.pull import BASE_FIELDS, Puller


def _ok(name: str, message: str) -> CheckResult:
    return CheckResult(name, CheckStatus.OK, message)


def _warn(name: str, message: str) -> CheckResult:
    return CheckResult(name, CheckStatus.WARN, message)


def _fail(name: str, message: str) -> CheckResult:
    return CheckResult(name, CheckStatus.FAIL, message)


def run_checks(
    client: SalesforceClient, puller: Puller, provisioner: Provisioner, specs: Sequence[FieldSpec]
) -> list[CheckResult]:
    config = client.config
    try:
        instance = client.instance
    except ConnectorError as exc:
        return [CheckResult("salesforce.credentials", CheckStatus.FAIL, str(exc), exc)]
    results = [_ok("salesforce.credentials", f"{who(config)} accepted by {instance}")]
    results.append(_opportunity_access(puller))
    results.append(_stages(puller))
    account_fields: dict[str, dict[str, Any]] | None = None
    try:
        account_fields = provisioner.known_fields()  # one describe of the partner object per connector
        if config.partner.mode == "partner_account" and "IsPartner" not in account_fields:
            results.append(
                _warn(
                    "salesforce.accounts",
                    "Account has no IsPartner field (partner accounts / PRM not enabled): partners are only the "
                    "accounts opportunities name; consider partner.mode opportunity_partner or lookup_field",
                )
            )
        else:
            results.append(_ok("salesforce.accounts", "Account is readable"))
    except ConnectorError as exc:
        results.append(_fail("salesforce.accounts", f"cannot describe Account: {exc}"))
    if specs and account_fields is not None:
        results.extend(_field_checks(specs, account_fields, config.partner_object))
    results.append(_budget(client))
    return results


def _opportunity_access(puller: Puller) -> CheckResult:
    name = "salesforce.opportunities"
    try:
        fields = puller.describe_fields("Opportunity")
    except ConnectorError as exc:
        return _fail(name, f"cannot describe Opportunity: {exc}")
    config = puller.config
    wanted = [*BASE_FIELDS, config.channel_field]
    if config.partner.opportunity_field:
        wanted.append(config.partner.opportunity_field)
    missing = [f for f in wanted if f not in fields]
    if missing:
        return _fail(
            name,
            f"Opportunity fields not visible to this user: {', '.join(missing)}; grant field-level security "
            "or fix channel_field / partner.field in the config",
        )
    currency = "multi-currency" if "CurrencyIsoCode" in fields else "single-currency"
    return _ok(name, f"Opportunity readable with every needed field ({currency} org)")


def _stages(puller: Puller) -> CheckResult:
    name = "salesforce.stages"
    query = soql.select(["ApiName", "IsClosed", "IsWon", "DefaultProbability"], "OpportunityStage")
    try:
        rows = list(puller.reader.records(query, what="reading OpportunityStage", rows=StageRow))
    except ConnectorError as exc:
        return _fail(name, f"cannot read OpportunityStage (won/lost comes from it): {exc}")
    closed = sum(1 for r in rows if r.get("IsClosed") is True)
    won = sum(1 for r in rows if r.get("IsWon") is True)
    if not won:
        return _warn(
            name, f"OpportunityStage has {len(rows)} stages but none is won: no deal will count as won"
        )
    return _ok(name, f"OpportunityStage readable: {len(rows)} stages, {closed} closed, {won} won")


def _field_checks(
    specs: Sequence[FieldSpec], existing: dict[str, dict[str, Any]], sobject: str
) -> list[CheckResult]:
    out = []
    for spec in specs:
        name = f"salesforce.field.{spec.name}"
        found = existing.get(spec.name)
        if found is None:
            out.append(_warn(name, f"{sobject}.{spec.name} does not exist yet: run `partnerkpi provision`"))
            continue
        why = incompatibility(spec, found, sobject)
        if why is not None:
            out.append(_fail(name, why))
        elif not found.get("updateable", True):
            out.append(
                _fail(
                    name, f"{sobject}.{spec.name} exists but this user cannot edit it (field-level security)"
                )
            )
        else:
            out.append(_ok(name, f"{sobject}.{spec.name} exists as {found.get('type')}"))
    return out


def _budget(client: SalesforceClient) -> CheckResult:
    name = "salesforce.api_budget"
    try:
        limits = client.read(
            "reading /limits", lambda sf: sf.limits(), lambda answer, call: parse_answer(Limits, answer, call)
        )
    except BudgetExhausted as exc:
        return _fail(name, str(exc))
    except ConnectorError as exc:
        return _warn(name, f"cannot read the org's limits: {exc}")
    maximum, remaining = limits.DailyApiRequests.Max, limits.DailyApiRequests.Remaining
    used = maximum - remaining
    ceiling = int(maximum * client.config.budget_share)
    text = (
        f"{used:,} of {maximum:,} daily API calls used; runs stop at {client.config.budget_share:.0%} "
        f"({ceiling:,}), leaving {max(ceiling - used, 0):,} for this connector"
    )
    if used >= ceiling:
        return _fail(name, text + ": wait for the 24-hour window or raise budget_share")
    if used >= ceiling * 0.9:
        return _warn(name, text)
    return _ok(name, text)
