"""The file connector's influencers column: ids split at the separator, the sourced partner and empty
ids left out, each id once in one order; a JSON list in JSONL."""

from __future__ import annotations

import json
from pathlib import Path

from tests.connectors.test_file_pull import COLUMNS, HEADER, connector, pull_all, row, write_csv

WITH_INFLUENCERS = {**COLUMNS, "influencers": "Influencers"}


def test_a_deal_with_a_sourced_partner_and_two_influencers_carries_both_influencers(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "o.csv", [row(Influencers="P3; P2")], [*HEADER, "Influencers"])
    _, (opp,) = pull_all(connector(path, columns=WITH_INFLUENCERS))
    assert opp.partner_id == "P1"
    assert opp.influencers == ("P2", "P3")


def test_the_sourced_partner_repeated_and_empty_ids_are_not_influencers(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "o.csv", [row(Influencers="P1;;P2;P2; ")], [*HEADER, "Influencers"])
    _, (opp,) = pull_all(connector(path, columns=WITH_INFLUENCERS))
    assert opp.influencers == ("P2",)


def test_a_direct_deal_may_have_influencers(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "o.csv", [row(Partner="", Influencers="P7")], [*HEADER, "Influencers"])
    _, (opp,) = pull_all(connector(path, columns=WITH_INFLUENCERS))
    assert opp.partner_id is None and opp.influencers == ("P7",)


def test_the_separator_is_configurable(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "o.csv", [row(Influencers="P2|P3")], [*HEADER, "Influencers"])
    _, (opp,) = pull_all(connector(path, columns=WITH_INFLUENCERS, influencer_separator="|"))
    assert opp.influencers == ("P2", "P3")


def test_a_jsonl_record_may_list_its_influencers(tmp_path: Path) -> None:
    record = {"Id": "O1", "Partner": "P1", "Amount": "5", "Stage": "Won", "Created": "2026-01-05",
              "Closed": "2026-02-10", "Influencers": ["P4", "P1", None, "P3"]}  # fmt: skip
    path = tmp_path / "o.jsonl"
    path.write_text(json.dumps(record) + "\n")
    _, (opp,) = pull_all(connector(path, columns=WITH_INFLUENCERS))
    assert opp.influencers == ("P3", "P4")


def test_without_the_column_no_deal_has_influencers(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "o.csv", [row()])
    _, (opp,) = pull_all(connector(path))
    assert opp.influencers == ()
