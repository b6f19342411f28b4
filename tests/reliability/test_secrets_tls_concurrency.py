"""Secrets never leak (canaries in every auth field, after runs that succeed and runs that fail), TLS
verification cannot be switched off by accident, the state store is private, and two connectors share one
state store without stepping on each other."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import trustme
import yaml

from partnerkpi.config import load_config
from partnerkpi.pipeline import sync_connector
from partnerkpi.sandbox.app import build_sandbox
from partnerkpi.sandbox.core import Sandbox
from partnerkpi.state import StateStore
from tests.reliability.harness import (
    AS_OF,
    OPPORTUNITIES,
    PARTNERS,
    SEED,
    connector_doc,
    provision,
    quiet,
    run_cli,
    webhook_receiver,
    write_config,
)

SF_PASSWORD = "CANARY-sf-password-7f3a9c"
SF_TOKEN = "CANARY-sf-token-1b2c3d"
HS_TOKEN = "CANARY-hs-pat-9e8d7c"
WEBHOOK_PATH = "/hooks/CANARY-webhook-5a6b7c"
CANARIES = (SF_PASSWORD, SF_TOKEN, HS_TOKEN, "CANARY-webhook-5a6b7c")


def canary_sandbox() -> Sandbox:
    sandbox = build_sandbox(seed=SEED, partners=PARTNERS, opportunities=OPPORTUNITIES)
    sf = sandbox.emulation("salesforce")
    sf.credentials.password, sf.credentials.security_token = SF_PASSWORD, SF_TOKEN  # type: ignore[attr-defined]
    sandbox.emulation("hubspot").auth.private_tokens = (HS_TOKEN,)  # type: ignore[attr-defined]
    return sandbox.start()


def crms() -> tuple[str, ...]:
    return ("salesforce", "hubspot")


def leaks(blob: bytes | str) -> list[str]:
    data = blob.encode() if isinstance(blob, str) else blob
    return [c for c in CANARIES if c.encode() in data]


@pytest.mark.slow
def test_canary_secrets_appear_nowhere_after_good_and_failing_runs(tmp_path: Path) -> None:
    sandbox = canary_sandbox()
    with webhook_receiver(WEBHOOK_PATH) as (webhook, received):
        try:
            check_canaries(tmp_path, sandbox, webhook)
        finally:
            sandbox.stop()
    assert received, "the failing runs sent alerts"
    assert all(WEBHOOK_PATH.encode() in r for r in received)
    assert all(not leaks(r.split(b" ", 1)[1]) for r in received)  # the payloads carry no secret


def check_canaries(tmp_path: Path, sandbox: Sandbox, webhook: str) -> None:
    """Runs that succeed and runs that fail every way, then every place a secret could end up."""
    alerts = {"alerts": {"webhooks": [{"url": webhook, "format": "json", "events": ["failed", "partial"]}]}}
    config = write_config(tmp_path, sandbox, crms(), extra=alerts)
    cfg = load_config(config)
    for crm in crms():
        provision(cfg, f"{crm}-sandbox")
    outputs: list[str] = []

    def cli(*args: str) -> None:
        for fmt in ("text", "json"):
            done = run_cli(config, "--log-format", fmt, "--verbose", *args)
            assert "Traceback" not in done.stderr, done.stderr
            outputs.extend([done.stdout, done.stderr])

    cli("sync", "--as-of", AS_OF.isoformat())  # succeeds
    for emulation in sandbox.emulations:  # 5xx on a share of calls: retried, logged
        emulation.faults.update({"error_rate": 0.3})
    cli("sync", "--as-of", AS_OF.isoformat())
    for emulation in sandbox.emulations:
        emulation.faults.update({"error_rate": 0.0, "daily_limit": 1})
    sandbox.emulation("salesforce").admin("set_usage", {"used": 5})
    cli("sync", "--as-of", AS_OF.isoformat())  # budget
    for emulation in sandbox.emulations:
        emulation.faults.update({"daily_limit": 0})
    sandbox.emulation("salesforce").admin("set_usage", {"used": 0})
    # Credentials refused: the CRM now expects other secrets than the config holds.
    sandbox.emulation("salesforce").credentials.password = "changed"  # type: ignore[attr-defined]
    sandbox.emulation("salesforce").admin("expire_sessions", {})
    sandbox.emulation("hubspot").auth.private_tokens = ("other",)  # type: ignore[attr-defined]
    cli("sync", "--as-of", AS_OF.isoformat())
    cli("check")
    cli("runs")
    for run_id in (1, 3, 5, 7):
        outputs.append(run_cli(config, "runs", "show", str(run_id)).stdout)
    for fmt in ("json", "csv", "html"):
        target = tmp_path / f"report.{fmt}"
        done = run_cli(config, "report", "--format", fmt, "--out", str(target))
        assert done.returncode == 0, done.stderr
        outputs.append(target.read_text())
    assert all(not leaks(text) for text in outputs), [leaks(t) for t in outputs if leaks(t)]
    store = StateStore.open(cfg.state.url)
    statuses = {r.status for r in store.runs(limit=50)}
    assert {"ok", "failed"} <= statuses  # the failing runs really failed
    messages = " ".join(r.message + str(r.failures) for r in store.runs(limit=50))
    assert not leaks(messages)
    store.close()
    database = Path(str(cfg.state.url).removeprefix("sqlite:///"))
    for path in database.parent.glob(database.name + "*"):
        assert not leaks(path.read_bytes()), path


def test_an_untrusted_certificate_fails_with_a_clear_message_and_exit_3(tmp_path: Path) -> None:
    sandbox = canary_sandbox()
    try:
        other_ca = tmp_path / "other-ca.pem"
        trustme.CA().cert_pem.write_to_path(str(other_ca))
        overrides: dict[str, dict[str, Any]] = {crm: {"ca_bundle": str(other_ca)} for crm in crms()}
        config = write_config(tmp_path, sandbox, crms(), connector_overrides=overrides)
        sandbox.reset_counters()
        for crm in crms():
            done = run_cli(config, "sync", "--connector", f"{crm}-sandbox", "--as-of", AS_OF.isoformat())
            assert done.returncode == 3, (crm, done.stdout, done.stderr)
            text = done.stdout + done.stderr
            assert "Traceback" not in text
            assert "TLS" in text or "certificate" in text, text
            assert not leaks(text)  # the config holds the canary credentials
        assert sandbox.calls() == 0  # refused at the handshake: no request was ever answered
        # Environment CA variables cannot switch the trust: the configured bundle is the only one.
        ca = str(sandbox.ca_path)
        for crm in crms():
            done = run_cli(
                config,
                "sync",
                "--connector",
                f"{crm}-sandbox",
                REQUESTS_CA_BUNDLE=ca,
                CURL_CA_BUNDLE=ca,
                SSL_CERT_FILE=ca,
            )
            assert done.returncode == 3, (crm, done.stderr)
        assert sandbox.calls() == 0
    finally:
        sandbox.stop()


def test_the_state_store_file_is_private(tmp_path: Path) -> None:
    store = StateStore.open(f"sqlite:///{tmp_path / 'new' / 'state.sqlite'}")
    store.start_run("x", "sync")
    store.close()
    assert stat.S_IMODE((tmp_path / "new" / "state.sqlite").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700


def test_two_connectors_sharing_one_store_both_complete_when_run_at_once(tmp_path: Path) -> None:
    sandbox = canary_sandbox()
    try:
        docs = [connector_doc(sandbox, "salesforce")]
        second = connector_doc(sandbox, crms()[-1])
        second["name"] = "second-" + second["name"]
        docs.append(second)
        config = write_config(tmp_path, sandbox, ("salesforce",))
        document = yaml.safe_load(config.read_text())
        document["connectors"] = docs
        first_fields = document["writeback"]["salesforce-sandbox"]
        from partnerkpi.demo import demo_fields

        document["writeback"] = {
            docs[0]["name"]: first_fields,
            docs[1]["name"]: {"fields": demo_fields(docs[1]["type"])},
        }
        config.write_text(yaml.safe_dump(document, sort_keys=False))
        cfg = load_config(config)
        for doc in docs:
            provision(cfg, doc["name"])
        for emulation in sandbox.emulations:
            emulation.faults.latency_ms = 20
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(
                pool.map(
                    lambda name: run_cli(config, "sync", "--connector", name, "--as-of", AS_OF.isoformat()),
                    [d["name"] for d in docs],
                )
            )
        for done in results:
            assert done.returncode == 0, done.stderr
        store = StateStore.open(cfg.state.url)
        runs = store.runs(limit=10)
        assert sorted(r.connector for r in runs) == sorted(d["name"] for d in docs)
        assert all(r.status == "ok" for r in runs)
        for doc in docs:
            assert len(store.ledger(doc["name"])) == PARTNERS * 10
        store.close()
    finally:
        sandbox.stop()


def test_an_untrusted_certificate_is_not_retried_even_after_login(tmp_path: Path) -> None:
    """The session flow's first call is a data call (no login): a TLS failure there is one attempt."""
    sandbox = canary_sandbox()
    try:
        other_ca = tmp_path / "other-ca.pem"
        trustme.CA().cert_pem.write_to_path(str(other_ca))
        session = {"flow": "session", "session_id": "00Dxx!CANARY-session-42"}
        overrides = {"salesforce": {"ca_bundle": str(other_ca), "instance_url": sandbox.url, "auth": session}}
        cfg = load_config(write_config(tmp_path, sandbox, ("salesforce",), connector_overrides=overrides))
        store = StateStore.open(cfg.state.url)
        run = sync_connector(cfg, store, "salesforce-sandbox", quiet(), as_of=AS_OF)
        assert run.exit_code == 3 and "TLS verification failed" in run.message
        assert run.counts["api_calls"] == 1  # one attempt: a retry cannot make a certificate trusted
        assert "CANARY" not in run.message
        store.close()
    finally:
        sandbox.stop()
