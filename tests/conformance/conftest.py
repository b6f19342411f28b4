"""Fixtures of the conformance suite: ``conformance`` (a factory of fresh sandboxes for client runs).
Every test under tests/conformance/ is marked ``conformance``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conformance.harness import Conformance

ConformanceFactory = Callable[..., Conformance]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.conformance)


@pytest.fixture
def conformance(tmp_path: Path) -> Iterator[ConformanceFactory]:
    """``conformance(opportunities=600, partners=12, seed=42)``: a started sandbox and a work directory
    under tmp_path; stopped at the test's end."""
    made: list[Conformance] = []

    def make(opportunities: int = 600, partners: int = 12, seed: int = 42) -> Conformance:
        run = Conformance(opportunities, partners, seed, root=tmp_path / f"run{len(made)}")
        made.append(run)
        return run

    yield make
    for run in made:
        run.close()
