"""A HubSpot-only sandbox and hubspot-api-client sub-clients built once against it (each attribute access
such as ``hs.crm.deals.basic_api`` builds a new connection pool, so tests keep the ones made here). The
``portal`` and ``portal_factory`` fixtures that start them live in tests/sandbox/conftest.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import urllib3
from hubspot import HubSpot

from partnerkpi.sandbox.core import Sandbox
from partnerkpi.sandbox.generator import SeedData
from partnerkpi.sandbox.hubspot import HubSpotEmulation

TOKEN = "pat-sandbox-1"


@dataclass
class Portal:
    sandbox: Sandbox
    emulation: HubSpotEmulation
    data: SeedData
    hs: Any
    deals: Any
    deals_search: Any
    deals_batch: Any
    companies: Any
    associations: Any
    labels: Any
    pipelines: Any
    properties: Any
    groups: Any

    def counter(self, endpoint: str) -> int:
        return self.sandbox.counters[endpoint]


def clients(sandbox: Sandbox, emulation: HubSpotEmulation, data: SeedData, token: str = TOKEN) -> Portal:
    # retry=Retry(0): the SDK's default urllib3 Retry sleeps Retry-After and repeats a 429'd GET; tests
    # want to see the 429 itself.
    hs = HubSpot(
        access_token=token, host=sandbox.url, ssl_ca_cert=str(sandbox.ca_path), retry=urllib3.Retry(0)
    )
    crm = hs.crm
    return Portal(
        sandbox=sandbox,
        emulation=emulation,
        data=data,
        hs=hs,
        deals=crm.deals.basic_api,
        deals_search=crm.deals.search_api,
        deals_batch=crm.deals.batch_api,
        companies=crm.companies.basic_api,
        associations=crm.associations.v4.batch_api,
        labels=crm.associations.v4.schema.definitions_api,
        pipelines=crm.pipelines.pipelines_api,
        properties=crm.properties.core_api,
        groups=crm.properties.groups_api,
    )


PortalFactory = Callable[..., Portal]


def body_of(error: Any) -> Any:
    """The parsed JSON body an SDK ApiException carries."""
    return json.loads(error.body)
