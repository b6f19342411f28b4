"""SalesforceConfig on its own and through the project's config loader: every login flow validates and
hides its secrets, the defaults, and what is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from connectors.salesforce import SalesforceConfig
from connectors.salesforce.config import JwtAuth

SECRET = "s3cr3t-Value-Never-Shown"


def config(**overrides: Any) -> SalesforceConfig:
    data: dict[str, Any] = {
        "name": "sf",
        "type": "salesforce",
        "auth": {
            "flow": "password",
            "username": "u@example.com",
            "password": SECRET,
            "security_token": SECRET,
        },
    }
    data.update(overrides)
    return SalesforceConfig.model_validate(data)


@pytest.mark.parametrize(
    "auth",
    [
        {"flow": "password", "username": "u", "password": SECRET, "security_token": SECRET},
        {
            "flow": "oauth_password",
            "username": "u",
            "password": SECRET,
            "consumer_key": "ck",
            "consumer_secret": SECRET,
        },
        {"flow": "jwt", "username": "u", "consumer_key": "ck", "private_key": SECRET},
        {"flow": "refresh_token", "consumer_key": "ck", "consumer_secret": SECRET, "refresh_token": SECRET},
    ],
)
def test_every_flow_validates_and_hides_its_secrets(auth: dict[str, Any]) -> None:
    cfg = config(auth=auth)
    assert cfg.auth.flow == auth["flow"]
    assert SECRET not in repr(cfg)
    assert SECRET not in str(cfg.model_dump())
    assert SECRET not in cfg.model_dump_json()


def test_defaults_follow_the_issue() -> None:
    cfg = config()
    assert cfg.partner.mode == "partner_account"
    assert cfg.partner.opportunity_field == "PartnerAccountId"
    assert (cfg.channel_field, cfg.lookback_minutes, cfg.bulk_threshold, cfg.page_size) == (
        "LeadSource",
        10,
        50_000,
        2_000,
    )
    assert cfg.budget_share == 0.8
    assert cfg.partner_object == "Account"


def test_session_flow_needs_instance_url() -> None:
    with pytest.raises(ValidationError, match="instance_url"):
        config(auth={"flow": "session", "session_id": SECRET})
    cfg = config(
        auth={"flow": "session", "session_id": SECRET}, instance_url="https://acme.my.salesforce.com/x"
    )
    assert cfg.instance_url == "https://acme.my.salesforce.com"


def test_client_credentials_needs_my_domain() -> None:
    auth = {"flow": "client_credentials", "consumer_key": "ck", "consumer_secret": SECRET}
    with pytest.raises(ValidationError, match="My Domain"):
        config(auth=auth)
    assert config(auth=auth, login_url="https://acme.my.salesforce.com").auth.flow == "client_credentials"


def test_unknown_keys_and_bad_names_are_errors() -> None:
    with pytest.raises(ValidationError):
        config(colour="blue")
    with pytest.raises(ValidationError, match="API name"):
        config(channel_field="LeadSource FROM Account --")
    with pytest.raises(ValidationError, match="lookup_field needs field"):
        config(partner={"mode": "lookup_field"})
    with pytest.raises(ValidationError):
        config(auth={"flow": "password", "username": "u"})
    with pytest.raises(ValidationError, match="https"):
        config(login_url="http://login.salesforce.com")
    with pytest.raises(ValidationError, match="time zone"):
        config(timezone="Mars/Olympus")


def test_lookup_field_mode_reads_the_configured_field() -> None:
    cfg = config(partner={"mode": "lookup_field", "field": "Partner__c"})
    assert cfg.partner.opportunity_field == "Partner__c"
    assert config(partner={"mode": "opportunity_partner"}).partner.opportunity_field is None


def test_relative_ca_bundle_starts_at_the_config_dir(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("x")
    cfg = SalesforceConfig.model_validate(
        {**config().model_dump(mode="json"), "auth": config().auth, "ca_bundle": "ca.pem"},
        context={"config_dir": tmp_path},
    )
    assert cfg.ca_bundle == tmp_path / "ca.pem"
    with pytest.raises(ValidationError, match="does not exist"):
        config(ca_bundle=str(tmp_path / "missing.pem"))


def test_the_config_loader_reads_a_salesforce_connector(tmp_path: Path) -> None:
    from partnerkpi.config.loader import load_config

    (tmp_path / "key.pem").write_text("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n")
    (tmp_path / "ca.pem").write_text("x")
    (tmp_path / "partnerkpi.yaml").write_text(
        "version: 1\n"
        "connectors:\n"
        "  - name: salesforce\n"
        "    type: salesforce\n"
        "    login_url: https://acme.my.salesforce.com\n"
        "    ca_bundle: ca.pem\n"
        "    auth: {flow: jwt, username: int@acme.com, consumer_key: 3MVG9x, private_key_file: key.pem}\n"
        "    partner: {mode: opportunity_partner}\n"
        "kpi: {timezone: Europe/Berlin, reporting_currency: EUR}\n"
    )
    loaded = load_config(tmp_path / "partnerkpi.yaml").connectors[0]
    assert isinstance(loaded, SalesforceConfig)
    assert loaded.ca_bundle == tmp_path / "ca.pem"
    assert isinstance(loaded.auth, JwtAuth)
    assert (loaded.timezone, loaded.reporting_currency) == ("Europe/Berlin", "EUR")  # they follow kpi
    assert loaded.auth.private_key.get_secret_value().startswith("-----BEGIN PRIVATE KEY-----")
    assert "MIIE" not in repr(loaded)
