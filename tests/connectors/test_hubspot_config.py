"""HubSpotConfig: defaults, the secret hidden, the two partner modes, OAuth and the token shorthand, and
what is refused."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from connectors.hubspot import HubSpotConfig
from connectors.hubspot.config import OAuthAuth


def base_config(**extra: Any) -> dict[str, Any]:
    return {"name": "hs", "type": "hubspot", "auth": {"flow": "private_app", "token": "pat-1"}, **extra}


def test_config_defaults_and_secret_hidden() -> None:
    config = HubSpotConfig.model_validate(base_config())
    assert config.host == "https://api.hubapi.com"
    assert config.partner.label == "Partner"
    assert config.channel_property == "hs_analytics_source"
    assert config.lookback_minutes == 10
    assert "pat-1" not in repr(config)


def test_config_deal_property_mode_and_both_refused() -> None:
    config = HubSpotConfig.model_validate(base_config(partner={"deal_property": "partner_company_id"}))
    assert config.partner.label is None
    with pytest.raises(ValidationError):
        HubSpotConfig.model_validate(
            base_config(partner={"deal_property": "x", "association_label": "Partner"})
        )


def test_config_oauth_and_shorthand_and_errors() -> None:
    oauth = HubSpotConfig.model_validate(
        base_config(auth={"flow": "oauth", "client_id": "c", "client_secret": "s3", "refresh_token": "r3"})
    )
    assert isinstance(oauth.auth, OAuthAuth)
    assert "s3" not in repr(oauth) and "r3" not in repr(oauth)
    short = HubSpotConfig.model_validate({"name": "hs", "type": "hubspot", "access_token": "pat-9"})
    assert short.auth.flow == "private_app"
    with pytest.raises(ValidationError):
        HubSpotConfig.model_validate(base_config(host="http://insecure.example"))
    with pytest.raises(ValidationError):
        HubSpotConfig.model_validate(base_config(unknown_key=1))
    with pytest.raises(ValidationError):
        HubSpotConfig.model_validate(base_config(page_size=101))
