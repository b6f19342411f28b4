"""The Salesforce connector's config model: where the org is, how to log in, what to read and write.

Secrets are SecretStr: they never reach a repr, a log line or an error message. The YAML loader turns
``<name>_file`` keys into ``<name>`` (``private_key_file`` -> ``private_key``) before validation.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from connectors.config_fields import ApiConnectorConfig, HttpsOrigin
from kpi_core.settings import check_currency_code

API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
"""A field or object API name (custom ones end in ``__c``); anything else could change a SOQL query."""

DEFAULT_LOGIN_URL = "https://login.salesforce.com"


class _Auth(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PasswordAuth(_Auth):
    """SOAP login with username, password and the user's security token."""

    flow: Literal["password"]
    username: str
    password: SecretStr
    security_token: SecretStr = SecretStr("")


class OAuthPasswordAuth(_Auth):
    """OAuth 2.0 username-password grant through a connected app."""

    flow: Literal["oauth_password"]
    username: str
    password: SecretStr
    consumer_key: str
    consumer_secret: SecretStr


class JwtAuth(_Auth):
    """OAuth 2.0 JWT bearer grant: a connected app's certificate, no password."""

    flow: Literal["jwt"]
    username: str
    consumer_key: str
    private_key: SecretStr = Field(
        description="PEM private key; give private_key_file to read it from a file."
    )


class ClientCredentialsAuth(_Auth):
    """OAuth 2.0 client-credentials grant (needs a My Domain login_url)."""

    flow: Literal["client_credentials"]
    consumer_key: str
    consumer_secret: SecretStr


class SessionAuth(_Auth):
    """An existing session id (access token) for ``instance_url``; it cannot be renewed when it expires."""

    flow: Literal["session"]
    session_id: SecretStr


class RefreshTokenAuth(_Auth):
    """OAuth 2.0 refresh-token grant (simple-salesforce has none: the connector makes this call itself)."""

    flow: Literal["refresh_token"]
    consumer_key: str
    consumer_secret: SecretStr
    refresh_token: SecretStr


AuthConfig = Annotated[
    PasswordAuth | OAuthPasswordAuth | JwtAuth | ClientCredentialsAuth | SessionAuth | RefreshTokenAuth,
    Field(discriminator="flow"),
]


class PartnerAttribution(BaseModel):
    """Which account an opportunity's partner is.

    partner_account: ``Opportunity.PartnerAccountId`` (PRM / partner community; the default);
    opportunity_partner: the primary ``OpportunityPartner`` (AccountToId where IsPrimary);
    lookup_field: a custom lookup to Account on Opportunity, named by ``field``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["partner_account", "opportunity_partner", "lookup_field"] = "partner_account"
    field: str | None = None

    @field_validator("field")
    @classmethod
    def _api_name(cls, value: str | None) -> str | None:
        if value is not None and not API_NAME.match(value):
            raise ValueError(f"not a Salesforce field API name: {value!r}")
        return value

    @model_validator(mode="after")
    def _field_for_mode(self) -> PartnerAttribution:
        if self.mode == "lookup_field" and not self.field:
            raise ValueError("mode lookup_field needs field: the API name of the lookup (e.g. Partner__c)")
        if self.mode == "opportunity_partner" and self.field:
            raise ValueError("mode opportunity_partner takes no field (it reads OpportunityPartner)")
        return self

    @property
    def opportunity_field(self) -> str | None:
        """The Opportunity field holding the partner's account id (None: read from OpportunityPartner)."""
        if self.mode == "partner_account":
            return self.field or "PartnerAccountId"
        if self.mode == "lookup_field":
            return self.field
        return None


class SalesforceConfig(ApiConnectorConfig):
    """One Salesforce org."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["salesforce"]
    instance_url: HttpsOrigin | None = Field(
        default=None,
        description="https://yourorg.my.salesforce.com; needed for the session flow, else taken from login.",
    )
    login_url: HttpsOrigin = Field(
        default=DEFAULT_LOGIN_URL,
        description="Where logins go: https://login.salesforce.com, https://test.salesforce.com or My Domain.",
    )
    api_version: str = "59.0"
    proxies: dict[str, str] | None = None
    auth: AuthConfig
    partner: PartnerAttribution = PartnerAttribution()
    channel_field: str = "LeadSource"
    reporting_currency: str | None = Field(
        default=None, description="Amounts are converted into it; default: the org's corporate currency."
    )
    bulk_threshold: int = Field(
        default=50_000, ge=1, description="Changed rows above which Bulk API 2.0 reads."
    )
    page_size: int = Field(default=2_000, ge=200, le=2_000)
    budget_share: float = Field(default=0.8, gt=0, le=1)
    permission_set: str = Field(
        default="PartnerKPI_Read",
        description="Grants read access to the KPI fields; assign it to sales staff.",
    )
    writer_permission_set: str | None = Field(
        default="PartnerKPI_Writer",
        description="Grants edit access to the KPI fields; assigned to the integration user by provision.",
    )
    partner_object: Literal["Account"] = "Account"
    write_batch_size: int = Field(default=200, ge=1, le=200)
    bulk_write_threshold: int = Field(
        default=10_000, ge=1, description="Records above which writes go through one Bulk API 2.0 job."
    )
    write_retry_attempts: int = Field(default=3, ge=0, description="Resends of records that hit a row lock.")
    bulk_poll_seconds: float = Field(default=1.0, gt=0)

    @field_validator("channel_field", "permission_set", "writer_permission_set")
    @classmethod
    def _api_name(cls, value: str | None) -> str | None:
        if value is not None and not API_NAME.match(value):
            raise ValueError(f"not a Salesforce API name: {value!r}")
        return value

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not re.fullmatch(r"\d{2,3}\.0", value):
            raise ValueError(f"api_version looks like 59.0 (no leading v), not {value!r}")
        return value

    @field_validator("reporting_currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        return None if value is None else check_currency_code(value)

    @model_validator(mode="after")
    def _flow_needs(self) -> SalesforceConfig:
        if isinstance(self.auth, SessionAuth) and not self.instance_url:
            raise ValueError("auth flow session needs instance_url (the org the session belongs to)")
        if isinstance(self.auth, ClientCredentialsAuth) and self.login_url in (
            DEFAULT_LOGIN_URL,
            "https://test.salesforce.com",
        ):
            raise ValueError("auth flow client_credentials needs login_url set to the org's My Domain URL")
        return self
