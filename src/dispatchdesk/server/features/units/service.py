"""Units and dispatch: create, assign, divert, arrive, clear, status; the DIVERT tag list;
escalation of owed incidents.

Every command runs through :meth:`CommandRunner.run` (one write transaction holding the log lock,
idempotency, change log, audit). A unit's move and the incident's resulting move are written
in that same transaction, one change row per changed entity.

One unit, one incident: a unit row has a single ``incident_id``, a check constraint ties it to
the status, and an assignment is a conditional ``UPDATE ... WHERE status = 'AVAILABLE'``
whose row count decides the winner, so of several dispatchers assigning the same unit at once
exactly one wins; the others get 409 naming the incident the unit is now on.

Assign, divert, arrive and clear run side by side (``locks_rows``): each first locks its unit's
row, then the rows of the incidents it reads (ascending id), so the unit's state, the units on
an incident and its owed row cannot change under it; the log lock comes with the first change
row, or before a reason is checked against the lookback.

Owed: a divert records a DIVERT tag on the incident the unit left and makes that incident
*owed* (a row in ``owed``) until a unit arrives there or a supervisor closes it. Clearing a unit
that has not arrived needs a reason; when it leaves the incident with no unit it is a
*withdrawal*, tagged (kind WITHDRAWN, no target) and owed exactly like a divert, so a divert
cannot be disguised as clear-then-assign.

Status follows the units (:func:`~dispatchdesk.domain.incident.status_for_units`): every move
of a unit recomputes the status of the incidents it joined or left. An owed
incident with no unit on it for ``settings.owed_escalation`` gets ``escalated_at`` (by
:meth:`Units.sweep`, run periodically and before reads); assigning a unit clears it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import DBAPIError, IntegrityError

from dispatchdesk.domain.incident import DivertKind, IncidentStatus, status_for_units
from dispatchdesk.domain.unit import UnitStatus
from dispatchdesk.protocol.schemas import (
    AssignRequest,
    ClearRequest,
    DivertModel,
    DivertRequest,
    ReviewRequest,
    UnitCreate,
    UnitOut,
    UnitStatusRequest,
)
from dispatchdesk.server.auth import User
from dispatchdesk.server.db import audit, diverts, incidents, owed, read_tx, units
from dispatchdesk.server.errors import Conflict, Invalid, NotFound, Stale
from dispatchdesk.server.features.incidents.records import divert_out, divert_rows
from dispatchdesk.server.features.incidents.service import Incidents
from dispatchdesk.server.features.units.records import emit_unit, unit_out
from dispatchdesk.server.features.warnings.writes import audit_warnings_passed
from dispatchdesk.server.rationales import Entity
from dispatchdesk.server.reference import checked_unit
from dispatchdesk.server.runner import (
    RETRIES,
    CommandResult,
    CommandRunner,
    Idem,
    retried,
    retryable,
)

#: The name audit rows carry for what the server does by itself (escalations).
SYSTEM = "system"

_ON_INCIDENT = (UnitStatus.ASSIGNED.value, UnitStatus.AT_SCENE.value)

#: The statements every unit command runs, built once (building one costs more than running
#: it). ``unit_id`` names the unit's row, ``incident_id`` and ``owed_id`` an incident's.
_UNIT = sa.select(units).where(units.c.id == sa.bindparam("unit_id"))
_UNIT_LOCKED = _UNIT.with_for_update()
_UNITS_ON = (
    sa.select(units).where(units.c.incident_id == sa.bindparam("incident_id")).order_by(units.c.id)
)
_OTHERS = units.alias("others")
_WATCHED_OWED = owed.c.incident_id == sa.bindparam("watch_id")


def _others_on_watched(status: UnitStatus) -> Any:
    """How many units other than the moving one are on the watched incident in ``status``."""
    return (
        sa.select(sa.func.count())
        .select_from(_OTHERS)
        .where(
            _OTHERS.c.incident_id == sa.bindparam("watch_id"),
            _OTHERS.c.id != sa.bindparam("unit_id"),
            _OTHERS.c.status == status.value,
        )
        .scalar_subquery()
    )


#: A unit's move: applies only while the unit is as the command saw it (the condition, by
#: name, of :meth:`Units._move_unit`); the row as it is afterwards, and what the command reads
#: next of the incident ``watch_id`` it joins or leaves (see :class:`_Seen`), in the same
#: statement: the other units on it by status, its owed row, whether a DIVERT tag of it is
#: unreleased.
_MOVE = (
    units.update()
    .values(
        status=sa.bindparam("to_status"),
        incident_id=sa.bindparam("to_incident"),
        status_since=sa.bindparam("since"),
        version=units.c.version + 1,
    )
    .returning(
        *units.c,
        _others_on_watched(UnitStatus.ASSIGNED).label("others_assigned"),
        _others_on_watched(UnitStatus.AT_SCENE).label("others_at_scene"),
        sa.select(owed.c.since).where(_WATCHED_OWED).scalar_subquery().label("owed_since"),
        sa.select(owed.c.unassigned_since)
        .where(_WATCHED_OWED)
        .scalar_subquery()
        .label("owed_unassigned_since"),
        sa.select(owed.c.escalated_at)
        .where(_WATCHED_OWED)
        .scalar_subquery()
        .label("owed_escalated_at"),
        sa.exists()
        .where(
            diverts.c.from_incident_id == sa.bindparam("watch_id"), diverts.c.released_at.is_(None)
        )
        .label("tag_unreleased"),
    )
)
_MOVES = {
    "available": _MOVE.where(
        units.c.id == sa.bindparam("unit_id"),
        units.c.status == UnitStatus.AVAILABLE.value,
        units.c.incident_id.is_(None),
    ),
    "on_source": _MOVE.where(
        units.c.id == sa.bindparam("unit_id"),
        units.c.incident_id == sa.bindparam("source_id"),
        units.c.status.in_(_ON_INCIDENT),
    ),
    "status_is": _MOVE.where(
        units.c.id == sa.bindparam("unit_id"), units.c.status == sa.bindparam("from_status")
    ),
}
#: An owed incident that a unit joined is no longer without one (nor escalated).
_OWED_JOINED = (
    owed.update()
    .where(
        owed.c.incident_id == sa.bindparam("owed_id"),
        sa.or_(owed.c.unassigned_since.is_not(None), owed.c.escalated_at.is_not(None)),
    )
    .values(unassigned_since=None, escalated_at=None)
)
#: An owed incident left with no unit starts its escalation time.
_OWED_LEFT = owed.update().where(
    owed.c.incident_id == sa.bindparam("owed_id"), owed.c.unassigned_since.is_(None)
)


@dataclass(frozen=True, slots=True)
class _Seen:
    """What a unit's move (its one ``UPDATE``, :meth:`Units._move_unit`) saw of the incident
    it joined or left, so the command need not read it again: the units on it are those it
    counted and the moved unit if it is on it now, its owed row as it found it.

    Valid while the command holds the incident's row lock and has not itself written since
    what it counted (its owed row, a DIVERT tag of it): whoever moves a unit on or off an
    incident, or writes its owed row or tags, locks its row first (every unit command, and a
    close, whose ``UPDATE`` of the row waits for the lock), except the escalation sweep, which
    sets ``escalated_at`` only on an owed row whose ``unassigned_since`` is set, so which of
    the owed writes below apply stays as seen."""

    incident_id: int
    move: Row[Any]

    def statuses(self) -> list[UnitStatus]:
        """The statuses of the units on the incident now (in no particular order)."""
        m = self.move
        out = [UnitStatus.ASSIGNED] * m.others_assigned + [UnitStatus.AT_SCENE] * m.others_at_scene
        if m.incident_id == self.incident_id:
            out.append(UnitStatus(m.status))
        return out

    def owed_joined_applies(self) -> bool:
        """Whether :data:`_OWED_JOINED` changes a row."""
        m = self.move
        return m.owed_since is not None and (
            m.owed_unassigned_since is not None or m.owed_escalated_at is not None
        )

    def owed_left_applies(self) -> bool:
        """Whether :data:`_OWED_LEFT` changes a row."""
        return self.move.owed_since is not None and self.move.owed_unassigned_since is None

    def release(self) -> tuple[bool, bool]:
        """What :meth:`Incidents.release_owed` needs: is it owed, has it an unreleased tag."""
        return self.move.owed_since is not None, bool(self.move.tag_unreleased)


class Units:
    """Unit commands and queries over a :class:`CommandRunner`."""

    def __init__(self, runner: CommandRunner) -> None:
        self.runner = runner
        self.incidents = Incidents(runner)

    # --- helpers ---------------------------------------------------------------------------

    def _unit(self, conn: Connection, unit_id: int, *, lock: bool = False) -> Row[Any]:
        """The unit's row (404 if none); ``lock``: locked until the command commits."""
        row = conn.execute(_UNIT_LOCKED if lock else _UNIT, {"unit_id": unit_id}).first()
        if row is None:
            raise NotFound(f"There is no unit {unit_id}.")
        return row

    @staticmethod
    def _lock_incidents(conn: Connection, *incident_ids: int | None) -> None:
        """Lock the incidents' rows until the command commits (ascending id, after the unit's:
        every unit command takes them in this order, so two cannot deadlock)."""
        ids = sorted({i for i in incident_ids if i is not None})
        if ids:
            conn.execute(
                sa.select(incidents.c.id)
                .where(incidents.c.id.in_(ids))
                .order_by(incidents.c.id)
                .with_for_update()
            ).all()

    def _locked(
        self, conn: Connection, unit_id: int, if_match: int | None
    ) -> tuple[Row[Any], Row[Any] | None]:
        """The unit's row at ``if_match`` (else 412), locked, and the row of the incident it
        is on (if any), locked after it."""
        unit = self._unit(conn, unit_id, lock=True)
        self._check_version(unit, if_match)
        if unit.incident_id is None:
            return unit, None
        return unit, self.incidents.load(conn, unit.incident_id, lock=True)

    @staticmethod
    def _check_version(row: Row[Any], if_match: int | None) -> None:
        if if_match is not None and row.version != if_match:
            raise Stale(
                f"Unit {row.callsign} has changed since you loaded it: it is now at version "
                f"{row.version}, not {if_match}. Look at the unit again and retry.",
            )

    def _open_incident(self, conn: Connection, incident_id: int, *, lock: bool = False) -> Row[Any]:
        row = self.incidents.load(conn, incident_id, lock=lock)
        if row.status == IncidentStatus.CLOSED.value:
            raise Conflict(f"Incident {row.ref} is closed: no unit can be sent to it.")
        return row

    @staticmethod
    def _ref(conn: Connection, incident_id: int) -> str:
        ref = conn.execute(
            sa.select(incidents.c.ref).where(incidents.c.id == incident_id)
        ).scalar_one()
        return str(ref)

    @staticmethod
    def _units_on(conn: Connection, incident_id: int) -> list[Row[Any]]:
        return list(conn.execute(_UNITS_ON, {"incident_id": incident_id}).all())

    def _bump(self, conn: Connection, now: datetime, row: Row[Any], values: dict[str, Any]) -> None:
        new = self.incidents.update(
            conn, row.id, {**values, "version": row.version + 1, "updated_at": now}
        )
        self.incidents.emit_incident(conn, now, row.id, new)

    def _statuses_on(
        self, conn: Connection, incident_id: int, seen: _Seen | None
    ) -> list[UnitStatus]:
        """The statuses of the units on the incident now: as the move ``seen`` found them
        when it watched this incident, else read."""
        if seen is not None and seen.incident_id == incident_id:
            return seen.statuses()
        return [UnitStatus(u.status) for u in self._units_on(conn, incident_id)]

    def _unit_joined(
        self, conn: Connection, now: datetime, row: Row[Any], seen: _Seen | None = None
    ) -> None:
        """A unit is now on incident ``row``: its status follows the units (ASSIGNED if it was
        waiting), and an owed incident is no longer without a unit (so no longer escalated).
        ``seen``: the move's view of ``row`` (:class:`_Seen`), if it watched it."""
        values: dict[str, Any] = {}
        status = status_for_units(
            self._statuses_on(conn, row.id, seen), attended=row.attended_at is not None
        )
        if status.value != row.status:
            values["status"] = status.value
        changed = 0
        if seen is None or seen.incident_id != row.id or seen.owed_joined_applies():
            changed = conn.execute(_OWED_JOINED, {"owed_id": row.id}).rowcount
        if values or changed:
            self._bump(conn, now, row, values)

    def _unit_left(
        self,
        conn: Connection,
        now: datetime,
        row: Row[Any],
        *,
        diverted: bool,
        seen: _Seen | None = None,
    ) -> None:
        """A unit has left incident ``row`` (diverted or withdrawn: ``diverted``; or cleared):
        its status follows the units still on it, and an owed incident left with none starts
        its escalation time. ``seen``: the move's view of ``row`` (:class:`_Seen`), if it
        watched it and nothing of the incident was written since.

        A cleared unit leaves an attended incident AT_SCENE (it waits to be closed); a
        diverted (or withdrawn) one leaves it awaiting a unit again, and owed.
        """
        remaining = self._statuses_on(conn, row.id, seen)
        values: dict[str, Any] = {}
        someone_there = UnitStatus.AT_SCENE in remaining
        attended = row.attended_at is not None and (someone_there or not diverted)
        status = status_for_units(remaining, attended).value
        if status != row.status:
            values["status"] = status
        if diverted and not someone_there and row.attended_at is not None:
            # The unit that attended was taken away: nobody is there now, so the countdown
            # runs again from the original deadline (and counts up past it) until a unit
            # arrives. The first attendance stays in the audit log.
            values["attended_at"] = None
        changed = 0
        if not remaining and (seen is None or seen.owed_left_applies()):
            changed = conn.execute(
                _OWED_LEFT, {"owed_id": row.id, "unassigned_since": now}
            ).rowcount
        if values or changed or diverted:
            self._bump(conn, now, row, values)

    def _move_unit(
        self,
        conn: Connection,
        unit: Row[Any],
        now: datetime,
        *,
        status: UnitStatus,
        incident_id: int | None,
        when: Literal["available", "on_source", "status_is"],
        watch: int | None = None,
        **condition: Any,
    ) -> Row[Any]:
        """Conditional update: applies only if the unit is still as ``when`` says (AVAILABLE
        and on no incident; on the incident ``source_id``; its status ``from_status``); else
        409 (lost a race). The unit's row as it is now, with what it saw of the incident
        ``watch`` (``_Seen(watch, row)``)."""
        moved = conn.execute(
            _MOVES[when],
            {
                "unit_id": unit.id,
                "to_status": status.value,
                "to_incident": incident_id,
                "since": now,
                "watch_id": watch,
                **condition,
            },
        ).first()
        if moved is None:
            raise Conflict(
                f"Unit {unit.callsign} was changed by someone else just now: look at it "
                "again and retry.",
            )
        return moved

    def _finish(
        self, conn: Connection, now: datetime, user: User, action: str, unit: Row[Any], detail: str
    ) -> tuple[int, dict[str, Any]]:
        """The moved ``unit``'s change row and the command's audit row; its reply."""
        out = unit_out(unit)
        data = out.model_dump(mode="json")
        self.runner.emit(conn, now, "unit", out.id, data)
        self.runner.write_audit(conn, now, user.username, action, "unit", out.id, detail)
        return 200, data

    def _put_there_by(self, conn: Connection, unit: Row[Any]) -> str:
        """ " (assigned by disp1 at 14:02)": who last put the unit on its incident, from the
        audit log, so a dispatcher who lost a race knows whom to talk to."""
        last = conn.execute(
            sa.select(audit.c.username, audit.c.at, audit.c.action)
            .where(
                audit.c.entity == "unit",
                audit.c.entity_id == unit.id,
                audit.c.action.in_(("assign_unit", "divert_unit")),
            )
            .order_by(audit.c.id.desc())
            .limit(1)
        ).first()
        if last is None:
            return ""
        verb = "diverted there" if last.action == "divert_unit" else "assigned"
        local = last.at.astimezone(self.runner.tz())
        return f" ({verb} by {last.username} at {local:%H:%M})"

    def _busy_message(self, conn: Connection, unit: Row[Any], wanted_ref: str) -> str:
        status = UnitStatus(unit.status)
        if unit.incident_id is not None:
            ref = self._ref(conn, unit.incident_id)
            return (
                f"Unit {unit.callsign} is not available: it is {status.label.lower()} on "
                f"incident {ref}{self._put_there_by(conn, unit)}. Choose another unit, or "
                f"divert {unit.callsign} with a reason if {wanted_ref} needs it more."
            )
        return (
            f"Unit {unit.callsign} is not available: it is {status.label.lower()}. "
            "Choose another unit."
        )

    # --- commands --------------------------------------------------------------------------

    def create_unit(self, user: User, body: UnitCreate, idem: Idem) -> CommandResult:
        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            out = self._insert(conn, now, user, body)
            return 201, out.model_dump(mode="json")

        return self.runner.run(user, idem, apply, "create_unit", None, "unit")

    def _insert(self, conn: Connection, now: datetime, user: User, sent: UnitCreate) -> UnitOut:
        body, problems = checked_unit(sent, self.runner.settings.reference_lists)
        self.runner.refuse_if(problems)
        taken = conn.execute(sa.select(units.c.id).where(units.c.callsign == body.callsign)).first()
        if taken is not None:
            raise Conflict(f"There is already a unit with callsign {body.callsign}.")
        new_id = int(
            conn.execute(
                units.insert()
                .values(
                    callsign=body.callsign,
                    kind=body.kind,
                    borough=body.borough,
                    status=body.status.value,
                    incident_id=None,
                    status_since=now,
                    lat=body.lat,
                    lon=body.lon,
                    version=1,
                )
                .returning(units.c.id)
            ).scalar_one()
        )
        out = emit_unit(self.runner, conn, now, new_id)
        self.runner.write_audit(
            conn,
            now,
            user.username,
            "create_unit",
            "unit",
            new_id,
            f"Created unit {out.callsign} ({out.kind}, {out.borough}), {out.status.value}",
        )
        return out

    def create_units(self, user: User, bodies: list[UnitCreate]) -> list[UnitOut]:
        """Create a whole fleet in one transaction: all of it or (on any error) none."""
        now = self.runner.now()

        def work() -> list[UnitOut]:
            with self.runner.locked_write() as conn:
                return [self._insert(conn, now, user, b) for b in bodies]

        try:
            out = retried(work)  # a deadlock's victim applied nothing: again
        except IntegrityError as exc:
            raise Conflict(f"The fleet could not be saved: {exc.orig}") from exc
        self.runner.notify()
        return out

    def assign(
        self, user: User, unit_id: int, body: AssignRequest, if_match: int | None, idem: Idem
    ) -> CommandResult:
        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            unit = self._unit(conn, unit_id, lock=True)
            self._check_version(unit, if_match)
            incident = self._open_incident(conn, body.incident_id, lock=True)
            if unit.status != UnitStatus.AVAILABLE.value:
                raise Conflict(self._busy_message(conn, unit, incident.ref))
            try:
                moved = self._move_unit(
                    conn,
                    unit,
                    now,
                    status=UnitStatus.ASSIGNED,
                    incident_id=incident.id,
                    when="available",
                    watch=incident.id,
                )
            except Conflict:
                # Lost a race: say where the unit went and who sent it, as for a busy unit.
                raise Conflict(
                    self._busy_message(conn, self._unit(conn, unit_id), incident.ref)
                ) from None
            self._unit_joined(conn, now, incident, _Seen(incident.id, moved))
            passed = audit_warnings_passed(
                conn,
                now,
                user.username,
                body.warnings_passed,
                unit.callsign,
                incident.ref,
                incident.id,
            )
            return self._finish(
                conn,
                now,
                user,
                "assign_unit",
                moved,
                f"{unit.callsign} assigned to {incident.ref}{passed}",
            )

        return self.runner.run(user, idem, apply, "assign_unit", unit_id, "unit", locks_rows=True)

    def divert(
        self, user: User, unit_id: int, body: DivertRequest, if_match: int | None, idem: Idem
    ) -> CommandResult:
        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            unit = self._unit(conn, unit_id, lock=True)
            self._check_version(unit, if_match)
            self._lock_incidents(conn, body.incident_id, unit.incident_id)
            target = self._open_incident(conn, body.incident_id)
            if unit.status not in _ON_INCIDENT or unit.incident_id is None:
                raise Conflict(
                    f"Unit {unit.callsign} is {UnitStatus(unit.status).label.lower()}, not "
                    f"on an incident, so there is nothing to divert it from: assign it to "
                    f"{target.ref} instead.",
                )
            if unit.incident_id == target.id:
                raise Conflict(f"Unit {unit.callsign} is already on {target.ref}.")
            source = self.incidents.load(conn, unit.incident_id)
            moved = self._move_unit(
                conn,
                unit,
                now,
                status=UnitStatus.ASSIGNED,
                incident_id=target.id,
                when="on_source",
                watch=target.id,
                source_id=source.id,
            )
            divert_id = conn.execute(
                diverts.insert()
                .values(
                    unit_id=unit.id,
                    callsign=unit.callsign,
                    from_incident_id=source.id,
                    to_incident_id=target.id,
                    by=user.username,
                    at=now,
                    reason=body.reason,
                )
                .returning(diverts.c.id)
            ).scalar_one()
            self.runner.check_rationale(
                conn,
                now,
                body.reason,
                kind="divert",
                what="divert reason",
                entity=Entity(source.id, source.ref, unit.callsign, int(divert_id)),
                by=user.username,
            )
            _mark_owed(conn, source.id, now)
            self._unit_left(conn, now, source, diverted=True)
            self._unit_joined(
                conn, now, self.incidents.load(conn, target.id), _Seen(target.id, moved)
            )
            passed = audit_warnings_passed(
                conn, now, user.username, body.warnings_passed, unit.callsign, target.ref, target.id
            )
            return self._finish(
                conn,
                now,
                user,
                "divert_unit",
                moved,
                f"{unit.callsign} diverted from {source.ref} to {target.ref}: {body.reason}; "
                f"{source.ref} is owed attendance{passed}",
            )

        return self.runner.run(user, idem, apply, "divert_unit", unit_id, "unit", locks_rows=True)

    def arrive(self, user: User, unit_id: int, if_match: int | None, idem: Idem) -> CommandResult:
        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            unit, incident = self._locked(conn, unit_id, if_match)
            if unit.status != UnitStatus.ASSIGNED.value or incident is None:
                raise Conflict(
                    f"Unit {unit.callsign} is {UnitStatus(unit.status).label.lower()}: only "
                    "a unit en route to an incident can arrive.",
                )
            moved = self._move_unit(
                conn,
                unit,
                now,
                status=UnitStatus.AT_SCENE,
                incident_id=incident.id,
                when="status_is",
                watch=incident.id,
                from_status=UnitStatus.ASSIGNED.value,
            )
            values: dict[str, Any] = {}
            if incident.status != IncidentStatus.AT_SCENE.value:
                values["status"] = IncidentStatus.AT_SCENE.value
            if incident.attended_at is None:
                values["attended_at"] = now
            released = self.incidents.release_owed(
                conn,
                now,
                incident.id,
                user.username,
                f"{unit.callsign} arrived",
                seen=_Seen(incident.id, moved).release(),
            )
            if values or released:
                self._bump(conn, now, incident, values)
            detail = f"{unit.callsign} at scene at {incident.ref}"
            if released:
                detail += "; no longer owed"
            return self._finish(conn, now, user, "arrive_unit", moved, detail)

        return self.runner.run(user, idem, apply, "arrive_unit", unit_id, "unit", locks_rows=True)

    def clear(
        self, user: User, unit_id: int, body: ClearRequest | None, if_match: int | None, idem: Idem
    ) -> CommandResult:
        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            unit, incident = self._locked(conn, unit_id, if_match)
            if unit.status in (UnitStatus.AVAILABLE.value, UnitStatus.OFF_DUTY.value):
                raise Conflict(
                    f"Unit {unit.callsign} is {UnitStatus(unit.status).label.lower()}: there "
                    "is nothing to clear it from.",
                )
            reason = ((body.reason if body is not None else None) or "").strip()
            withdrawal = False
            if incident is not None:
                withdrawal = self._check_clear_reason(conn, now, user, unit, incident, reason)
            moved = self._move_unit(
                conn,
                unit,
                now,
                status=UnitStatus.AVAILABLE,
                incident_id=None,
                when="status_is",
                watch=unit.incident_id,
                from_status=unit.status,
            )
            detail = f"{unit.callsign} cleared, available"
            if incident is not None and withdrawal:
                return self._withdrawn(conn, now, user, moved, incident, reason)
            if incident is not None:
                self._unit_left(conn, now, incident, diverted=False, seen=_Seen(incident.id, moved))
                detail = f"{unit.callsign} cleared from {incident.ref}, available"
            if reason:
                detail += f": {reason}"
            return self._finish(conn, now, user, "clear_unit", moved, detail)

        return self.runner.run(user, idem, apply, "clear_unit", unit_id, "unit", locks_rows=True)

    def _check_clear_reason(
        self,
        conn: Connection,
        now: datetime,
        user: User,
        unit: Row[Any],
        incident: Row[Any],
        reason: str,
    ) -> bool:
        """A unit cleared from ``incident`` before arriving needs a reason (the incident's own,
        not a copy); True when clearing it withdraws it (no other unit on the incident)."""
        en_route = unit.status == UnitStatus.ASSIGNED.value
        # the other units on it matter only for a unit that has not arrived
        withdrawal = en_route and not any(
            u.id != unit.id for u in self._units_on(conn, incident.id)
        )
        if en_route and not reason:
            raise Invalid(
                [
                    {
                        "loc": ["body", "reason"],
                        "msg": self._reason_needed(unit.callsign, incident.ref, withdrawal),
                        "type": "value_error",
                    }
                ]
            )
        if en_route:  # a reason like any other: the incident's own, not a copy
            self.runner.check_rationale(
                conn,
                now,
                reason,
                kind="withdrawal",
                what="reason for standing the unit down",
                entity=Entity(incident.id, incident.ref, unit.callsign),
                by=user.username,
            )
        return withdrawal

    def _withdrawn(
        self,
        conn: Connection,
        now: datetime,
        user: User,
        unit: Row[Any],
        incident: Row[Any],
        reason: str,
    ) -> tuple[int, dict[str, Any]]:
        """``unit`` (its row as moved) withdrawn from ``incident`` before arriving: tagged
        WITHDRAWN like a divert, and the incident owed attendance."""
        conn.execute(
            diverts.insert().values(
                unit_id=unit.id,
                callsign=unit.callsign,
                from_incident_id=incident.id,
                to_incident_id=None,
                by=user.username,
                at=now,
                reason=reason,
                kind=DivertKind.WITHDRAWN.value,
            )
        )
        _mark_owed(conn, incident.id, now)
        self._unit_left(conn, now, incident, diverted=True)
        return self._finish(
            conn,
            now,
            user,
            "withdraw_unit",
            unit,
            f"{unit.callsign} withdrawn from {incident.ref} before arriving: {reason}; "
            f"{incident.ref} is owed attendance",
        )

    @staticmethod
    def _reason_needed(callsign: str, ref: str, withdrawal: bool) -> str:
        if withdrawal:
            return (
                f"{callsign} has not arrived at {ref} and is the only unit on it: clearing "
                f"it withdraws it, and {ref} stays owed attendance (tagged WITHDRAWN) until "
                "another unit arrives. Give a reason for withdrawing it."
            )
        return (
            f"{callsign} has not arrived at {ref}: give a reason for standing it down "
            "(another unit is still on the incident, so it is not owed)."
        )

    def set_status(
        self, user: User, unit_id: int, body: UnitStatusRequest, if_match: int | None, idem: Idem
    ) -> CommandResult:
        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            unit = self._unit(conn, unit_id)
            self._check_version(unit, if_match)
            if unit.incident_id is not None:
                ref = self._ref(conn, unit.incident_id)
                raise Conflict(
                    f"Unit {unit.callsign} is on incident {ref}: clear it from {ref} (or "
                    "divert it) before changing its status.",
                )
            if unit.status == body.status.value:
                raise Conflict(f"Unit {unit.callsign} is already {body.status.label.lower()}.")
            moved = self._move_unit(
                conn,
                unit,
                now,
                status=body.status,
                incident_id=None,
                when="status_is",
                from_status=unit.status,
            )
            return self._finish(
                conn,
                now,
                user,
                "unit_status",
                moved,
                f"{unit.callsign} {unit.status}→{body.status.value}",
            )

        return self.runner.run(user, idem, apply, "unit_status", unit_id, "unit")

    def review(self, user: User, divert_id: int, body: ReviewRequest, idem: Idem) -> CommandResult:
        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            row = conn.execute(sa.select(diverts).where(diverts.c.id == divert_id)).first()
            if row is None:
                raise NotFound(f"There is no divert {divert_id}.")
            if row.reviewed_at is not None:
                raise Conflict(f"Divert {divert_id} was already reviewed by {row.reviewed_by}.")
            self.runner.check_rationale(
                conn,
                now,
                body.note,
                kind="divert_review",
                what="review note",
                entity=Entity(
                    row.from_incident_id,
                    self._ref(conn, row.from_incident_id),
                    row.callsign,
                    row.id,
                ),
                by=user.username,
            )
            conn.execute(
                diverts.update()
                .where(diverts.c.id == divert_id)
                .values(reviewed_at=now, reviewed_by=user.username, review_note=body.note)
            )
            self._bump(conn, now, self.incidents.load(conn, row.from_incident_id), {})
            tag = divert_out(divert_rows(conn, diverts.c.id == divert_id)[0])
            self.runner.write_audit(
                conn,
                now,
                user.username,
                "review_divert",
                "incident",
                row.from_incident_id,
                f"Divert {divert_id} ({tag.callsign} from {tag.from_ref} to "
                f"{tag.to_ref or 'no incident: withdrawn'}) reviewed: {body.note}",
            )
            return 200, tag.model_dump(mode="json")

        return self.runner.run(user, idem, apply, "review_divert", divert_id, "divert")

    # --- escalation ------------------------------------------------------------------------

    def _due(self, conn: Connection, now: datetime) -> list[Row[Any]]:
        return list(
            conn.execute(
                sa.select(owed)
                .where(
                    owed.c.escalated_at.is_(None),
                    owed.c.unassigned_since.is_not(None),
                    owed.c.unassigned_since <= now - self.runner.settings.owed_escalation,
                )
                .order_by(owed.c.unassigned_since)
            ).all()
        )

    def sweep(self) -> int:
        """Escalate owed incidents that have had no unit for the escalation time; returns how
        many. Cheap when nothing is due (one read)."""
        now = self.runner.now()
        with read_tx(self.runner.engine) as conn:
            if not self._due(conn, now):
                return 0
        for attempt in range(RETRIES):
            try:
                due = self._escalate(now)
                break
            except DBAPIError as err:  # a deadlock's victim applied nothing: again
                if not retryable(err) or attempt == RETRIES - 1:
                    raise
        if due:
            self.runner.notify()
        return len(due)

    def _escalate(self, now: datetime) -> list[Row[Any]]:
        escalation = self.runner.settings.owed_escalation
        with self.runner.locked_write() as conn:
            due = self._due(conn, now)
            for o in due:
                at = o.unassigned_since + escalation
                conn.execute(
                    owed.update().where(owed.c.incident_id == o.incident_id).values(escalated_at=at)
                )
                incident = self.incidents.load(conn, o.incident_id)
                self._bump(conn, now, incident, {})
                self.runner.write_audit(
                    conn,
                    now,
                    SYSTEM,
                    "escalate_owed",
                    "incident",
                    o.incident_id,
                    f"{incident.ref} is owed attendance and has had no unit since "
                    f"{o.unassigned_since.isoformat()}: escalated to supervisors",
                )
        return due

    # --- queries ---------------------------------------------------------------------------

    def units(self) -> list[UnitOut]:
        with read_tx(self.runner.engine) as conn:
            return [unit_out(r) for r in conn.execute(sa.select(units).order_by(units.c.id))]

    def unit(self, unit_id: int) -> UnitOut:
        with read_tx(self.runner.engine) as conn:
            return unit_out(self._unit(conn, unit_id))

    def diverts(self, state: Literal["open", "all"]) -> list[DivertModel]:
        """The DIVERT tag list. ``open``: entries that still need someone: the incident is
        still owed, or the divert has not been reviewed."""
        where: Any = sa.true()
        if state == "open":
            where = sa.or_(diverts.c.released_at.is_(None), diverts.c.reviewed_at.is_(None))
        with read_tx(self.runner.engine) as conn:
            return [divert_out(r) for r in divert_rows(conn, where)]


def _mark_owed(conn: Connection, incident_id: int, now: datetime) -> None:
    """The incident is owed attendance from ``now`` (kept from the first time if already)."""
    held = conn.execute(sa.select(owed.c.incident_id).where(owed.c.incident_id == incident_id))
    if held.first() is None:
        conn.execute(owed.insert().values(incident_id=incident_id, since=now))
