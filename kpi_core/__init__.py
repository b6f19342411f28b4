"""kpi_core: the common schema and the eight partner KPIs of shared/docs/kpis.md. Pure computation."""

from kpi_core.money import Money, RateTable, to_money
from kpi_core.schema import Opportunity, Partner, Segment, Status

__all__ = ["Money", "Opportunity", "Partner", "RateTable", "Segment", "Status", "to_money"]
