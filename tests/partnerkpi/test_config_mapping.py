"""A writeback mapping mistake is caught when the config is loaded, before anything is read or written
(issue 14 "Only the project's own fields are written", issue 15 "A config mistake is caught before
anything is written"): standard CRM fields, a field mapped twice in another case, and references that do
not resolve are each one line with the YAML path and its line, exit 2, in every command."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml

from connectors.hubspot.standard_properties import (
    DEFAULT_COMPANY_PROPERTIES,
    is_default_company_property,
    writeback_property_problem,
)
from connectors.salesforce.field_names import is_custom_field, writeback_field_problem
from partnerkpi.config import AppConfig, ConfigError, load_config
from partnerkpi.demo import demo_config, file_connector, sandbox_connector_name
from partnerkpi.sandbox.hubspot.schema import builtin_company_properties
from tests.cli_in_process import run_partnerkpi

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "partnerkpi" / "data" / "sample"
ENV = {"SF_SESSION": "00D-session-for-tests", "HS_TOKEN": "pat-na1-for-tests"}

CONNECTORS = f"""
version: 1
kpi:
  periods: [last_90_days, quarter_to_date, previous_quarter]
connectors:
  - name: sf
    type: salesforce
    instance_url: https://acme.my.salesforce.com
    auth: {{flow: session, session_id: "${{SF_SESSION}}"}}
  - name: hs
    type: hubspot
    auth: {{flow: private_app, token: "${{HS_TOKEN}}"}}
  - name: export
    type: file
    path: {SAMPLE / "opportunities.csv"}
    partners_path: {SAMPLE / "partners.csv"}
    partner_columns: {{id: partner_id, name: partner_name}}
    columns: {{id: opportunity_id, partner: partner_id, amount: amount, stage: stage, created: created_at,
               closed: close_date, expected_close: close_date, currency: currency}}
    stages: {{Closed Won: won, Closed Lost: lost, Prospecting: open}}
    rates: {{EUR: 0.92, GBP: 0.79}}
    output_path: out/partner_kpis.csv
writeback:
"""
FIRST_WRITEBACK_LINE = CONNECTORS.strip("\n").count("\n") + 2
"""The line of the first line appended after ``writeback:``."""


def write(tmp_path: Path, writeback: str, head: str = CONNECTORS) -> Path:
    path = tmp_path / "partnerkpi.yaml"
    body = textwrap.indent(textwrap.dedent(writeback).lstrip("\n"), "  ")
    path.write_text(head.lstrip("\n") + body, encoding="utf-8")
    return path


def load(tmp_path: Path, writeback: str, head: str = CONNECTORS) -> AppConfig:
    return load_config(write(tmp_path, writeback, head), env=ENV)


def problems(tmp_path: Path, writeback: str, head: str = CONNECTORS) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, writeback, head)
    lines = caught.value.lines()
    assert all("\n" not in line for line in lines)
    return lines


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in ``tmp_path`` (in this process: these tests are about the config's rules)."""
    return run_partnerkpi(args, cwd=tmp_path, env=ENV)


def error_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    assert "Traceback" not in proc.stderr
    return [line for line in proc.stderr.splitlines() if line.strip()]


# -- only the project's own fields ----------------------------------------------------------------------
SALESFORCE_STANDARD = ["Name", "OwnerId", "Phone", "Website", "Industry"]
HUBSPOT_DEFAULT = ["name", "domain", "hubspot_owner_id", "phone", "hs_object_id"]


@pytest.mark.parametrize("field", SALESFORCE_STANDARD)
def test_a_salesforce_target_must_be_a_custom_field(tmp_path: Path, field: str) -> None:
    lines = problems(
        tmp_path,
        f"""
        sf:
          fields:
            - {{field: PK_Quality_Score__c, kpi: quality_score, period: last_90_days}}
            - {{field: {field}, kpi: quality_score, period: last_90_days}}
        """,
    )
    line = FIRST_WRITEBACK_LINE + 3
    assert lines == [
        f"writeback.sf.fields[1].field: {field!r} is not a custom field: partnerkpi writes only custom fields, "
        f"whose API names end in __c (e.g. PK_{field}__c); standard fields such as Name, OwnerId or Phone "
        f"are never written (partnerkpi.yaml:{line})"
    ]


@pytest.mark.parametrize("field", [*HUBSPOT_DEFAULT, "lifecyclestage", "annualrevenue", "hs_anything_new"])
def test_a_hubspot_target_must_not_be_a_default_company_property(tmp_path: Path, field: str) -> None:
    lines = problems(
        tmp_path,
        f"""
        hs:
          fields:
            - {{field: {field}, kpi: quality_score, period: last_90_days}}
        """,
    )
    assert len(lines) == 1
    assert lines[0].startswith(f"writeback.hs.fields[0].field: {field!r} is not partnerkpi's to write: ")
    assert lines[0].endswith(f"(partnerkpi.yaml:{FIRST_WRITEBACK_LINE + 2})")
    reason = "reserves the hs_ prefix" if field.startswith("hs_") else "one of HubSpot's default company"
    assert reason in lines[0]


def test_every_standard_field_is_refused_by_config_validate_with_its_path_and_line(tmp_path: Path) -> None:
    items = "".join(
        f"    - {{field: {f}, kpi: quality_score, period: last_90_days}}\n" for f in SALESFORCE_STANDARD
    )
    hubspot = "".join(
        f"    - {{field: {f}, kpi: quality_score, period: last_90_days}}\n" for f in HUBSPOT_DEFAULT
    )
    write(tmp_path, f"sf:\n  fields:\n{items}hs:\n  fields:\n{hubspot}")
    proc = cli(tmp_path, "config", "validate")
    assert proc.returncode == 2, proc.stderr
    lines = error_lines(proc)
    assert len(lines) == len(SALESFORCE_STANDARD) + len(HUBSPOT_DEFAULT), proc.stderr
    first_sf = FIRST_WRITEBACK_LINE + 2
    first_hs = first_sf + len(SALESFORCE_STANDARD) + 2
    expected = [
        (f"writeback.sf.fields[{i}].field: {f!r} is not a custom field", first_sf + i)
        for i, f in enumerate(SALESFORCE_STANDARD)
    ] + [
        (f"writeback.hs.fields[{i}].field: {f!r} is not partnerkpi's to write", first_hs + i)
        for i, f in enumerate(HUBSPOT_DEFAULT)
    ]
    for start, line in expected:
        assert any(
            text.startswith(f"error: {start}") and text.endswith(f"(partnerkpi.yaml:{line})")
            for text in lines
        ), (start, line, proc.stderr)
    assert "ok" not in proc.stdout


def test_custom_fields_of_the_project_pass(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        """
        sf:
          fields:
            - {field: PK_Quality_Score__c, kpi: quality_score, period: last_90_days}
            - {field: PK_Won_Revenue__C, kpi: won_revenue, period: quarter_to_date}
        hs:
          fields:
            - {field: pk_quality_score, kpi: quality_score, period: last_90_days}
        export:
          fields:
            - {field: name_score, kpi: quality_score, period: previous_quarter}
        """,
    )
    sf = cfg.writeback.for_connector("sf")
    assert sf is not None and [m.field for m in sf.fields] == ["PK_Quality_Score__c", "PK_Won_Revenue__C"]


@pytest.mark.parametrize(
    ("field", "reason"),
    [
        ("PK Score__c", "is not a valid Salesforce API name"),
        ("1PK_Score__c", "is not a valid Salesforce API name"),
        ("PK_Score___c", "is not a valid Salesforce API name"),
        ("PK__Score__c", "belongs to the managed package with namespace 'PK'"),
        ("acme__Partner_Score__c", "belongs to the managed package with namespace 'acme'"),
        ("P" * 41 + "__c", "is too long"),
        ("__c", "is not a custom field"),
        ("Partner__r", "is not a custom field"),
    ],
)
def test_a_salesforce_target_must_be_a_valid_api_name_of_the_orgs_own(
    tmp_path: Path, field: str, reason: str
) -> None:
    lines = problems(
        tmp_path, f'sf:\n  fields:\n    - {{field: "{field}", kpi: deal_count, period: last_90_days}}\n'
    )
    assert len(lines) == 1 and lines[0].startswith(f"writeback.sf.fields[0].field: {field!r} "), lines
    assert reason in lines[0]
    assert lines[0].endswith(f"(partnerkpi.yaml:{FIRST_WRITEBACK_LINE + 2})")


def test_a_hubspot_target_is_a_lower_case_internal_name(tmp_path: Path) -> None:
    lines = problems(
        tmp_path, "hs:\n  fields:\n    - {field: PK_Score, kpi: deal_count, period: last_90_days}\n"
    )
    assert lines == [
        "writeback.hs.fields[0].field: 'PK_Score' is not a HubSpot internal property name: lower-case "
        f"letters, digits and underscores, starting with a letter (partnerkpi.yaml:{FIRST_WRITEBACK_LINE + 2})"
    ]


def test_a_case_variant_of_a_mapped_salesforce_field_is_refused_naming_both_paths(tmp_path: Path) -> None:
    write(
        tmp_path,
        """
        sf:
          fields:
            - {field: PK_Quality_Score__c, kpi: quality_score, period: last_90_days}
            - {field: PK_Deals__c, kpi: deal_count, period: last_90_days}
            - {field: pk_quality_score__C, kpi: won_revenue, period: last_90_days}
        """,
    )
    proc = cli(tmp_path, "config", "validate")
    assert proc.returncode == 2
    first, second = FIRST_WRITEBACK_LINE + 2, FIRST_WRITEBACK_LINE + 4
    assert error_lines(proc) == [
        f"error: writeback.sf.fields[2].field: 'pk_quality_score__C' is mapped twice: 'PK_Quality_Score__c' "
        f"at writeback.sf.fields[0].field (line {first}) is the same field (Salesforce API names are "
        f"case-insensitive); one mapping per field (partnerkpi.yaml:{second})"
    ]


@pytest.mark.parametrize(("connector", "field"), [("hs", "pk_score"), ("export", "score"), ("sf", "PK_S__c")])
def test_two_mappings_onto_one_field_are_refused_naming_both_paths(
    tmp_path: Path, connector: str, field: str
) -> None:
    lines = problems(
        tmp_path,
        f"""
        {connector}:
          fields:
            - {{field: {field}, kpi: quality_score, period: last_90_days}}
            - {{field: {field}, kpi: won_revenue, period: last_90_days}}
        """,
    )
    assert lines == [
        f"writeback.{connector}.fields[1].field: {field!r} is mapped twice (also at fields[0].field) "
        f"(partnerkpi.yaml:{FIRST_WRITEBACK_LINE + 3})"
    ]


def test_the_file_key_column_is_not_a_target(tmp_path: Path) -> None:
    lines = problems(
        tmp_path, "export:\n  fields:\n    - {field: partner_id, kpi: deal_count, period: last_90_days}\n"
    )
    assert lines == [
        "writeback.export.fields[0].field: 'partner_id' is the output file's key column (one row per partner), "
        f"not a field to write (partnerkpi.yaml:{FIRST_WRITEBACK_LINE + 2})"
    ]


@pytest.mark.parametrize("source", ["opportunities.csv", "partners.csv"])
def test_the_file_output_is_never_a_file_the_connector_reads(tmp_path: Path, source: str) -> None:
    head = CONNECTORS.replace("output_path: out/partner_kpis.csv", f"output_path: {SAMPLE / source}")
    lines = problems(
        tmp_path, "export:\n  fields:\n    - {field: score, kpi: deal_count, period: last_90_days}\n", head
    )
    key = "path" if source == "opportunities.csv" else "partners_path"
    output_line = head.lstrip("\n").splitlines().index(f"    output_path: {SAMPLE / source}") + 1
    assert lines == [
        f"connectors[2].output_path: output_path is the file that {key} reads ({source}): writeback rewrites "
        f"the whole output file, so it must be a file of its own (partnerkpi.yaml:{output_line})"
    ]


# -- every reference resolves -------------------------------------------------------------------------
TYPO = """
export:
  fields:
    - {field: score, kpi: quality_score, period: last_quarter}
"""


@pytest.mark.parametrize("command", [["config", "validate"], ["check"], ["sync"]], ids=" ".join)
def test_a_typo_d_period_is_exit_2_with_path_and_line_in_every_command(
    tmp_path: Path, command: list[str]
) -> None:
    write(tmp_path, TYPO)
    proc = cli(tmp_path, *command)
    assert proc.returncode == 2, proc.stderr
    assert error_lines(proc) == [
        "error: writeback.export.fields[0].period: unknown period 'last_quarter' (did you mean "
        "'previous_quarter'?); kpi.periods: last_90_days, quarter_to_date, previous_quarter "
        f"(partnerkpi.yaml:{FIRST_WRITEBACK_LINE + 2})"
    ]


def test_sync_with_a_typo_d_period_writes_nothing(tmp_path: Path) -> None:
    """The field the typo would have cleared on every partner keeps its values; the state is not even
    created. The same config with the period fixed does write: the setup is one that writes."""
    output = tmp_path / "out" / "partner_kpis.csv"
    output.parent.mkdir()
    before = "partner_id,score\nP001,71.5\nP014,42.0\n"
    output.write_text(before, encoding="utf-8")
    write(tmp_path, TYPO)
    proc = cli(tmp_path, "sync", "--connector", "export")
    assert proc.returncode == 2, proc.stderr
    assert output.read_text(encoding="utf-8") == before
    assert not (tmp_path / ".partnerkpi").exists()

    write(tmp_path, TYPO.replace("last_quarter", "previous_quarter"))
    proc = cli(tmp_path, "sync", "--connector", "export", "--as-of", "2025-07-15")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert output.read_text(encoding="utf-8") != before


def test_a_period_not_in_kpi_periods_is_refused(tmp_path: Path) -> None:
    lines = problems(
        tmp_path, "hs:\n  fields:\n    - {field: pk_deals, kpi: deal_count, period: last_365_days}\n"
    )
    assert lines == [
        "writeback.hs.fields[0].period: 'last_365_days' is not one of kpi.periods (last_90_days, "
        "quarter_to_date, previous_quarter): add it there, or use one of them "
        f"(partnerkpi.yaml:{FIRST_WRITEBACK_LINE + 2})"
    ]


def test_an_unknown_figure_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    lines = problems(
        tmp_path, "hs:\n  fields:\n    - {field: pk_q, kpi: qualty_score, period: last_90_days}\n"
    )
    assert lines == [
        "writeback.hs.fields[0].kpi: unknown kpi 'qualty_score' (did you mean 'quality_score'?) "
        f"(partnerkpi.yaml:{FIRST_WRITEBACK_LINE + 2})"
    ]


@pytest.mark.parametrize(
    ("kpi", "message"),
    [
        (
            "channels.payed.won_revenue",
            "unknown segment 'payed' in 'channels.payed.won_revenue' (did you mean 'paid'?)",
        ),
        ("channels.paid.revenue", "unknown channel figure 'revenue' in 'channels.paid.revenue'"),
        ("channels.paid", "'channels.paid': expected channels.<paid|earned|owned|unclassified>"),
    ],
)
def test_an_unknown_segment_or_channel_figure_is_refused(tmp_path: Path, kpi: str, message: str) -> None:
    lines = problems(tmp_path, f"hs:\n  fields:\n    - {{field: pk_c, kpi: {kpi}, period: last_90_days}}\n")
    assert len(lines) == 1 and lines[0].startswith(f"writeback.hs.fields[0].kpi: {message}"), lines
    assert lines[0].endswith(f"(partnerkpi.yaml:{FIRST_WRITEBACK_LINE + 2})")


def test_a_coverage_field_needs_a_partner_target_for_its_period(tmp_path: Path) -> None:
    mapping = "hs:\n  fields:\n    - {field: pk_coverage, kpi: coverage, period: quarter_to_date}\n"
    lines = problems(tmp_path, mapping)
    assert lines == [
        "writeback.hs.fields[0].kpi: coverage of quarter_to_date is a partner's open pipeline over its own "
        "target, and kpi.targets has no partner:<id> target for quarter_to_date: the field would always be "
        f"empty (partnerkpi.yaml:{FIRST_WRITEBACK_LINE + 2})"
    ]
    with_target = CONNECTORS.replace(
        "previous_quarter]\n",
        "previous_quarter]\n  targets:\n    - {group: 'partner:P001', period: quarter_to_date, open_amount: 1000}\n",
    )
    cfg = load(tmp_path, mapping, with_target)
    assert cfg.kpi.target_for("partner:P001", "quarter_to_date") == 1000


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("{group: partners, period: last_quarter, open_amount: 5}", "kpi.targets[0].period: unknown period"),
        (
            "{group: partners, period: last_365_days, open_amount: 5}",
            "kpi.targets[0].period: 'last_365_days'",
        ),
        ("{group: resellers, period: last_90_days, open_amount: 5}", "kpi.targets[0].group: group must be"),
    ],
)
def test_a_target_names_a_known_group_and_period(tmp_path: Path, target: str, message: str) -> None:
    head = CONNECTORS.replace("previous_quarter]\n", f"previous_quarter]\n  targets:\n    - {target}\n")
    lines = problems(tmp_path, "hs: {fields: []}", head)
    assert len(lines) == 1 and lines[0].startswith(message), lines
    assert lines[0].endswith("(partnerkpi.yaml:5)")


# -- what ships still loads ---------------------------------------------------------------------------
def test_the_example_config_still_loads(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n")
    text = (
        (REPO / "config.example.yaml")
        .read_text()
        .replace("/run/secrets/partnerkpi/sf_private_key.pem", str(key))
    )
    (tmp_path / "config.yaml").write_text(text)
    env = {"SF_CONSUMER_KEY": "k", "HUBSPOT_TOKEN": "t", "SLACK_WEBHOOK_URL": "https://hooks.example/x"}
    cfg = load_config(tmp_path / "config.yaml", env=env)
    assert sum(len(w.fields) for w in cfg.writeback.root.values()) == 19


def test_the_demo_config_still_loads(tmp_path: Path) -> None:
    """The demo's mappings for all three connector types (the CRM connectors as the sandbox's snippet
    shapes them, pointed at nothing: loading contacts no CRM)."""
    connectors = [
        {
            "name": sandbox_connector_name("salesforce"),
            "type": "salesforce",
            "instance_url": "https://acme.my.salesforce.com",
            "auth": {"flow": "session", "session_id": "x"},
        },
        {
            "name": sandbox_connector_name("hubspot"),
            "type": "hubspot",
            "auth": {"flow": "private_app", "token": "t"},
        },
        file_connector(tmp_path),
    ]
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(demo_config(tmp_path, connectors), sort_keys=False))
    cfg = load_config(path, env={})
    assert {name: len(w.fields) for name, w in cfg.writeback.root.items()} == {
        "salesforce-sandbox": 10,
        "hubspot-sandbox": 10,
        "sample-export": 10,
    }


# -- the lists the connectors share ---------------------------------------------------------------------
def test_the_sandbox_builtin_company_properties_are_all_hubspot_defaults() -> None:
    """The emulated portal's own company properties (those HubSpot defines) are all on the list."""
    assert all(is_default_company_property(p.name) for p in builtin_company_properties())
    assert {"name", "domain", "hubspot_owner_id", "phone"} <= DEFAULT_COMPANY_PROPERTIES
    assert writeback_property_problem("pk_quality_score") is None


def test_salesforce_custom_field_names_compare_case_insensitively() -> None:
    assert is_custom_field("PK_Score__c") and is_custom_field("pk_score__C")
    assert not is_custom_field("Name") and not is_custom_field("PartnerAccount__r")
    assert writeback_field_problem("PK_Score__C") is None


def test_a_last_year_part_needs_compare_to_last_year(tmp_path: Path) -> None:
    mapping = """
        sf:
          fields:
            - {field: PK_Won_Revenue__c, kpi: won_revenue, period: quarter_to_date}
            - {field: PK_Won_Vs_LY__c, kpi: won_revenue, period: quarter_to_date, value: change_pct_vs_last_year}
        """
    assert problems(tmp_path, mapping) == [
        "writeback.sf.fields[1].value: change_pct_vs_last_year needs kpi.compare_to to include last_year: "
        f"the field would always be empty (partnerkpi.yaml:{FIRST_WRITEBACK_LINE + 3})"
    ]
    head = CONNECTORS.replace("previous_quarter]\n", "previous_quarter]\n  compare_to: [prior, last_year]\n")
    cfg = load(tmp_path, mapping, head)
    sf = cfg.writeback.for_connector("sf")
    assert sf is not None and sf.fields[1].value == "change_pct_vs_last_year"


def test_a_tier_field_needs_kpi_tiers(tmp_path: Path) -> None:
    mapping = """
        sf:
          fields:
            - {field: PK_Won_Revenue__c, kpi: won_revenue, period: quarter_to_date}
            - {field: PK_Tier__c, kpi: tier}
            - {field: PK_Tier_Since__c, kpi: tier_reached_on}
        """
    assert problems(tmp_path, mapping) == [
        "writeback.sf.fields[1].kpi: tier needs kpi.tiers: the field would always be empty "
        f"(partnerkpi.yaml:{FIRST_WRITEBACK_LINE + 3})",
        "writeback.sf.fields[2].kpi: tier_reached_on needs kpi.tiers: the field would always be empty "
        f"(partnerkpi.yaml:{FIRST_WRITEBACK_LINE + 4})",
    ]
    tiers = (
        "  tiers:\n    measure: won_revenue\n    period: previous_quarter\n"
        "    levels: [{name: Gold, min: 1000}, {name: Registered, min: 0}]\n"
    )
    cfg = load(tmp_path, mapping, CONNECTORS.replace("previous_quarter]\n", "previous_quarter]\n" + tiers))
    sf = cfg.writeback.for_connector("sf")
    assert sf is not None and [m.kpi for m in sf.fields[1:]] == ["tier", "tier_reached_on"]
