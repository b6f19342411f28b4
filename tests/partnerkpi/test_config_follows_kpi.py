"""One reporting time zone and currency: connectors follow the kpi section, and a contradiction is an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from partnerkpi.config import ConfigError, load_config_text

SAMPLE = Path(__file__).resolve().parents[2] / "partnerkpi" / "data" / "sample" / "opportunities.csv"

BASE = f"""
version: 1
kpi: {{timezone: Europe/Berlin, reporting_currency: EUR}}
connectors:
  - name: f
    type: file
    path: {SAMPLE}
    columns: {{id: opportunity_id, amount: amount, stage: stage, created: created_at, closed: close_date}}
    stages: {{Closed Won: won}}
"""


def test_connector_inherits_kpi_timezone_and_currency() -> None:
    cfg = load_config_text(BASE)
    conn = cfg.connectors[0]
    assert getattr(conn, "timezone") == "Europe/Berlin"  # noqa: B009
    assert getattr(conn, "reporting_currency") == "EUR"  # noqa: B009


def test_repeating_the_same_value_is_fine() -> None:
    cfg = load_config_text(BASE + "    timezone: Europe/Berlin\n")
    assert getattr(cfg.connectors[0], "timezone") == "Europe/Berlin"  # noqa: B009


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "    timezone: America/New_York\n",
            "connectors[0].timezone: 'America/New_York' differs from kpi.timezone",
        ),
        (
            "    reporting_currency: USD\n",
            "connectors[0].reporting_currency: 'USD' differs from kpi.reporting_currency",
        ),
    ],
)
def test_a_contradiction_is_an_error_naming_the_line(line: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config_text(BASE + line)
    assert str(err.value).startswith(message)
    assert str(err.value).endswith("(config.yaml:10)")
