"""The HubSpot connector's config model: which portal, how to authenticate, what to read and write.

Secrets are SecretStr: they never reach a repr, a log line or an error message. The YAML loader turns
``<name>_file`` keys into ``<name>`` (``token_file`` -> ``token``) before validation.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    model_validator,
)

from connectors.config_fields import ApiConnectorConfig, HttpsOrigin

DEFAULT_HOST = "https://api.hubapi.com"
PROPERTY_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
"""A HubSpot internal property name (lower case, digits, underscores)."""


def internal_name(what: str) -> AfterValidator:
    """Refuses a value that is not a HubSpot internal name (of a property, a property group)."""

    def check(value: str) -> str:
        if not PROPERTY_NAME.match(value):
            raise ValueError(f"not a HubSpot {what} name: {value!r}")
        return value

    return AfterValidator(check)


PropertyName = Annotated[str, internal_name("property")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PrivateAppAuth(_Model):
    """A private app's access token (it does not expire)."""

    flow: Literal["private_app"]
    token: SecretStr


class OAuthAuth(_Model):
    """A public app's OAuth refresh token: access tokens (30 minutes) are fetched and renewed from it."""

    flow: Literal["oauth"]
    client_id: str
    client_secret: SecretStr
    refresh_token: SecretStr


AuthConfig = Annotated[PrivateAppAuth | OAuthAuth, Field(discriminator="flow")]


class PartnerAttribution(_Model):
    """Which company is a deal's partner: the company associated with the label ``association_label``
    (default "Partner"), or the company whose id the deal property ``deal_property`` holds."""

    association_label: str | None = None
    deal_property: PropertyName | None = None

    @model_validator(mode="after")
    def _one_mode(self) -> PartnerAttribution:
        if self.association_label is not None and self.deal_property is not None:
            raise ValueError("give either association_label or deal_property, not both")
        if self.association_label is not None and not self.association_label.strip():
            raise ValueError("association_label is empty")
        return self

    @property
    def label(self) -> str | None:
        """The association label to read (None when the partner comes from a deal property)."""
        if self.deal_property is not None:
            return None
        return self.association_label or "Partner"


class RateLimits(_Model):
    """Client-side pacing. The ``X-HubSpot-RateLimit-*`` headers replace ``requests_per_10s`` as soon as
    HubSpot sends them (they are the portal's real allowance) unless ``use_headers`` is false."""

    requests_per_10s: int = Field(default=100, ge=1)
    searches_per_second: float = Field(default=4.0, gt=0, le=5)
    use_headers: bool = True
    headroom: float = Field(
        default=0.9, gt=0, le=1, description="Share of the allowance this connector uses (others share it)."
    )
    daily_budget_share: float = Field(
        default=0.8, gt=0, le=1, description="Stop before using more than this share of the daily allowance."
    )


class PropertyGroup(_Model):
    name: Annotated[str, internal_name("property group")] = "partner_kpis"
    label: str = "Partner KPIs"


class HubSpotConfig(ApiConnectorConfig):
    """One HubSpot portal."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["hubspot"]
    host: HttpsOrigin = Field(
        default=DEFAULT_HOST, description="API host; the sandbox's URL in tests and demos."
    )
    auth: AuthConfig
    partner: PartnerAttribution = PartnerAttribution()
    channel_property: PropertyName = "hs_analytics_source"
    archived_listing_interval_hours: float = Field(
        default=24.0,
        gt=0,
        description=(
            "Deletions are found by comparing HubSpot's count of live deals with the count the pull "
            "expects; only a difference lists the archived deals. A deletion masked by a restore in the "
            "same interval leaves the count unchanged: the archived deals are listed anyway when the last "
            "listing is at least this many hours old, so such a deletion shows within this time."
        ),
    )
    rate_limits: RateLimits = RateLimits()
    property_group: PropertyGroup = PropertyGroup()
    page_size: int = Field(default=100, ge=1, le=100, description="Deals per list page (HubSpot: <= 100).")
    search_page_size: int = Field(default=200, ge=1, le=200, description="Deals per search page (<= 200).")
    association_batch_size: int = Field(
        default=1000, ge=1, le=1000, description="Deals per v4 association batch read (HubSpot: <= 1,000)."
    )
    write_batch_size: int = Field(default=100, ge=1, le=100, description="Companies per batch update.")
    write_retry_attempts: int = Field(
        default=3, ge=0, description="Resends of records that failed retryably."
    )
    properties_per_request: int = Field(
        default=50, ge=1, description="Properties per list request; longer lists are chunked (414 otherwise)."
    )

    @model_validator(mode="before")
    @classmethod
    def _token_shorthand(cls, data: Any) -> Any:
        """``access_token: X`` is short for ``auth: {flow: private_app, token: X}``."""
        if isinstance(data, dict) and "access_token" in data:
            data = dict(data)
            token = data.pop("access_token")
            if "auth" in data:
                raise ValueError("give either access_token or auth, not both")
            data["auth"] = {"flow": "private_app", "token": token}
        return data
