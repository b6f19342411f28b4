"""connectors/values.py: the one home of value conversion, one test per rule."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

import pytest

from connectors.fields import FieldKind, FieldSpec
from connectors.file.writer import format_value as file_format
from connectors.file.writer import parse_value as file_parse
from connectors.hubspot.normalize import parse_datetime as hubspot_datetime
from connectors.hubspot.write import format_value as hubspot_format
from connectors.salesforce.normalize import parse_datetime as salesforce_datetime
from connectors.salesforce.watermark import SalesforceWatermark
from connectors.values import iso_datetime, plain_number, to_decimal, utc_datetime
from writeback.values import canonical

NOON_UTC = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def test_a_naive_timestamp_is_read_as_utc() -> None:
    assert utc_datetime("2024-05-01T12:00:00") == NOON_UTC
    assert utc_datetime("2024-05-01T12:00:00").tzinfo is timezone.utc


@pytest.mark.parametrize("raw", ["2024-05-01T12:00:00Z", "2024-05-01T12:00:00.000Z", "2024-05-01T12:00:00z"])
def test_a_z_suffix_parses_as_utc(raw: str) -> None:
    assert utc_datetime(raw) == NOON_UTC
    assert utc_datetime(raw).tzinfo is timezone.utc


@pytest.mark.parametrize("raw", ["2024-05-01T14:00:00+02:00", "2024-05-01T14:00:00.000+0200"])
def test_an_offset_is_converted_to_utc(raw: str) -> None:
    moment = utc_datetime(raw)
    assert moment == NOON_UTC
    assert moment.tzinfo is timezone.utc and moment.hour == 12


def test_salesforce_rest_offset_without_colon_parses() -> None:
    assert utc_datetime("2020-10-22T21:03:23.000+0000") == datetime(
        2020, 10, 22, 21, 3, 23, tzinfo=timezone.utc
    )


@pytest.mark.parametrize("raw", ["yesterday", "2024-13-01T00:00:00Z", "", "2024-05-01T12:00:00+25:00"])
def test_a_malformed_timestamp_raises_value_error_naming_the_value(raw: str) -> None:
    with pytest.raises(ValueError, match="is not an ISO 8601 date and time") as caught:
        utc_datetime(raw)
    assert repr(raw) in str(caught.value)


def test_iso_datetime_keeps_a_naive_value_naive_for_the_caller_to_zone() -> None:
    assert iso_datetime("2024-05-01T12:00:00") == datetime(2024, 5, 1, 12, 0)


def test_iso_datetime_keeps_the_written_offset() -> None:
    moment = iso_datetime("2024-05-01T14:00:00+0200")
    assert moment.utcoffset() == timedelta(hours=2) and moment == NOON_UTC


def test_a_float_becomes_the_decimal_of_its_shortest_repr() -> None:
    assert to_decimal(0.1) == Decimal("0.1")
    assert to_decimal(63.15) == Decimal("63.15")


def test_a_decimal_passes_as_it_is() -> None:
    value = Decimal("1.2300")
    assert to_decimal(value) is value


def test_ints_and_text_read_as_decimal_reads_them() -> None:
    assert to_decimal(42) == Decimal(42)
    assert to_decimal("12.50") == Decimal("12.50")
    assert str(to_decimal("12.50")) == "12.50"


def test_text_that_is_not_a_number_raises_invalid_operation() -> None:
    with pytest.raises(InvalidOperation):
        to_decimal("twelve")


@pytest.mark.parametrize("number", [Decimal("-0"), Decimal("0"), Decimal("-0E+2")])
def test_a_zero_without_decimals_is_written_0_whatever_its_sign(number: Decimal) -> None:
    assert plain_number(number) == "0"


def test_a_negative_zero_loses_its_sign_but_keeps_its_scale() -> None:
    assert plain_number(Decimal("-0.00")) == "0.00"


def test_numbers_are_written_positionally_never_in_exponent_form() -> None:
    assert plain_number(Decimal("1E+3")) == "1000"
    assert plain_number(Decimal("-1.5E-3")) == "-0.0015"
    assert plain_number(Decimal("-12.30")) == "-12.30"


# -- the call sites keep the rules -------------------------------------------------------------------


def test_every_writer_writes_a_negative_zero_without_its_sign() -> None:
    assert hubspot_format(Decimal("-0"), FieldSpec("x", "X", FieldKind.NUMBER)) == "0"
    assert hubspot_format(-0.0, FieldSpec("x", "X", FieldKind.NUMBER)) == "0.0"
    assert canonical(Decimal("-0.00")) == canonical(Decimal("0")) == "0"


def test_connectors_never_round_a_value_writeback_rounded_they_only_pad_it_exactly() -> None:
    field = FieldSpec("x", "X", FieldKind.NUMBER, scale=2)
    assert file_format(Decimal("63.1"), field) == "63.10"  # padded: the same value
    assert file_format(Decimal("63.157"), field) == "63.157"  # more decimals: written as given
    assert hubspot_format(Decimal("63.157"), field) == "63.157"


def test_every_reader_parses_timestamps_by_the_same_rules() -> None:
    raw = "2024-05-01T14:00:00+02:00"
    stored = SalesforceWatermark.load(raw)  # the watermark text earlier versions stored
    assert stored is not None
    assert hubspot_datetime(raw) == salesforce_datetime(raw) == stored.modified == NOON_UTC
    assert hubspot_datetime("2024-05-01T12:00:00") == salesforce_datetime("2024-05-01T12:00:00") == NOON_UTC
    assert hubspot_datetime("soon") is None and salesforce_datetime("soon") is None
    assert file_parse("2024-05-01T12:00:00Z") == NOON_UTC
