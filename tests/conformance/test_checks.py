"""The cross-checks catch what they promise to: missing, extra and duplicated ids; unchanged records in
an incremental run beyond those an inclusive cursor re-reads on its bookmark."""

from __future__ import annotations

import pytest

from tests.conformance.checks import assert_incremental, assert_same_ids, at_bookmark, instant, live


def test_same_ids_names_missing_extra_and_duplicated_records() -> None:
    assert_same_ids([{"Id": "a"}, {"Id": "b"}], {"a", "b"})
    with pytest.raises(AssertionError, match=r"1 missing \(b\)"):
        assert_same_ids([{"Id": "a"}], {"a", "b"})
    with pytest.raises(AssertionError, match=r"1 not in the sandbox \(c\)"):
        assert_same_ids([{"Id": "a"}, {"Id": "b"}, {"Id": "c"}], {"a", "b"})
    with pytest.raises(AssertionError, match=r"1 emitted more than once \(a\)"):
        assert_same_ids([{"Id": "a"}, {"Id": "a"}, {"Id": "b"}], {"a", "b"})


def test_hubspot_numeric_ids_compare_as_strings() -> None:
    assert_same_ids([{"id": 9000000001}], {"9000000001"}, key="id")


def test_incremental_allows_only_the_changed_and_the_bookmark_records() -> None:
    assert_incremental([{"Id": "x"}, {"Id": "m"}], {"x"}, boundary={"m"})
    with pytest.raises(AssertionError, match=r"1 unchanged record\(s\) re-read \(u\)"):
        assert_incremental([{"Id": "x"}, {"Id": "u"}], {"x"}, boundary={"m"})
    with pytest.raises(AssertionError, match=r"1 changed record\(s\) missing \(y\)"):
        assert_incremental([{"Id": "x"}], {"x", "y"})


def test_at_bookmark_compares_instants_whatever_their_precision() -> None:
    truth = [
        {"Id": "old", "SystemModstamp": "2026-10-31 17:56:21"},
        {"Id": "on", "SystemModstamp": "2026-10-31 17:56:22"},
        {"Id": "new", "SystemModstamp": "2026-11-01T00:00:00.000+00:00"},
    ]
    assert at_bookmark(truth, "SystemModstamp", "2026-10-31T17:56:22.000000Z") == {"on", "new"}
    assert instant("2026-10-31T17:56:22.000Z") == instant("2026-10-31 17:56:22")


def test_live_drops_the_recycle_bin() -> None:
    assert live([{"Id": "a", "IsDeleted": False}, {"Id": "b", "IsDeleted": True}]) == [
        {"Id": "a", "IsDeleted": False}
    ]
