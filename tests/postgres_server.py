"""A PostgreSQL server for the tests: the one PARTNERKPI_TEST_POSTGRES_URL names, else a throwaway
cluster of the installed PostgreSQL (Debian's package; ``make postgres`` installs it), made in a temp
dir, listening on a free port of 127.0.0.1, run by an unprivileged user when the tests run as root
(PostgreSQL refuses root), and removed at the end of the session. Each test gets a database of its own.

Nothing here skips: a server that cannot be had is a failure that says why."""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

ENV_URL = "PARTNERKPI_TEST_POSTGRES_URL"
"""An existing server's URL (a role that may CREATE DATABASE), used instead of a throwaway cluster."""
UNPRIVILEGED_USER = "nobody"
START_TIMEOUT_S = 60
SUPERUSER = "postgres"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL could be had for the tests: the message says why and what to do."""


def _binaries() -> Path:
    """The directory of initdb and pg_ctl: PATH first, then Debian's /usr/lib/postgresql/N/bin."""
    found = shutil.which("initdb")
    if found is not None:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(re.sub(r"\D", "", Path(p).parts[-3]) or 0),
    )
    if not candidates:
        raise PostgresUnavailable(
            f"PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql): run `make postgres` "
            f"(Debian's package), or name a server in {ENV_URL}"
        )
    return Path(candidates[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    """A throwaway cluster in ``root``; ``start`` initdb's and starts it, ``stop`` stops and removes it."""

    root: Path
    bin: Path
    port: int = 0
    run_as: pwd.struct_passwd | None = None
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    startup_seconds: float = 0.0

    @classmethod
    def create(cls) -> Cluster:
        run_as = pwd.getpwnam(UNPRIVILEGED_USER) if os.geteuid() == 0 else None
        root = Path(tempfile.mkdtemp(prefix="partnerkpi-pg-"))
        if run_as is not None:
            os.chown(root, run_as.pw_uid, run_as.pw_gid)
        return cls(root=root, bin=_binaries(), run_as=run_as)

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        who: dict[str, Any] = {}
        if self.run_as is not None:
            who = {"user": self.run_as.pw_uid, "group": self.run_as.pw_gid, "extra_groups": []}
        env = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "HOME": str(self.root)}
        return subprocess.run(
            args, cwd=self.root, env=env, capture_output=True, text=True, check=False, **who
        )

    def _check(self, proc: subprocess.CompletedProcess[str], what: str) -> None:
        if proc.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise PostgresUnavailable(
                f"{what} failed (exit {proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()} {tail}"
            )

    def _major(self) -> int:
        found = re.search(r"(\d+)", self._run(str(self.bin / "initdb"), "--version").stdout)
        return int(found.group(1)) if found else 0

    def start(self) -> None:
        began = time.monotonic()
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password)
        if self.run_as is not None:
            os.chown(pwfile, self.run_as.pw_uid, self.run_as.pw_gid)
        initdb = [str(self.bin / "initdb"), "-D", "data", "-U", SUPERUSER, "--pwfile", str(pwfile)]
        initdb += ["--auth-host=scram-sha-256", "--auth-local=peer", "-E", "UTF8", "--no-sync"]
        initdb += ["--locale=C.UTF-8"]
        if self._major() >= 15:  # a collation like most servers' (ICU en-US, not byte order)
            initdb += ["--locale-provider=icu", "--icu-locale=en-US"]
        self._check(self._run(*initdb), "initdb")
        pwfile.unlink()
        for _attempt in range(3):  # a free port may be taken between the probe and the start
            self.port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            pg_ctl = [str(self.bin / "pg_ctl"), "-D", "data", "-l", "server.log", "-o", options]
            proc = self._run(*pg_ctl, "-w", "-t", str(START_TIMEOUT_S), "start")
            if proc.returncode == 0:
                self.startup_seconds = time.monotonic() - began
                return
        self._check(proc, f"pg_ctl start on port {self.port}")

    def stop(self) -> None:
        if (self.root / "data" / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "-D", "data", "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def url(self) -> URL:
        return URL.create(
            DRIVER,
            username=SUPERUSER,
            password=self.password,
            host="127.0.0.1",
            port=self.port,
            database="postgres",
        )


DRIVER = "postgresql+psycopg"


@dataclass
class Server:
    """A server the tests may create databases on: ``admin`` is its URL to a database that stays."""

    admin: URL
    cluster: Cluster | None = None
    _names: itertools.count[int] = field(default_factory=itertools.count)
    _conn: psycopg.Connection[Any] | None = None

    @classmethod
    def start(cls) -> Server:
        given = os.environ.get(ENV_URL)
        if given:
            return cls(make_url(given).set(drivername=DRIVER))
        cluster = Cluster.create()
        try:
            cluster.start()
        except BaseException:
            cluster.stop()
            raise
        return cls(cluster.url, cluster)

    def _admin(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            try:
                self._conn = psycopg.connect(self._libpq(self.admin), autocommit=True, connect_timeout=10)
            except psycopg.OperationalError as exc:
                where = self.admin.render_as_string(hide_password=True)
                raise PostgresUnavailable(f"cannot connect to the test PostgreSQL {where}: {exc}") from exc
        return self._conn

    @staticmethod
    def _libpq(url: URL) -> str:
        return url.set(drivername="postgresql").render_as_string(hide_password=False)

    def create_database(self) -> URL:
        """A new empty database (UTF-8, the server's collation); its URL."""
        name = f"partnerkpi_test_{os.getpid()}_{next(self._names)}"
        admin = self._admin()
        fast = " STRATEGY FILE_COPY" if admin.info.server_version >= 150000 else ""  # 23 ms, not 56 ms
        admin.execute(sql.SQL("CREATE DATABASE {}" + fast).format(sql.Identifier(name)))
        return self.admin.set(database=name)

    def drop_database(self, url: URL) -> None:
        """Drop it, ending the connections a test left open (a store it did not close)."""
        statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(url.database))
        self._admin().execute(statement)

    def stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self.cluster is not None:
            self.cluster.stop()
