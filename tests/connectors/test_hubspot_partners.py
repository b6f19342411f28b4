"""Partner company names are read 100 a call across batches, yet never later than a watermark that
passes the deals naming them (a run resumed from it would not see those deals again)."""

from __future__ import annotations

import math
from datetime import timedelta

from connectors.base import PullBatch
from kpi_core import clock
from tests.connectors.test_hubspot_sandbox import T0, opportunities, portal


def partners_in(batches: list[PullBatch]) -> set[str]:
    return {pt.id for b in batches for pt in b.partners}


def test_a_first_pull_reads_partner_names_100_a_call_whatever_the_batches() -> None:
    with portal(3_000, partners=260) as p:
        connector = p.connector(association_batch_size=200)  # 15 batches, each meeting new partners
        batches = list(connector.pull(None))
        named = {o.partner_id for o in opportunities(batches).values() if o.partner_id}
        assert len(named) > 200
        assert partners_in(batches) == named
        handed = [pt.id for b in batches for pt in b.partners]
        assert len(handed) == len(set(handed))  # each partner once
        assert p.count("companies.batch_read") == math.ceil(len(named) / 100)
        assert all(len(b.partners) % 100 == 0 for b in batches[:-1])  # only full reads before the end
        assert batches[-1].watermark is not None and batches[-1].partners  # the rest with the last one


def test_a_batch_with_a_watermark_carries_every_partner_its_deals_name() -> None:
    with portal(3_000, partners=260) as p:
        connector = p.connector(association_batch_size=200)
        with clock.frozen(T0):
            first = list(connector.pull(None))
        with clock.frozen(T0 + timedelta(hours=1)):
            p.emulation.touch_deals(1_500)
        with clock.frozen(T0 + timedelta(hours=2)):
            second = list(connector.pull(first[-1].watermark))
        marked = [i for i, b in enumerate(second) if b.watermark is not None and b.opportunities]
        assert len(marked) >= 5
        for i in marked:
            upto = second[: i + 1]
            named = {o.partner_id for b in upto for o in b.opportunities if o.partner_id}
            assert named <= partners_in(upto), f"batch {i} passes partners not handed over yet"
