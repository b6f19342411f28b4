"""pytest fixtures for the sandbox (registered with ``pytest_plugins = ["partnerkpi.sandbox.testing"]``).

- ``sandbox``: one small sandbox for the session. Shared: call ``sandbox.reset_counters()`` before
  asserting counters, and never leave fault knobs set (use ``faults_reset`` or a fresh sandbox).
- ``sandbox_factory(seed=..., partners=..., opportunities=..., faults=..., hubspot=...)``: a fresh sandbox
  of its own for a test that mutates data or needs other sizes; stopped at the test's end.
- ``salesforce_session(sandbox)``: a requests.Session that trusts the sandbox's CA (and not the
  environment's CA variables) and sends ``https://*.salesforce.com`` to the sandbox, so the SDK's own
  login flows, which always build ``https://{domain}.salesforce.com/...``, reach it.
- ``salesforce_client(sandbox)``: simple-salesforce logged in (SOAP username-password flow) over that
  session, as the sandbox's API user.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from requests.adapters import HTTPAdapter

from partnerkpi.sandbox.app import build_sandbox
from partnerkpi.sandbox.core import Faults, Sandbox

SandboxFactory = Callable[..., Sandbox]


class _SalesforceHostAdapter(HTTPAdapter):
    """Sends requests for ``*.salesforce.com`` to the sandbox instead (as a hosts-file entry would)."""

    def __init__(self, instance: str) -> None:
        super().__init__()
        self.instance = instance

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        parts = urlsplit(request.url or "")
        if parts.hostname and parts.hostname.endswith(".salesforce.com"):
            request.url = urlunsplit(("https", self.instance, parts.path, parts.query, parts.fragment))
        return super().send(request, *args, **kwargs)


def salesforce_session(sandbox: Sandbox) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(sandbox.ca_path)
    session.mount("https://", _SalesforceHostAdapter(sandbox.instance))
    return session


def salesforce_client(sandbox: Sandbox, session: requests.Session | None = None) -> Any:
    """simple-salesforce logged in as the sandbox's API user, over ``session`` (default: a new
    ``salesforce_session``)."""
    from simple_salesforce.api import Salesforce

    from partnerkpi.sandbox.salesforce.auth import SalesforceCredentials

    creds = SalesforceCredentials()
    return Salesforce(
        username=creds.username,
        password=creds.password,
        security_token=creds.security_token,
        session=session or salesforce_session(sandbox),
    )


def reset_faults(sandbox: Sandbox) -> None:
    for emulation in sandbox.emulations:
        emulation.faults.update(asdict(Faults()))


@pytest.fixture
def sandbox_factory() -> Iterator[SandboxFactory]:
    started: list[Sandbox] = []

    def make(
        seed: int = 42,
        partners: int = 20,
        opportunities: int = 500,
        faults: Sequence[str] | Mapping[str, Any] | None = None,
        latency_ms: float = 0.0,
        hubspot: bool = True,
    ) -> Sandbox:
        sandbox = build_sandbox(
            seed=seed,
            partners=partners,
            opportunities=opportunities,
            latency_ms=latency_ms,
            faults=faults,
            hubspot=hubspot,
        )
        sandbox.start()
        started.append(sandbox)
        return sandbox

    yield make
    for sandbox in started:
        sandbox.stop()


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """A small shared sandbox (20 partners, 500 opportunities). Do not mutate its data."""
    shared = build_sandbox(seed=42, partners=20, opportunities=500)
    shared.start()
    yield shared
    shared.stop()


@pytest.fixture
def faults_reset(sandbox: Sandbox) -> Iterator[Sandbox]:
    """The shared sandbox with counters cleared; its fault knobs are put back to defaults afterwards."""
    sandbox.reset_counters()
    yield sandbox
    reset_faults(sandbox)
