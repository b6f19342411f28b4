"""Building and serving the sandbox: the emulations over one seed, fault knobs, and the config snippet a
user (or ``make demo``) points partnerkpi at."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

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


def write_config(sandbox: Sandbox) -> Path:
    assert sandbox.ca_path is not None
    path = sandbox.ca_path.parent / CONFIG_NAME
    path.write_text(
        "# Written by `partnerkpi sandbox serve`: a config that reads this sandbox. Test credentials only.\n"
        + yaml.safe_dump(config_snippet(sandbox), sort_keys=False),
        encoding="utf-8",
    )
    return path


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
) -> int:
    """Serve until KeyboardInterrupt (or ``stop`` is set); prints the URL, the CA and the config path."""
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
    sandbox.start()
    try:
        config = write_config(sandbox)
        out(f"sandbox serving at {sandbox.url} ({', '.join(e.name for e in sandbox.emulations)})")
        out(f"CA certificate: {sandbox.ca_path}")
        out(f"config snippet: {config}")
        out("admin API: " + sandbox.url + "/__admin__/counters ; press Ctrl-C to stop")
        waiter = stop or threading.Event()
        while not waiter.wait(0.5):
            pass
    except KeyboardInterrupt:
        out("sandbox stopped")
    finally:
        sandbox.stop()
    return 0
