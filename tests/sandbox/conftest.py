"""Fixtures ``portal`` and ``portal_factory`` for the HubSpot sandbox tests (the Portal they yield and its
helpers are in tests/sandbox/hubspot_portal.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from partnerkpi.sandbox.core import Sandbox
from partnerkpi.sandbox.generator import generate
from partnerkpi.sandbox.hubspot import HubSpotEmulation
from tests.sandbox.hubspot_portal import Portal, PortalFactory, clients


@pytest.fixture(name="portal_factory")
def portal_factory_fixture() -> Iterator[PortalFactory]:
    started: list[Sandbox] = []

    def make(seed: int = 7, partners: int = 12, opportunities: int = 300, **options: Any) -> Portal:
        data = generate(seed=seed, partners=partners, opportunities=opportunities)
        emulation = HubSpotEmulation(data, **options)
        sandbox = Sandbox([emulation]).start()
        started.append(sandbox)
        return clients(sandbox, emulation, data)

    yield make
    for sandbox in started:
        sandbox.stop()


@pytest.fixture(name="portal")
def portal_fixture(portal_factory: PortalFactory) -> Portal:
    """A fresh small portal (12 partners, 300 deals) of its own for each test."""
    return portal_factory()
