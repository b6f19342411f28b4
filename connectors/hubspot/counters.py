"""What one HubSpot pull did, counted by each of its parts and published in the run's stats
(``hubspot_<name>``: the benchmarks and the tests read them)."""

from __future__ import annotations

from dataclasses import dataclass

from connectors.base import ConnectorStats


@dataclass
class PullCounters:
    list_pages: int = 0
    search_pages: int = 0
    search_restarts: int = 0
    association_reads: int = 0
    deals: int = 0
    deleted: int = 0
    live_counts: int = 0
    archived_listings: int = 0

    def publish(self, stats: ConnectorStats) -> None:
        stats.extra.update({f"hubspot_{k}": v for k, v in vars(self).items()})
