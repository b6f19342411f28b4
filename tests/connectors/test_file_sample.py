"""The bundled demo data (partnerkpi/data/sample) read through the file connector, and how it was made.

Regenerate it with ``.venv/bin/python -m tests.connectors.test_file_sample`` (deterministic: the sandbox
generator with a fixed seed, exported as a CRM would export it).
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from datetime import date, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.file import FileConnector, FileConnectorConfig
from kpi_core.schema import Status

SAMPLE = Path(__file__).resolve().parents[2] / "partnerkpi" / "data" / "sample"
SEED = 2026
PARTNERS = 25
OPPORTUNITIES = 2_000
END = date(2026, 10, 31)

STAGE_LABELS = {
    "prospecting": "Prospecting",
    "qualification": "Qualification",
    "proposal": "Proposal/Price Quote",
    "negotiation": "Negotiation/Review",
    "closed_won": "Closed Won",
    "closed_lost": "Closed Lost",
    "retired_stage": "Legacy - Do Not Use",
}
CHANNEL_LABELS = {  # Salesforce LeadSource values; "Trade Show" is in no default segment
    "paid_search": "Advertisement",
    "paid_social": "Purchased List",
    "email": "Email",
    "direct": "Web",
    "organic": "Word of mouth",
    "social": "Public Relations",
    "referral": "Partner Referral",
    "offline": "Trade Show",
}
PARTNER_NAMES = (
    "Northwind Systems", "Bluebird Integrations", "Cedar Peak Consulting", "Harbor Light IT",
    "Quantum Ridge", "Silverline Partners", "Ironbridge Solutions", "Maple Grove Digital",
    "Falcon Crest Tech", "Riverbend Networks", "Summit Forge", "Lakeshore Analytics",
    "Oakmont Advisory", "Pinecone Software", "Redwood Channel Co", "Stonegate Services",
    "Tidewater Cloud", "Union Square Data", "Vantage Point Group", "Westwind Resellers",
    "Arcadia Solutions", "Brightwater Labs", "Copperfield IT", "Driftwood Digital", "Evergreen Alliance",
)  # fmt: skip


def sample_config() -> FileConnectorConfig:
    """The connector section of the sample's README, paths relative to the sample directory."""
    text = (SAMPLE / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert block is not None, "the README shows the connector's YAML"
    (section,) = yaml.safe_load(block.group(1))["connectors"]
    return FileConnectorConfig.model_validate(section, context={"config_dir": SAMPLE})


def build_sample(directory: Path) -> None:
    """Write opportunities.csv and partners.csv into ``directory`` from the sandbox generator."""
    from partnerkpi.sandbox.generator import generate

    data = generate(seed=SEED, partners=PARTNERS, opportunities=OPPORTUNITIES, end=END)
    directory.mkdir(parents=True, exist_ok=True)
    partner_ids = {p.key: f"P{p.key:03d}" for p in data.partners}
    with (directory / "partners.csv").open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["partner_id", "partner_name", "tier"])
        for p in data.partners:
            out.writerow([partner_ids[p.key], PARTNER_NAMES[p.key - 1], p.tier])
    with (directory / "opportunities.csv").open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(
            [
                "opportunity_id", "partner_id", "stage", "amount", "currency", "created_at",
                "close_date", "lead_source", "last_modified", "is_deleted",
            ]
        )  # fmt: skip
        for o in data.opportunities:
            out.writerow(
                [
                    f"OPP-{o.key:05d}",
                    partner_ids.get(o.partner_key, "") if o.partner_key else "",
                    STAGE_LABELS[o.stage],
                    "" if o.amount is None else str(o.amount),
                    o.currency,
                    o.created_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    o.close_date.isoformat(),
                    CHANNEL_LABELS.get(o.channel, "") if o.channel else "",
                    o.modified_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "true" if o.deleted else "",
                ]
            )


def _rows(name: str) -> list[dict[str, str]]:
    with (SAMPLE / name).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def pulled() -> tuple[FileConnector, list[Any], list[Any]]:
    connector = FileConnector(sample_config())
    batches = list(connector.pull(None))
    opportunities = [o for b in batches for o in b.opportunities]
    partners = [p for b in batches for p in b.partners]
    return connector, opportunities, partners


def test_the_sample_is_small_and_documented() -> None:
    files = {p.name: p.stat().st_size for p in SAMPLE.iterdir()}
    assert set(files) == {"opportunities.csv", "partners.csv", "README.md"}
    assert sum(files.values()) < 300_000
    config = sample_config()
    assert config.path == SAMPLE / "opportunities.csv" and config.partners_path == SAMPLE / "partners.csv"
    assert config.rates == {"EUR": Decimal("0.92"), "GBP": Decimal("0.79")}


def test_the_sample_reads_cleanly_through_the_connector(
    pulled: tuple[FileConnector, list[Any], list[Any]],
) -> None:
    connector, opportunities, partners = pulled
    raw = _rows("opportunities.csv")
    assert len(opportunities) == len(raw) == OPPORTUNITIES
    assert len(partners) == len(_rows("partners.csv")) == PARTNERS
    assert connector.stats.extra["skipped_rows"] == 0
    assert connector.stats.extra["malformed_values"] == {}
    assert {o.currency for o in opportunities} == {"USD", "EUR", "GBP"}
    assert max(o.closed_on for o in opportunities if o.closed_on is not None) <= END
    assert all(o.closed_on is None for o in opportunities if o.status is Status.OPEN)


def test_the_sample_has_a_few_dirty_rows_of_each_kind(
    pulled: tuple[FileConnector, list[Any], list[Any]],
) -> None:
    _, opportunities, _ = pulled
    raw = _rows("opportunities.csv")
    unknown_stage = [o for o in opportunities if o.status is None]
    missing_amount = [o for o in opportunities if o.amount_original is None]
    assert len(unknown_stage) == sum(r["stage"] == "Legacy - Do Not Use" for r in raw) >= 1
    assert len(missing_amount) == sum(r["amount"] == "" for r in raw) >= 1
    assert sum(o.deleted for o in opportunities) == sum(r["is_deleted"] == "true" for r in raw) >= 1
    direct = sum(o.partner_id is None for o in opportunities)
    assert 0 < direct < len(opportunities) / 2
    channels = Counter(o.channel for o in opportunities)
    assert set(channels) - {None} == set(CHANNEL_LABELS.values())


if __name__ == "__main__":
    build_sample(SAMPLE)
    print(f"wrote {SAMPLE}")
