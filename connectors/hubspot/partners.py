"""Which company is each deal's partner, and the partner companies' names.

A deal's partner is the company associated with the configured label (its typeId read from
``/crm/v4/associations/deals/companies/labels``), read through v4 batch reads of up to 1,000 deals a call
(the lowest company id wins when several carry the label); or the company id a configured deal property
holds. The partners' names are read 100 companies a call, when 100 are due, when a batch carries a
watermark (a run resumed from it does not see those deals again), or with the pull's last batch: a first
pull's 500 partners take 5 calls, not one or more per batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from hubspot.crm.associations.v4 import (
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)

from connectors.errors import ConnectorError
from connectors.hubspot.answers import (
    ASSOCIATION_LABELS,
    READ_ASSOCIATIONS,
    AssociationBatch,
    AssociationLabels,
)
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.config import HubSpotConfig
from connectors.hubspot.counters import PullCounters
from connectors.hubspot.normalize import RawDeal, partner, text
from connectors.hubspot.read import BATCH, MODEL_CONFIG, batch_read, chunks
from kpi_core.schema import Partner


def id_order(value: str) -> tuple[int, str]:
    """HubSpot ids in numeric order (any id that is not a number after them)."""
    return (int(value), value) if value.isdigit() else (1 << 62, value)


class Partners:
    """One pull's partner attribution, and the partner companies met whose names are still to be read."""

    def __init__(self, client: HubSpotClient, config: HubSpotConfig, counters: PullCounters) -> None:
        self.client = client
        self.config = config
        self.counters = counters
        self.partner_type: tuple[str, int] | None = None
        self._sent: set[str] = set()
        self._due: set[str] = set()
        """Partner companies met in handed-over deals whose names are not read yet."""

    def load_type(self) -> tuple[str, int] | None:
        """(category, typeId) of the configured deal-to-company label; None in deal-property mode."""
        label = self.config.partner.label
        if label is None:
            return None
        api = self.client.apis.association_labels
        answer = self.client.read(AssociationLabels, ASSOCIATION_LABELS, api.get_all, "deals", "companies")
        # Only a well-formed answer gets this far: a label missing from it is truly missing (config advice),
        # whereas an answer that does not fit was an UnexpectedAnswer above (a network or HubSpot fault).
        found = [r for r in answer.results if (r.label or "").strip().lower() == label.strip().lower()]
        if not found:
            known = sorted({r.label for r in answer.results if r.label})
            raise ConnectorError(
                f"HubSpot has no deal-to-company association label {label!r} (labels: "
                f"{', '.join(known) or 'none'}); create it in Settings > Objects > Deals > Associations, "
                "or set partner.association_label / partner.deal_property in the connector config"
            )
        found.sort(key=lambda r: r.category != "USER_DEFINED")
        self.partner_type = (found[0].category, found[0].type_id)
        return self.partner_type

    def forget_due(self) -> None:
        """A new pull: no company is due yet (those sent before stay sent)."""
        self._due = set()

    def of(self, deals: Sequence[RawDeal]) -> dict[str, str]:
        """deal id -> its partner company's id, for the deals that have one."""
        prop = self.config.partner.deal_property
        if prop is not None:
            out: dict[str, str] = {}
            for d in deals:
                value = text(d.properties.get(prop))
                if value is not None:
                    out[d.id] = value
            return out
        if self.partner_type is None:
            return {}
        return self._labelled_companies([d.id for d in deals if not d.archived])

    def met(self, company_ids: Iterable[str]) -> None:
        """Partner companies of deals about to be handed over: their names are due unless sent."""
        self._due.update(p for p in company_ids if p not in self._sent)

    def names(self, everything: bool) -> list[Partner]:
        """The due companies, named: all of them when ``everything`` (a batch that carries a watermark,
        or the pull's last), else only full reads of BATCH; the rest wait for a later batch."""
        due = sorted(self._due, key=id_order)
        take = len(due) if everything else len(due) - len(due) % BATCH
        self._due = set(due[take:])
        return self._records(set(due[:take]))

    def _records(self, company_ids: set[str]) -> list[Partner]:
        if not company_ids:
            return []
        ordered = sorted(company_ids, key=id_order)
        out: list[Partner] = []
        for ids in chunks(ordered, BATCH):
            named = batch_read(self.client, "companies", ids, ["name"])
            out.extend(partner(i, named.get(i)) for i in ids)
        self._sent.update(ordered)
        return out

    def _labelled_companies(self, deal_ids: Sequence[str]) -> dict[str, str]:
        """deal id -> the lowest-id company associated with the partner label."""
        assert self.partner_type is not None
        category, type_id = self.partner_type
        found: dict[str, set[str]] = {}
        api = self.client.apis.association_batch
        size = self.config.association_batch_size
        todo: list[tuple[str, str | None]] = [(d, None) for d in deal_ids]
        while todo:
            batch, todo = todo[:size], todo[size:]
            request = BatchInputPublicFetchAssociationsBatchRequest(
                inputs=[
                    PublicFetchAssociationsBatchRequest(id=i, after=a, local_vars_configuration=MODEL_CONFIG)
                    for i, a in batch
                ],
                local_vars_configuration=MODEL_CONFIG,
            )
            answer = self.client.read(
                AssociationBatch, READ_ASSOCIATIONS, api.get_page, "deals", "companies", request
            )
            self.counters.association_reads += 1
            for result in answer.results:
                deal_id = result.source.id
                for target in result.to:
                    for kind in target.association_types:
                        if kind.type_id == type_id and kind.category == category:
                            found.setdefault(deal_id, set()).add(target.to_object_id)
                after = result.after
                if after is not None:
                    todo.append((deal_id, after))
        return {deal: min(ids, key=id_order) for deal, ids in found.items()}
