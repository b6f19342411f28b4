"""What more than one Salesforce unit test file builds: the rate table (USD corporate; EUR dated, 0.8
in March 2026 and 0.5 from April; GBP static) and a simple-salesforce error with a JSON body."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from kpi_core.money import DatedRate, RateTable


def rates() -> RateTable:
    table = RateTable("USD", static={"EUR": Decimal("0.9"), "GBP": Decimal("0.8")})
    table.add_dated(
        [
            DatedRate("EUR", Decimal("0.8"), date(2026, 3, 1), date(2026, 4, 1)),
            DatedRate("EUR", Decimal("0.5"), date(2026, 4, 1), None),
        ]
    )
    return table


def error(cls: type[Exception], status: int, body: Any) -> Any:
    return cls("https://x/y", status, "query", json.dumps(body).encode())
