"""Fixtures of the report tests: one realistic generated business (40 partners, 8,000 opportunities)
computed as of its last day, and a state store holding twelve monthly snapshots of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kpi_core.result import KpiResult
from partnerkpi.reports.history import report_history
from partnerkpi.state import StateStore
from tests.reports.sandbox_sample import CONNECTOR, Sample, open_store

SNAPSHOTS = 12


@pytest.fixture(scope="session")
def sample() -> Sample:
    return Sample(partners=40, opportunities_=8000)


@pytest.fixture(scope="session")
def sample_result(sample: Sample) -> KpiResult:
    return sample.result()


@pytest.fixture(scope="session")
def sample_store(sample: Sample, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StateStore]:
    store = open_store(tmp_path_factory.mktemp("reports-state"))
    sample.fill_store(store, SNAPSHOTS)
    yield store
    store.close()


@pytest.fixture(scope="session")
def sample_document(sample: Sample, sample_result: KpiResult, sample_store: StateStore) -> dict[str, Any]:
    run = sample_store.runs(limit=1, connector=CONNECTOR)[0]
    last_run = {"id": run.id, "started_at": run.started_at, "ended_at": run.ended_at, "status": run.status}
    return sample.document(sample_result, last_run)


@pytest.fixture(scope="session")
def sample_history(sample_store: StateStore) -> dict[str, Any]:
    return report_history(sample_store, [CONNECTOR])


@pytest.fixture()
def html_file(tmp_path: Path) -> Path:
    return tmp_path / "scorecard.html"
