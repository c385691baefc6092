"""Commands and queries of the reference server, pure of HTTP.

Each command runs in one write transaction that (1) takes the log lock, (2) looks up its
``Idempotency-Key`` and replays the stored result if there is one, (3) checks rights-free
preconditions and applies the change, (4) appends one change-log row, one audit row and the
idempotency record. Only successful results are stored for replay: a refused command applied
nothing, so sending it again simply re-checks it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError

from dispatchdesk.domain.grades import Grade, is_downgrade
from dispatchdesk.domain.incident import DivertKind, IncidentStatus, status_change_problem
from dispatchdesk.domain.roles import Role
from dispatchdesk.domain.unit import UnitStatus
from dispatchdesk.protocol.convert import policy_to_wire
from dispatchdesk.protocol.schemas import (
    CallerModel,
    ChangesPage,
    CloseRequest,
    DivertModel,
    IncidentCreate,
    IncidentOut,
    IncidentPatch,
    LocationModel,
    Snapshot,
    UnitOut,
)
from dispatchdesk.protocol.warnings import PersonModel
from dispatchdesk.server import changelog
from dispatchdesk.server.auth import User
from dispatchdesk.server.db import (
    audit,
    diverts,
    idempotency,
    incidents,
    owed,
    read_tx,
    ref_counters,
    units,
    write_tx,
)
from dispatchdesk.server.rationales import Entity, RationaleRefused, RationaleStore
from dispatchdesk.server.reference import Problem, checked_incident, field_errors
from dispatchdesk.server.settings import ServerSettings


class ServiceError(Exception):
    """A refused command or query: an HTTP status and a sentence a person can act on."""

    def __init__(self, status_code: int, detail: Any) -> None:
        super().__init__(str(detail))
        self.status_code = status_code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class CommandResult:
    status_code: int
    body: dict[str, Any]
    #: True when this is the stored result of an earlier request with the same key.
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Idem:
    """The idempotency facts of one request."""

    key: str | None
    method_path: str
    request_hash: str


def request_hash(method_path: str, body: Any) -> str:
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method_path}\n{canon}".encode()).hexdigest()


def make_ref(n: int, local_day: datetime) -> str:
    return f"CAD {n:04d}/{local_day.strftime('%d%b%y').upper()}"


def divert_out(row: Row[Any]) -> DivertModel:
    return DivertModel(
        id=row.id, unit_id=row.unit_id, callsign=row.callsign,
        from_incident_id=row.from_incident_id, from_ref=row.from_ref,
        to_incident_id=row.to_incident_id, to_ref=row.to_ref, by=row.by, at=row.at,
        reason=row.reason, released_at=row.released_at, released_by=row.released_by,
        released_reason=row.released_reason, reviewed_at=row.reviewed_at,
        reviewed_by=row.reviewed_by, review_note=row.review_note, kind=DivertKind(row.kind),
    )


def divert_rows(conn: Connection, where: Any) -> list[Row[Any]]:
    """Diverts with the refs of the incidents they connect; ``where`` may use ``f``/``t``."""
    return list(conn.execute(_divert_select().where(where).order_by(diverts.c.id)).all())


_F = incidents.alias("f")
_T = incidents.alias("t")


def _divert_select() -> sa.Select[Any]:
    return (
        sa.select(diverts, _F.c.ref.label("from_ref"), _T.c.ref.label("to_ref"))
        .join(_F, _F.c.id == diverts.c.from_incident_id)
        .outerjoin(_T, _T.c.id == diverts.c.to_incident_id)  # a withdrawal has no target
    )


def unit_out(row: Row[Any]) -> UnitOut:
    return UnitOut(
        id=row.id, callsign=row.callsign, kind=row.kind, borough=row.borough,
        status=UnitStatus(row.status), incident_id=row.incident_id,
        status_since=row.status_since, lat=row.lat, lon=row.lon, version=row.version,
    )


def incident_out(
    row: Row[Any], divert_list: list[DivertModel] | None = None, owed_row: Row[Any] | None = None
) -> IncidentOut:
    return IncidentOut(
        owed=owed_row is not None, diverts=divert_list or [],
        escalated_at=owed_row.escalated_at if owed_row is not None else None,
        id=row.id, ref=row.ref, version=row.version, grade=Grade(row.grade),
        status=IncidentStatus(row.status), created_at=row.created_at, deadline=row.deadline,
        type=row.type, summary=row.summary,
        location=LocationModel.model_validate(row.location),
        caller=CallerModel.model_validate(row.caller),
        persons=[PersonModel.model_validate(p) for p in row.persons or []],
        appointment_at=row.appointment_at, attended_at=row.attended_at,
        closed_at=row.closed_at, updated_at=row.updated_at,
        downgrade_reason=row.downgrade_reason, rationale=row.rationale,
        original_grade=Grade(row.original_grade),
    )


def _wire(model: IncidentOut) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump(mode="json")
    return data


class Service:
    """The server's rules over one database."""

    def __init__(
        self, engine: Engine, settings: ServerSettings, on_commit: Callable[[], None]
    ) -> None:
        self.engine = engine
        self.settings = settings
        self._on_commit = on_commit
        #: Every accepted rationale and reason of the lookback, and the check against them.
        self.rationales = RationaleStore(engine, settings.rationale_lookback, self._tz())

    # --- helpers ---------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.settings.clock.now().astimezone(UTC)

    def _tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.policy.timezone)

    def local_today(self, now: datetime) -> date:
        """The control room's date: no date of birth may be later."""
        return now.astimezone(self._tz()).date()

    @staticmethod
    def refuse_if(problems: list[Problem]) -> None:
        """422 naming every field of ``problems`` (FastAPI's shape), if there are any."""
        if problems:
            raise ServiceError(422, field_errors(problems))

    def start_of_local_day(self, now: datetime) -> datetime:
        local = now.astimezone(self._tz())
        return datetime.combine(local.date(), time(0), tzinfo=self._tz()).astimezone(UTC)

    def _run(
        self,
        user: User,
        idem: Idem,
        apply: Callable[[Connection, datetime], tuple[int, dict[str, Any]]],
        action: str,
        entity_id: int | None,
        entity: str = "incident",
    ) -> CommandResult:
        """Run one command with idempotency; retried once if a concurrent duplicate won.

        A command refused by a rule (409, 412, 422) is audited in a transaction of its own,
        so a supervisor can see refused closes and stale edits too.
        """
        for attempt in range(2):
            try:
                result = self._run_once(user, idem, apply)
            except ServiceError as err:
                if err.status_code in (409, 412, 422):
                    self._audit_refusal(user, action, entity, entity_id, err)
                raise
            except IntegrityError:
                if attempt == 1 or idem.key is None:
                    raise
                continue
            if not result.replayed:
                self._on_commit()
            return result
        raise AssertionError("unreachable")

    def _audit_refusal(
        self, user: User, action: str, entity: str, entity_id: int | None, err: ServiceError
    ) -> None:
        detail = err.detail if isinstance(err.detail, str) else json.dumps(err.detail)
        with write_tx(self.engine) as conn:
            conn.execute(
                audit.insert().values(
                    at=self.now(), username=user.username, action=f"refused_{action}",
                    entity=entity, entity_id=entity_id,
                    detail=f"{err.status_code}: {detail}"[:4000],
                )
            )

    def _run_once(
        self,
        user: User,
        idem: Idem,
        apply: Callable[[Connection, datetime], tuple[int, dict[str, Any]]],
    ) -> CommandResult:
        with write_tx(self.engine) as conn:
            changelog.lock_head(conn)
            if idem.key is not None:
                stored = conn.execute(
                    sa.select(idempotency).where(idempotency.c.key == idem.key)
                ).first()
                if stored is not None:
                    if (
                        stored.username != user.username
                        or stored.method_path != idem.method_path
                        or stored.request_hash != idem.request_hash
                    ):
                        raise ServiceError(
                            422,
                            f"Idempotency-Key {idem.key!r} was already used for a different "
                            "request. Send a new key for a new command.",
                        )
                    return CommandResult(
                        stored.status_code, json.loads(stored.response_body), replayed=True
                    )
            now = self.now()
            status_code, body = apply(conn, now)
            if idem.key is not None:
                conn.execute(
                    idempotency.delete().where(
                        idempotency.c.created_at < now - self.settings.idempotency_retention
                    )
                )
                conn.execute(
                    idempotency.insert().values(
                        key=idem.key, username=user.username, method_path=idem.method_path,
                        request_hash=idem.request_hash, status_code=status_code,
                        response_body=json.dumps(body, separators=(",", ":")), created_at=now,
                    )
                )
            return CommandResult(status_code, body)

    def _record(
        self,
        conn: Connection,
        now: datetime,
        user: User,
        action: str,
        incident: IncidentOut,
        detail: str,
    ) -> dict[str, Any]:
        data = _wire(incident)
        changelog.append(
            conn, entity="incident", entity_id=incident.id, data=data, now=now,
            retention=self.settings.change_retention,
        )
        conn.execute(
            audit.insert().values(
                at=now, username=user.username, action=action, entity="incident",
                entity_id=incident.id, detail=detail,
            )
        )
        return data

    def emit(self, conn: Connection, now: datetime, entity: str, entity_id: int,
             data: dict[str, Any]) -> None:
        """One change-log row, in the caller's transaction."""
        changelog.append(
            conn, entity=entity, entity_id=entity_id, data=data, now=now,
            retention=self.settings.change_retention,
        )

    def write_audit(self, conn: Connection, now: datetime, username: str, action: str,
                    entity: str, entity_id: int | None, detail: str) -> None:
        conn.execute(
            audit.insert().values(
                at=now, username=username, action=action, entity=entity, entity_id=entity_id,
                detail=detail[:4000],
            )
        )

    def incident(self, conn: Connection, incident_id: int) -> IncidentOut:
        """The incident as the wire shows it: with its DIVERT tags and whether it is owed."""
        row = self._load(conn, incident_id)
        tags = [divert_out(r) for r in divert_rows(conn, diverts.c.from_incident_id == row.id)]
        owed_row = conn.execute(sa.select(owed).where(owed.c.incident_id == row.id)).first()
        return incident_out(row, tags, owed_row)

    def emit_incident(self, conn: Connection, now: datetime, incident_id: int) -> IncidentOut:
        out = self.incident(conn, incident_id)
        self.emit(conn, now, "incident", out.id, _wire(out))
        return out

    def emit_unit(self, conn: Connection, now: datetime, unit_id: int) -> UnitOut:
        row = conn.execute(sa.select(units).where(units.c.id == unit_id)).one()
        out = unit_out(row)
        self.emit(conn, now, "unit", out.id, out.model_dump(mode="json"))
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

    def check_rationale(
        self, conn: Connection, now: datetime, text: str, *, kind: str, what: str,
        entity: Entity, by: str | None = None,
    ) -> None:
        """Refuse (409) a rationale or reason that is too short, a stock phrase, or near the
        same as any accepted in the lookback (all kinds); else record it in ``conn``'s
        transaction. ``kind`` is one of :data:`~dispatchdesk.server.rationales.KINDS`."""
        try:
            self.rationales.check_and_record(
                conn, now, text, kind=kind, what=what, entity=entity, by=by
            )
        except RationaleRefused as refused:
            raise ServiceError(409, refused.message) from None

    def _load(self, conn: Connection, incident_id: int) -> Row[Any]:
        row = conn.execute(sa.select(incidents).where(incidents.c.id == incident_id)).first()
        if row is None:
            raise ServiceError(404, f"There is no incident {incident_id}.")
        return row

    def _next_ref(self, conn: Connection, now: datetime) -> str:
        local = now.astimezone(self._tz())
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
        policy = self.settings.policy
        sent = body

        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            # checked here, after the replay lookup: a stored result replays even if the
            # lists have changed since
            body, problems = checked_incident(
                sent, self.settings.reference_lists, self.local_today(now))
            self.refuse_if(problems)
            appointment = body.appointment_at.astimezone(UTC) if body.appointment_at else None
            ref = self._next_ref(conn, now)
            new_id = conn.execute(
                incidents.insert()
                .values(
                    ref=ref, version=1, grade=body.grade.value,
                    original_grade=body.grade.value, status=IncidentStatus.OPEN.value,
                    created_at=now, deadline=policy.deadline(body.grade, now, appointment),
                    type=body.type, summary=body.summary,
                    location=body.location.model_dump(mode="json"),
                    caller=body.caller.model_dump(mode="json"),
                    persons=[p.model_dump(mode="json") for p in body.persons],
                    appointment_at=appointment, updated_at=now,
                )
                .returning(incidents.c.id)
            ).scalar_one()
            out = self.incident(conn, int(new_id))
            data = self._record(
                conn, now, user, "create_incident", out,
                f"Created {out.ref}, grade {out.grade.value}, {out.type}",
            )
            return 201, data

        return self._run(user, idem, apply, "create_incident", None)

    def patch_incident(
        self, user: User, incident_id: int, body: IncidentPatch, if_match: int, idem: Idem
    ) -> CommandResult:
        policy = self.settings.policy
        fields = body.model_fields_set - {"reason"}
        if not fields:
            raise ServiceError(
                422, "Nothing to change: send at least one of grade, status, summary, "
                "appointment_at."
            )

        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            row = self._load(conn, incident_id)
            if row.version != if_match:
                raise ServiceError(
                    412,
                    f"Incident {row.ref} has changed since you loaded it: it is now at version "
                    f"{row.version}, not {if_match}. Review the current incident and try again.",
                )
            status = IncidentStatus(row.status)
            if status is IncidentStatus.CLOSED:
                raise ServiceError(409, f"Incident {row.ref} is closed and cannot be changed.")
            values: dict[str, Any] = {}
            notes: list[str] = []
            grade = Grade(row.grade)
            appointment = row.appointment_at
            if "appointment_at" in body.model_fields_set:
                appointment = (
                    body.appointment_at.astimezone(UTC) if body.appointment_at else None
                )
                values["appointment_at"] = appointment
                notes.append(f"appointment {appointment.isoformat() if appointment else 'none'}")
            if body.grade is not None and body.grade is not grade:
                if is_downgrade(grade, body.grade):
                    reason = (body.reason or "").strip()
                    if not reason:
                        raise ServiceError(
                            422,
                            [{
                                "loc": ["body", "reason"],
                                "msg": f"A downgrade from {grade.value} to {body.grade.value} "
                                "needs a reason: say why this incident can wait longer.",
                                "type": "value_error",
                            }],
                        )
                    self.check_rationale(conn, now, reason, kind="downgrade",
                                         what="downgrade reason", entity=Entity(row.id, row.ref),
                                         by=user.username)
                    values["downgrade_reason"] = reason
                    notes.append(f"downgraded {grade.value}→{body.grade.value}: {reason}")
                else:
                    notes.append(f"upgraded {grade.value}→{body.grade.value}")
                grade = body.grade
                values["grade"] = grade.value
            if "grade" in values or "appointment_at" in values:
                values["deadline"] = policy.deadline(grade, row.created_at, appointment)
            if body.status is not None and body.status is not status:
                # The status follows the units (only an arrival sets AT_SCENE and
                # attended_at): an edit may only set what the units on it already say.
                on_it = conn.execute(
                    sa.select(units.c.callsign, units.c.status)
                    .where(units.c.incident_id == incident_id).order_by(units.c.id)
                ).all()
                problem = status_change_problem(
                    row.ref, status, body.status,
                    [(u.callsign, UnitStatus(u.status)) for u in on_it],
                    attended=row.attended_at is not None,
                )
                if problem is not None:
                    raise ServiceError(409, problem)
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

        return self._run(user, idem, apply, "update_incident", incident_id)

    def close_incident(
        self, user: User, incident_id: int, body: CloseRequest, if_match: int | None, idem: Idem
    ) -> CommandResult:
        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            row = self._load(conn, incident_id)
            if if_match is not None and row.version != if_match:
                raise ServiceError(
                    412,
                    f"Incident {row.ref} has changed since you loaded it: it is now at version "
                    f"{row.version}, not {if_match}. Review the current incident and try again.",
                )
            if row.status == IncidentStatus.CLOSED.value:
                raise ServiceError(409, f"Incident {row.ref} is already closed.")
            is_owed = conn.execute(
                sa.select(owed.c.incident_id).where(owed.c.incident_id == incident_id)
            ).first() is not None
            if is_owed and user.role is not Role.SUPERVISOR:
                raise ServiceError(
                    403, f"Incident {row.ref} is owed attendance: a unit was diverted or "
                    "withdrawn before arriving and no other unit has arrived. Send a unit, or "
                    "ask a supervisor to close it with a rationale."
                )
            self.check_rationale(
                conn, now, body.rationale, kind="owed_close" if is_owed else "close",
                what="closing rationale", entity=Entity(row.id, row.ref), by=user.username,
            )
            conn.execute(
                incidents.update()
                .where(incidents.c.id == incident_id)
                .values(
                    status=IncidentStatus.CLOSED.value, closed_at=now, rationale=body.rationale,
                    version=row.version + 1, updated_at=now,
                )
            )
            if is_owed:
                self.release_owed(
                    conn, now, incident_id, user.username,
                    f"closed by supervisor {user.username}: {body.rationale}",
                )
            on_it = conn.execute(
                sa.select(units.c.id).where(units.c.incident_id == incident_id)
                .order_by(units.c.id)
            ).scalars().all()
            for unit_id in on_it:  # the close stands its units down
                conn.execute(
                    units.update().where(units.c.id == unit_id).values(
                        status=UnitStatus.AVAILABLE.value, incident_id=None, status_since=now,
                        version=units.c.version + 1,
                    )
                )
                self.emit_unit(conn, now, unit_id)
            out = self.incident(conn, incident_id)
            detail = f"{out.ref} closed: {body.rationale}"
            if is_owed:
                detail += " (owed incident closed by supervisor)"
            return 200, self._record(conn, now, user, "close_incident", out, detail)

        return self._run(user, idem, apply, "close_incident", incident_id)

    # --- queries ---------------------------------------------------------------------------

    def get_incident(self, incident_id: int) -> IncidentOut:
        with read_tx(self.engine) as conn:
            return self.incident(conn, incident_id)

    def snapshot(self) -> Snapshot:
        now = self.now()
        since = self.start_of_local_day(now)
        with read_tx(self.engine) as conn:
            head = changelog.read_head(conn)
            rows = conn.execute(
                sa.select(incidents)
                .where(
                    sa.or_(
                        incidents.c.status != IncidentStatus.CLOSED.value,
                        incidents.c.closed_at >= since,
                    )
                )
                .order_by(incidents.c.id)
            ).all()
            tags: dict[int, list[DivertModel]] = {}
            for r in divert_rows(
                conn, sa.or_(_F.c.status != IncidentStatus.CLOSED.value, _F.c.closed_at >= since)
            ):
                tags.setdefault(r.from_incident_id, []).append(divert_out(r))
            owed_rows = {r.incident_id: r for r in conn.execute(sa.select(owed)).all()}
            fleet = conn.execute(sa.select(units).order_by(units.c.id)).all()
        return Snapshot(
            cursor=head.seq, server_time=now,
            policy=policy_to_wire(
                replace(self.settings.policy, reference=self.settings.reference_lists)),
            incidents=[incident_out(r, tags.get(r.id), owed_rows.get(r.id)) for r in rows],
            units=[unit_out(u) for u in fleet],
        )

    def changes(self, since: int, limit: int) -> ChangesPage:
        with read_tx(self.engine) as conn:
            try:
                page, head, more = changelog.read_changes(conn, since, limit, now=self.now())
            except changelog.LogGone as gone:
                raise ServiceError(410, str(gone)) from gone
        if since > head.seq:
            raise ServiceError(
                410,
                f"Cursor {since} is ahead of this server's change log, which ends at "
                f"{head.seq}. Take a new snapshot from /snapshot.",
            )
        cursor = page[-1].seq if page else since
        return ChangesPage(changes=page, cursor=cursor, more=more)

    def head(self) -> changelog.Head:
        with read_tx(self.engine) as conn:
            return changelog.read_head(conn)

    def audit_rows(self, limit: int) -> list[dict[str, Any]]:
        with read_tx(self.engine) as conn:
            rows = conn.execute(
                sa.select(audit).order_by(audit.c.id.desc()).limit(limit)
            ).all()
        return [dict(r._mapping) for r in rows]

