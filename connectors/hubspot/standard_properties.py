"""Which HubSpot company properties partnerkpi may write: its own custom properties, never one of
HubSpot's default company properties (name, domain, hubspot_owner_id, ...).

Source of the list: HubSpot's knowledge base, "HubSpot's default company properties"
(https://knowledge.hubspot.com/properties/hubspot-crm-default-company-properties), with the internal
names as the CRM properties API returns them (GET /crm/v3/properties/companies, ``hubspotDefined: true``;
https://developers.hubspot.com/docs/api/crm/properties). HubSpot names its own properties with the
``hs_`` prefix (hs_object_id, hs_lastmodifieddate, hs_lead_status, hs_parent_company_id, ...) and adds
new ones under it, so every ``hs_`` name counts as HubSpot's.

Internal names are lower case: HubSpot answers an upper-case name with "Names for properties should be
lowercase and have less than 100 characters" (quoted in HubSpot/hubspot-api-ruby#179), so names compare
exactly and a name with a capital letter is simply not a HubSpot name.

Read-only data and plain functions, importable by the connector (write time) and the config (load time)."""

from __future__ import annotations

from connectors.hubspot.config import PROPERTY_NAME

RESERVED_PREFIX = "hs_"
MAX_NAME_LENGTH = 99
"""HubSpot: property names "have less than 100 characters"."""

DEFAULT_COMPANY_PROPERTIES: frozenset[str] = frozenset(
    {
        # Company information
        "about_us",
        "address",
        "address2",
        "annualrevenue",
        "city",
        "closedate",
        "country",
        "createdate",
        "description",
        "domain",
        "founded_year",
        "hubspot_owner_assigneddate",
        "hubspot_owner_id",
        "hubspot_team_id",
        "industry",
        "is_public",
        "lifecyclestage",
        "name",
        "numberofemployees",
        "owneremail",
        "ownername",
        "phone",
        "state",
        "timezone",
        "total_money_raised",
        "total_revenue",
        "type",
        "web_technologies",
        "website",
        "zip",
        # Social media
        "facebook_company_page",
        "facebookfans",
        "googleplus_page",
        "linkedin_company_page",
        "linkedinbio",
        "twitterbio",
        "twitterfollowers",
        "twitterhandle",
        # Sales and activity (set by HubSpot from associated records and engagements)
        "days_to_close",
        "engagements_last_meeting_booked",
        "engagements_last_meeting_booked_campaign",
        "engagements_last_meeting_booked_medium",
        "engagements_last_meeting_booked_source",
        "first_contact_createdate",
        "first_conversion_date",
        "first_conversion_event_name",
        "first_deal_created_date",
        "hubspotscore",
        "notes_last_contacted",
        "notes_last_updated",
        "notes_next_activity_date",
        "num_associated_contacts",
        "num_associated_deals",
        "num_contacted_notes",
        "num_conversion_events",
        "num_notes",
        "recent_conversion_date",
        "recent_conversion_event_name",
        "recent_deal_amount",
        "recent_deal_close_date",
    }
)
"""HubSpot's default company properties that do not start with ``hs_`` (those are all HubSpot's)."""


def is_default_company_property(name: str) -> bool:
    """True for a HubSpot-defined company property: one of the list, or any ``hs_`` name (any case, so
    that ``Name`` or ``HS_OBJECT_ID`` are recognised for what they were meant to be)."""
    lowered = name.lower()
    return lowered in DEFAULT_COMPANY_PROPERTIES or lowered.startswith(RESERVED_PREFIX)


def writeback_property_problem(name: str) -> str | None:
    """Why partnerkpi must not write the company property ``name``, or None when it is a valid internal
    name that HubSpot does not define."""
    if is_default_company_property(name):
        why = (
            "HubSpot reserves the hs_ prefix for its own properties"
            if name.lower().startswith(RESERVED_PREFIX)
            else "it is one of HubSpot's default company properties"
        )
        return (
            f"{name!r} is not partnerkpi's to write: {why}; map a custom property instead "
            f"(e.g. pk_{name.lower().removeprefix(RESERVED_PREFIX)})"
        )
    if not PROPERTY_NAME.fullmatch(name):
        return (
            f"{name!r} is not a HubSpot internal property name: lower-case letters, digits and "
            "underscores, starting with a letter"
        )
    if len(name) > MAX_NAME_LENGTH:
        return f"{name!r} is too long: HubSpot property names have less than {MAX_NAME_LENGTH + 1} characters"
    return None
