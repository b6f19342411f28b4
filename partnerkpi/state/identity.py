"""One state per source: the CRM instance each connector name's mirror came from.

The first pull of a name records its instance (CRM type and id: Salesforce org id, HubSpot portal id,
the file connector's resolved path); every later pull compares before anything is pulled. A state from
before this table records its instances at its next pull. ``partnerkpi state reset`` forgets one."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, insert, select

from kpi_core import clock
from partnerkpi.state.tables import instances


@dataclass(frozen=True, slots=True)
class Instance:
    """A CRM instance: the connector type and that CRM's own id for it."""

    crm: str
    id: str

    def __str__(self) -> str:
        noun = {"salesforce": "Salesforce org", "hubspot": "HubSpot portal", "file": "the file"}
        return f"{noun.get(self.crm, self.crm)} {self.id}"


def recorded(conn: Connection, connector: str) -> Instance | None:
    row = conn.execute(
        select(instances.c.crm, instances.c.instance_id).where(instances.c.connector == connector)
    ).first()
    return None if row is None else Instance(row.crm, row.instance_id)


def claim(conn: Connection, connector: str, found: Instance) -> Instance | None:
    """Record ``found`` as the connector's instance unless one is recorded; the recorded one when it
    differs (the caller refuses the run), None when the run may go on."""
    current = recorded(conn, connector)
    if current is None:
        conn.execute(
            insert(instances).values(
                connector=connector, crm=found.crm, instance_id=found.id, recorded_at=clock.utcnow()
            )
        )
        return None
    return None if current == found else current
