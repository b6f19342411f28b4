"""config.example.yaml is complete and valid: every connector type, the KPI settings, the mappings."""

from __future__ import annotations

from pathlib import Path

from partnerkpi.config import load_config

REPO = Path(__file__).resolve().parents[2]


def test_config_example_validates(tmp_path: Path) -> None:
    env = {
        "SF_CONSUMER_KEY": "3MVG9-example",
        "HUBSPOT_TOKEN": "pat-na1-example",
        "SLACK_WEBHOOK_URL": "https://hooks.example/x",
    }
    # The example reads the JWT key from /run/secrets/...; point that path at a temporary key file.
    text = (REPO / "config.example.yaml").read_text()
    assert "/run/secrets/partnerkpi/sf_private_key.pem" in text
    key = tmp_path / "key.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n")
    copy = tmp_path / "config.yaml"
    copy.write_text(text.replace("/run/secrets/partnerkpi/sf_private_key.pem", str(key)))
    cfg = load_config(copy, env=env)
    assert [c.type for c in cfg.connectors] == ["salesforce", "hubspot", "file"]
    assert cfg.kpi.fiscal_year_start_month == 4
    assert set(cfg.writeback.root) == {c.name for c in cfg.connectors}
    sf = cfg.writeback.for_connector("salesforce-prod")
    assert sf is not None and sf.verify_live and len(sf.fields) == 11
    assert "pat-na1-example" not in repr(cfg)
    assert len(cfg.alerts.webhooks) == 1
