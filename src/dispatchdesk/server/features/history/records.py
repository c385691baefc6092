"""Many incidents as the wire shows them, read together (a history answer holds up to 200:
one query each for the incidents, their DIVERT tags, owed states and links)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dispatchdesk.domain.incident import IncidentStatus
from dispatchdesk.protocol.schemas import DivertModel, IncidentOut
from dispatchdesk.server.db import diverts, owed
from dispatchdesk.server.features.history.links import links_of
from dispatchdesk.server.features.incidents.records import divert_out, divert_rows, incident_out


def incidents_out(conn: Connection, rows: Sequence[Any]) -> dict[int, IncidentOut]:
    """The wire form of incident ``rows`` (as read from the incidents table)."""
    wanted = sorted({r.id for r in rows})
    if not wanted:
        return {}
    tags: dict[int, list[DivertModel]] = {}
    for r in divert_rows(conn, diverts.c.from_incident_id.in_(wanted)):
        tags.setdefault(r.from_incident_id, []).append(divert_out(r))
    # a close releases the owed state, so only open incidents can be owed
    open_ids = sorted({r.id for r in rows if r.status != IncidentStatus.CLOSED.value})
    owed_rows = {
        r.incident_id: r
        for r in (
            conn.execute(sa.select(owed).where(owed.c.incident_id.in_(open_ids))).all()
            if open_ids
            else []
        )
    }
    links = links_of(conn, wanted)
    return {
        r.id: incident_out(r, tags.get(r.id), owed_rows.get(r.id), links.get(r.id)) for r in rows
    }
