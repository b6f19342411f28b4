"""The structured watermark (connectors/watermark.py): each connector's model stored as compact JSON, the
text formats earlier versions stored still read, and every stored value that does not fit refused with a
ConnectorError that names the connector and says to reset it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from connectors.errors import ConnectorError
from connectors.file import FileConnector
from connectors.file.reader import Fingerprint
from connectors.hubspot import HubSpotConnector
from connectors.hubspot.watermark import HubSpotWatermark
from connectors.salesforce import SalesforceConnector
from connectors.salesforce.watermark import SalesforceWatermark
from connectors.watermark import Watermark

T0 = datetime(2026, 11, 2, 9, 0, 0, 123000, tzinfo=timezone.utc)
LISTED = datetime(2026, 11, 1, 22, 30, tzinfo=timezone.utc)
PLUS_TWO = timezone(timedelta(hours=2))

HUBSPOT = HubSpotWatermark(modified=T0, live_deals=1234, archived_listed=LISTED)
SALESFORCE = SalesforceWatermark(modified=T0)


class Plain(Watermark):
    """A model of a connector that never stored another format."""

    connector_kind = "Acme"
    cursor: str


def refusal(model: type[Watermark], text: str) -> str:
    with pytest.raises(ConnectorError) as caught:
        model.load(text)
    error = caught.value  # no pydantic traceback behind it
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    return str(caught.value)


def assert_says_reset(message: str, kind: str) -> None:
    assert f"stored {kind} watermark" in message
    assert "reset it" in message and "partnerkpi state reset --connector" in message
    assert "errors.pydantic.dev" not in message and "\n" not in message


@pytest.mark.parametrize(
    "mark", [HUBSPOT, SALESFORCE, Plain(cursor="page 7")], ids=["hubspot", "salesforce", "plain"]
)
def test_a_watermark_round_trips_through_compact_json(mark: Watermark) -> None:
    text = mark.dump()
    assert json.loads(text) == json.loads(mark.model_dump_json())
    assert " " not in text.replace("page 7", "")  # compact
    assert type(mark).load(text) == mark


def test_every_field_is_in_the_json_even_when_unknown() -> None:
    mark = HubSpotWatermark(modified=T0, live_deals=None, archived_listed=None)
    assert json.loads(mark.dump()) == {
        "modified": "2026-11-02T09:00:00.123000Z",
        "live_deals": None,
        "archived_listed": None,
    }
    assert HubSpotWatermark.load(mark.dump()) == mark


def test_a_watermark_is_frozen() -> None:
    with pytest.raises(ValidationError):
        HUBSPOT.live_deals = 3  # type: ignore[misc]


def test_times_are_normalized_to_utc() -> None:
    mark = HubSpotWatermark(modified=T0.astimezone(PLUS_TWO), live_deals=1, archived_listed=None)
    assert mark.modified == T0 and mark.modified.tzinfo is timezone.utc
    loaded = SalesforceWatermark.load('{"modified":"2026-11-02T11:00:00.123+02:00"}')
    assert loaded is not None and loaded.modified == T0 and loaded.modified.tzinfo is timezone.utc


def test_a_salesforce_time_keeps_the_milliseconds_the_older_text_kept() -> None:
    mark = SalesforceWatermark(modified=T0 + timedelta(microseconds=456))
    assert mark.modified == T0


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_no_stored_watermark_is_a_first_pull(blank: str | None) -> None:
    assert SalesforceWatermark.load(blank) is None
    assert HubSpotWatermark.load(blank) is None


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValidationError):
        SalesforceWatermark(modified=datetime(2026, 11, 2, 9, 0))
    message = refusal(SalesforceWatermark, '{"modified":"2026-11-02T09:00:00"}')
    assert "timezone" in message
    assert_says_reset(message, "Salesforce")
    naive = '{"modified":"2026-11-02T09:00:00Z","live_deals":1,"archived_listed":"2026-11-01T22:30:00"}'
    assert_says_reset(refusal(HubSpotWatermark, naive), "HubSpot")


def test_a_plain_datetime_field_still_refuses_a_naive_time() -> None:
    class Loose(Watermark):
        at: datetime

    with pytest.raises(ValidationError):
        Loose(at=datetime(2026, 11, 2, 9, 0))
    assert Loose(at=T0.astimezone(PLUS_TWO)).at.tzinfo is timezone.utc


def test_the_salesforce_iso_text_earlier_versions_stored_is_still_read() -> None:
    assert SalesforceWatermark.load("2026-11-02T09:00:00.123Z") == SALESFORCE
    assert SalesforceWatermark.load("2026-11-02T11:00:00.123+02:00") == SALESFORCE
    assert SalesforceWatermark.load("2026-11-02T09:00:00.123") == SALESFORCE  # no offset: UTC


def test_the_hubspot_text_with_a_live_count_and_a_listing_is_still_read() -> None:
    text = f"{T0.isoformat()} live=1234 archived_listed={LISTED.isoformat()}"
    assert HubSpotWatermark.load(text) == HUBSPOT
    mid_pull = HubSpotWatermark.load(f"{T0.isoformat()} archived_listed={LISTED.isoformat()}")
    assert mid_pull == HubSpotWatermark(modified=T0, live_deals=None, archived_listed=LISTED)


def test_the_hubspot_plain_time_is_a_run_that_listed_the_archived_deals_then() -> None:
    assert HubSpotWatermark.load(T0.isoformat()) == HubSpotWatermark(
        modified=T0, live_deals=None, archived_listed=T0
    )


def test_a_legacy_watermark_is_handed_on_as_json() -> None:
    legacy = HubSpotWatermark.load(f"{T0.isoformat()} live=1234 archived_listed={LISTED.isoformat()}")
    assert legacy is not None
    assert json.loads(legacy.dump())["live_deals"] == 1234
    assert HubSpotWatermark.load(legacy.dump()) == legacy


@pytest.mark.parametrize(
    ("model", "kind", "text", "says"),
    [
        (SalesforceWatermark, "Salesforce", "{not json", "the text: invalid JSON"),
        (SalesforceWatermark, "Salesforce", "{}", "modified: field required"),
        (SalesforceWatermark, "Salesforce", '{"modified":"soon"}', "modified"),
        (SalesforceWatermark, "Salesforce", "yesterday", "is not an ISO timestamp"),
        (HubSpotWatermark, "HubSpot", '{"modified":"2026-11-02T09:00:00Z",', "the text: invalid JSON"),
        (
            HubSpotWatermark,
            "HubSpot",
            '{"modified":"2026-11-02T09:00:00Z","live_deals":"many","archived_listed":null}',
            "live_deals",
        ),
        (HubSpotWatermark, "HubSpot", "yesterday live=3", "is not an ISO 8601 time"),
        (HubSpotWatermark, "HubSpot", f"{T0.isoformat()} live=many", "has a bad live count"),
        (HubSpotWatermark, "HubSpot", f"{T0.isoformat()} archived_listed=later", "is not an ISO 8601 time"),
        (Plain, "Acme", "page 7", "is not JSON"),
    ],
)
def test_a_malformed_watermark_names_the_connector_and_says_reset(
    model: type[Watermark], kind: str, text: str, says: str
) -> None:
    message = refusal(model, text)
    assert says in message and repr(text) in message
    assert_says_reset(message, kind)


def test_a_watermark_of_another_connector_kind_is_refused() -> None:
    assert "live_deals: extra inputs are not permitted" in refusal(SalesforceWatermark, HUBSPOT.dump())
    assert "live_deals: field required" in refusal(HubSpotWatermark, SALESFORCE.dump())
    fingerprint = Fingerprint(sha256="0" * 64, size=10, mtime=T0, rows=2).to_json()
    for model, kind in ((SalesforceWatermark, "Salesforce"), (HubSpotWatermark, "HubSpot")):
        message = refusal(model, fingerprint)
        assert "modified: field required" in message  # its keys are not a watermark's
        assert "more problem(s)" in message  # and its own keys are extra
        assert_says_reset(message, kind)


def test_each_connector_declares_its_watermark_model() -> None:
    assert SalesforceConnector.watermark_model is SalesforceWatermark
    assert HubSpotConnector.watermark_model is HubSpotWatermark
    assert FileConnector.watermark_model is None  # a full refresh: its fingerprint is never read back


def test_a_legacy_text_that_reads_into_values_the_model_refuses_is_refused_too() -> None:
    class Counted(Watermark):
        connector_kind = "Acme"
        seen: int

        @classmethod
        def from_legacy(cls, text: str) -> Counted:
            return cls.model_validate({"seen": text})

    assert Counted.load("12") == Counted(seen=12)
    message = refusal(Counted, "twelve")
    assert "seen:" in message
    assert_says_reset(message, "Acme")
