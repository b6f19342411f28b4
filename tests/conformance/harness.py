"""Runs a real third-party client against a fresh sandbox and hands back what it emitted.

``Conformance`` owns one started sandbox and a work directory. ``run(client, args, files=...)`` writes the
client's config/catalog/state files, runs its CLI in its own venv (``clients.py``) with only the wrapper
(``wrapper/sitecustomize.py``: vendor host names resolve to the sandbox) and the sandbox CA trusted, and
parses its stdout: Singer and Airbyte both print one JSON message a line. dlt pipelines are Python
programs: ``run_python("dlt", source_text)`` runs one (``catalogs.py``: Singer/Airbyte catalogs, dlt
programs and their output). Between runs, ``change_opportunities`` / ``change_deals`` edit records as a
CRM user would; ``checks.py`` compares what came out with the sandbox's own data.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from partnerkpi.sandbox.app import build_sandbox
from partnerkpi.sandbox.core import VENDOR_HOSTS, Sandbox
from partnerkpi.sandbox.hubspot import HubSpotEmulation
from partnerkpi.sandbox.salesforce import SalesforceEmulation
from tests.conformance.clients import CLIENTS

WRAPPER = Path(__file__).resolve().parent / "wrapper"
DEFAULT_TIMEOUT_S = 300.0


@dataclass
class ClientRun:
    """One client process: its exit code, parsed stdout messages, stderr, and what it cost."""

    client: str
    argv: list[str]
    returncode: int
    messages: list[dict[str, Any]]
    stdout_other: list[str]
    """stdout lines that were not one JSON message each (a client's stray prints, a pretty catalog)."""
    stdout: str
    stderr: str
    wall_s: float
    peak_rss_kb: int
    """Highest VmHWM of the client's processes (written at their exit by the wrapper)."""
    calls: Counter[str] = field(default_factory=Counter)
    """Sandbox calls made during this run, per endpoint counter key."""
    unrouted: Counter[str] = field(default_factory=Counter)
    """Calls the sandbox had no route for (404), per ``emulation:METHOD path``: what it lacks."""

    def ok(self) -> ClientRun:
        """self, or an AssertionError that shows the end of the client's stderr."""
        if self.returncode != 0:
            raise AssertionError(
                f"{self.client} exited {self.returncode}: {' '.join(self.argv[-4:])}\n"
                f"--- stderr (last 3000 chars) ---\n{self.stderr[-3000:]}"
                f"\n--- last messages ---\n{json.dumps(self.messages[-3:], default=str)[:2000]}"
                + (f"\n--- the sandbox had no route for ---\n{dict(self.unrouted)}" if self.unrouted else "")
            )
        return self

    def records(self, stream: str) -> list[dict[str, Any]]:
        """The data of every RECORD message of ``stream`` (Singer ``record``, Airbyte ``record.data``)."""
        out = []
        for m in self.messages:
            if m.get("type") != "RECORD":
                continue
            if "stream" in m and m.get("stream") == stream:  # Singer
                out.append(m["record"])
            elif isinstance(m.get("record"), dict) and m["record"].get("stream") == stream:  # Airbyte
                out.append(m["record"]["data"])
        return out

    def streams(self) -> Counter[str]:
        """Records per stream name."""
        seen: Counter[str] = Counter()
        for m in self.messages:
            if m.get("type") == "RECORD":
                seen[m.get("stream") or m["record"].get("stream")] += 1
        return seen

    def singer_state(self) -> Any:
        """The value of the last Singer STATE message (what the next run gets as ``--state``)."""
        values = [m["value"] for m in self.messages if m.get("type") == "STATE" and "value" in m]
        if not values:
            raise AssertionError(f"{self.client} emitted no Singer STATE message")
        return values[-1]

    def airbyte_state(self) -> list[dict[str, Any]]:
        """The latest Airbyte state per stream (or the global one), as the next ``read --state`` takes it."""
        latest: dict[str, dict[str, Any]] = {}
        for m in self.messages:
            if m.get("type") != "STATE":
                continue
            state = m["state"]
            kind = state.get("type", "LEGACY")
            if kind == "STREAM":
                key = json.dumps(state["stream"]["stream_descriptor"], sort_keys=True)
            else:
                key = kind
            latest[key] = state
        if not latest:
            raise AssertionError(f"{self.client} emitted no Airbyte STATE message")
        return list(latest.values())

    def json(self) -> Any:
        """The whole stdout as one JSON document (a Singer tap's ``--discover`` catalog)."""
        try:
            return json.loads(self.stdout)
        except ValueError as exc:
            raise AssertionError(
                f"{self.client} printed no JSON document: {exc}: {self.stdout[:300]!r}"
            ) from None

    def catalog(self) -> dict[str, Any]:
        """The Airbyte CATALOG message's catalog (``discover``)."""
        for m in self.messages:
            if m.get("type") == "CATALOG":
                return dict(m["catalog"])
        raise AssertionError(f"{self.client} emitted no CATALOG message")

    def logs(self, level: str = "ERROR") -> list[str]:
        """Airbyte LOG / TRACE error messages of ``level`` (what a failing source says about itself)."""
        out = []
        for m in self.messages:
            if m.get("type") == "LOG" and m["log"].get("level") == level:
                out.append(m["log"].get("message", ""))
            if m.get("type") == "TRACE" and m["trace"].get("type") == "ERROR" and level == "ERROR":
                out.append(m["trace"]["error"].get("message", ""))
        return out


class Conformance:
    """A fresh sandbox (both CRMs on one port) and a work directory for one test's client runs."""

    def __init__(
        self, opportunities: int = 600, partners: int = 12, seed: int = 42, root: Path | None = None
    ):
        self.sandbox: Sandbox = build_sandbox(seed=seed, partners=partners, opportunities=opportunities)
        self._tmp = tempfile.TemporaryDirectory(prefix="conformance-") if root is None else None
        self.root = Path(self._tmp.name) if self._tmp else root  # type: ignore[assignment]
        self.root.mkdir(parents=True, exist_ok=True)
        self.sandbox.start()
        self._runs = 0
        self.timeout_s = DEFAULT_TIMEOUT_S
        """Seconds a client run may take before it is killed (returncode -9), unless a call says."""

    def close(self) -> None:
        self.sandbox.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> Conformance:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the two CRMs ------------------------------------------------------------------------------------
    @property
    def salesforce(self) -> SalesforceEmulation:
        emulation = self.sandbox.emulation("salesforce")
        assert isinstance(emulation, SalesforceEmulation)
        return emulation

    @property
    def hubspot(self) -> HubSpotEmulation:
        emulation = self.sandbox.emulation("hubspot")
        assert isinstance(emulation, HubSpotEmulation)
        return emulation

    @property
    def hubspot_token(self) -> str:
        """The private-app access token the HubSpot emulation accepts."""
        return str(self.hubspot.access_token)

    def salesforce_oauth(self) -> dict[str, str]:
        """client_id / client_secret / refresh_token / username / password / security_token of the org."""
        c = self.salesforce.credentials
        return {
            "client_id": c.consumer_key,
            "client_secret": c.consumer_secret,
            "refresh_token": c.refresh_token,
            "username": c.username,
            "password": c.password,
            "security_token": c.security_token,
        }

    def hubspot_oauth(self) -> dict[str, str]:
        """client_id / client_secret / refresh_token of the HubSpot emulation's OAuth app."""
        a = self.hubspot.auth
        return {
            "client_id": a.client_id,
            "client_secret": a.client_secret,
            "refresh_token": a.refresh_tokens[0],
        }

    # -- running a client --------------------------------------------------------------------------------
    def env(self, home: Path) -> dict[str, str]:
        """The client's whole environment: nothing of ours but the wrapper, the CA and a private HOME."""
        ca = str(self.sandbox.ca_path)
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            "PYTHONPATH": str(WRAPPER),
            "PYTHONNOUSERSITE": "1",
            "PYTHONUNBUFFERED": "1",
            "REQUESTS_CA_BUNDLE": ca,
            "SSL_CERT_FILE": ca,
            "CURL_CA_BUNDLE": ca,
            "PARTNERKPI_SANDBOX_CA": ca,
            "NO_PROXY": "*",
            "PARTNERKPI_SANDBOX_ADDRESS": self.sandbox.instance,
            "PARTNERKPI_SANDBOX_HOSTS": ",".join(VENDOR_HOSTS),
            "PARTNERKPI_PEAK_DIR": str(home / ".peak"),
        }

    def write(self, name: str, content: Any) -> Path:
        """A file in the work directory: JSON for dicts/lists, text for strings."""
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = content if isinstance(content, str) else json.dumps(content, indent=1)
        path.write_text(text)
        return path

    def run(
        self,
        client: str,
        args: Iterable[str | Path],
        files: Mapping[str, Any] | None = None,
        timeout_s: float | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> ClientRun:
        """Run ``client``'s CLI with ``args`` (after writing ``files`` into the work directory, where the
        process also runs). ``{dir}`` in an argument is replaced by the work directory."""
        for name, content in (files or {}).items():
            self.write(name, content)
        argv = [*CLIENTS[client].command(), *(str(a).replace("{dir}", str(self.root)) for a in args)]
        return self._spawn(client, argv, timeout_s, extra_env)

    def run_python(
        self, client: str, source: str, timeout_s: float | None = None, **extra_env: str
    ) -> ClientRun:
        """Run a Python program (e.g. a dlt pipeline) in ``client``'s venv, from the work directory."""
        self._runs += 1
        script = self.write(f"program-{self._runs}.py", source)
        return self._spawn(client, [CLIENTS[client].python(), str(script)], timeout_s, extra_env)

    def run_command(
        self, label: str, argv: list[str], timeout_s: float | None = None, **extra_env: str
    ) -> ClientRun:
        """Any program under the same measure (calls, wall time, VmHWM) and environment; e.g. our own
        connectors' ``bench.sync_child`` in the benchmark, beside the clients."""
        return self._spawn(label, argv, timeout_s, extra_env)

    def _spawn(
        self, client: str, argv: list[str], timeout_s: float | None, extra_env: Mapping[str, str] | None
    ) -> ClientRun:
        timeout_s = timeout_s or self.timeout_s
        self._runs += 1
        home = self.root / f"home-{client}"
        (home / ".peak").mkdir(parents=True, exist_ok=True)
        for old in (home / ".peak").iterdir():
            old.unlink()
        env = {**self.env(home), **(extra_env or {})}
        before = Counter(self.sandbox.counters)
        before_unrouted = Counter(self.sandbox.unrouted)
        stdout = self.root / f"run-{self._runs}.stdout"
        started = time.monotonic()
        with stdout.open("wb") as out, tempfile.TemporaryFile() as err:
            process = subprocess.Popen(
                argv, cwd=self.root, env=env, stdout=out, stderr=err, start_new_session=True
            )
            peak = _PeakWatcher(process.pid)
            try:
                returncode = process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):  # the client and any worker it started
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                returncode = -9
                err.write(f"\n[harness] killed after {timeout_s:.0f} s\n".encode())
            wall = time.monotonic() - started
            peak.stop()
            err.seek(0)
            stderr = err.read().decode("utf-8", "replace")
        text = stdout.read_text("utf-8", "replace")
        messages, other = _parse(text)
        calls = Counter(self.sandbox.counters)
        calls.subtract(before)
        unrouted = Counter(self.sandbox.unrouted)
        unrouted.subtract(before_unrouted)
        return ClientRun(
            client=client,
            argv=argv,
            returncode=returncode,
            messages=messages,
            stdout_other=other,
            stdout=text,
            stderr=stderr,
            wall_s=wall,
            peak_rss_kb=max(peak.kb, _peak_files(home / ".peak")),
            calls=+calls,
            unrouted=+unrouted,
        )

    # -- changing data between runs ----------------------------------------------------------------------
    def change_opportunities(self, n: int) -> list[str]:
        """Edit the Amount of ``n`` live opportunities spread over the org (bumps SystemModstamp and
        LastModifiedDate, as a sales rep's edit does); returns their ids."""
        ids = self.opportunity_ids()
        picked = _spread(sorted(ids), n)
        time.sleep(0.002)  # the edits' timestamps are strictly after anything a first run saw
        for record_id in picked:
            row = self.salesforce.state("Opportunity", ids=[record_id])[0]
            self.salesforce.update_opportunity(record_id, Amount=float(row.get("Amount") or 0) + 1.0)
        return picked

    def change_deals(self, n: int) -> list[str]:
        """Edit the amount of ``n`` live deals spread over the portal (bumps hs_lastmodifieddate)."""
        picked = _spread(sorted(self.deal_ids(), key=int), n)
        time.sleep(0.002)
        for deal_id in picked:
            props = self.hubspot.deal_state(deal_id)["properties"]
            amount = float(props.get("amount") or 0) + 1.0
            self.hubspot.update_deal(deal_id, {"amount": str(amount)})
        return picked

    # -- the sandbox's own data (what the checks compare against) ---------------------------------------
    def salesforce_records(self, obj: str = "Opportunity", fields: str = "Id") -> list[dict[str, Any]]:
        """Every live record of ``obj`` as the sandbox holds it (all fields)."""
        rows = self.salesforce.state(obj, soql=f"SELECT {fields} FROM {obj}")
        return [r for r in rows if not r.get("IsDeleted")]

    def opportunity_ids(self) -> set[str]:
        return {r["Id"] for r in self.salesforce_records("Opportunity")}

    def account_ids(self) -> set[str]:
        return {r["Id"] for r in self.salesforce_records("Account")}

    def deal_ids(self) -> set[str]:
        portal = self.hubspot.portal
        with self.hubspot.lock:
            return {portal.deal(k).id for k in portal.deal_keys() if not portal.is_archived(k)}

    def company_ids(self) -> set[str]:
        with self.hubspot.lock:
            return set(self.hubspot.portal.companies)


def _parse(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    messages, other = [], []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        try:
            value = json.loads(stripped)
        except ValueError:
            other.append(line)
            continue
        if isinstance(value, dict) and "type" in value:
            messages.append(value)
        else:
            other.append(line)
    return messages, other


def _spread(ids: list[str], n: int) -> list[str]:
    if n > len(ids):
        raise ValueError(f"asked to change {n} records, the sandbox has {len(ids)}")
    if n <= 0:
        return []
    step = len(ids) / n
    return [ids[int(i * step)] for i in range(n)]


def _peak_files(directory: Path) -> int:
    best = 0
    for path in directory.glob("*"):
        try:
            best = max(best, int(path.read_text().strip() or 0))
        except (OSError, ValueError):
            continue
    return best


class _PeakWatcher:
    """Samples the child's VmHWM every 50 ms (a fallback for a process that dies before its atexit)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.kb = pid, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(0.05):
            try:
                for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self.kb = max(self.kb, int(line.split()[1]))
            except (OSError, ValueError):
                continue

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)
