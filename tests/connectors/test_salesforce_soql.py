"""connectors.salesforce.soql: a value can never change the query, names are checked, queries are built
as Salesforce reads them."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from connectors.salesforce import soql


@pytest.mark.parametrize(
    "value",
    ["O'Brien", "back\\slash", "x' OR Name != '", "\\' OR Id != null OR Name = '", 'quote"d', "line\nbreak"],
)
def test_a_value_cannot_change_the_query(value: str) -> None:
    literal = soql.string(value)
    assert literal.startswith("'") and literal.endswith("'")
    body = literal[1:-1]
    # every quote inside is escaped by an odd run of backslashes: the literal never ends early
    i = 0
    while i < len(body):
        if body[i] == "\\":
            i += 2
            continue
        assert body[i] not in "'\n", literal
        i += 1
    # and it decodes back to the value
    unescape = {v: k for k, v in soql._ESCAPES.items()}
    decoded, i = [], 0
    while i < len(body):
        pair = body[i : i + 2]
        if pair in unescape:
            decoded.append(unescape[pair])
            i += 2
        else:
            decoded.append(body[i])
            i += 1
    assert "".join(decoded) == value


def test_names_are_checked() -> None:
    assert soql.select(["Id", "Account.Name"], "Opportunity") == "SELECT Id, Account.Name FROM Opportunity"
    for bad in ["Id, (SELECT Id FROM Account)", "Name; DELETE", "", "1Field", "Id FROM Account WHERE"]:
        with pytest.raises(soql.SoqlError):
            soql.name(bad)


def test_query_building() -> None:
    since = datetime(2026, 3, 1, 12, 30, tzinfo=timezone.utc)
    query = soql.select(
        ["Id", "StageName"],
        "Opportunity",
        where=[soql.condition("SystemModstamp", ">=", since), soql.condition("IsDeleted", "=", False)],
        order_by=["SystemModstamp", "Id"],
        children=[
            soql.child(
                ["AccountToId"], "OpportunityPartnersFrom", [soql.condition("IsPrimary", "=", True)], 1
            )
        ],
    )
    assert query == (
        "SELECT Id, StageName, (SELECT AccountToId FROM OpportunityPartnersFrom WHERE IsPrimary = true LIMIT 1) "
        "FROM Opportunity WHERE SystemModstamp >= 2026-03-01T12:30:00Z AND IsDeleted = false "
        "ORDER BY SystemModstamp, Id"
    )
    assert soql.is_in("Id", ["a", "b'"]) == "Id IN ('a', 'b\\'')"
    assert soql.count("Opportunity") == "SELECT COUNT() FROM Opportunity"
    with pytest.raises(soql.SoqlError):
        soql.in_list([])
    with pytest.raises(soql.SoqlError):
        soql.condition("Id", "LIKE", "x")
    with pytest.raises(soql.SoqlError):
        soql.literal(datetime(2026, 1, 1))
