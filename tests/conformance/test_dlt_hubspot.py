"""dlt's verified ``hubspot`` source (dlt-hub/verified-sources, vendored unmodified), against the sandbox: a
first and a second run of the ``companies`` and ``deals`` resources into a filesystem destination, cross-checked
with the portal's own data.

What it calls (sources/hubspot/helpers.py, settings.py): ``GET /crm/v3/properties/{companies,deals}`` for
the property names and types, then ``GET /crm/v3/objects/companies?associations=contacts,deals,products,
tickets,quotes&properties=...&limit=100`` and ``GET /crm/v3/objects/deals?properties=...``, following
``paging.next.link`` alone, and each embedded association's own ``paging.next.link`` (the v3 association
read). The source has no cursor for CRM objects: every run reads everything again and dlt merges on ``id``,
so the second run is checked for all ids with the changed deals' new values; the company-deal links come
only from the companies' associations (the deals list asks for none).
"""

from __future__ import annotations

from tests.conformance.catalogs import dlt_loads, dlt_program, read_jsonl
from tests.conformance.checks import assert_same_ids
from tests.conformance.conftest import ConformanceFactory
from tests.conformance.harness import Conformance

CLIENT = "dlt"
BODY = """
from hubspot import hubspot

source = hubspot(api_key={token!r}).with_resources("companies", "deals")
report(pipeline.run(source))
"""


def _links(run: Conformance) -> set[tuple[str, str]]:
    """(company id, deal id) of every association of a live deal, as the portal holds them."""
    portal = run.hubspot.portal
    with run.hubspot.lock:
        return {
            (a.company_id, portal.deal_id(k))
            for k in portal.deal_keys()
            if not portal.is_archived(k)
            for a in portal.deal_associations(k)
        }


def _amounts(run: Conformance, deal_ids: list[str]) -> dict[str, float]:
    return {i: float(run.hubspot.deal_state(i)["properties"]["amount"] or 0) for i in deal_ids}


def test_dlt_loads_every_company_and_deal_and_links_companies_to_their_deals(
    conformance: ConformanceFactory,
) -> None:
    run = conformance()
    program = dlt_program(run, BODY.format(token=run.hubspot_token))
    first = run.run_python(CLIENT, program).ok()
    loads = dlt_loads(first)
    out = run.root / "dlt-out"
    deals, companies = read_jsonl(out, "deals", loads), read_jsonl(out, "companies", loads)
    assert_same_ids(deals, run.deal_ids(), key="id", what="first run: deals")
    assert_same_ids(companies, run.company_ids(), key="id", what="first run: companies")
    links = read_jsonl(out, "companies__deals", loads)
    assert {(str(row["value"]), str(row["deals_id"])) for row in links} == _links(run)
    assert not first.unrouted
    assert first.calls["hubspot.associations.list"] >= 1, "the embedded pages of 100 were followed"

    changed = run.change_deals(6)
    second = run.run_python(CLIENT, program).ok()
    loads = dlt_loads(second)
    again = read_jsonl(out, "deals", loads)
    assert_same_ids(again, run.deal_ids(), key="id", what="second run: deals (no cursor: all again)")
    by_id = {str(row["id"]): row for row in again}
    assert {i: float(by_id[i]["amount"]) for i in changed} == _amounts(run, changed)
    relinked = read_jsonl(out, "companies__deals", loads)
    assert {(str(row["value"]), str(row["deals_id"])) for row in relinked} == _links(run)
    assert not second.unrouted
