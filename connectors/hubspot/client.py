"""The one way every HubSpot call goes: the SDK's API objects, built once, behind pacing and one retry
policy.

hubspot-api-client builds a new ApiClient (and urllib3 pool) on each attribute access such as
``hs.crm.deals.basic_api``; :class:`HubSpotApis` takes each object once and keeps it. Every kept ApiClient
gets a hook at its REST layer (``rest_client.request``, the single method all its HTTP verbs go through):
before a request the pacer waits for room, after it the ``X-HubSpot-RateLimit-*`` headers of the answer
(success or error) feed the pacer. That is cleaner than the ``*_with_http_info`` variants, which return
headers only on success and would have to be used for every call. The SDK's own urllib3 retries are
switched off (``Retry(total=0)``): :meth:`HubSpotClient.call` retries under the project's tenacity policy.

Every answer the pull reads comes through :meth:`HubSpotClient.read`: the raw body, read inside the
retried attempt (a body cut off or reset half way is a dropped connection: retried like a 5xx), then
checked against its model in :mod:`connectors.hubspot.answers` (a body that is not JSON, or JSON that does
not fit, is an ``UnexpectedAnswer`` naming the call: connection-class, exit 3, never retried).

Two threads call through one client (the puller's one-page lookahead): the pacer is thread-safe, each
thread uses its own kept API objects (urllib3 pools are thread-safe anyway), and the shared counters are
updated under a lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import hubspot
import urllib3
from hubspot.discovery.discovery_base import DiscoveryBase
from pydantic import BaseModel

from connectors.answers import parse_json_answer
from connectors.base import ConnectorStats
from connectors.calls import Caller
from connectors.hubspot import failures
from connectors.hubspot.auth import TokenSource
from connectors.hubspot.pacing import Pacer
from connectors.retry import DEFAULT_POLICY, RetryHint, RetryPolicy

log = logging.getLogger(__name__)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

NO_SDK_RETRY = urllib3.Retry(
    total=0,
    connect=0,
    read=0,
    redirect=0,
    status=0,
    other=0,
    respect_retry_after_header=False,
    raise_on_status=False,
    raise_on_redirect=False,
)
"""The SDK's urllib3 retries off: a failure surfaces at once and our policy decides."""


class _LastRequest(threading.local):
    """The method and path of the last request this thread sent (for messages)."""

    call: str | None = None


def redact_path(path: str) -> str:
    """``path`` fit for a message: an access token in it (``/oauth/v1/access-tokens/{token}``) masked."""
    head, marker, _ = path.partition("/access-tokens/")
    return f"{head}{marker}{{token}}" if marker else path


@dataclass
class HubSpotApis:
    """The SDK API objects this connector uses, each built once."""

    deals_basic: Any
    deals_search: Any
    deals_batch: Any
    pipelines: Any
    association_batch: Any
    association_labels: Any
    companies_batch: Any
    properties: Any
    property_groups: Any
    access_tokens: Any


@dataclass
class HubSpotCall:
    """One call, as :class:`~connectors.calls.Caller`'s hooks see it."""

    name: str | None
    """What messages call it; None: the method and path of the request that failed."""
    renewed: bool = False
    """The OAuth token was renewed once for this call already."""


class HubSpotClient(Caller[HubSpotCall]):
    """Kept SDK objects, the current token pushed to each, pacing and the retry policy around calls."""

    def __init__(
        self,
        *,
        host: str,
        tokens: TokenSource,
        pacer: Pacer,
        ca_bundle: str | None,
        timeout: float,
        stats: ConnectorStats,
        policy: RetryPolicy = DEFAULT_POLICY,
    ) -> None:
        super().__init__(stats, policy)
        self.host = host
        self.tokens = tokens
        self.pacer = pacer
        self.timeout = timeout
        self._configurations: list[Any] = []
        self._rest_clients: list[Any] = []
        self._token: str | None = None
        self._where = _LastRequest()
        sdk = hubspot.HubSpot(
            host=host,
            ssl_ca_cert=ca_bundle,
            retry=NO_SDK_RETRY,
            api_factory=self._build_api,
        )
        self.apis = HubSpotApis(
            deals_basic=sdk.crm.deals.basic_api,
            deals_search=sdk.crm.deals.search_api,
            deals_batch=sdk.crm.deals.batch_api,
            pipelines=sdk.crm.pipelines.pipelines_api,
            association_batch=sdk.crm.associations.v4.batch_api,
            association_labels=sdk.crm.associations.v4.schema.definitions_api,
            companies_batch=sdk.crm.companies.batch_api,
            properties=sdk.crm.properties.core_api,
            property_groups=sdk.crm.properties.groups_api,
            access_tokens=sdk.oauth.access_tokens_api,
        )

    # -- building -----------------------------------------------------------------------------------
    def _build_api(self, package: Any, api_name: str, config: Mapping[str, Any]) -> Any:
        api = DiscoveryBase._default_api_factory(package, api_name, dict(config))
        api_client = api.api_client
        self._configurations.append(api_client.configuration)
        self._rest_clients.append(api_client.rest_client)
        self._instrument(api_client.rest_client)
        return api

    def _instrument(self, rest: Any) -> None:
        send = rest.request

        def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            path = urlsplit(url).path
            self._where.call = f"{method} {redact_path(path)}"
            self.pacer.before(is_search=method == "POST" and path.endswith("/search"))
            if kwargs.get("_request_timeout") is None:
                kwargs["_request_timeout"] = self.timeout
            self.count_call()
            try:
                response = send(method, url, *args, **kwargs)
            except Exception as exc:
                self.pacer.observe(getattr(exc, "headers", None))
                raise
            self.pacer.observe(response.getheaders())
            return response

        rest.request = request

    def close(self) -> None:
        for configuration in self._configurations:
            configuration.access_token = None
        for rest in self._rest_clients:
            rest.pool_manager.clear()
        close = getattr(self.tokens, "close", None)
        if callable(close):
            close()

    # -- calling ------------------------------------------------------------------------------------
    def _sync_token(self) -> None:
        token = self.tokens.token()
        if token != self._token:
            for configuration in self._configurations:
                configuration.access_token = token
            self._token = token

    def read(self, model: type[M], call: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> M:
        """An SDK call whose answer is read as raw JSON and checked as ``model`` (``call`` names it in
        every message). The body is read inside the retried attempt, so a body cut off half way is
        retried; what arrives whole but is not JSON, or does not fit, is UnexpectedAnswer. (The SDK's
        own models would also parse every createdAt/updatedAt with dateutil: half the time of a large
        pull, for values we do not use.)"""

        def run() -> bytes:
            response = fn(*args, _preload_content=False, **kwargs)
            return bytes(response.data)

        return parse_json_answer(model, self.call(run, call), call)

    def get(self, model: type[M], call: str, path: str) -> M:
        """``GET path`` (an endpoint the SDK has no API object for), read and checked as ``model``."""
        api_client = self.apis.deals_basic.api_client
        return self.read(
            model,
            call,
            api_client.call_api,
            path,
            "GET",
            header_params={"Accept": "application/json"},
            auth_settings=["oauth2"],
            response_types_map={},
        )

    def call(self, fn: Callable[[], T], name: str | None = None) -> T:
        """``fn`` (one SDK call) under the retry policy, with a fresh token; a 401 renews the token once
        (OAuth) and tries again. Failures come out as ConnectorError subclasses, naming the call (``name``,
        else the method and path of the request that failed)."""

        def attempt() -> T:
            self._where.call = None
            self._sync_token()
            return fn()

        return self.guarded(attempt, HubSpotCall(name))

    # -- Caller's hooks -------------------------------------------------------------------------------
    def classify(self, exc: BaseException) -> RetryHint | None:
        return failures.classify(exc)

    def renew(self, exc: BaseException, call: HubSpotCall) -> bool:
        if failures.http_status(exc) != 401 or not self.tokens.can_refresh or call.renewed:
            return False
        log.info("HubSpot answered 401: renewing the OAuth access token")
        self.tokens.refresh()
        call.renewed = True
        return True

    def translate(self, exc: BaseException, call: HubSpotCall) -> BaseException:
        return failures.translate(exc, self.host, call.name or self._where.call)
