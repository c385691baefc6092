"""Incident, divert and unit rows as the wire shows them (shared by the features that read
them: incidents, units, sync)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from dispatchdesk.domain.grades import Grade
from dispatchdesk.domain.incident import DivertKind, IncidentStatus
from dispatchdesk.protocol.schemas import (
    CallerOut,
    DivertModel,
    IncidentOut,
    IncidentPersonOut,
    LinkOut,
    LocationOut,
)
from dispatchdesk.protocol.tasks import TaskModel
from dispatchdesk.server.db import diverts, incidents


def make_ref(n: int, local_day: datetime) -> str:
    return f"CAD {n:04d}/{local_day.strftime('%d%b%y').upper()}"


def divert_out(row: Row[Any]) -> DivertModel:
    return DivertModel(
        id=row.id,
        unit_id=row.unit_id,
        callsign=row.callsign,
        from_incident_id=row.from_incident_id,
        from_ref=row.from_ref,
        to_incident_id=row.to_incident_id,
        to_ref=row.to_ref,
        by=row.by,
        at=row.at,
        reason=row.reason,
        released_at=row.released_at,
        released_by=row.released_by,
        released_reason=row.released_reason,
        reviewed_at=row.reviewed_at,
        reviewed_by=row.reviewed_by,
        review_note=row.review_note,
        kind=DivertKind(row.kind),
    )


def divert_rows(conn: Connection, where: Any) -> list[Row[Any]]:
    """Diverts with the refs of the incidents they connect; ``where`` may use ``f``/``t``."""
    return list(conn.execute(_divert_select().where(where).order_by(diverts.c.id)).all())


#: The incidents a divert came from (``F``) and went to (``T``): ``divert_rows`` may use them.
F = incidents.alias("f")
T = incidents.alias("t")


def _divert_select() -> sa.Select[Any]:
    return (
        sa.select(diverts, F.c.ref.label("from_ref"), T.c.ref.label("to_ref"))
        .join(F, F.c.id == diverts.c.from_incident_id)
        .outerjoin(T, T.c.id == diverts.c.to_incident_id)  # a withdrawal has no target
    )


#: The DIVERT tags of one incident (built once: a command reads them for every incident it
#: changes).
_DIVERTS_FROM = (
    _divert_select()
    .where(diverts.c.from_incident_id == sa.bindparam("incident_id"))
    .order_by(diverts.c.id)
)


def diverts_from(conn: Connection, incident_id: int) -> list[DivertModel]:
    """The DIVERT tags of the incident ``incident_id`` (the units diverted or withdrawn from
    it), oldest first."""
    return [divert_out(r) for r in conn.execute(_DIVERTS_FROM, {"incident_id": incident_id})]


def incident_out(
    row: Row[Any],
    divert_list: list[DivertModel] | None = None,
    owed_row: Row[Any] | None = None,
    links: list[LinkOut] | None = None,
    task_list: list[TaskModel] | None = None,
) -> IncidentOut:
    return IncidentOut(
        links=links or [],
        tasks=task_list or [],
        weapons=bool(getattr(row, "weapons", False)),
        owed=owed_row is not None,
        diverts=divert_list or [],
        escalated_at=owed_row.escalated_at if owed_row is not None else None,
        id=row.id,
        ref=row.ref,
        version=row.version,
        grade=Grade(row.grade),
        status=IncidentStatus(row.status),
        created_at=row.created_at,
        deadline=row.deadline,
        type=row.type,
        summary=row.summary,
        location=LocationOut.model_validate(row.location),
        caller=CallerOut.model_validate(row.caller),
        persons=[IncidentPersonOut.model_validate(p) for p in row.persons or []],
        appointment_at=row.appointment_at,
        attended_at=row.attended_at,
        closed_at=row.closed_at,
        updated_at=row.updated_at,
        downgrade_reason=row.downgrade_reason,
        rationale=row.rationale,
        original_grade=Grade(row.original_grade),
        pending_downgrade=row.pending_downgrade,
        downgrade_decision=row.downgrade_decision,
    )


def wire(model: IncidentOut) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump(mode="json")
    return data
