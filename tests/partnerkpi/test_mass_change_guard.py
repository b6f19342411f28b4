"""The mass-change guard (issue 15): a sync whose plan would clear, or move by a large factor, too many of
the values the CRM already holds writes nothing, exits 1, says why in the run history and names
``--allow-mass-change``; a first sync into empty fields is never a mass change."""

from __future__ import annotations

import csv
import json
import subprocess
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.fields import FieldValue
from partnerkpi.state import StateStore
from tests.cli_in_process import run_partnerkpi
from tests.maven_cli import connector_yaml, write_config
from writeback import ConnectorWriteback, FieldMapping, MassChangeGuard, Plan, make_plan, mass_change
from writeback.guard import moved_by_factor
from writeback.plan import Ledger

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)
FIELDS = ("a", "b", "c", "d")


def writeback(guard: MassChangeGuard | None = None, stamp: bool = True) -> ConnectorWriteback:
    fields = [FieldMapping(field=f, kpi="deal_count", period="last_90_days") for f in FIELDS]
    if stamp:
        fields.append(FieldMapping(field="updated", kpi="updated_at"))
    return ConnectorWriteback(fields=fields, mass_change=guard or MassChangeGuard())


def filled_ledger(partners: int, value: str = "5") -> dict[tuple[str, str], str | None]:
    return {(f"p{i}", f): value for i in range(partners) for f in FIELDS}


def desired_all(partners: int, value: FieldValue) -> dict[str, dict[str, FieldValue]]:
    return {f"p{i}": dict.fromkeys(FIELDS, value) for i in range(partners)}


def plan_for(
    desired: dict[str, dict[str, FieldValue]], ledger: Ledger, guard: MassChangeGuard | None = None
) -> tuple[Plan, MassChangeGuard]:
    wb = writeback(guard)
    return make_plan("crm", desired, wb, ledger, NOW), wb.mass_change


def test_clearing_all_filled_values_is_a_mass_change() -> None:
    plan, guard = plan_for(desired_all(10, None), filled_ledger(10))
    found = mass_change(plan, guard)
    assert found is not None
    assert (found.filled, found.cleared, found.moved) == (40, 40, 0)
    assert "clear 40 of 40" in found.describe()


def test_updated_at_is_neither_counted_as_filled_nor_as_changed() -> None:
    ledger = {**filled_ledger(10), **{(f"p{i}", "updated"): "2026-11-01T00:00:00+00:00" for i in range(10)}}
    plan, guard = plan_for(desired_all(10, None), ledger)
    found = mass_change(plan, guard)
    assert found is not None and found.filled == 40 and found.cleared == 40


def test_a_first_sync_into_empty_fields_never_trips() -> None:
    plan, guard = plan_for(desired_all(10, Decimal(7)), {})
    assert plan.filled == 0
    assert len(plan.changes) == 50
    assert mass_change(plan, guard) is None
    # Empty fields already in the ledger (None written before) are not filled either.
    plan, guard = plan_for(desired_all(10, Decimal(7)), filled_ledger(10, value=None))
    assert mass_change(plan, guard) is None


def test_clearing_exactly_the_limit_passes_one_more_trips() -> None:
    ledger = filled_ledger(10)  # 40 filled; 10% is 4
    desired = desired_all(10, Decimal(5))
    for i in range(4):
        desired[f"p{i}"]["a"] = None
    plan, guard = plan_for(desired, ledger)
    assert mass_change(plan, guard) is None
    desired["p4"]["a"] = None
    plan, guard = plan_for(desired, ledger)
    found = mass_change(plan, guard)
    assert found is not None and found.cleared == 5


def test_below_min_filled_never_trips() -> None:
    ledger = {("p0", "a"): "5", ("p0", "b"): "5", ("p0", "c"): "5"}  # 3 filled < 10
    plan, guard = plan_for({"p0": dict.fromkeys(FIELDS, None)}, ledger)
    assert mass_change(plan, guard) is None
    strict = MassChangeGuard(min_filled=3)
    plan, guard = plan_for({"p0": dict.fromkeys(FIELDS, None)}, ledger, strict)
    assert mass_change(plan, guard) is not None


def test_changing_most_numbers_by_more_than_the_factor_trips() -> None:
    ledger = filled_ledger(10, value="5")
    plan, guard = plan_for(desired_all(10, Decimal(500)), ledger)  # a hundredfold: a unit mistake
    found = mass_change(plan, guard)
    assert found is not None and (found.cleared, found.moved) == (0, 40)
    assert "by more than 10x" in found.describe()
    # Half of them exactly is at the limit (0.5): it passes.
    desired = desired_all(10, Decimal(5))
    for i in range(5):
        desired[f"p{i}"] = dict.fromkeys(FIELDS, Decimal(500))
    plan, guard = plan_for(desired, ledger)
    assert mass_change(plan, guard) is None


def test_small_changes_of_every_value_do_not_trip() -> None:
    plan, guard = plan_for(desired_all(10, Decimal(6)), filled_ledger(10, value="5"))
    assert len(plan.changes) == 50
    assert mass_change(plan, guard) is None


@pytest.mark.parametrize(
    ("before", "after", "moved"),
    [
        ("5", Decimal("50.01"), True),
        ("5", Decimal(50), False),  # exactly tenfold is not more than tenfold
        ("5", Decimal("0.4"), True),
        ("5", Decimal("0.5"), False),
        ("5", Decimal(0), True),  # falling to zero from a value
        ("0", Decimal(3), False),  # from zero there is no factor
        ("-5", Decimal(5), False),  # a sign change alone
        ("Revenue p10", "Revenue p90 · low sample", False),  # text never moves by a factor
    ],
)
def test_moved_by_factor_rules(before: str, after: FieldValue, moved: bool) -> None:
    assert moved_by_factor(before, after, Decimal(10)) is moved


def test_live_values_decide_what_is_filled_with_verify_live() -> None:
    wb = writeback(stamp=False)
    live: dict[str, dict[str, FieldValue]] = {f"p{i}": dict.fromkeys(FIELDS, Decimal(5)) for i in range(10)}
    plan = make_plan("crm", desired_all(10, None), wb, {}, NOW, live)  # ledger lost, CRM filled
    found = mass_change(plan, wb.mass_change)
    assert found is not None and found.filled == 40 and found.cleared == 40


def test_undoing_edits_people_made_in_the_crm_is_not_a_mass_change() -> None:
    wb = writeback(stamp=False)
    ledger = filled_ledger(10, value="5")
    live: dict[str, dict[str, FieldValue]] = {
        f"p{i}": dict.fromkeys(FIELDS, Decimal(9999)) for i in range(10)
    }
    plan = make_plan("crm", desired_all(10, Decimal(5)), wb, ledger, NOW, live)
    assert len(plan.changes) == 40 and plan.filled == 40  # every field edited, every one restored
    assert mass_change(plan, wb.mass_change) is None


# --- end to end: the file connector through the real CLI -------------------------------------------------

WRITEBACK = """writeback:
  files:
    fields:
      - {{field: win_rate, kpi: win_rate, period: {period}}}
      - {{field: avg_deal_size, kpi: avg_deal_size, period: {period}}}
      - {{field: avg_cycle_days, kpi: avg_cycle_days, period: {period}}}
      - {{field: close_rate, kpi: close_rate, period: {period}}}
"""


def export(path: Path) -> None:
    """10 partners, each with won and lost deals in spring 2017 (none in December)."""
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(
            ["opportunity_id", "sales_agent", "deal_stage", "engage_date", "close_date", "close_value"]
        )
        for p in range(10):
            for d in range(4):
                won = d % 2 == 0
                amount = str(1000 + 100 * p + d) if won else "0"
                stage = "Won" if won else "Lost"
                out.writerow([f"o{p}-{d}", f"Agent {p}", stage, "2017-03-01", f"2017-05-{10 + d}", amount])


class Cli:
    def __init__(self, root: Path) -> None:
        self.root = root
        export(root / "export.csv")
        self.configure("last_365_days")

    def configure(self, period: str) -> None:
        connector = connector_yaml(
            "files", self.root / "export.csv", "    output_path: out/partner_kpis.csv\n"
        )
        periods = ("last_365_days", "last_30_days")
        write_config(self.root, connector, periods, extra=WRITEBACK.format(period=period))

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The CLI (in this process: the guard is what is tested, not the process)."""
        return run_partnerkpi(["--config", str(self.root / "partnerkpi.yaml"), *args], cwd=self.root)

    @property
    def output(self) -> Path:
        return self.root / "out" / "partner_kpis.csv"

    def store(self) -> StateStore:
        return StateStore.open(f"sqlite:///{self.root / 'state.sqlite'}")

    def last_run(self) -> tuple[str, str, str]:
        """The run history's last row, as ``runs`` shows it: command, status, message."""
        (row,) = self.store().runs(limit=1, connector="files")
        return row.command, row.status, row.message or ""

    def ledger(self) -> dict[tuple[str, str], str | None]:
        return dict(self.store().ledger("files"))


def filled_cells(path: Path) -> int:
    rows = list(csv.DictReader(path.open()))
    return sum(
        1
        for row in rows
        for name in ("win_rate", "avg_deal_size", "avg_cycle_days", "close_rate")
        if row[name]
    )


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def test_a_config_change_clearing_40_of_40_filled_fields_writes_nothing_until_confirmed(cli: Cli) -> None:
    first = cli("sync", "--as-of", "2017-12-31")
    assert first.returncode == 0, first.stdout + first.stderr  # a first sync into empty fields
    assert filled_cells(cli.output) == 40
    content, ledger = cli.output.read_bytes(), cli.ledger()

    cli.configure("last_30_days")  # the mistake: a period with no deals in it
    stopped = cli("sync", "--as-of", "2017-12-31")
    assert stopped.returncode == 1, stopped.stdout + stopped.stderr
    assert "--allow-mass-change" in stopped.stdout
    assert cli.output.read_bytes() == content  # nothing written
    assert cli.ledger() == ledger  # nor recorded as written
    command, status, message = cli.last_run()
    assert (command, status) == ("sync", "failed")
    assert "clear 40 of 40" in message and "--allow-mass-change" in message

    dry = cli("sync", "--dry-run", "--as-of", "2017-12-31")
    assert dry.returncode == 1 and "--allow-mass-change" in dry.stdout
    assert "40 field(s) to write" in dry.stdout  # the dry run shows what it would have done
    assert cli.output.read_bytes() == content

    planned = cli("plan", "--as-of", "2017-12-31")
    assert planned.returncode == 0 and "mass change" in planned.stdout
    as_json = cli("plan", "--format", "json", "--as-of", "2017-12-31")
    (doc,) = json.loads(as_json.stdout)
    assert "clear 40 of 40" in doc["mass_change"]

    confirmed = cli("sync", "--allow-mass-change", "--as-of", "2017-12-31")
    assert confirmed.returncode == 0, confirmed.stdout + confirmed.stderr
    assert filled_cells(cli.output) == 0
    assert cli.last_run()[:2] == ("sync --allow-mass-change", "ok")


def test_a_rerun_with_small_changes_is_not_stopped(cli: Cli) -> None:
    assert cli("sync", "--as-of", "2017-12-31").returncode == 0
    before = cli.output.read_bytes()
    rows = (cli.root / "export.csv").read_text().splitlines()
    rows[1] = rows[1].rsplit(",", 1)[0] + ",1500"  # one partner's one won deal grows by half
    (cli.root / "export.csv").write_text("\n".join(rows) + "\n")
    again = cli("sync", "--as-of", "2017-12-31")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "wrote" in again.stdout and cli.output.read_bytes() != before
    assert cli.last_run()[1] == "ok"
