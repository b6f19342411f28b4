"""The file connector through the pipeline's pull into the state store: a full refresh is idempotent,
and what leaves the file leaves the mirror."""

from __future__ import annotations

import csv
from pathlib import Path

from rich.console import Console

from connectors.file import FileConnector, FileConnectorConfig
from partnerkpi.pipeline import pull_into_store
from partnerkpi.progress import ProgressReporter
from partnerkpi.state import StateStore

HEADER = ["id", "partner", "amount", "stage", "created", "closed"]


def write(path: Path, ids: list[str]) -> None:
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for i, opp in enumerate(ids):
            out.writerow([opp, f"P{i % 3}", 100 + i, "Won" if i % 2 else "Open", "2026-01-01", "2026-02-01"])


def pull(store: StateStore, connector: FileConnector) -> dict[str, int]:
    run = store.start_run(connector.name, "pull")
    return pull_into_store(store, connector, run, ProgressReporter(Console(quiet=True), mode="none"))


def test_pulling_the_same_file_twice_leaves_the_same_mirror(tmp_path: Path, state_url: str) -> None:
    source = tmp_path / "o.csv"
    write(source, [f"o{i}" for i in range(30)])
    config = FileConnectorConfig.model_validate(
        {
            "name": "f",
            "type": "file",
            "path": str(source),
            "columns": {c: c for c in HEADER},
            "stages": {"Won": "won", "Open": "open"},
            "batch_size": 7,
        }
    )
    connector = FileConnector(config)
    store = StateStore.open(state_url)

    first = pull(store, connector)
    mirror = list(store.iter_opportunities("f"))
    assert (first["inserted"], first["partners"]) == (30, 3)
    second = pull(store, connector)
    assert (second["inserted"], second["changed"], second["unchanged"], second["deleted"]) == (0, 0, 30, 0)
    assert list(store.iter_opportunities("f")) == mirror
    assert store.partner_ids("f") == {"P0", "P1", "P2"}

    write(source, [f"o{i}" for i in range(30) if i != 4])  # o4 left the export
    third = pull(store, connector)
    assert third["deleted"] == 1
    assert "o4" not in {o.id for o in store.iter_opportunities("f")}
