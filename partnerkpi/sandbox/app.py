"""Building and serving the sandbox: the emulations over one seed, fault knobs, and the config snippet a
user (or ``make demo``) points partnerkpi at."""

from __future__ import annotations

import contextlib
import errno
import importlib
import signal
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from partnerkpi.sandbox.core import Emulation, Faults, Sandbox
from partnerkpi.sandbox.generator import SeedData, generate
from partnerkpi.sandbox.salesforce import SalesforceEmulation

CONFIG_NAME = "sandbox-config.yaml"


def parse_fault(text: str) -> tuple[str | None, str, Any]:
    """``knob=value`` or ``emulation.knob=value`` into (emulation or None for all, knob, typed value)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"a fault is knob=value, got {text!r}")
    target, _, knob = key.strip().rpartition(".")
    known = {name: type(value) for name, value in vars(Faults()).items()}
    if knob not in known:
        raise ValueError(f"unknown fault knob {knob!r}; known: {', '.join(sorted(known))}")
    kind = known[knob]
    value: Any
    if kind is list:
        value = [v.strip() for v in raw.split(",") if v.strip()]
    elif kind is int:
        value = int(raw)
    elif kind is float:
        value = float(raw)
    else:
        value = raw.strip()
    return target or None, knob, value


def apply_faults(sandbox: Sandbox, faults: Sequence[str] | Mapping[str, Any] | None) -> None:
    if not faults:
        return
    items: list[tuple[str | None, str, Any]]
    if isinstance(faults, Mapping):
        items = [(None, k, v) for k, v in faults.items()]
    else:
        items = [parse_fault(f) for f in faults]
    for target, knob, value in items:
        for emulation in sandbox.emulations:
            if target is None or target == emulation.name:
                emulation.faults.update({knob: value})


def _hubspot(data: SeedData) -> Emulation | None:
    try:
        module = importlib.import_module("partnerkpi.sandbox.hubspot")
    except ImportError:
        return None
    cls = getattr(module, "HubSpotEmulation", None)
    return cls(data) if cls is not None else None


def build_sandbox(
    seed: int = 42,
    partners: int = 50,
    opportunities: int = 20_000,
    latency_ms: float = 0.0,
    faults: Sequence[str] | Mapping[str, Any] | None = None,
    state_dir: Path | None = None,
    hubspot: bool = True,
    port: int = 0,
    rate_limit: float = 0.0,
) -> Sandbox:
    """A sandbox (not started) with the Salesforce emulation and, when available, the HubSpot one."""
    data = generate(seed=seed, partners=partners, opportunities=opportunities)
    emulations: list[Emulation] = [SalesforceEmulation(data)]
    if hubspot:
        other = _hubspot(data)
        if other is not None:
            emulations.append(other)
    sandbox = Sandbox(emulations, port=port, state_dir=state_dir, seed=seed)
    for emulation in emulations:
        emulation.faults.latency_ms = latency_ms
        emulation.faults.rate_limit_per_second = rate_limit
    apply_faults(sandbox, faults)
    return sandbox


def config_snippet(sandbox: Sandbox) -> dict[str, Any]:
    """A partnerkpi config that reads the running sandbox (its CA trusted, credentials filled in)."""
    salesforce = sandbox.emulation("salesforce")
    assert isinstance(salesforce, SalesforceEmulation)
    creds = salesforce.credentials
    ca = str(sandbox.ca_path)
    connectors: list[dict[str, Any]] = [
        {
            "name": "salesforce",
            "type": "salesforce",
            "instance_url": sandbox.url,
            "login_url": sandbox.url,
            "api_version": "59.0",
            "ca_bundle": ca,
            "auth": {
                "flow": "password",
                "username": creds.username,
                "password": creds.password,
                "security_token": creds.security_token,
            },
        }
    ]
    try:
        hubspot = sandbox.emulation("hubspot")
    except KeyError:
        hubspot = None
    if hubspot is not None:
        token = str(getattr(hubspot, "access_token", "") or "")
        connectors.append(
            {
                "name": "hubspot",
                "type": "hubspot",
                "host": sandbox.url,
                "ca_bundle": ca,
                "auth": {"flow": "private_app", "token": token},
            }
        )
    return {"version": 1, "connectors": connectors}


def write_config(sandbox: Sandbox, path: Path | None = None) -> Path:
    """The complete config for the running sandbox (``config_file``), at ``path`` (default: in the
    sandbox's own directory)."""
    from partnerkpi.sandbox.config_file import write_complete_config

    assert sandbox.state_dir is not None
    return write_complete_config(sandbox, path or sandbox.state_dir / CONFIG_NAME)


class PortInUse(ValueError):
    """The port asked for is taken (a usage error: choose another with --port)."""


def serve(
    port: int = 8443,
    seed: int = 42,
    partners: int = 50,
    opportunities: int = 20_000,
    latency_ms: float = 0.0,
    rate_limit: float = 0.0,
    faults: Sequence[str] = (),
    out: Callable[[str], None] = print,
    state_dir: Path | None = None,
    stop: threading.Event | None = None,
    config_out: Path | None = None,
) -> int:
    """Serve until Ctrl-C or SIGTERM (or ``stop`` is set); prints the URL, the CA and the config path.

    With ``config_out``, the CA and the secret files live in a directory beside that config
    (``.partnerkpi-sandbox``) and are kept, so a restart on the same port leaves the config valid;
    without it, in a temporary directory removed at exit."""
    from partnerkpi.sandbox.config_file import sandbox_dir_for

    if state_dir is None and config_out is not None:
        state_dir = sandbox_dir_for(config_out)
    sandbox = build_sandbox(
        seed=seed,
        partners=partners,
        opportunities=opportunities,
        latency_ms=latency_ms,
        faults=faults,
        state_dir=state_dir,
        port=port,
        rate_limit=rate_limit,
    )
    try:
        sandbox.start()
    except OSError as exc:
        sandbox.stop()  # removes a temporary directory it made
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            raise PortInUse(
                f"port {port} on 127.0.0.1 is not free ({exc.strerror}); choose another with --port"
            ) from None
        raise
    try:
        with _stop_on_sigterm():
            config = write_config(sandbox, config_out)
            out(f"sandbox serving at {sandbox.url} ({', '.join(e.name for e in sandbox.emulations)})")
            out(f"CA certificate: {sandbox.ca_path}")
            out(f"config: {config} (complete: connectors, kpi, writeback; secrets in files beside it)")
            out("admin API: " + sandbox.url + "/__admin__/counters ; press Ctrl-C to stop")
            waiter = stop or threading.Event()
            while not waiter.wait(0.5):
                pass
    except KeyboardInterrupt:
        out("sandbox stopped")
    finally:
        sandbox.stop()
    return 0


@contextlib.contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """SIGTERM (a scheduler, ``kill``) stops the sandbox as Ctrl-C does: cleanly, its temp dir removed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
