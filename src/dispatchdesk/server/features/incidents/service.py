"""Incident commands and queries, pure of HTTP: create, edit, close, read.

Every command runs through :meth:`CommandRunner.run` and writes one change row and one audit
row for the incident. :meth:`Incidents.load`, :meth:`Incidents.incident`,
:meth:`Incidents.emit_incident` and :meth:`Incidents.release_owed` are the public helpers other
features (units) use inside their own commands.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from dispatchdesk.domain.grades import Grade
from dispatchdesk.domain.incident import IncidentStatus, status_change_problem
from dispatchdesk.domain.roles import Role
from dispatchdesk.domain.tasks import open_tasks_sentence
from dispatchdesk.domain.unit import UnitStatus
from dispatchdesk.protocol.schemas import (
    CloseRequest,
    IncidentCreate,
    IncidentOut,
    IncidentPatch,
)
from dispatchdesk.protocol.tasks import TaskModel
from dispatchdesk.server.auth import User
from dispatchdesk.server.db import (
    diverts,
    incident_tasks,
    incidents,
    owed,
    read_tx,
    ref_counters,
    units,
)
from dispatchdesk.server.errors import Conflict, Forbidden, Invalid, NotFound, Stale
from dispatchdesk.server.features.downgrades.rules import grade_change, overtaken
from dispatchdesk.server.features.history.keys import write_keys
from dispatchdesk.server.features.history.links import links_of
from dispatchdesk.server.features.history.tables import incident_links
from dispatchdesk.server.features.incidents.callers import recorded_caller
from dispatchdesk.server.features.incidents.records import (
    diverts_from,
    incident_out,
    make_ref,
    wire,
)
from dispatchdesk.server.features.tasks.records import (
    ensure_tasks,
    open_task_list,
    settle_open_tasks,
    tasks_of,
)
from dispatchdesk.server.features.units.records import emit_unit
from dispatchdesk.server.rationales import Entity
from dispatchdesk.server.reference import checked_incident, field_errors
from dispatchdesk.server.runner import CommandResult, CommandRunner, Idem

#: Edits that read and write the incident's own row only: such a patch runs beside other
#: commands under the incident's row lock; any other field takes the log lock at once.
PLAIN_EDITS = frozenset({"summary", "weapons", "appointment_at"})

#: The statements every incident command runs, built once (building one costs more than
#: running it). ``incident_id`` names the incident's row.
_LOAD = sa.select(incidents).where(incidents.c.id == sa.bindparam("incident_id"))
_LOAD_LOCKED = _LOAD.with_for_update()
_LOCK = (
    sa.select(incidents.c.id).where(incidents.c.id == sa.bindparam("incident_id")).with_for_update()
)
#: What an incident's reply needs beside its row, read by the statement that reads or writes
#: the row (one statement, not five): whether it is owed and since when it is escalated (named
#: as owed's column, so the row serves as its owed row), and whether it has any DIVERT tag,
#: link or task (each list is read only when it has; see :meth:`Incidents._reply`).
_REPLY = (
    sa.exists().where(owed.c.incident_id == sa.bindparam("incident_id")).label("is_owed"),
    sa.select(owed.c.escalated_at)
    .where(owed.c.incident_id == sa.bindparam("incident_id"))
    .scalar_subquery()
    .label("escalated_at"),
    sa.exists()
    .where(diverts.c.from_incident_id == sa.bindparam("incident_id"))
    .label("has_diverts"),
    sa.exists()
    .where(incident_links.c.incident_id == sa.bindparam("incident_id"))
    .label("has_links"),
    sa.exists()
    .where(incident_tasks.c.incident_id == sa.bindparam("incident_id"))
    .label("has_tasks"),
)
#: The incident's row with :data:`_REPLY` (a read, never locking: the lock is :data:`_LOCK`'s or
#: :data:`_LOAD_LOCKED`'s, taken by a statement of its own before anything it guards is read).
_LOAD_REPLY = sa.select(incidents, *_REPLY).where(incidents.c.id == sa.bindparam("incident_id"))
#: An edit: the columns to set are the keys of its parameters; the row as it is afterwards,
#: with :data:`_REPLY`.
_UPDATE = (
    incidents.update()
    .where(incidents.c.id == sa.bindparam("incident_id"))
    .returning(*incidents.c, *_REPLY)
)
#: A new incident's reference (nothing else of its reply can have changed since its insert).
_SET_REF = (
    incidents.update().where(incidents.c.id == sa.bindparam("incident_id")).returning(*incidents.c)
)
_INSERT = incidents.insert().returning(*incidents.c)
_RELEASE_OWED = owed.delete().where(owed.c.incident_id == sa.bindparam("incident_id"))
_RELEASE_DIVERTS = diverts.update().where(
    diverts.c.from_incident_id == sa.bindparam("incident_id"), diverts.c.released_at.is_(None)
)
_NEXT_REF = (
    ref_counters.update()
    .where(ref_counters.c.day == sa.bindparam("today"))
    .values(n=ref_counters.c.n + 1)
    .returning(ref_counters.c.n)
)

#: PostgreSQL: the day's counter moved and the new incident's reference set from it in one
#: statement (one round trip, not two), written as :func:`make_ref` writes it: the number
#: zero-padded to four digits, then ``suffix`` ("/23NOV26"). No row if the day has no counter.
_COUNTER = _NEXT_REF.cte("counter")
_NUMBER = sa.cast(sa.select(_COUNTER.c.n).scalar_subquery(), sa.Text)
_PG_TAKE_REF = (
    incidents.update()
    .add_cte(_COUNTER)
    .where(incidents.c.id == sa.bindparam("incident_id"), sa.exists(sa.select(_COUNTER.c.n)))
    .values(
        ref=sa.literal("CAD ")
        + sa.func.lpad(_NUMBER, sa.func.greatest(4, sa.func.length(_NUMBER)), "0")
        + sa.bindparam("suffix", type_=sa.Text)
    )
    .returning(*incidents.c)
)


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

    def incident(
        self, conn: Connection, incident_id: int, row: Row[Any] | None = None
    ) -> IncidentOut:
        """The incident as the wire shows it: with its DIVERT tags and whether it is owed.
        ``row``: its row as this transaction last wrote it (else it is read)."""
        if row is None or not hasattr(row, "has_tasks"):  # not read with _REPLY: read it so
            row = conn.execute(_LOAD_REPLY, {"incident_id": incident_id}).first()
            if row is None:
                raise NotFound(f"There is no incident {incident_id}.")
        return self._reply(conn, row)

    @staticmethod
    def _reply(conn: Connection, row: Row[Any]) -> IncidentOut:
        """The incident of ``row`` (read with :data:`_REPLY`): its DIVERT tags, links and tasks
        read only when its row said it has some (an empty list otherwise, as a read gives)."""
        return incident_out(
            row,
            diverts_from(conn, row.id) if row.has_diverts else None,
            row if row.is_owed else None,
            links_of(conn, [row.id]).get(row.id) if row.has_links else None,
            task_list=tasks_of(conn, row.id) if row.has_tasks else None,
        )

    def emit_incident(
        self, conn: Connection, now: datetime, incident_id: int, row: Row[Any] | None = None
    ) -> IncidentOut:
        """The incident's change row; ``row`` as for :meth:`incident`."""
        out = self.incident(conn, incident_id, row)
        self.runner.emit(conn, now, "incident", out.id, wire(out))
        return out

    @staticmethod
    def update(conn: Connection, incident_id: int, values: dict[str, Any]) -> Row[Any]:
        """Set ``values`` on the incident's row; the row as it is now."""
        return conn.execute(_UPDATE, {"incident_id": incident_id, **values}).one()

    def release_owed(
        self,
        conn: Connection,
        now: datetime,
        incident_id: int,
        by: str,
        reason: str,
        *,
        seen: tuple[bool, bool] | None = None,
    ) -> bool:
        """End an incident's owed state (another unit arrived, or a supervisor closed it).
        ``seen``: (whether it is owed, whether it has an unreleased DIVERT tag) as this
        transaction read them under the incident's row lock; a write known to change nothing
        is skipped."""
        owed_now, tagged = seen if seen is not None else (True, True)
        gone = conn.execute(_RELEASE_OWED, {"incident_id": incident_id}).rowcount if owed_now else 0
        if tagged:
            conn.execute(
                _RELEASE_DIVERTS,
                {
                    "incident_id": incident_id,
                    "released_at": now,
                    "released_by": by,
                    "released_reason": reason[:2000],
                },
            )
        return bool(gone)

    def load(self, conn: Connection, incident_id: int, *, lock: bool = False) -> Row[Any]:
        """The incident's row; 404 when there is none. ``lock``: its row locked until the
        command commits (as :meth:`lock`)."""
        row = conn.execute(_LOAD_LOCKED if lock else _LOAD, {"incident_id": incident_id}).first()
        if row is None:
            raise NotFound(f"There is no incident {incident_id}.")
        return row

    @staticmethod
    def lock(conn: Connection, incident_id: int) -> None:
        """Lock the incident's row until the command commits (no-op on SQLite, where the
        write transaction holds the whole database)."""
        conn.execute(_LOCK, {"incident_id": incident_id}).first()

    def _take_ref(self, conn: Connection, now: datetime, incident_id: int) -> Row[Any]:
        """Give the new incident the day's next reference; its row as it is now."""
        if conn.dialect.name == "postgresql":
            local = now.astimezone(self.runner.tz())
            row = conn.execute(
                _PG_TAKE_REF,
                {
                    "incident_id": incident_id,
                    "today": local.date().isoformat(),
                    "suffix": "/" + local.strftime("%d%b%y").upper(),
                },
            ).first()
            if row is not None:
                return row
        ref = self._next_ref(conn, now)  # SQLite; or the day's first incident
        return conn.execute(_SET_REF, {"incident_id": incident_id, "ref": ref}).one()

    def _next_ref(self, conn: Connection, now: datetime) -> str:
        local = now.astimezone(self.runner.tz())
        day = local.date().isoformat()
        n = conn.execute(_NEXT_REF, {"today": day}).scalar()
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
            row = conn.execute(
                _INSERT,
                {
                    "ref": f"new {uuid.uuid4().hex}",  # its reference is taken last (below)
                    "version": 1,
                    "grade": body.grade.value,
                    "original_grade": body.grade.value,
                    "status": IncidentStatus.OPEN.value,
                    "created_at": now,
                    "deadline": policy.deadline(body.grade, now, appointment),
                    "type": body.type,
                    "summary": body.summary,
                    "location": body.location.model_dump(mode="json"),
                    "caller": recorded_caller(body.caller, user, now),
                    "persons": [p.model_dump(mode="json") for p in body.persons],
                    "appointment_at": appointment,
                    "updated_at": now,
                    "weapons": body.weapons,
                },
            ).one()
            new_id = int(row.id)
            write_keys(conn, [row])  # history's search keys, from the row as stored
            added = ensure_tasks(conn, now, row, self.runner.settings.task_policy, known=())
            # A new incident has no DIVERT tag, owed state or link yet, and only the tasks just
            # added.
            task_list = [TaskModel.from_task(t) for t in sorted(added, key=lambda t: t.id)]
            # The reference last, under the log lock (which the change row takes anyway): the
            # day's counter moves one writer at a time and a rolled-back create leaves no gap.
            self.runner.hold_log(conn)
            row = self._take_ref(conn, now, new_id)
            out = incident_out(row, task_list=task_list)
            data = self._record(
                conn,
                now,
                user,
                "create_incident",
                out,
                f"Created {out.ref}, grade {out.grade.value}, {out.type}",
            )
            return 201, data

        # A new incident's rows are its own; its reference is taken last, under the log lock.
        return self.runner.run(user, idem, apply, "create_incident", None, locks_rows=True)

    def patch_incident(
        self, user: User, incident_id: int, body: IncidentPatch, if_match: int | None, idem: Idem
    ) -> CommandResult:
        policy = self.runner.settings.policy
        fields = body.model_fields_set - {"reason"}
        if not fields:
            raise Invalid(
                "Nothing to change: send at least one of grade, status, summary, appointment_at, "
                "weapons."
            )

        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            row = self.load(conn, incident_id, lock=True)
            if fields - PLAIN_EDITS:  # grade, status, type read more than the incident's row
                self.runner.hold_log(conn)
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
            requested = False
            if body.grade is not None and body.grade is not grade:
                change = grade_change(self.runner, conn, now, user, row, body.grade, body.reason)
                values.update(change.values)
                notes.append(change.note)
                requested = change.requested
                if change.applied:
                    grade = body.grade
            if "grade" in values or "appointment_at" in values:
                values["deadline"] = policy.deadline(grade, row.created_at, appointment)
            if body.status is not None and body.status is not status:
                self._check_status_change(conn, row, status, body.status)
                values["status"] = body.status.value
                notes.append(f"status {status.value}→{body.status.value}")
            if body.summary is not None and body.summary != row.summary:
                values["summary"] = body.summary
                notes.append("summary edited")
            if body.type is not None:
                notes += self._retype(conn, now, row, body.type, values)
            if body.weapons is not None and body.weapons != row.weapons:
                values["weapons"] = body.weapons
                notes.append("weapons mentioned" if body.weapons else "weapons tick removed")
            values["version"] = row.version + 1
            values["updated_at"] = now
            out = self.incident(conn, incident_id, self.update(conn, incident_id, values))
            detail = f"{out.ref} v{out.version}: " + ("; ".join(notes) or "no field changed")
            status_code = 202 if requested else 200  # a downgrade request awaits a supervisor
            return status_code, self._record(conn, now, user, "update_incident", out, detail)

        return self.runner.run(user, idem, apply, "update_incident", incident_id, locks_rows=True)

    def _retype(
        self, conn: Connection, now: datetime, row: Row[Any], wanted: str, values: dict[str, Any]
    ) -> list[str]:
        """Set ``values["type"]`` (the list's spelling) if it changes (422 off the list), and
        add the tasks the new type's policy requires; none is ever removed."""
        try:
            kind = self.runner.settings.reference_lists.incident_type(wanted)
        except ValueError as exc:
            raise Invalid(field_errors([(("type",), str(exc))])) from None
        if kind == row.type:
            return []
        values["type"] = kind
        added = ensure_tasks(conn, now, row, self.runner.settings.task_policy, incident_type=kind)
        return [f"type {row.type}→{kind}"] + [f"task added: {t.title}" for t in added]

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
            tasks_note = self._settle_open_tasks(conn, now, row, user, body)
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
                    **overtaken(row, user.username, now, f"closed by {user.username}"),
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
            self._stand_down_units(conn, now, incident_id)  # the close stands them down
            out = self.incident(conn, incident_id)
            detail = f"{out.ref} closed: {body.rationale}{tasks_note}"
            if is_owed:
                detail += " (owed incident closed by supervisor)"
            return 200, self._record(conn, now, user, "close_incident", out, detail)

        return self.runner.run(user, idem, apply, "close_incident", incident_id)

    @staticmethod
    def _settle_open_tasks(
        conn: Connection, now: datetime, row: Row[Any], user: User, body: CloseRequest
    ) -> str:
        """A close with tasks open: 409 naming each, 403 for an override by another role than
        supervisor; a supervisor's override records each NOT_DONE with the rationale (undone
        with the close if the rationale is refused). Returns what the audit adds."""
        still_open = open_task_list(conn, row.id)
        if not still_open:
            return ""
        if not body.override_open_tasks:
            raise Conflict(open_tasks_sentence(row.ref, still_open))
        if user.role is not Role.SUPERVISOR:
            raise Forbidden(
                f"Only a supervisor may close {row.ref} with tasks for the attending officers "
                "still open: record each as done or not done, or ask a supervisor."
            )
        why = f"closed by supervisor {user.username} with it open: {body.rationale}"
        settle_open_tasks(conn, now, row.id, user.username, why)
        return (
            " (closed by supervisor with tasks open: "
            + "; ".join(t.title for t in still_open)
            + ")"
        )

    def _stand_down_units(self, conn: Connection, now: datetime, incident_id: int) -> None:
        """Free every unit on the incident (a close stands its units down)."""
        on_it = (
            conn.execute(
                sa.select(units.c.id).where(units.c.incident_id == incident_id).order_by(units.c.id)
            )
            .scalars()
            .all()
        )
        for unit_id in on_it:
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

    # --- queries ---------------------------------------------------------------------------

    def get_incident(self, incident_id: int) -> IncidentOut:
        with read_tx(self.runner.engine) as conn:
            return self.incident(conn, incident_id)
