"""Incident commands and queries, pure of HTTP: create, edit, close, read.

Every command runs through :meth:`CommandRunner.run` and writes one change row and one audit
row for the incident. :meth:`Incidents.load`, :meth:`Incidents.incident`,
:meth:`Incidents.emit_incident` and :meth:`Incidents.release_owed` are the public helpers other
features (units) use inside their own commands.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from dispatchdesk.domain.grades import Grade, is_downgrade
from dispatchdesk.domain.incident import IncidentStatus, status_change_problem
from dispatchdesk.domain.roles import Role
from dispatchdesk.domain.unit import UnitStatus
from dispatchdesk.protocol.schemas import (
    CloseRequest,
    IncidentCreate,
    IncidentOut,
    IncidentPatch,
)
from dispatchdesk.server.auth import User
from dispatchdesk.server.db import diverts, incidents, owed, read_tx, ref_counters, units
from dispatchdesk.server.errors import Conflict, Forbidden, Invalid, NotFound, Stale
from dispatchdesk.server.features.incidents.records import (
    divert_out,
    divert_rows,
    incident_out,
    make_ref,
    wire,
)
from dispatchdesk.server.features.units.records import emit_unit
from dispatchdesk.server.rationales import Entity
from dispatchdesk.server.reference import checked_incident
from dispatchdesk.server.runner import CommandResult, CommandRunner, Idem


class Incidents:
    """The incident rules over one :class:`CommandRunner`."""

    def __init__(self, runner: CommandRunner) -> None:
        self.runner = runner

    def _record(
        self,
        conn: Connection,
        now: datetime,
        user: User,
        action: str,
        incident: IncidentOut,
        detail: str,
    ) -> dict[str, Any]:
        data = wire(incident)
        self.runner.emit(conn, now, "incident", incident.id, data)
        self.runner.write_audit(conn, now, user.username, action, "incident", incident.id, detail)
        return data

    def incident(self, conn: Connection, incident_id: int) -> IncidentOut:
        """The incident as the wire shows it: with its DIVERT tags and whether it is owed."""
        row = self.load(conn, incident_id)
        tags = [divert_out(r) for r in divert_rows(conn, diverts.c.from_incident_id == row.id)]
        owed_row = conn.execute(sa.select(owed).where(owed.c.incident_id == row.id)).first()
        return incident_out(row, tags, owed_row)

    def emit_incident(self, conn: Connection, now: datetime, incident_id: int) -> IncidentOut:
        out = self.incident(conn, incident_id)
        self.runner.emit(conn, now, "incident", out.id, wire(out))
        return out

    def release_owed(
        self, conn: Connection, now: datetime, incident_id: int, by: str, reason: str
    ) -> bool:
        """End an incident's owed state (another unit arrived, or a supervisor closed it)."""
        gone = conn.execute(owed.delete().where(owed.c.incident_id == incident_id)).rowcount
        conn.execute(
            diverts.update()
            .where(diverts.c.from_incident_id == incident_id, diverts.c.released_at.is_(None))
            .values(released_at=now, released_by=by, released_reason=reason[:2000])
        )
        return bool(gone)

    def load(self, conn: Connection, incident_id: int) -> Row[Any]:
        """The incident's row; 404 when there is none."""
        row = conn.execute(sa.select(incidents).where(incidents.c.id == incident_id)).first()
        if row is None:
            raise NotFound(f"There is no incident {incident_id}.")
        return row

    def _next_ref(self, conn: Connection, now: datetime) -> str:
        local = now.astimezone(self.runner.tz())
        day = local.date().isoformat()
        n = conn.execute(
            ref_counters.update()
            .where(ref_counters.c.day == day)
            .values(n=ref_counters.c.n + 1)
            .returning(ref_counters.c.n)
        ).scalar()
        if n is None:  # first incident of the day; writers are serialised by the log lock
            conn.execute(ref_counters.insert().values(day=day, n=1))
            n = 1
        return make_ref(int(n), local)

    # --- commands --------------------------------------------------------------------------

    def create_incident(self, user: User, body: IncidentCreate, idem: Idem) -> CommandResult:
        policy = self.runner.settings.policy
        sent = body

        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            # checked here, after the replay lookup: a stored result replays even if the
            # lists have changed since
            body, problems = checked_incident(
                sent, self.runner.settings.reference_lists, self.runner.local_today(now)
            )
            self.runner.refuse_if(problems)
            appointment = body.appointment_at.astimezone(UTC) if body.appointment_at else None
            ref = self._next_ref(conn, now)
            new_id = conn.execute(
                incidents.insert()
                .values(
                    ref=ref,
                    version=1,
                    grade=body.grade.value,
                    original_grade=body.grade.value,
                    status=IncidentStatus.OPEN.value,
                    created_at=now,
                    deadline=policy.deadline(body.grade, now, appointment),
                    type=body.type,
                    summary=body.summary,
                    location=body.location.model_dump(mode="json"),
                    caller=body.caller.model_dump(mode="json"),
                    persons=[p.model_dump(mode="json") for p in body.persons],
                    appointment_at=appointment,
                    updated_at=now,
                )
                .returning(incidents.c.id)
            ).scalar_one()
            out = self.incident(conn, int(new_id))
            data = self._record(
                conn,
                now,
                user,
                "create_incident",
                out,
                f"Created {out.ref}, grade {out.grade.value}, {out.type}",
            )
            return 201, data

        return self.runner.run(user, idem, apply, "create_incident", None)

    def patch_incident(
        self, user: User, incident_id: int, body: IncidentPatch, if_match: int | None, idem: Idem
    ) -> CommandResult:
        policy = self.runner.settings.policy
        fields = body.model_fields_set - {"reason"}
        if not fields:
            raise Invalid(
                "Nothing to change: send at least one of grade, status, summary, appointment_at."
            )

        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            row = self.load(conn, incident_id)
            if if_match is not None and row.version != if_match:  # None: If-Match: *
                raise Stale(
                    f"Incident {row.ref} has changed since you loaded it: it is now at version "
                    f"{row.version}, not {if_match}. Review the current incident and try again.",
                )
            status = IncidentStatus(row.status)
            if status is IncidentStatus.CLOSED:
                raise Conflict(f"Incident {row.ref} is closed and cannot be changed.")
            values: dict[str, Any] = {}
            notes: list[str] = []
            grade = Grade(row.grade)
            appointment = row.appointment_at
            if "appointment_at" in body.model_fields_set:
                appointment = body.appointment_at.astimezone(UTC) if body.appointment_at else None
                values["appointment_at"] = appointment
                notes.append(f"appointment {appointment.isoformat() if appointment else 'none'}")
            if body.grade is not None and body.grade is not grade:
                if is_downgrade(grade, body.grade):
                    reason = (body.reason or "").strip()
                    if not reason:
                        raise Invalid(
                            [
                                {
                                    "loc": ["body", "reason"],
                                    "msg": f"A downgrade from {grade.value} to {body.grade.value} "
                                    "needs a reason: say why this incident can wait longer.",
                                    "type": "value_error",
                                }
                            ],
                        )
                    self.runner.check_rationale(
                        conn,
                        now,
                        reason,
                        kind="downgrade",
                        what="downgrade reason",
                        entity=Entity(row.id, row.ref),
                        by=user.username,
                    )
                    values["downgrade_reason"] = reason
                    notes.append(f"downgraded {grade.value}→{body.grade.value}: {reason}")
                else:
                    notes.append(f"upgraded {grade.value}→{body.grade.value}")
                grade = body.grade
                values["grade"] = grade.value
            if "grade" in values or "appointment_at" in values:
                values["deadline"] = policy.deadline(grade, row.created_at, appointment)
            if body.status is not None and body.status is not status:
                self._check_status_change(conn, row, status, body.status)
                values["status"] = body.status.value
                notes.append(f"status {status.value}→{body.status.value}")
            if body.summary is not None and body.summary != row.summary:
                values["summary"] = body.summary
                notes.append("summary edited")
            values["version"] = row.version + 1
            values["updated_at"] = now
            conn.execute(incidents.update().where(incidents.c.id == incident_id).values(values))
            out = self.incident(conn, incident_id)
            detail = f"{out.ref} v{out.version}: " + ("; ".join(notes) or "no field changed")
            return 200, self._record(conn, now, user, "update_incident", out, detail)

        return self.runner.run(user, idem, apply, "update_incident", incident_id)

    @staticmethod
    def _check_status_change(
        conn: Connection, row: Row[Any], status: IncidentStatus, wanted: IncidentStatus
    ) -> None:
        """The status follows the units (only an arrival sets AT_SCENE and attended_at): an
        edit may only set what the units on it already say (else 409)."""
        on_it = conn.execute(
            sa.select(units.c.callsign, units.c.status)
            .where(units.c.incident_id == row.id)
            .order_by(units.c.id)
        ).all()
        problem = status_change_problem(
            row.ref,
            status,
            wanted,
            [(u.callsign, UnitStatus(u.status)) for u in on_it],
            attended=row.attended_at is not None,
        )
        if problem is not None:
            raise Conflict(problem)

    def close_incident(
        self, user: User, incident_id: int, body: CloseRequest, if_match: int | None, idem: Idem
    ) -> CommandResult:
        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            row = self.load(conn, incident_id)
            if if_match is not None and row.version != if_match:
                raise Stale(
                    f"Incident {row.ref} has changed since you loaded it: it is now at version "
                    f"{row.version}, not {if_match}. Review the current incident and try again.",
                )
            if row.status == IncidentStatus.CLOSED.value:
                raise Conflict(f"Incident {row.ref} is already closed.")
            is_owed = (
                conn.execute(
                    sa.select(owed.c.incident_id).where(owed.c.incident_id == incident_id)
                ).first()
                is not None
            )
            if is_owed and user.role is not Role.SUPERVISOR:
                raise Forbidden(
                    f"Incident {row.ref} is owed attendance: a unit was diverted or "
                    "withdrawn before arriving and no other unit has arrived. Send a unit, or "
                    "ask a supervisor to close it with a rationale."
                )
            self.runner.check_rationale(
                conn,
                now,
                body.rationale,
                kind="owed_close" if is_owed else "close",
                what="closing rationale",
                entity=Entity(row.id, row.ref),
                by=user.username,
            )
            conn.execute(
                incidents.update()
                .where(incidents.c.id == incident_id)
                .values(
                    status=IncidentStatus.CLOSED.value,
                    closed_at=now,
                    rationale=body.rationale,
                    version=row.version + 1,
                    updated_at=now,
                )
            )
            if is_owed:
                self.release_owed(
                    conn,
                    now,
                    incident_id,
                    user.username,
                    f"closed by supervisor {user.username}: {body.rationale}",
                )
            on_it = (
                conn.execute(
                    sa.select(units.c.id)
                    .where(units.c.incident_id == incident_id)
                    .order_by(units.c.id)
                )
                .scalars()
                .all()
            )
            for unit_id in on_it:  # the close stands its units down
                conn.execute(
                    units.update()
                    .where(units.c.id == unit_id)
                    .values(
                        status=UnitStatus.AVAILABLE.value,
                        incident_id=None,
                        status_since=now,
                        version=units.c.version + 1,
                    )
                )
                emit_unit(self.runner, conn, now, unit_id)
            out = self.incident(conn, incident_id)
            detail = f"{out.ref} closed: {body.rationale}"
            if is_owed:
                detail += " (owed incident closed by supervisor)"
            return 200, self._record(conn, now, user, "close_incident", out, detail)

        return self.runner.run(user, idem, apply, "close_incident", incident_id)

    # --- queries ---------------------------------------------------------------------------

    def get_incident(self, incident_id: int) -> IncidentOut:
        with read_tx(self.runner.engine) as conn:
            return self.incident(conn, incident_id)
