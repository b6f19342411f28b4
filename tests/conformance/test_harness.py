"""The conformance plumbing itself: the wrapper only redirects names, a missing venv fails clearly, a
killed or failed build leaves no half venv, and one real client (tap-salesforce, REST) runs end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conformance import clients
from tests.conformance.catalogs import select_singer_streams
from tests.conformance.checks import assert_same_ids, ids_of, instant, live
from tests.conformance.conftest import ConformanceFactory

PROBE = """
import json, socket, urllib.error, urllib.request
out = {}
for host in ("api.hubapi.com", "acme.my.salesforce.com", "localhost"):
    out[host] = socket.getaddrinfo(host, 443)[0][4][:2]
# The client's own TLS check passes against the sandbox CA for the vendor's name (no verify=False anywhere).
with urllib.request.urlopen("https://login.salesforce.com/__admin__/counters", timeout=10) as answer:
    out["status"] = answer.status
# A client that sends a prepared request itself (no environment merge) verifies against certifi's store.
import requests
session = requests.Session()
session.trust_env = False
answer = session.send(session.prepare_request(requests.Request("GET", "https://api.hubapi.com/__admin__/counters")))
out["send_status"] = answer.status_code
try:
    urllib.request.urlopen("https://api.hubapi.com/crm/v3/no-such-api", timeout=10)
except urllib.error.HTTPError as exc:
    out["missing"] = exc.code
print(json.dumps({"type": "PROBE", "value": out}))
"""


def test_wrapper_resolves_vendor_hosts_to_the_sandbox_and_trusts_only_its_ca(
    conformance: ConformanceFactory,
) -> None:
    run = conformance(opportunities=20, partners=3)
    result = run.run_python("tap-salesforce", PROBE).ok()
    probe = result.messages[0]["value"]
    port = run.sandbox.port
    assert probe["api.hubapi.com"] == ["127.0.0.1", port]
    assert probe["acme.my.salesforce.com"] == ["127.0.0.1", port]
    assert probe["localhost"][1] == 443, "names outside the vendor list resolve as usual"
    assert probe["status"] == 200
    assert probe["send_status"] == 200
    assert probe["missing"] == 404
    assert result.unrouted == {"hubspot:GET /crm/v3/no-such-api": 1}, "calls the sandbox lacks are named"


def test_a_missing_client_venv_fails_with_the_command_that_builds_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PARTNERKPI_CONFORMANCE_CACHE", str(tmp_path / "empty"))
    with pytest.raises(clients.MissingClient, match="make conformance-clients"):
        clients.CLIENTS["tap-hubspot"].command()


def test_a_failed_venv_build_leaves_nothing_behind(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PARTNERKPI_CONFORMANCE_CACHE", str(tmp_path / "cache"))
    requirements = tmp_path / "requirements"
    requirements.mkdir()
    (requirements / "broken.txt").write_text(f"{tmp_path / 'no-such-package'}\n")
    monkeypatch.setattr(clients, "REQUIREMENTS", requirements)
    broken = clients.Client("broken", "broken")
    with pytest.raises(clients.subprocess.CalledProcessError):
        clients.build(broken)
    assert list((tmp_path / "cache").iterdir()) == [], "no half-built venv, no temp dir"


def test_tap_salesforce_rest_first_sync_returns_every_opportunity_account_and_partner_link(
    conformance: ConformanceFactory,
) -> None:
    run = conformance(opportunities=400, partners=10)
    config = {
        **run.salesforce_oauth(),
        "start_date": "2000-01-01T00:00:00Z",
        "api_type": "REST",
        "select_fields_by_default": True,
    }
    discovered = run.run(
        "tap-salesforce", ["--config", "{dir}/config.json", "--discover"], {"config.json": config}
    )
    catalog = select_singer_streams(
        discovered.ok().json(),
        ["Opportunity", "Account", "OpportunityPartner"],
        replication_method="INCREMENTAL",
        replication_key="SystemModstamp",
    )
    first = run.run(
        "tap-salesforce",
        ["--config", "{dir}/config.json", "--properties", "{dir}/catalog.json"],
        {"catalog.json": catalog},
    ).ok()

    assert_same_ids(live(first.records("Opportunity")), run.opportunity_ids(), what="Opportunity")
    assert_same_ids(live(first.records("Account")), run.account_ids(), what="Account")
    partner_links = {r["Id"] for r in run.salesforce_records("OpportunityPartner")}
    assert_same_ids(live(first.records("OpportunityPartner")), partner_links, what="OpportunityPartner")
    # queryAll also returns the recycle bin, flagged: every deleted record the tap saw is deleted here too.
    deleted = set(ids_of(r for r in first.records("Opportunity") if r["IsDeleted"]))
    assert not deleted & run.opportunity_ids()
    bookmark = first.singer_state()["bookmarks"]["Opportunity"]["SystemModstamp"]
    newest = max(instant(r["SystemModstamp"]) for r in run.salesforce_records("Opportunity"))
    assert instant(bookmark) == newest, "the tap's bookmark is the newest SystemModstamp it read"
    assert first.calls["salesforce.query"] >= 3 and first.calls["salesforce.oauth_token"] == 1
    json.dumps(first.calls)  # counters are plain JSON for the benchmark
