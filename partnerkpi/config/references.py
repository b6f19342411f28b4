"""The cross-checks of the writeback section, run at load time so that a mapping mistake stops every
command (``config validate``, ``check``, ``sync``, ...) before anything is read or written:

- the connector writes fields at all (a read-only connector, one that is not a ``FieldWriter``, has no
  writeback section);
- a target is a field the project owns on that CRM (Salesforce: a custom ``__c`` field; HubSpot: not one
  of HubSpot's default company properties; file: not the ``partner_id`` key column), and the file
  connector's output is not one of the files it reads;
- one target per field, names compared as the CRM compares them (Salesforce API names are
  case-insensitive); the second mapping names the first;
- every reference resolves: a field's ``period`` is one of ``kpi.periods``, a ``coverage`` field has a
  partner target for its period (figure and segment names are checked by writeback's own model).

Each finding is a Problem at the YAML path it concerns, with that path's line."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors import registry
from connectors.base import ConnectorConfig, writes_fields
from kpi_core.periods import PeriodKind, parse_period
from kpi_core.registry import KpiFigure
from kpi_core.settings import KpiSettings
from partnerkpi.config.errors import Problem, YamlPath, format_path
from partnerkpi.config.models import AppConfig
from partnerkpi.config.yamlsource import Document
from writeback.mapping import (
    LAST_YEAR_PARTS,
    TIER_KPIS,
    ConnectorWriteback,
    FieldMapping,
    did_you_mean,
    duplicate_fields,
)


@dataclass(frozen=True)
class TargetNaming:
    """How one CRM names the fields writeback may write: ``problem(name)`` says why a name is not ours
    (None when it is), ``key(name)`` is how the CRM compares two names."""

    problem: Callable[[str], str | None]
    key: Callable[[str], str]
    compared: str
    """How the CRM compares names, said in the message about a field mapped twice."""


def _salesforce() -> TargetNaming:
    from connectors.salesforce.field_names import field_key, writeback_field_problem

    return TargetNaming(writeback_field_problem, field_key, "Salesforce API names are case-insensitive")


def _hubspot() -> TargetNaming:
    from connectors.hubspot.standard_properties import writeback_property_problem

    return TargetNaming(writeback_property_problem, str, "HubSpot internal names are lower case")


def _file_column_problem(name: str) -> str | None:
    from connectors.file.writer import KEY

    if name.strip().casefold() == KEY:
        return f"{name!r} is the output file's key column (one row per partner), not a field to write"
    if name != name.strip() or any(c in name for c in "\r\n"):
        return f"{name!r}: a column name cannot start or end with blanks or hold a line break"
    return None


def _file() -> TargetNaming:
    return TargetNaming(_file_column_problem, str, "CSV column names compare exactly")


NAMING: dict[str, Callable[[], TargetNaming]] = {
    "salesforce": _salesforce,
    "hubspot": _hubspot,
    "file": _file,
}
"""Built-in connector types. A plugin type gets the generic checks (duplicates, references) only."""


class _Finder:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.problems: list[Problem] = []

    def at(self, path: YamlPath, message: str) -> None:
        self.problems.append(Problem(format_path(path), message, self.doc.line_of(path)))

    def where(self, path: YamlPath) -> str:
        return f"{format_path(path)} (line {self.doc.line_of(path)})"


def writeback_problems(doc: Document, config: AppConfig) -> list[Problem]:
    """Every problem of the writeback section against the connectors and the kpi section."""
    find = _Finder(doc)
    items = doc.data.get("connectors") if isinstance(doc.data, dict) else None
    index: dict[str, int] = {}  # connector name -> its index in the YAML list
    for i, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            index.setdefault(item["name"], i)
    for name, section in config.writeback.root.items():
        connector = config.connector(name)
        if connector is None:
            continue  # reported by the loader: no connector of that name
        if not writes_fields(registry.get(connector.type)):
            find.at(
                ("writeback", name),
                f"connector {name!r} (type {connector.type!r}) only reads: it cannot write fields, so it "
                "takes no writeback section; remove this section",
            )
            continue
        base: YamlPath = ("writeback", name, "fields")
        naming = NAMING[connector.type]() if connector.type in NAMING else None
        _targets(find, base, section, naming)
        _references(find, base, section.fields, config.kpi)
        if connector.type == "file" and section.fields and name in index:
            _file_output(find, ("connectors", index[name]), connector)
    return find.problems


def _targets(find: _Finder, base: YamlPath, section: ConnectorWriteback, naming: TargetNaming | None) -> None:
    if naming is not None:
        for i, m in enumerate(section.fields):
            why = naming.problem(m.field)
            if why is not None:
                find.at((*base, i, "field"), why)
    key = naming.key if naming is not None else str
    for first, second in duplicate_fields(section.fields, key):
        a, b = section.fields[first].field, section.fields[second].field
        same = f" ({naming.compared})" if naming is not None and a != b else ""
        find.at(
            (*base, second, "field"),
            f"{b!r} is mapped twice: {a!r} at {find.where((*base, first, 'field'))} is the same field{same}; "
            "one mapping per field",
        )


def _references(find: _Finder, base: YamlPath, fields: Iterable[FieldMapping], kpi: KpiSettings) -> None:
    partner_targets = {t.period for t in kpi.targets if t.group.startswith("partner:")}
    for i, m in enumerate(fields):
        if m.period is not None and m.period not in kpi.periods:
            find.at((*base, i, "period"), period_problem(m.period, kpi.periods))
        elif m.kpi == KpiFigure.COVERAGE and m.period is not None and m.period not in partner_targets:
            find.at(
                (*base, i, "kpi"),
                f"coverage of {m.period} is a partner's open pipeline over its own target, and kpi.targets "
                f"has no partner:<id> target for {m.period}: the field would always be empty",
            )
        if m.attribution == "influenced" and not kpi.influenced:
            find.at(
                (*base, i, "attribution"),
                "attribution influenced needs kpi.attribution to include influenced: the field would "
                "always be empty",
            )
        if m.kpi in TIER_KPIS and kpi.tiers is None:
            find.at((*base, i, "kpi"), f"{m.kpi} needs kpi.tiers: the field would always be empty")
        if m.value in LAST_YEAR_PARTS and not kpi.last_year:
            find.at(
                (*base, i, "value"),
                f"{m.value} needs kpi.compare_to to include last_year: the field would always be empty",
            )


def period_problem(period: str, periods: list[str]) -> str:
    """A writeback period that is not one of ``kpi.periods``: a typo (with the closest name), or a valid
    period that the kpi section does not compute."""
    listed = ", ".join(periods)
    try:
        parse_period(period)
    except ValueError:
        named = [k.value for k in PeriodKind if k is not PeriodKind.LAST_N_DAYS]
        hint = did_you_mean(period, periods) or did_you_mean(period, named)
        return f"unknown period {period!r}{hint}; kpi.periods: {listed}"
    return f"{period!r} is not one of kpi.periods ({listed}): add it there, or use one of them"


def _file_output(find: _Finder, path: YamlPath, connector: ConnectorConfig) -> None:
    """Writeback replaces the whole output CSV: it must not be the export or the partner file it reads."""
    output: Any = getattr(connector, "output_path", None)
    if not isinstance(output, Path):
        return
    for key in ("path", "partners_path"):
        source: Any = getattr(connector, key, None)
        if isinstance(source, Path) and _same_file(output, source):
            find.at(
                (*path, "output_path"),
                f"output_path is the file that {key} reads ({source.name}): writeback rewrites the whole "
                "output file, so it must be a file of its own",
            )


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False
