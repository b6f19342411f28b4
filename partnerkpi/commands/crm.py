"""``partnerkpi provision`` and ``partnerkpi check``: getting the CRMs ready for a sync (the mapped KPI
fields created) and saying what stands in its way (config, state, credentials, fields, API budget)."""

from __future__ import annotations

from rich.console import Console

from connectors.base import CheckStatus
from connectors.fields import ProvisionAction
from partnerkpi.commands.state import check_state
from partnerkpi.commands.store import open_store
from partnerkpi.config import AppConfig
from partnerkpi.exit_codes import ExitCode, exit_code_of, worst
from partnerkpi.pipeline import connector_config, open_connector, provision_connector
from partnerkpi.redaction import redact


def run_provision(cfg: AppConfig, names: list[str], out: Console) -> int:
    code = ExitCode.OK
    for name in names:
        results = provision_connector(cfg, name)
        if not results:
            out.print(f"{name}: no writeback fields mapped; nothing to provision")
        for result in results:
            style = {"created": "green", "unchanged": "dim", "refused": "red"}[result.action.value]
            out.print(
                f"{name}: [{style}]{result.action.value}[/] {result.field} {redact(result.message)}".rstrip()
            )
            if result.action is ProvisionAction.REFUSED:
                code = ExitCode.PARTIAL
    return code


def run_check(cfg: AppConfig, names: list[str], out: Console) -> int:
    out.print("[green]ok[/] config: valid")
    code = check_state(cfg, out, open_store)
    for name in names:
        writeback = cfg.writeback.for_connector(name)
        specs = list(writeback.specs().values()) if writeback is not None else []
        with open_connector(connector_config(cfg, name)) as connector:
            for line in connector.check(specs):
                style = {"ok": "green", "warn": "yellow", "fail": "red"}[line.status.value]
                out.print(f"[{style}]{line.status.value}[/] {name} · {line.name}: {redact(line.message)}")
                if line.status is CheckStatus.FAIL:
                    code = worst([code, exit_code_of(line.error) if line.error else ExitCode.FAILED])
    return code
