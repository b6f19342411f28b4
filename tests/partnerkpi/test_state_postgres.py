"""PostgreSQL as the state store: the URL forms it takes, the driver it needs (the postgres extra), and
its failures in one line that names the server and never the password. What the store does on it is
tested with everything else (every state test runs on both backends: tests/conftest.py)."""

from __future__ import annotations

import builtins
import io
import os
import re
import socket
import tempfile
from typing import Any

import psycopg
import pytest
from rich.console import Console

from partnerkpi.commands.state import check_state
from partnerkpi.commands.store import open_store
from partnerkpi.config import AppConfig
from partnerkpi.config.models import StateConfig
from partnerkpi.exit_codes import ExitCode, exit_code_of
from partnerkpi.redaction import redact
from partnerkpi.state import SCHEMA_VERSION, StateError, StateStore, StateUnreachable
from tests.postgres_server import Server

PASSWORD = "s3cret-Pa55word-for-the-state"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: nothing listens there


def test_a_plain_postgresql_url_opens_the_store_on_psycopg_3(postgres_server: Server) -> None:
    url = postgres_server.create_database()
    try:
        plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
        store = StateStore.open(plain)
        run = store.start_run("crm", "pull")
        assert store.engine.dialect.driver == "psycopg" and store.run(run) is not None
        assert store.where == f"postgresql://postgres:***@127.0.0.1:{url.port}/{url.database}"  # as written
        store.close()
    finally:
        postgres_server.drop_database(url)


def test_without_psycopg_a_postgresql_url_is_a_state_error_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_import = builtins.__import__

    def no_psycopg(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "psycopg" or name.startswith("psycopg."):
            raise ModuleNotFoundError("No module named 'psycopg'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_psycopg)
    with pytest.raises(StateError) as caught:
        StateStore.open(f"postgresql://pk:{PASSWORD}@db.example:5433/partners")
    assert str(caught.value) == (
        "state.url names a PostgreSQL database 'partners' on db.example:5433, but its driver (psycopg 3) "
        "is not installed: pip install 'partnerkpi[postgres]'"
    )
    assert exit_code_of(caught.value) is ExitCode.CONFIG


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+psycopg2://pk@db/partners", "the driver 'postgresql+psycopg2': the PostgreSQL state"),
        ("mysql://pk@db/partners", "a 'mysql' database: the state store runs on SQLite"),
    ],
)
def test_a_driver_or_database_the_store_is_not_tested_on_is_refused_in_words(url: str, expected: str) -> None:
    with pytest.raises(StateError, match=re.escape(expected)):
        StateStore.open(url)


def test_a_server_that_refuses_the_connection_is_unreachable_naming_host_port_and_database() -> None:
    port = closed_port()
    with pytest.raises(StateUnreachable) as caught:
        StateStore.open(f"postgresql://pk:{PASSWORD}@127.0.0.1:{port}/partners")
    text = str(caught.value)
    assert text.startswith(
        f"the state database (PostgreSQL database 'partners' on 127.0.0.1:{port}) cannot be reached: "
    )
    assert "refused" in text.lower() and "\n" not in text and PASSWORD not in text
    assert exit_code_of(caught.value) is ExitCode.CONNECTION  # retryable: outages end


def test_a_refused_password_is_unreachable_and_the_password_is_redacted_everywhere(
    postgres_server: Server,
) -> None:
    url = postgres_server.admin.set(password=PASSWORD)
    with pytest.raises(StateUnreachable, match="password authentication failed") as caught:
        StateStore.open(url.render_as_string(hide_password=False))
    assert PASSWORD not in str(caught.value)
    assert redact(f"echoed {PASSWORD}") == "echoed **********"  # registered when the engine was made


def test_the_throwaway_server_runs_unprivileged_with_a_collation_that_is_not_byte_order(
    postgres_server: Server,
) -> None:
    """What the state tests run on: like a real server, not a convenient one."""
    cluster = postgres_server.cluster
    if cluster is None:  # PARTNERKPI_TEST_POSTGRES_URL's server: whatever it is, it answers
        assert postgres_server._admin().execute("SELECT 1").fetchone() == (1,)
        return
    assert postgres_server._admin().execute("SELECT 'a' < 'B'").fetchone() == (True,)  # en-US, not bytes
    pid = int((cluster.root / "data" / "postmaster.pid").read_text().split()[0])
    assert os.stat(f"/proc/{pid}").st_uid != 0  # PostgreSQL refuses root: never tried
    assert cluster.port == postgres_server.admin.port and str(cluster.root).startswith(tempfile.gettempdir())


def check_line(url: str) -> tuple[int, str]:
    out = Console(file=io.StringIO(), width=300, color_system=None)
    code = check_state(AppConfig(state=StateConfig(url=url)), out, open_store)
    return int(code), " ".join(out.file.getvalue().split())  # type: ignore[attr-defined]


def test_check_on_a_postgresql_state_says_ok_without_claiming_sqlites_quick_check(
    postgres_server: Server,
) -> None:
    url = postgres_server.create_database()
    try:
        code, line = check_line(url.render_as_string(hide_password=False))
        assert (code, line) == (0, f"ok state: {url.render_as_string()} (schema version {SCHEMA_VERSION})")
        assert PASSWORD not in line and postgres_server.admin.password not in line
    finally:
        postgres_server.drop_database(url)


def test_check_on_an_unreachable_postgresql_state_fails_with_exit_3() -> None:
    code, line = check_line(f"postgresql://pk:{PASSWORD}@127.0.0.1:{closed_port()}/partners")
    assert code == ExitCode.CONNECTION and line.startswith("fail state: the state database (PostgreSQL")
    assert PASSWORD not in line


def test_a_role_without_rights_on_the_state_is_a_state_error_naming_the_database(
    postgres_server: Server,
) -> None:
    url = postgres_server.create_database()
    admin = postgres_server._admin()
    role = f"reader_{url.database}"
    admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'")
    try:
        admin_store = StateStore.open(url.render_as_string(hide_password=False))  # the schema, by its owner
        admin_store.close()
        with psycopg.connect(Server._libpq(url), autocommit=True) as owner:
            owner.execute(f"REVOKE ALL ON SCHEMA public FROM PUBLIC; GRANT USAGE ON SCHEMA public TO {role}")
            owner.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
        reader = url.set(username=role, password=PASSWORD).render_as_string(hide_password=False)
        store = StateStore.open(reader)  # reads pass: the schema is current
        with pytest.raises(StateError, match=r"cannot be used: permission denied for table") as caught:
            store.probe_write()
        assert PASSWORD not in str(caught.value) and not isinstance(caught.value, StateUnreachable)
        store.close()
    finally:
        postgres_server.drop_database(url)
        admin.execute(f"DROP ROLE IF EXISTS {role}")
