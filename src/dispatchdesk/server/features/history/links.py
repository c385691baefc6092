"""Links between incidents as the wire shows them (read by every feature that builds an
incident: incidents, sync, history)."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dispatchdesk.domain.history import LinkRelation
from dispatchdesk.protocol.schemas import LinkOut
from dispatchdesk.server.db import incidents
from dispatchdesk.server.features.history.tables import incident_links

#: The links of some incidents (built once: every command that changes an incident reads it).
_LINKS_OF = (
    sa.select(incident_links, incidents.c.ref)
    .join(incidents, incidents.c.id == incident_links.c.other_id)
    .where(incident_links.c.incident_id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(incident_links.c.at, incident_links.c.other_id)
)


def links_of(conn: Connection, incident_ids: Iterable[int]) -> dict[int, list[LinkOut]]:
    """The links of each incident (with the other incident's ref), oldest first."""
    wanted = sorted(set(incident_ids))
    out: dict[int, list[LinkOut]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = conn.execute(_LINKS_OF, {"ids": chunk}).all()
        for r in rows:
            out.setdefault(r.incident_id, []).append(
                LinkOut(
                    incident_id=r.other_id,
                    ref=r.ref,
                    relation=LinkRelation(r.relation),
                    reason=r.reason,
                    by=r.by,
                    at=r.at,
                )
            )
    return out
