"""The YAML config: every problem is one line naming the YAML path and the line; secrets never show.

Connector items are validated by their type's model; these tests register a small probe connector
through a monkeypatched ``connectors.registry.available`` so that they depend on no real connector."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationInfo, field_validator

from connectors import registry
from connectors.base import CheckResult, Connector, ConnectorConfig, FieldWriter, PullBatch
from connectors.fields import FieldSpec, FieldUpdate, FieldValue, ProvisionResult, WriteResult
from partnerkpi.config import AppConfig, ConfigError, config_dir, config_json_schema, load_config

SECRET = "s3cr3t-canary-value"


class ProbeAuth(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    consumer_key: str
    consumer_secret: SecretStr


class ProbeConfig(ConnectorConfig):
    type: Literal["probe"]
    auth: ProbeAuth
    batch_size: int = 200
    output_file: str | None = None
    """A real field that ends in _file: the secret-file rule must leave it alone."""
    export_dir: Path | None = None

    @field_validator("export_dir")
    @classmethod
    def _relative_to_the_config(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        base = config_dir(info)
        return base / value if value is not None and base is not None else value


class ProbeConnector(Connector[ProbeConfig], FieldWriter):
    def check(self, specs: Sequence[FieldSpec] = ()) -> list[CheckResult]:
        return []

    def pull(self, watermark: str | None) -> Iterator[PullBatch]:
        yield PullBatch()

    def read_fields(
        self, partner_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, FieldValue]]:
        return {}

    def write_fields(
        self, updates: Sequence[FieldUpdate], specs: Mapping[str, FieldSpec]
    ) -> list[WriteResult]:
        return []

    def provision_fields(self, specs: Sequence[FieldSpec]) -> list[ProvisionResult]:
        return []


class ReaderConfig(ConnectorConfig):
    type: Literal["reader"]


class ReaderConnector(Connector[ReaderConfig]):
    """A read-only connector: a source without the FieldWriter capability."""

    def check(self, specs: Sequence[FieldSpec] = ()) -> list[CheckResult]:
        return []

    def pull(self, watermark: str | None) -> Iterator[PullBatch]:
        yield PullBatch()


@pytest.fixture(autouse=True)
def probe_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    types = {"probe": f"{__name__}:ProbeConnector", "ghost": "tests.partnerkpi.no_such_module:Ghost"}
    monkeypatch.setattr(registry, "available", lambda: dict(types))


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load(tmp_path: Path, text: str, **env: str) -> AppConfig:
    return load_config(write(tmp_path, text), env=env)


def error(tmp_path: Path, text: str, **env: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text, **env)
    message = str(caught.value)
    assert "\n" not in message
    return caught.value


PROBE = """
version: 1
connectors:
  - name: crm
    type: probe
    auth:
      consumer_key: key-1
      consumer_secret: ${PROBE_SECRET}
    batch_size: 50
"""  # lines: 1 version, 2 connectors, 3 item, 4 type, 5 auth, 6 key, 7 secret, 8 batch_size


def test_a_valid_file_gives_each_connector_its_own_model(tmp_path: Path) -> None:
    cfg = load(tmp_path, PROBE, PROBE_SECRET=SECRET)
    (crm,) = cfg.connectors
    assert isinstance(crm, ProbeConfig)
    assert (crm.name, crm.type, crm.batch_size, crm.auth.consumer_key) == ("crm", "probe", 50, "key-1")
    assert crm.auth.consumer_secret.get_secret_value() == SECRET
    assert SECRET not in repr(cfg) and SECRET not in str(cfg)
    assert cfg.connector("crm") is crm and cfg.connector("nope") is None
    assert cfg.model_dump()["connectors"][0]["batch_size"] == 50  # serialized as its own model


def test_a_misspelt_key_is_named_with_its_line_and_a_suggestion(tmp_path: Path) -> None:
    err = error(tmp_path, PROBE.replace("consumer_key:", "consumer_kye:"), PROBE_SECRET=SECRET)
    assert (
        str(err)
        == "connectors[0].auth.consumer_kye: unknown key (did you mean consumer_key?) (config.yaml:6)"
    )
    assert err.problems == [
        ("connectors[0].auth.consumer_kye", "unknown key (did you mean consumer_key?)", 6)
    ]


def test_a_misspelt_top_level_section(tmp_path: Path) -> None:
    err = error(tmp_path, "version: 1\nconectors: []\n")
    assert str(err) == "conectors: unknown key (did you mean connectors?) (config.yaml:2)"


def test_a_missing_field_points_at_its_parent_mapping(tmp_path: Path) -> None:
    text = PROBE.replace("      consumer_key: key-1\n", "")
    err = error(tmp_path, text, PROBE_SECRET=SECRET)
    assert str(err) == "connectors[0].auth.consumer_key: field required (config.yaml:5)"


def test_a_wrong_type(tmp_path: Path) -> None:
    err = error(tmp_path, PROBE.replace("batch_size: 50", "batch_size: lots"), PROBE_SECRET=SECRET)
    assert str(err) == (
        "connectors[0].batch_size: input should be a valid integer, unable to parse string as an integer "
        "(config.yaml:8)"
    )


def test_a_wrong_version(tmp_path: Path) -> None:
    err = error(tmp_path, "version: 2\n")
    assert str(err) == "version: input should be 1 (config.yaml:1)"


def test_several_problems_come_in_document_order(tmp_path: Path) -> None:
    text = PROBE.replace("batch_size: 50", "batch_size: lots") + "logging:\n  level: loud\n  colour: red\n"
    text = text.replace("version: 1", "version: 1\nstate:\n  path: x.sqlite")
    err = error(tmp_path, text, PROBE_SECRET=SECRET)
    assert [(p.path, p.line) for p in err.problems] == [
        ("state.path", 3),
        ("connectors[0].batch_size", 10),
        ("logging.level", 12),
        ("logging.colour", 13),
    ]
    assert str(err) == "state.path: unknown key (config.yaml:3)"
    assert err.lines()[1].startswith("connectors[0].batch_size: input should be a valid integer")


# -- ${VAR} --------------------------------------------------------------------------------------------
def test_an_unset_variable_names_itself_the_path_and_the_line(tmp_path: Path) -> None:
    err = error(tmp_path, PROBE)
    assert (
        str(err)
        == "connectors[0].auth.consumer_secret: environment variable PROBE_SECRET is not set (config.yaml:7)"
    )


def test_a_default_applies_when_the_variable_is_unset_or_empty(tmp_path: Path) -> None:
    text = PROBE.replace("${PROBE_SECRET}", "${PROBE_SECRET:-fallback}").replace(
        "key-1", "k-${REGION:-eu}-${N}"
    )
    cfg = load(tmp_path, text, N="7")
    crm = cfg.connectors[0]
    assert isinstance(crm, ProbeConfig)
    assert crm.auth.consumer_secret.get_secret_value() == "fallback"
    assert crm.auth.consumer_key == "k-eu-7"
    crm = load(tmp_path, text, N="7", PROBE_SECRET="", REGION="us").connectors[0]
    assert isinstance(crm, ProbeConfig)
    assert crm.auth.consumer_secret.get_secret_value() == "fallback" and crm.auth.consumer_key == "k-us-7"
    crm = load(tmp_path, text, N="7", PROBE_SECRET=SECRET).connectors[0]
    assert isinstance(crm, ProbeConfig) and crm.auth.consumer_secret.get_secret_value() == SECRET


def test_a_variable_fills_a_number_too(tmp_path: Path) -> None:
    cfg = load(tmp_path, PROBE.replace("batch_size: 50", "batch_size: ${BATCH:-75}"), PROBE_SECRET=SECRET)
    assert isinstance(cfg.connectors[0], ProbeConfig) and cfg.connectors[0].batch_size == 75


def test_a_double_dollar_is_a_literal_dollar(tmp_path: Path) -> None:
    text = PROBE.replace("key-1", "'pa$$word $${NOT_A_VAR} $5'")
    crm = load(tmp_path, text, PROBE_SECRET=SECRET).connectors[0]
    assert isinstance(crm, ProbeConfig) and crm.auth.consumer_key == "pa$word ${NOT_A_VAR} $5"


def test_a_malformed_reference_is_an_error(tmp_path: Path) -> None:
    err = error(tmp_path, PROBE.replace("key-1", "'${9LIVES}'"), PROBE_SECRET=SECRET)
    assert (
        str(err)
        == "connectors[0].auth.consumer_key: invalid reference ${9LIVES} (write $$ for a literal $) (config.yaml:6)"
    )
    err = error(tmp_path, PROBE.replace("key-1", "'${OPEN'"), PROBE_SECRET=SECRET)
    assert (
        str(err)
        == "connectors[0].auth.consumer_key: unterminated ${ (write $$ for a literal $) (config.yaml:6)"
    )


# -- secrets from files ----------------------------------------------------------------------------------
def test_a_secret_is_read_from_a_file_and_never_shown(tmp_path: Path) -> None:
    secret_file = tmp_path / "secrets" / "probe"
    secret_file.parent.mkdir()
    secret_file.write_text(SECRET + "\n", encoding="utf-8")
    text = PROBE.replace("consumer_secret: ${PROBE_SECRET}", "consumer_secret_file: secrets/probe")
    cfg = load(tmp_path, text)
    crm = cfg.connectors[0]
    assert isinstance(crm, ProbeConfig) and crm.auth.consumer_secret.get_secret_value() == SECRET
    assert SECRET not in repr(cfg)
    # a later problem in the same file: the message carries neither the secret nor the file's content
    err = error(tmp_path, text.replace("batch_size: 50", "batch_size: [1]"))
    assert str(err) == "connectors[0].batch_size: input should be a valid integer (config.yaml:8)"
    assert all(SECRET not in line for line in err.lines()) and SECRET not in repr(err.problems)


def test_the_secret_file_path_may_come_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / "s").write_text(SECRET, encoding="utf-8")
    text = PROBE.replace("consumer_secret: ${PROBE_SECRET}", "consumer_secret_file: ${SECRETS}/s")
    crm = load(tmp_path, text, SECRETS=str(tmp_path)).connectors[0]
    assert isinstance(crm, ProbeConfig) and crm.auth.consumer_secret.get_secret_value() == SECRET


def test_an_unreadable_secret_file_names_the_path_and_line(tmp_path: Path) -> None:
    text = PROBE.replace("consumer_secret: ${PROBE_SECRET}", f"consumer_secret_file: {tmp_path}/missing")
    err = error(tmp_path, text)
    assert str(err) == (
        f"connectors[0].auth.consumer_secret_file: cannot read secret file {tmp_path}/missing: "
        "No such file or directory (config.yaml:7)"
    )


def test_a_secret_given_twice_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "s").write_text(SECRET, encoding="utf-8")
    text = PROBE.replace("batch_size: 50", "batch_size: 50\n    output_file: out.csv").replace(
        "      consumer_secret: ${PROBE_SECRET}\n",
        "      consumer_secret: ${PROBE_SECRET}\n      consumer_secret_file: s\n",
    )
    err = error(tmp_path, text, PROBE_SECRET=SECRET)
    assert str(err) == (
        "connectors[0].auth.consumer_secret_file: give consumer_secret or consumer_secret_file, not both "
        "(config.yaml:8)"
    )
    assert SECRET not in str(err)


def test_a_real_field_ending_in_file_is_left_alone(tmp_path: Path) -> None:
    text = PROBE.replace("batch_size: 50", "output_file: out/partners.csv")
    crm = load(tmp_path, text, PROBE_SECRET=SECRET).connectors[0]
    assert isinstance(crm, ProbeConfig) and crm.output_file == "out/partners.csv"


# -- YAML itself -----------------------------------------------------------------------------------------
def test_a_duplicate_key_is_an_error(tmp_path: Path) -> None:
    text = PROBE.replace("    batch_size: 50", "    batch_size: 50\n    batch_size: 60")
    err = error(tmp_path, text, PROBE_SECRET=SECRET)
    assert str(err) == "connectors[0].batch_size: duplicate key, first given on line 8 (config.yaml:9)"


def test_a_yaml_syntax_error_is_one_line_with_its_line(tmp_path: Path) -> None:
    err = error(tmp_path, "version: 1\nconnectors:\n  - name: crm\n    type: probe: x\n")
    assert str(err) == "YAML syntax error: mapping values are not allowed here (config.yaml:4)"
    err = error(tmp_path, "version: 1\nconnectors:\n  - name: crm\n   type: probe\n")
    assert (
        str(err)
        == "YAML syntax error: expected <block end>, but found '<block mapping start>' (config.yaml:4)"
    )
    err = error(tmp_path, 'version: 1\nkpi: {timezone: "UTC"\n')
    assert str(err).startswith("YAML syntax error: ") and str(err).endswith("(config.yaml:3)")


def test_anchors_and_merge_keys_work(tmp_path: Path) -> None:
    text = PROBE + "  - <<: *first\n    name: crm2\n    batch_size: 9\n"
    text = text.replace("  - name: crm", "  - &first\n    name: crm")
    cfg = load(tmp_path, text, PROBE_SECRET=SECRET)
    assert [c.name for c in cfg.connectors] == ["crm", "crm2"]
    second = cfg.connectors[1]
    assert isinstance(second, ProbeConfig) and second.batch_size == 9 and second.auth.consumer_key == "key-1"


def test_a_missing_or_empty_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "absent.yaml")
    assert str(caught.value) == f"config file {tmp_path / 'absent.yaml'} not found (absent.yaml)"
    cfg = load(tmp_path, "# nothing yet\n")
    assert cfg.connectors == [] and cfg.version == 1


def test_a_top_level_list_is_an_error(tmp_path: Path) -> None:
    assert str(error(tmp_path, "- a\n- b\n")) == "the config must be a mapping of sections (config.yaml:1)"


# -- connectors --------------------------------------------------------------------------------------------
def test_an_unknown_connector_type_lists_the_known_ones(tmp_path: Path) -> None:
    err = error(tmp_path, PROBE.replace("type: probe", "type: salesfarce"), PROBE_SECRET=SECRET)
    assert (
        str(err)
        == "connectors[0].type: unknown connector type 'salesfarce' (known: ghost, probe) (config.yaml:4)"
    )


def test_a_connector_without_a_type(tmp_path: Path) -> None:
    err = error(tmp_path, PROBE.replace("    type: probe\n", ""), PROBE_SECRET=SECRET)
    assert str(err) == "connectors[0].type: field required (one of: ghost, probe) (config.yaml:3)"


def test_a_connector_type_whose_module_is_missing(tmp_path: Path) -> None:
    err = error(tmp_path, PROBE.replace("type: probe", "type: ghost"), PROBE_SECRET=SECRET)
    assert (
        str(err) == "connectors[0].type: connector type 'ghost' cannot be loaded: ModuleNotFoundError: "
        "No module named 'tests.partnerkpi.no_such_module' (config.yaml:4)"
    )


def test_connector_names_must_be_unique(tmp_path: Path) -> None:
    second = "  - name: crm\n    type: probe\n    auth: {consumer_key: k, consumer_secret: s}\n"
    err = error(tmp_path, PROBE + second, PROBE_SECRET=SECRET)
    assert (
        str(err) == "connectors[1].name: duplicate connector name 'crm' (also connectors[0]) (config.yaml:9)"
    )


def test_connector_errors_keep_their_item_index(tmp_path: Path) -> None:
    second = "  - name: hub\n    type: probe\n    auth: {consumer_key: k}\n"
    err = error(tmp_path, PROBE + second, PROBE_SECRET=SECRET)
    assert str(err) == "connectors[1].auth.consumer_secret: field required (config.yaml:11)"


def test_writeback_for_an_unknown_connector(tmp_path: Path) -> None:
    err = error(tmp_path, PROBE + "writeback:\n  crm: {}\n  hub: {}\n", PROBE_SECRET=SECRET)
    assert str(err) == "writeback.hub: no connector named 'hub' (connectors: crm) (config.yaml:11)"


def test_a_writeback_section_for_a_read_only_connector_is_refused_at_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    types = {"probe": f"{__name__}:ProbeConnector", "reader": f"{__name__}:ReaderConnector"}
    monkeypatch.setattr(registry, "available", lambda: dict(types))
    reader = "  - name: export\n    type: reader\n"
    mapping = "writeback:\n  export:\n    fields:\n      - {kpi: deal_count, period: last_90_days, field: Deals__c}\n"
    err = error(tmp_path, PROBE + reader + mapping, PROBE_SECRET=SECRET)
    assert str(err) == (
        "writeback.export: connector 'export' (type 'reader') only reads: it cannot write fields, so it "
        "takes no writeback section; remove this section (config.yaml:12)"
    )
    cfg = load(tmp_path, PROBE + reader, PROBE_SECRET=SECRET)  # without the section it loads
    assert [c.type for c in cfg.connectors] == ["probe", "reader"]


def test_connector_models_can_resolve_paths_against_the_config_directory(tmp_path: Path) -> None:
    crm = load(tmp_path, PROBE.replace("batch_size: 50", "export_dir: out"), PROBE_SECRET=SECRET).connectors[
        0
    ]
    assert isinstance(crm, ProbeConfig) and crm.export_dir == tmp_path / "out"


def test_a_webhook_url_from_a_file(tmp_path: Path) -> None:
    hook = "https://hooks.example.test/T0/B0/" + SECRET
    (tmp_path / "hook").write_text(hook + "\n", encoding="utf-8")
    cfg = load(tmp_path, "alerts:\n  webhooks:\n    - url_file: hook\n      format: slack\n")
    (webhook,) = cfg.alerts.webhooks
    assert webhook.url.get_secret_value() == hook and webhook.format == "slack"
    assert SECRET not in repr(cfg)
    err = error(tmp_path, "alerts:\n  webhooks:\n    - url_file: nowhere\n")
    assert str(err) == (
        f"alerts.webhooks[0].url_file: cannot read secret file {tmp_path}/nowhere: No such file or directory "
        "(config.yaml:3)"
    )


# -- state ---------------------------------------------------------------------------------------------
def test_a_relative_sqlite_path_starts_at_the_config_file(tmp_path: Path) -> None:
    assert load(tmp_path, "version: 1\n").state.url == f"sqlite:///{tmp_path}/.partnerkpi/state.sqlite"
    assert (
        load(tmp_path, "state:\n  url: sqlite:///db/s.sqlite\n").state.url
        == f"sqlite:///{tmp_path}/db/s.sqlite"
    )
    assert (
        load(tmp_path, "state: {url: 'sqlite:////var/lib/pk.sqlite'}\n").state.url
        == "sqlite:////var/lib/pk.sqlite"
    )
    pg = "postgresql+psycopg://pk:${PGPASS}@db/pk"
    assert (
        load(tmp_path, f"state: {{url: '{pg}'}}\n", PGPASS="pw").state.url
        == "postgresql+psycopg://pk:pw@db/pk"
    )


def test_a_bad_state_url(tmp_path: Path) -> None:
    err = error(tmp_path, "state:\n  url: not a url\n")
    assert (
        str(err)
        == "state.url: not a database URL: 'not a url' (e.g. sqlite:///.partnerkpi/state.sqlite) (config.yaml:2)"
    )


# -- JSON Schema -----------------------------------------------------------------------------------------
def test_the_json_schema_offers_each_connector_type_by_its_type(tmp_path: Path) -> None:
    schema = config_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {
        "version",
        "state",
        "kpi",
        "connectors",
        "writeback",
        "alerts",
        "logging",
    }
    items = schema["properties"]["connectors"]["items"]
    assert items["discriminator"]["propertyName"] == "type"
    ref = items["discriminator"]["mapping"]["probe"]
    assert items["oneOf"] == [{"$ref": ref}]
    probe = schema["$defs"][ref.rsplit("/", 1)[-1]]
    assert probe["properties"]["type"] == {"const": "probe", "title": "Type"}
    assert probe["additionalProperties"] is False
    auth = schema["$defs"][probe["properties"]["auth"]["$ref"].rsplit("/", 1)[-1]]
    assert "consumer_secret_file" in auth["properties"] and "consumer_secret" not in auth["required"]
    assert {"anyOf": [{"required": ["consumer_secret"]}, {"required": ["consumer_secret_file"]}]} in auth[
        "allOf"
    ]
    assert "ghost" in schema["$comment"]

    def refs(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                yield node["$ref"]
            for v in node.values():
                yield from refs(v)
        elif isinstance(node, list):
            for v in node:
                yield from refs(v)

    assert all(r.rsplit("/", 1)[-1] in schema["$defs"] for r in refs(schema))


# -- the kpi section (kpi_core's own model) ------------------------------------------------------------
KPI = """
kpi:
  reporting_currency: EUR
  timezone: Europe/Berlin
  periods: [last_90_days, previous_quarter]
  channel_segments:
    paid: [Advertisement]
    owned: [Web]
  weights: {won_revenue: 0.5, deal_count: 0.3, win_rate_smoothed: 0.2}
  targets:
    - {group: partners, period: last_90_days, open_amount: 1000000}
"""  # lines: 1 kpi, 2 currency, 3 timezone, 4 periods, 5 segments, 6 paid, 7 owned, 8 weights, 9 targets, 10


def test_the_kpi_section_is_kpi_cores_model(tmp_path: Path) -> None:
    cfg = load(tmp_path, KPI)
    assert (cfg.kpi.reporting_currency, cfg.kpi.timezone) == ("EUR", "Europe/Berlin")
    assert cfg.kpi.periods == ["last_90_days", "previous_quarter"]
    assert cfg.kpi.target_for("partners", "last_90_days") == 1_000_000


def test_a_kpi_validator_error_points_at_the_entry_it_names(tmp_path: Path) -> None:
    err = error(tmp_path, KPI.replace("[Web]", "[Web, advertisement]"))
    assert (
        str(err)
        == "kpi.channel_segments: channel 'advertisement' is mapped to both paid and owned (config.yaml:5)"
    )
    err = error(tmp_path, KPI.replace("[Web]", "['  ']"))
    assert (
        str(err)
        == "kpi.channel_segments.owned: an empty channel value is always unclassified (config.yaml:7)"
    )
    err = error(tmp_path, KPI + "    - {group: overall, period: last_30_days, open_amount: 5}\n")
    assert str(err) == (
        "kpi.targets[1].period: 'last_30_days' is not one of periods (last_90_days, previous_quarter) "
        "(config.yaml:11)"
    )
    err = error(tmp_path, KPI.replace("previous_quarter]", "previous_quarter, last_90_days]"))
    assert str(err) == "kpi.periods[2]: 'last_90_days' is listed twice (config.yaml:4)"


def test_a_compare_to_error_names_its_path_and_line(tmp_path: Path) -> None:
    with_compare = KPI.replace("  weights:", "  compare_to: [prior, last_year, prior]\n  weights:")
    assert load(tmp_path, with_compare.replace(", prior]", "]")).kpi.compare_to == ["prior", "last_year"]
    err = error(tmp_path, with_compare)
    assert str(err) == "kpi.compare_to[2]: 'prior' is listed twice (config.yaml:8)"
    err = error(tmp_path, with_compare.replace(", prior]", ", same_week]"))
    assert str(err) == "kpi.compare_to[2]: input should be 'prior' or 'last_year' (config.yaml:8)"


def test_a_bad_time_zone_and_weights(tmp_path: Path) -> None:
    err = error(tmp_path, KPI.replace("Europe/Berlin", "Mars/Olympus").replace("0.2}", "0.3}"))
    assert err.lines() == [
        "kpi.timezone: unknown time zone 'Mars/Olympus' (expected an IANA name such as Europe/Berlin) "
        "(config.yaml:3)",
        "kpi.weights: the weights must sum to 1, they sum to 1.1 (config.yaml:8)",
    ]
