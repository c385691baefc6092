"""Unit rows as the wire shows them, and the change row of a unit that moved."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from dispatchdesk.domain.unit import UnitStatus
from dispatchdesk.protocol.schemas import UnitOut
from dispatchdesk.server.db import units
from dispatchdesk.server.runner import CommandRunner


def unit_out(row: Row[Any]) -> UnitOut:
    return UnitOut(
        id=row.id,
        callsign=row.callsign,
        kind=row.kind,
        borough=row.borough,
        status=UnitStatus(row.status),
        incident_id=row.incident_id,
        status_since=row.status_since,
        lat=row.lat,
        lon=row.lon,
        version=row.version,
    )


_LOAD = sa.select(units).where(units.c.id == sa.bindparam("unit_id"))


def emit_unit(
    runner: CommandRunner,
    conn: Connection,
    now: datetime,
    unit_id: int,
    row: Row[Any] | None = None,
) -> UnitOut:
    """The unit's change row, in the caller's transaction; returns the unit as sent. ``row``:
    the unit's row as this transaction last wrote it (else it is read)."""
    if row is None:
        row = conn.execute(_LOAD, {"unit_id": unit_id}).one()
    out = unit_out(row)
    runner.emit(conn, now, "unit", out.id, out.model_dump(mode="json"))
    return out
