"""Writes to the HubSpot emulation through hubspot-api-client: batch update with a 207, batch limits,
unknown properties refused, properties and groups created then written, batch create with the Partner
label, admin edits as a portal user makes them, and the 414 of an over-long URL."""

from __future__ import annotations

from typing import Any

import pytest
from hubspot.crm.deals import (
    ApiException,
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchReadInputSimplePublicObjectId,
)
from hubspot.crm.properties import ApiException as PropertiesApiException
from hubspot.crm.properties import PropertyCreate, PropertyGroupCreate

from partnerkpi.sandbox.hubspot import PARTNER_LABEL_TYPE_ID
from tests.sandbox.hubspot_portal import Portal, body_of

DEAL_BASE = 9_000_000_000


def _live_ids(portal: Portal, n: int) -> list[str]:
    return [str(DEAL_BASE + o.key) for o in portal.data.opportunities if not o.deleted][:n]


def _update(portal: Portal, inputs: list[dict[str, object]]) -> Any:
    return portal.deals_batch.update(
        batch_input_simple_public_object_batch_input=BatchInputSimplePublicObjectBatchInput(inputs=inputs)
    )


def test_batch_update_answers_207_for_an_injected_failure(portal: Portal) -> None:
    ids = _live_ids(portal, 3)
    portal.emulation.faults.record_failure_ids = [ids[1]]
    portal.emulation.faults.record_failure_times = 1
    answer = _update(portal, [{"id": i, "properties": {"dealname": f"renamed {i}"}} for i in ids])
    assert answer.num_errors == 1
    error = answer.errors[0]
    assert error.status == "error" and error.context == {"ids": [ids[1]]}
    assert error.category == "CONFLICT"
    assert sorted(r.id for r in answer.results) == [ids[0], ids[2]]
    assert all(r.properties["dealname"] == f"renamed {r.id}" for r in answer.results)
    unchanged = portal.deals.get_by_id(ids[1], properties=["dealname"])
    assert unchanged.properties["dealname"] != f"renamed {ids[1]}"
    retried = _update(portal, [{"id": ids[1], "properties": {"dealname": "second try"}}])
    assert not hasattr(retried, "errors")  # a plain 200 the second time
    assert portal.deals.get_by_id(ids[1], properties=["dealname"]).properties["dealname"] == "second try"


def test_batch_update_of_an_unknown_id_is_a_per_record_error(portal: Portal) -> None:
    ids = _live_ids(portal, 1)
    answer = _update(portal, [{"id": ids[0], "properties": {"amount": "10"}}, {"id": "42", "properties": {}}])
    assert [r.id for r in answer.results] == ids
    assert answer.errors[0].category == "OBJECT_NOT_FOUND" and answer.errors[0].context == {"ids": ["42"]}


def test_batch_update_bumps_the_modified_date(portal: Portal) -> None:
    ids = _live_ids(portal, 1)
    before = portal.deals.get_by_id(ids[0]).properties["hs_lastmodifieddate"]
    _update(portal, [{"id": ids[0], "properties": {"amount": "777.5"}}])
    after = portal.deals.get_by_id(ids[0], properties=["hs_lastmodifieddate", "amount"]).properties
    assert after["amount"] == "777.5"
    assert after["hs_lastmodifieddate"] > before


def test_more_than_100_inputs_is_a_400(portal: Portal) -> None:
    ids = _live_ids(portal, 101)
    with pytest.raises(ApiException) as raised:
        _update(portal, [{"id": i, "properties": {"amount": "1"}} for i in ids])
    assert raised.value.status == 400
    with pytest.raises(ApiException):
        portal.deals_batch.read(
            batch_read_input_simple_public_object_id=BatchReadInputSimplePublicObjectId(
                inputs=[{"id": i} for i in ids], properties=[], properties_with_history=[]
            )
        )


def test_unknown_property_refuses_the_whole_batch(portal: Portal) -> None:
    ids = _live_ids(portal, 2)
    with pytest.raises(ApiException) as raised:
        _update(
            portal,
            [
                {"id": ids[0], "properties": {"amount": "5"}},
                {"id": ids[1], "properties": {"partner_score": "0.5"}},
            ],
        )
    body = body_of(raised.value)
    assert raised.value.status == 400 and body["category"] == "VALIDATION_ERROR"
    assert "PROPERTY_DOESNT_EXIST" in body["message"] and "partner_score" in body["message"]
    assert portal.deals.get_by_id(ids[0]).properties["amount"] != "5"  # nothing written


def test_read_only_properties_are_refused(portal: Portal) -> None:
    ids = _live_ids(portal, 1)
    with pytest.raises(ApiException) as raised:
        _update(portal, [{"id": ids[0], "properties": {"hs_is_closed_won": "true"}}])
    assert "READ_ONLY_VALUE" in body_of(raised.value)["message"]


def test_batch_read_reports_missing_ids_in_a_207(portal: Portal) -> None:
    ids = _live_ids(portal, 2)
    answer = portal.deals_batch.read(
        batch_read_input_simple_public_object_id=BatchReadInputSimplePublicObjectId(
            inputs=[{"id": ids[0]}, {"id": "404"}, {"id": ids[1]}],
            properties=["dealname"],
            properties_with_history=[],
        )
    )
    assert sorted(r.id for r in answer.results) == sorted(ids)
    assert answer.errors[0].category == "OBJECT_NOT_FOUND" and answer.errors[0].context == {"ids": ["404"]}


def test_create_a_group_and_a_property_then_write_it(portal: Portal) -> None:
    group = portal.groups.create(
        object_type="companies",
        property_group_create=PropertyGroupCreate(name="partner_kpis", label="Partner KPIs"),
    )
    assert group.name == "partner_kpis"
    created = portal.properties.create(
        object_type="companies",
        property_create=PropertyCreate(
            name="partner_score",
            label="Partner score (0-100)",
            type="number",
            field_type="number",
            group_name="partner_kpis",
            description="Composite KPI score, 0 to 100",
        ),
    )
    assert created.name == "partner_score" and created.type == "number"
    assert "partner_score" in {p.name for p in portal.properties.get_all(object_type="companies").results}
    assert portal.properties.get_by_name(
        object_type="companies", property_name="partner_score"
    ).group_name == ("partner_kpis")
    assert "partner_kpis" in {g.name for g in portal.groups.get_all(object_type="companies").results}

    from hubspot.crm.companies import ApiException as CompaniesApiException
    from hubspot.crm.companies import BatchInputSimplePublicObjectBatchInput as CompanyBatch

    company_id = str(5_000_000_000 + portal.data.partners[0].key)
    batch = portal.hs.crm.companies.batch_api
    batch.update(
        batch_input_simple_public_object_batch_input=CompanyBatch(
            inputs=[{"id": company_id, "properties": {"partner_score": "63.15"}}]
        )
    )
    company = portal.companies.get_by_id(company_id, properties=["partner_score", "name"])
    assert company.properties["partner_score"] == "63.15"
    with pytest.raises(CompaniesApiException) as raised:
        batch.update(
            batch_input_simple_public_object_batch_input=CompanyBatch(
                inputs=[{"id": company_id, "properties": {"partner_score": "high"}}]
            )
        )
    assert raised.value.status == 400 and "INVALID_DOUBLE" in body_of(raised.value)["message"]
    assert portal.emulation.state()["custom_properties"]["companies"] == ["partner_score"]


def test_duplicate_property_and_group_are_409(portal: Portal) -> None:
    create = PropertyCreate(
        name="dealname", label="x", type="string", field_type="text", group_name="dealinformation"
    )
    with pytest.raises(PropertiesApiException) as raised:
        portal.properties.create(object_type="deals", property_create=create)
    assert raised.value.status == 409
    body = body_of(raised.value)
    assert body["category"] == "OBJECT_ALREADY_EXISTS" and body["status"] == "error"
    with pytest.raises(PropertiesApiException) as again:
        portal.groups.create(
            object_type="deals", property_group_create=PropertyGroupCreate(name="dealinformation", label="x")
        )
    assert again.value.status == 409


def test_property_with_a_bad_type_or_group_is_a_400(portal: Portal) -> None:
    for kwargs in (
        {"type": "percent", "field_type": "number", "group_name": "dealinformation"},
        {"type": "number", "field_type": "number", "group_name": "no_such_group"},
        {"type": "number", "field_type": "booleancheckbox", "group_name": "dealinformation"},
    ):
        with pytest.raises(PropertiesApiException) as raised:
            portal.properties.create(
                object_type="deals", property_create=PropertyCreate(name="kpi_x", label="KPI", **kwargs)
            )
        assert raised.value.status == 400


def test_batch_create_with_the_partner_label(portal: Portal) -> None:
    company = str(5_000_000_000 + portal.data.partners[1].key)
    answer = portal.deals_batch.create(
        batch_input_simple_public_object_batch_input_for_create=BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                {
                    "properties": {"dealname": "New partner deal", "amount": "900", "dealstage": "closedwon"},
                    "associations": [
                        {
                            "to": {"id": company},
                            "types": [
                                {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 341},
                                {
                                    "associationCategory": "USER_DEFINED",
                                    "associationTypeId": PARTNER_LABEL_TYPE_ID,
                                },
                            ],
                        }
                    ],
                }
            ]
        )
    )
    deal_id = answer.results[0].id
    read = portal.deals.get_by_id(deal_id, properties=["hs_is_closed_won", "amount_in_home_currency"])
    assert read.properties == {"hs_is_closed_won": "true", "amount_in_home_currency": "900"}
    links = portal.associations.get_page(
        from_object_type="deals",
        to_object_type="companies",
        batch_input_public_fetch_associations_batch_request={"inputs": [{"id": deal_id}]},
    )
    types = {(t.category, t.type_id, t.label) for t in links.results[0].to[0].association_types}
    assert ("USER_DEFINED", PARTNER_LABEL_TYPE_ID, "Partner") in types


def test_admin_edits_bump_the_modified_date_and_archiving_does_not(portal: Portal) -> None:
    first, second = _live_ids(portal, 2)
    before = portal.emulation.deal_state(first)["properties"]["hs_lastmodifieddate"]
    moved = portal.emulation.admin("update_deal", {"id": first, "dealstage": "closedlost", "amount": 10})
    assert moved["hs_lastmodifieddate"] > before and moved["hs_is_closed"] == "true"
    kept = portal.emulation.deal_state(second)["properties"]["hs_lastmodifieddate"]
    portal.emulation.archive_deal(second)
    assert portal.emulation.deal_state(second)["properties"]["hs_lastmodifieddate"] == kept
    touched = portal.emulation.touch_deals(5)
    assert touched["touched"] == 5
    state = portal.emulation.state()
    assert state["archived_deals"] == sum(1 for o in portal.data.opportunities if o.deleted) + 1


def test_admin_edit_company_property_as_a_person_would(portal: Portal) -> None:
    company = str(5_000_000_000 + portal.data.partners[0].key)
    changed = portal.emulation.admin(
        "edit_company_property", {"id": company, "property": "name", "value": "Renamed Partner"}
    )
    assert changed["name"] == "Renamed Partner"
    assert portal.companies.get_by_id(company, properties=["name"]).properties["name"] == "Renamed Partner"
    with pytest.raises(ValueError):
        portal.emulation.admin("edit_company_property", {"id": company, "property": "nope", "value": 1})


def test_a_very_long_url_is_a_414(portal: Portal) -> None:
    names = [f"custom_property_number_{i:04d}" for i in range(400)]  # well over 8,000 characters
    with pytest.raises(ApiException) as raised:
        portal.deals.get_page(limit=10, properties=names)
    assert raised.value.status == 414
    assert portal.deals.get_page(limit=10, properties=names[:100]).results  # chunks of it pass
