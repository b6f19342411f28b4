"""The sandbox server core: TLS with its own CA, routing, counters, faults and the admin API."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from partnerkpi.sandbox.app import build_sandbox, parse_fault, serve, write_config
from partnerkpi.sandbox.core import Emulation, Request, Response, Route, Sandbox


class EchoEmulation(Emulation):
    name = "echo"
    prefixes = ("/echo",)

    def __init__(self) -> None:
        super().__init__()
        self.changed: list[Any] = []

    def routes(self) -> list[Route]:
        return [
            Route("GET", re.compile(r"/echo/(?P<word>\w+)"), self._echo, "echo.word"),
            Route("POST", re.compile(r"/echo"), self._post, "echo.post"),
        ]

    def _echo(self, request: Request, match: re.Match[str]) -> Response:
        return Response.json({"word": match["word"], "q": request.param("q")})

    def _post(self, request: Request, match: re.Match[str]) -> Response:
        return Response.json({"got": request.json()}, 201)

    def server_error(self, request: Request) -> Response:
        return Response.json({"error": "injected"}, 503)

    def decorate(self, request: Request, response: Response) -> None:
        response.headers["X-Echo"] = "1"

    def admin(self, action: str, payload: Any) -> Any:
        if action != "touch":
            raise KeyError(action)
        self.changed.append(payload)
        return {"touched": len(self.changed)}


@pytest.fixture
def echo() -> Iterator[tuple[Sandbox, EchoEmulation, requests.Session]]:
    emulation = EchoEmulation()
    with Sandbox([emulation]) as sandbox:
        session = requests.Session()
        session.trust_env = False
        session.verify = str(sandbox.ca_path)
        yield sandbox, emulation, session
        session.close()


def test_serves_https_with_its_own_ca(echo: tuple[Sandbox, EchoEmulation, requests.Session]) -> None:
    sandbox, _, session = echo
    answer = session.get(f"{sandbox.url}/echo/hello", params={"q": "x"})
    assert answer.status_code == 200
    assert answer.json() == {"word": "hello", "q": "x"}
    assert answer.headers["X-Echo"] == "1"
    assert sandbox.url.startswith("https://127.0.0.1:")


def test_untrusted_client_fails_tls_verification(
    echo: tuple[Sandbox, EchoEmulation, requests.Session],
) -> None:
    sandbox, _, _ = echo
    stranger = requests.Session()
    stranger.trust_env = False  # the machine's CA bundle, which does not hold the sandbox's CA
    with pytest.raises(requests.exceptions.SSLError):
        stranger.get(f"{sandbox.url}/echo/hello")


def test_counters_per_endpoint_and_reset(echo: tuple[Sandbox, EchoEmulation, requests.Session]) -> None:
    sandbox, _, session = echo
    for _ in range(3):
        session.get(f"{sandbox.url}/echo/a")
    session.post(f"{sandbox.url}/echo", json={"n": 1})
    counters = session.get(f"{sandbox.url}/__admin__/counters").json()
    assert counters == {"echo.word": 3, "echo.post": 1}
    assert sandbox.calls("echo.") == 4
    assert session.post(f"{sandbox.url}/__admin__/counters/reset").json() == {"ok": True}
    assert session.get(f"{sandbox.url}/__admin__/counters").json() == {}


def test_unknown_route_is_404_and_not_counted(echo: tuple[Sandbox, EchoEmulation, requests.Session]) -> None:
    sandbox, _, session = echo
    assert session.get(f"{sandbox.url}/echo/a/b").status_code == 404
    assert session.get(f"{sandbox.url}/elsewhere").status_code == 404
    assert sandbox.calls() == 0


def test_injected_server_errors(echo: tuple[Sandbox, EchoEmulation, requests.Session]) -> None:
    sandbox, emulation, session = echo
    emulation.faults.error_rate = 1.0
    answer = session.get(f"{sandbox.url}/echo/a")
    assert answer.status_code == 503
    assert answer.json() == {"error": "injected"}
    assert sandbox.counters["echo.fault.5xx"] == 1


def test_dropped_connections(echo: tuple[Sandbox, EchoEmulation, requests.Session]) -> None:
    sandbox, emulation, session = echo
    emulation.faults.drop_rate = 1.0
    with pytest.raises(requests.exceptions.ConnectionError):
        session.get(f"{sandbox.url}/echo/a")
    assert sandbox.counters["echo.fault.dropped"] == 1
    emulation.faults.drop_rate = 0.0
    assert session.get(f"{sandbox.url}/echo/a").status_code == 200  # the server keeps serving


def test_latency_sleeps_before_answering(
    echo: tuple[Sandbox, EchoEmulation, requests.Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox, emulation, session = echo
    slept: list[float] = []
    monkeypatch.setattr("partnerkpi.sandbox.core.time.sleep", slept.append)
    emulation.faults.latency_ms = 250
    assert session.get(f"{sandbox.url}/echo/a").status_code == 200
    assert slept == [0.25]


def test_faults_set_live_through_the_admin_api(echo: tuple[Sandbox, EchoEmulation, requests.Session]) -> None:
    sandbox, emulation, session = echo
    answer = session.post(f"{sandbox.url}/__admin__/echo/faults", json={"error_rate": 1.0, "latency_ms": 0})
    assert answer.status_code == 200
    assert answer.json()["error_rate"] == 1.0
    assert emulation.faults.error_rate == 1.0
    assert session.get(f"{sandbox.url}/echo/a").status_code == 503
    refused = session.post(f"{sandbox.url}/__admin__/echo/faults", json={"no_such_knob": 1})
    assert refused.status_code == 400
    assert "no_such_knob" in refused.json()["error"]
    assert session.get(f"{sandbox.url}/__admin__/nobody/faults").status_code == 404


def test_admin_actions_reach_the_emulation(echo: tuple[Sandbox, EchoEmulation, requests.Session]) -> None:
    sandbox, emulation, session = echo
    assert session.post(f"{sandbox.url}/__admin__/echo/touch", json={"a": 1}).json() == {"touched": 1}
    assert emulation.changed == [{"a": 1}]
    assert session.post(f"{sandbox.url}/__admin__/echo/nothing", json={}).status_code == 404


def test_parse_fault_types_values() -> None:
    assert parse_fault("error_rate=0.5") == (None, "error_rate", 0.5)
    assert parse_fault("salesforce.daily_limit=10") == ("salesforce", "daily_limit", 10)
    assert parse_fault("record_failure_ids=a,b") == (None, "record_failure_ids", ["a", "b"])
    with pytest.raises(ValueError, match="unknown fault knob"):
        parse_fault("bogus=1")
    with pytest.raises(ValueError, match="knob=value"):
        parse_fault("error_rate")


def test_build_sandbox_applies_knobs() -> None:
    sandbox = build_sandbox(
        partners=3,
        opportunities=50,
        latency_ms=5,
        rate_limit=7,
        faults=["salesforce.error_rate=0.25"],
        hubspot=False,
    )
    salesforce = sandbox.emulation("salesforce")
    assert salesforce.faults.latency_ms == 5
    assert salesforce.faults.rate_limit_per_second == 7
    assert salesforce.faults.error_rate == 0.25


def test_the_written_config_is_complete_loads_and_keeps_its_secrets_in_files(tmp_path: Path) -> None:
    from partnerkpi.config import load_config

    with build_sandbox(partners=3, opportunities=50, state_dir=tmp_path / "sb") as sandbox:
        path = write_config(sandbox, tmp_path / "partnerkpi.yaml")
        text = path.read_text()
        config = yaml.safe_load(text)
        app = load_config(path)
        salesforce_emulation = sandbox.emulation("salesforce")
        secrets = [salesforce_emulation.credentials.password, salesforce_emulation.credentials.security_token]  # type: ignore[attr-defined]
    assert {"connectors", "kpi", "writeback", "state"} <= set(config)
    salesforce, hubspot = config["connectors"]
    assert salesforce["login_url"] == salesforce["instance_url"] == hubspot["host"]
    assert [c.name for c in app.connectors] == ["salesforce", "hubspot"]
    assert app.writeback.for_connector("salesforce") is not None
    assert app.writeback.for_connector("hubspot") is not None
    assert set(hubspot["auth"]) == {"flow", "token_file"}
    assert {"password_file", "security_token_file"} <= set(salesforce["auth"])
    for secret in secrets:
        assert secret not in text
    for secret_file in (tmp_path / "sb" / "secrets").iterdir():
        assert secret_file.stat().st_mode & 0o077 == 0


def sandbox_url(connector: dict[str, Any]) -> str:
    return str(connector["login_url"])


def test_serve_writes_the_config_and_exits_zero(tmp_path: Path) -> None:
    lines: list[str] = []
    stop = threading.Event()
    printed = threading.Event()

    def out(line: str) -> None:
        lines.append(line)
        if line.startswith("admin API"):
            printed.set()

    result: list[int] = []
    worker = threading.Thread(
        target=lambda: result.append(
            serve(port=0, partners=3, opportunities=50, out=out, state_dir=tmp_path, stop=stop)
        )
    )
    worker.start()
    assert printed.wait(30)
    config = yaml.safe_load((tmp_path / "sandbox-config.yaml").read_text())
    salesforce = config["connectors"][0]
    url = salesforce["instance_url"]
    assert tmp_path / salesforce["ca_bundle"] == tmp_path / "sandbox-ca.pem"  # relative to the config
    assert salesforce["auth"]["flow"] == "password"
    session = requests.Session()
    session.trust_env = False
    session.verify = str(tmp_path / salesforce["ca_bundle"])
    assert session.get(f"{url}/services/data/").status_code == 200
    stop.set()
    worker.join(10)
    assert result == [0]
    assert any(url in line for line in lines)
    assert any("sandbox-ca.pem" in line for line in lines)


def test_the_serve_command_serves_until_ctrl_c_and_exits_zero(tmp_path: Path) -> None:
    """``partnerkpi sandbox serve`` as a person runs it: a real process, stopped with SIGINT (Ctrl-C)."""
    import os
    import signal
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "partnerkpi",
            "sandbox",
            "serve",
            "--port",
            "0",
            "--partners",
            "3",
            "--opportunities",
            "50",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(repo)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("admin API"):
                break
        url = lines[0].split()[3]
        ca = lines[1].split(": ", 1)[1].strip()
        session = requests.Session()
        session.trust_env = False
        session.verify = ca
        assert session.get(f"{url}/__admin__/counters", timeout=10).status_code == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        assert "Traceback" not in proc.stderr.read() if proc.stderr else True
    finally:
        if proc.poll() is None:
            proc.kill()
