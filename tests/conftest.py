"""Shared fixtures. The sandbox fixtures come from partnerkpi.sandbox.testing (registered below).

On CI (``CI`` set) hypothesis runs derandomized: the same examples every run, so a red build is always
reproducible; locally it explores new examples each run (and keeps failing ones in .hypothesis/)."""

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.postgres_server import Server

pytest_plugins = ["partnerkpi.sandbox.testing"]

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


# -- the state store's backends ----------------------------------------------------------------------
# Every state test takes ``state_url`` and runs twice: on a SQLite file and on a PostgreSQL database of its
# own (tests/postgres_server.py: the server named by PARTNERKPI_TEST_POSTGRES_URL, else a throwaway
# cluster started once per session). A PostgreSQL that cannot be had fails those tests; none is skipped.
STATE_BACKENDS = ("sqlite", "postgres")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Server]:
    server = Server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=STATE_BACKENDS)
def state_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def new_state_url(state_backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[], str]:
    """Makes the URL of a new, empty state database on the test's backend (each call another one)."""
    made = itertools.count()

    def new() -> str:
        if state_backend == "sqlite":
            return f"sqlite:///{tmp_path / f'state-{next(made)}.sqlite'}"
        server: Server = request.getfixturevalue("postgres_server")
        url = server.create_database()
        request.addfinalizer(lambda: server.drop_database(url))
        return url.render_as_string(hide_password=False)

    return new


@pytest.fixture
def state_url(new_state_url: Callable[[], str]) -> str:
    """The URL of an empty state database: a SQLite file, or a PostgreSQL database of the test's own."""
    return new_state_url()
