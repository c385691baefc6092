"""Special schemes, protective orders and warnings on the reference server.

Tables live on :data:`dispatchdesk.server.db.metadata`. Every write runs through
``Service._run`` (idempotency, change log and audit in one transaction). A scheme is served
(snapshot, changes, events, warnings, reads) only while ``now < expires_at`` by the server's
clock; from its expiry the sweep (:meth:`WarningsDesk.sweep`, run by a thread while the app
runs and before each snapshot, change page and warnings query) appends a ``delete`` change and
rewrites the scheme's earlier log rows to that delete, so the log keeps no trace of its text.
The sweep also escalates a first-stage review with no decision after 14 days.
"""

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Connection, Row

from dispatchdesk.domain.roles import Right, Role
from dispatchdesk.domain.warnings import (
    OrderType,
    Person,
    Place,
    SchemeCategory,
    WarningPolicy,
    scheme_expiry_problem,
    scheme_review_state,
)
from dispatchdesk.protocol import API_PREFIX, IDEMPOTENCY_HEADER
from dispatchdesk.protocol.schemas import Snapshot
from dispatchdesk.protocol.warnings import (
    OrderCreate,
    OrderOut,
    OrderPatch,
    PersonModel,
    PlaceModel,
    SchemeCreate,
    SchemeEnd,
    SchemeExtend,
    SchemeOut,
    SchemeReviewRequest,
    SchemeVictimInformed,
    WarningAudit,
    WarningPolicyModel,
    WarningsPage,
    find_warnings_for_people,
    person,
)
from dispatchdesk.server import changelog
from dispatchdesk.server.auth import User
from dispatchdesk.server.db import (
    UTCDateTime,
    audit,
    changes,
    idempotency,
    incidents,
    metadata,
    read_tx,
    write_tx,
)
from dispatchdesk.server.http_common import command_response, idem_for, parse_if_match
from dispatchdesk.server.rationales import Entity
from dispatchdesk.server.service import CommandResult, Idem, Service, ServiceError

log = logging.getLogger(__name__)

#: The user name audit rows of the server's own actions (expiry, escalation) carry.
SYSTEM_USER = User("system", Role.SUPERVISOR)

schemes = sa.Table(
    "schemes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("location", sa.JSON, nullable=False),
    sa.Column("uprn", sa.String(12), index=True),
    sa.Column("parent_uprn", sa.String(12), index=True),
    sa.Column("usrn", sa.String(12), index=True),
    sa.Column("category", sa.String(30), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("officer_in_case", sa.String(200), nullable=False),
    sa.Column("starts_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False, index=True),
    sa.Column("extended_at", UTCDateTime()),
    sa.Column("review_requested_at", UTCDateTime()),
    sa.Column("escalated_at", UTCDateTime()),
    sa.Column("victim_informed_at", UTCDateTime()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    #: Set when the scheme expired or was ended; from then on it is never served.
    sa.Column("removed_at", UTCDateTime(), index=True),
    sa.Column("removed_reason", sa.Text),
)

protective_orders = sa.Table(
    "protective_orders",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("order_type", sa.String(30), nullable=False),
    sa.Column("subject", sa.JSON, nullable=False),
    sa.Column("protected_persons", sa.JSON, nullable=False),
    sa.Column("locations", sa.JSON, nullable=False),
    sa.Column("conditions", sa.Text, nullable=False),
    sa.Column("issued_on", sa.Date, nullable=False),
    sa.Column("expires_on", sa.Date),
    sa.Column("source_ref", sa.String(100), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

#: Seconds between sweeps while the app runs (a scheme leaves within this of its expiry
#: minute at worst; every snapshot, change page and warnings query sweeps first as well).
SWEEP_SECONDS = 15.0


# --- rows to wire --------------------------------------------------------------------------

def scheme_out(row: Row[Any], now: datetime, policy: WarningPolicy) -> SchemeOut:
    return SchemeOut(
        id=row.id, version=row.version, location=PlaceModel.model_validate(row.location),
        category=SchemeCategory(row.category), summary=row.summary,
        officer_in_case=row.officer_in_case, starts_at=row.starts_at, expires_at=row.expires_at,
        extended_at=row.extended_at,
        review_state=scheme_review_state(row.expires_at, row.review_requested_at, now, policy),
        review_requested_at=row.review_requested_at, escalated_at=row.escalated_at,
        victim_informed_at=row.victim_informed_at,
    )


def order_out(row: Row[Any]) -> OrderOut:
    return OrderOut(
        id=row.id, version=row.version, order_type=OrderType(row.order_type),
        subject=PersonModel.model_validate(row.subject),
        protected_persons=[PersonModel.model_validate(p) for p in row.protected_persons],
        locations=[PlaceModel.model_validate(p) for p in row.locations],
        conditions=row.conditions, issued_on=row.issued_on, expires_on=row.expires_on,
        source_ref=row.source_ref,
    )


def _incident_people(caller: dict[str, Any] | None, persons: list[Any] | None) -> list[Person]:
    """The caller (when named) and the people named on an incident, as stored."""
    found = [PersonModel.model_validate(p) for p in persons or []]
    if caller and caller.get("name"):
        found.insert(0, PersonModel(name=caller["name"], dob=caller.get("dob")))
    return [person(p) for p in found]


def _live(now: datetime) -> Any:
    return sa.and_(schemes.c.removed_at.is_(None), schemes.c.expires_at > now)


# --- writes shared by the API and the bulk import --------------------------------------------

def _audit(conn: Connection, now: datetime, username: str, action: str, entity: str,
           entity_id: int | None, detail: str) -> None:
    conn.execute(audit.insert().values(
        at=now, username=username, action=action, entity=entity, entity_id=entity_id,
        detail=detail[:4000],
    ))


def check_new_scheme(body: SchemeCreate, now: datetime, policy: WarningPolicy) -> (
    list[tuple[str, str]]
):
    """Rule problems of a new scheme as (field, sentence); empty when it may be created."""
    problems: list[tuple[str, str]] = []
    starts = body.starts_at or now
    if starts > now + timedelta(minutes=1):
        problems.append(("starts_at", "A scheme starts now or in the past, not in the future."))
    if body.expires_at <= now:
        problems.append(("expires_at", "This scheme has already expired: it cannot be added."))
    problem = scheme_expiry_problem(starts, body.expires_at, policy)
    if problem is not None:
        problems.append(("expires_at", problem))
    if body.victim_informed_at is not None and body.victim_informed_at > now + timedelta(
        minutes=1
    ):
        problems.append(("victim_informed_at", "The victim cannot have been told in the future."))
    return problems


def insert_scheme(conn: Connection, body: SchemeCreate, now: datetime, username: str,
                  retention: int, policy: WarningPolicy, how: str = "") -> SchemeOut:
    """Insert a checked scheme, with its change and audit rows, in the caller's transaction
    (which holds the log lock)."""
    loc = body.location
    new_id = conn.execute(schemes.insert().values(
        version=1, location=loc.model_dump(mode="json"), uprn=loc.uprn,
        parent_uprn=loc.parent_uprn, usrn=loc.usrn, category=body.category.value,
        summary=body.summary, officer_in_case=body.officer_in_case,
        starts_at=body.starts_at or now, expires_at=body.expires_at,
        victim_informed_at=body.victim_informed_at, created_at=now, updated_at=now,
    ).returning(schemes.c.id)).scalar_one()
    out = _scheme_changed(conn, int(new_id), now, retention, policy)
    _audit(conn, now, username, "create_scheme", "scheme", out.id,
           f"{out.category.value} at {loc.address}, expires {out.expires_at.isoformat()}{how}")
    return out


def _scheme_changed(conn: Connection, scheme_id: int, now: datetime, retention: int,
                    policy: WarningPolicy) -> SchemeOut:
    row = conn.execute(sa.select(schemes).where(schemes.c.id == scheme_id)).one()
    out = scheme_out(row, now, policy)
    changelog.append(conn, entity="scheme", entity_id=out.id, data=out.model_dump(mode="json"),
                     now=now, retention=retention)
    return out


def remove_scheme(conn: Connection, scheme_id: int, now: datetime, retention: int,
                  reason: str) -> None:
    """Stop serving a scheme: mark it removed, rewrite its earlier log rows to a delete (so the
    log keeps none of its text) and append a delete change for clients to act on."""
    gone = json.dumps({"id": scheme_id}, separators=(",", ":"))
    conn.execute(schemes.update().where(schemes.c.id == scheme_id).values(
        removed_at=now, removed_reason=reason, updated_at=now,
    ))
    conn.execute(changes.update().where(
        changes.c.entity == "scheme", changes.c.entity_id == scheme_id
    ).values(op="delete", data=gone))
    changelog.append(conn, entity="scheme", entity_id=scheme_id, data={"id": scheme_id},
                     now=now, retention=retention, op="delete")
    # a command's stored result would otherwise replay the scheme to whoever resends it
    gone_body = json.dumps({"detail": f"Special scheme {scheme_id} has expired or been ended "
                            "and is no longer shown anywhere."})
    stored = conn.execute(sa.select(idempotency.c.key, idempotency.c.response_body).where(
        idempotency.c.method_path.like(f"POST {API_PREFIX}/schemes%")
    )).all()
    for key, body in stored:
        try:
            sid = json.loads(body).get("id")
        except (ValueError, AttributeError):
            continue
        if sid == scheme_id:
            conn.execute(idempotency.update().where(idempotency.c.key == key).values(
                status_code=410, response_body=gone_body,
            ))


def insert_order(conn: Connection, body: OrderCreate, now: datetime, username: str,
                 retention: int, how: str = "") -> OrderOut:
    new_id = conn.execute(protective_orders.insert().values(
        version=1, order_type=body.order_type.value,
        subject=body.subject.model_dump(mode="json"),
        protected_persons=[p.model_dump(mode="json") for p in body.protected_persons],
        locations=[p.model_dump(mode="json") for p in body.locations],
        conditions=body.conditions, issued_on=body.issued_on, expires_on=body.expires_on,
        source_ref=body.source_ref, created_at=now, updated_at=now,
    ).returning(protective_orders.c.id)).scalar_one()
    out = _order_changed(conn, int(new_id), now, retention)
    _audit(conn, now, username, "create_order", "order", out.id,
           f"{out.order_type.value} {out.source_ref}, subject {out.subject.name}, expires "
           f"{out.expires_on.isoformat() if out.expires_on else 'until further order'}{how}")
    return out


def _order_changed(conn: Connection, order_id: int, now: datetime, retention: int) -> OrderOut:
    row = conn.execute(
        sa.select(protective_orders).where(protective_orders.c.id == order_id)
    ).one()
    out = order_out(row)
    changelog.append(conn, entity="order", entity_id=out.id, data=out.model_dump(mode="json"),
                     now=now, retention=retention)
    return out


def order_problems(body: OrderCreate) -> list[tuple[str, str]]:
    if body.expires_on is not None and body.expires_on < body.issued_on:
        return [("expires_on", "An order cannot expire before it was issued.")]
    return []


# --- the desk ------------------------------------------------------------------------------

@dataclass
class _Sweeper:
    thread: threading.Thread
    stop_event: threading.Event

    def stop(self) -> None:
        self.stop_event.set()


class WarningsDesk:
    """Schemes, orders and warnings over one :class:`Service`."""

    def __init__(self, service: Service, policy: WarningPolicy | None = None) -> None:
        self.service = service
        self.policy = policy or service.settings.warning_policy
        self._sweep_lock = threading.Lock()

    @property
    def _retention(self) -> int:
        return self.service.settings.change_retention

    # --- sweep -----------------------------------------------------------------------------

    def sweep(self) -> int:
        """Remove expired schemes and escalate stale first-stage reviews; how many changed."""
        now = self.service.now()
        escalate_before = now - self.policy.escalate_after
        due_expired = sa.and_(schemes.c.removed_at.is_(None), schemes.c.expires_at <= now)
        due_escalate = sa.and_(
            schemes.c.removed_at.is_(None), schemes.c.expires_at > now,
            schemes.c.escalated_at.is_(None), schemes.c.review_requested_at <= escalate_before,
        )
        with read_tx(self.service.engine) as conn:
            any_due = conn.execute(
                sa.select(schemes.c.id).where(sa.or_(due_expired, due_escalate)).limit(1)
            ).first()
        if any_due is None:
            return 0
        with self._sweep_lock, write_tx(self.service.engine) as conn:
            changelog.lock_head(conn)
            expired = conn.execute(sa.select(schemes.c.id).where(due_expired)).scalars().all()
            for sid in expired:
                remove_scheme(conn, int(sid), now, self._retention, "expired")
                _audit(conn, now, SYSTEM_USER.username, "expire_scheme", "scheme", int(sid),
                       "Expired: no longer served anywhere")
            stale = conn.execute(sa.select(schemes).where(due_escalate)).all()
            for row in stale:
                conn.execute(schemes.update().where(schemes.c.id == row.id).values(
                    escalated_at=now, version=row.version + 1, updated_at=now,
                ))
                _scheme_changed(conn, row.id, now, self._retention, self.policy)
                _audit(conn, now, SYSTEM_USER.username, "escalate_scheme_review", "scheme",
                       row.id, "No decision 14 days after the first-stage review request: "
                       "escalated to second stage")
        self.service._on_commit()
        return len(expired) + len(stale)

    def start_sweeper(self, seconds: float | None = None) -> _Sweeper:
        """A daemon thread that sweeps every ``seconds`` and wakes the streams when the log
        head moved (a bulk import from another process, for example)."""
        stop = threading.Event()
        if seconds is None:
            seconds = min(SWEEP_SECONDS, self.service.settings.sweep_seconds)

        def run() -> None:
            last: int | None = None
            while not stop.wait(seconds):
                try:
                    self.sweep()
                    seq = self.service.head().seq
                    if last is not None and seq != last:
                        self.service._on_commit()
                    last = seq
                except Exception:  # keep sweeping after a database hiccup
                    log.warning("scheme sweep failed", exc_info=True)

        thread = threading.Thread(target=run, name="dispatchdesk-scheme-sweep", daemon=True)
        thread.start()
        return _Sweeper(thread, stop)

    # --- reads -----------------------------------------------------------------------------

    def extend_snapshot(self, snap: Snapshot) -> Snapshot:
        """The snapshot with live schemes and all orders, read after its cursor (so every
        change up to the cursor is in them; later ones the client replays, idempotently)."""
        now = snap.server_time
        with read_tx(self.service.engine) as conn:
            s_rows = conn.execute(
                sa.select(schemes).where(_live(now)).order_by(schemes.c.id)
            ).all()
            o_rows = conn.execute(
                sa.select(protective_orders).order_by(protective_orders.c.id)
            ).all()
        policy = snap.policy.model_copy(
            update={"warnings": WarningPolicyModel.from_policy(self.policy)}
        )
        return snap.model_copy(update={
            "policy": policy,
            "schemes": [scheme_out(r, now, self.policy) for r in s_rows],
            "orders": [order_out(r) for r in o_rows],
        })

    def get_scheme(self, scheme_id: int) -> SchemeOut:
        now = self.service.now()
        with read_tx(self.service.engine) as conn:
            row = conn.execute(
                sa.select(schemes).where(schemes.c.id == scheme_id, _live(now))
            ).first()
        if row is None:
            raise ServiceError(404, f"There is no live special scheme {scheme_id}.")
        return scheme_out(row, now, self.policy)

    def get_order(self, order_id: int) -> OrderOut:
        with read_tx(self.service.engine) as conn:
            row = conn.execute(
                sa.select(protective_orders).where(protective_orders.c.id == order_id)
            ).first()
        if row is None:
            raise ServiceError(404, f"There is no protective order {order_id}.")
        return order_out(row)

    def warnings(self, q: Place | None, who: Person | None, incident_id: int | None) -> (
        WarningsPage
    ):
        now = self.service.now()
        people: list[Person] = [who] if who is not None else []
        with read_tx(self.service.engine) as conn:
            if incident_id is not None:
                inc = conn.execute(
                    sa.select(incidents.c.location, incidents.c.caller, incidents.c.persons)
                    .where(incidents.c.id == incident_id)
                ).first()
                if inc is None:
                    raise ServiceError(404, f"There is no incident {incident_id}.")
                loc = inc.location
                if q is None:
                    q = Place(uprn=loc.get("uprn"), parent_uprn=loc.get("parent_uprn"),
                              usrn=loc.get("usrn"), address=loc.get("address"),
                              postcode=loc.get("postcode"))
                if who is None:
                    people = _incident_people(inc.caller, inc.persons)
            s_rows = conn.execute(sa.select(schemes).where(_live(now))).all() if q else []
            o_rows = conn.execute(sa.select(protective_orders)).all()
        found = find_warnings_for_people(
            [scheme_out(r, now, self.policy) for r in s_rows], [order_out(r) for r in o_rows],
            q, people, now, self.policy,
        )
        return WarningsPage(server_time=now, warnings=found)

    # --- commands --------------------------------------------------------------------------

    def create_scheme(self, user: User, body: SchemeCreate, idem: Idem) -> CommandResult:
        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            problems = check_new_scheme(body, now, self.policy)
            if problems:
                raise ServiceError(422, " ".join(p for _f, p in problems))
            out = insert_scheme(conn, body, now, user.username, self._retention, self.policy)
            return 201, out.model_dump(mode="json")

        self.sweep()  # so a resent create of a scheme that has just expired finds it swept
        return self.service._run(user, idem, apply, "create_scheme", None, "scheme")

    def _scheme_command(
        self, user: User, scheme_id: int, idem: Idem, action: str, if_match: int | None,
        change: Callable[[Connection, Row[Any], datetime], str],
    ) -> CommandResult:
        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            row = conn.execute(
                sa.select(schemes).where(schemes.c.id == scheme_id, _live(now))
            ).first()
            if row is None:
                raise ServiceError(
                    404, f"There is no live special scheme {scheme_id}: it may have expired "
                    "or been ended."
                )
            if if_match is not None and row.version != if_match:
                raise ServiceError(
                    412, f"Scheme {scheme_id} has changed since you loaded it: it is now at "
                    f"version {row.version}, not {if_match}. Review it and try again."
                )
            detail = change(conn, row, now)
            if action == "end_scheme":
                _audit(conn, now, user.username, action, "scheme", scheme_id, detail)
                return 200, {"id": scheme_id, "ended_at": now.isoformat()}
            conn.execute(schemes.update().where(schemes.c.id == scheme_id).values(
                version=row.version + 1, updated_at=now,
            ))
            out = _scheme_changed(conn, scheme_id, now, self._retention, self.policy)
            _audit(conn, now, user.username, action, "scheme", scheme_id,
                   f"v{out.version}: {detail}")
            return 200, out.model_dump(mode="json")

        self.sweep()
        return self.service._run(user, idem, apply, action, scheme_id, "scheme")

    def extend_scheme(self, user: User, scheme_id: int, body: SchemeExtend, idem: Idem,
                      if_match: int | None) -> CommandResult:
        def change(conn: Connection, row: Row[Any], now: datetime) -> str:
            problem = scheme_expiry_problem(now, body.expires_at, self.policy,
                                            what="extension (now)")
            if problem is not None:
                raise ServiceError(422, problem)
            conn.execute(schemes.update().where(schemes.c.id == row.id).values(
                expires_at=body.expires_at, extended_at=now, review_requested_at=None,
                escalated_at=None,
            ))
            return (f"extended to {body.expires_at.isoformat()}"
                    + (f": {body.note}" if body.note else ""))

        return self._scheme_command(user, scheme_id, idem, "extend_scheme", if_match, change)

    def end_scheme(self, user: User, scheme_id: int, body: SchemeEnd, idem: Idem,
                   if_match: int | None) -> CommandResult:
        def change(conn: Connection, row: Row[Any], now: datetime) -> str:
            self.service.check_rationale(conn, now, body.reason, kind="scheme_end",
                                         what="reason for ending the scheme",
                                         entity=Entity(scheme_id=row.id), by=user.username)
            remove_scheme(conn, row.id, now, self._retention, f"ended: {body.reason}")
            return f"ended: {body.reason}"

        return self._scheme_command(user, scheme_id, idem, "end_scheme", if_match, change)

    def request_review(self, user: User, scheme_id: int, body: SchemeReviewRequest,
                       idem: Idem, if_match: int | None) -> CommandResult:
        def change(conn: Connection, row: Row[Any], now: datetime) -> str:
            if row.review_requested_at is not None:
                raise ServiceError(
                    409, f"A review of scheme {scheme_id} was already requested at "
                    f"{row.review_requested_at.isoformat()}: decide it (extend or end)."
                )
            conn.execute(schemes.update().where(schemes.c.id == row.id).values(
                review_requested_at=now, escalated_at=None,
            ))
            return "first-stage review requested" + (f": {body.note}" if body.note else "")

        return self._scheme_command(user, scheme_id, idem, "request_scheme_review", if_match,
                                    change)

    def victim_informed(self, user: User, scheme_id: int, body: SchemeVictimInformed,
                        idem: Idem, if_match: int | None) -> CommandResult:
        def change(conn: Connection, row: Row[Any], now: datetime) -> str:
            at = body.at or now
            if at > now + timedelta(minutes=1):
                raise ServiceError(422, "The victim cannot have been told in the future.")
            conn.execute(schemes.update().where(schemes.c.id == row.id).values(
                victim_informed_at=at,
            ))
            return f"victim informed at {at.isoformat()}" + (
                f": {body.note}" if body.note else "")

        return self._scheme_command(user, scheme_id, idem, "scheme_victim_informed", if_match,
                                    change)

    def create_order(self, user: User, body: OrderCreate, idem: Idem) -> CommandResult:
        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            problems = order_problems(body)
            if problems:
                raise ServiceError(422, " ".join(p for _f, p in problems))
            self._check_source_ref(conn, body.source_ref, None)
            out = insert_order(conn, body, now, user.username, self._retention)
            return 201, out.model_dump(mode="json")

        return self.service._run(user, idem, apply, "create_order", None, "order")

    @staticmethod
    def _check_source_ref(conn: Connection, ref: str, own_id: int | None) -> None:
        other = conn.execute(sa.select(protective_orders.c.id).where(
            protective_orders.c.source_ref == ref
        )).scalar()
        if other is not None and other != own_id:
            raise ServiceError(
                409, f"Order {other} already has the source reference {ref!r}: update that "
                "order instead of adding it again."
            )

    def patch_order(self, user: User, order_id: int, body: OrderPatch, if_match: int,
                    idem: Idem) -> CommandResult:
        fields = body.model_fields_set
        if not fields:
            raise ServiceError(422, "Nothing to change: send at least one field of the order.")

        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            row = conn.execute(
                sa.select(protective_orders).where(protective_orders.c.id == order_id)
            ).first()
            if row is None:
                raise ServiceError(404, f"There is no protective order {order_id}.")
            if row.version != if_match:
                raise ServiceError(
                    412, f"Order {order_id} has changed since you loaded it: it is now at "
                    f"version {row.version}, not {if_match}. Review it and try again."
                )
            current = order_out(row)
            merged = OrderCreate.model_validate({
                **current.model_dump(mode="json", exclude={"id", "version"}),
                **body.model_dump(mode="json", include=fields),
            })
            problems = order_problems(merged)
            if problems:
                raise ServiceError(422, " ".join(p for _f, p in problems))
            if merged.source_ref != current.source_ref:
                self._check_source_ref(conn, merged.source_ref, order_id)
            conn.execute(protective_orders.update().where(protective_orders.c.id == order_id)
                         .values(
                order_type=merged.order_type.value,
                subject=merged.subject.model_dump(mode="json"),
                protected_persons=[p.model_dump(mode="json") for p in merged.protected_persons],
                locations=[p.model_dump(mode="json") for p in merged.locations],
                conditions=merged.conditions, issued_on=merged.issued_on,
                expires_on=merged.expires_on, source_ref=merged.source_ref,
                version=row.version + 1, updated_at=now,
            ))
            out = _order_changed(conn, order_id, now, self._retention)
            _audit(conn, now, user.username, "update_order", "order", order_id,
                   f"v{out.version}: changed {', '.join(sorted(fields))}")
            return 200, out.model_dump(mode="json")

        return self.service._run(user, idem, apply, "update_order", order_id, "order")

    def audit_warning(self, user: User, kind: Literal["scheme", "order"], entity_id: int,
                      body: WarningAudit, action: str, idem: Idem) -> CommandResult:
        """Record that a warning was shown to, or acknowledged by, an operator. Recorded even
        for a scheme that has since expired (the record of what was seen must not be lost)."""
        table = schemes if kind == "scheme" else protective_orders

        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            inc = conn.execute(sa.select(incidents.c.ref).where(
                incidents.c.id == body.incident_id
            )).first()
            if inc is None:
                raise ServiceError(404, f"There is no incident {body.incident_id}.")
            row = conn.execute(sa.select(table).where(table.c.id == entity_id)).first()
            if row is None:
                raise ServiceError(404, f"There is no {kind} {entity_id}.")
            note = ""
            if kind == "scheme" and (row.removed_at is not None or row.expires_at <= now):
                note = " (the scheme was no longer live)"
            verb = "shown" if action == "warning_shown" else "acknowledged"
            detail = (f"{kind} {entity_id} v{row.version} {verb} for incident {inc.ref} "
                      f"(id {body.incident_id}){note}")
            _audit(conn, now, user.username, action, kind, entity_id, detail)
            return 200, {"kind": kind, "id": entity_id, "incident_id": body.incident_id,
                         "action": verb, "by": user.username, "at": now.isoformat()}

        return self.service._run(user, idem, apply, action, entity_id, kind)

    # --- routes ----------------------------------------------------------------------------

    def router(self, require: Callable[[Right], Callable[..., User]]) -> APIRouter:
        r = APIRouter(prefix=API_PREFIX)
        viewer = Annotated[User, Depends(require(Right.VIEW))]
        key_header = Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER)]
        match_header = Annotated[str | None, Header(alias="If-Match")]

        def supervisor(user: User) -> None:
            if user.role is not Role.SUPERVISOR:
                raise ServiceError(
                    403, f"Your role ({user.role.label}) cannot change special schemes or "
                    "protective orders: it needs the supervisor role."
                )

        tags: list[str | Any] = ["warnings"]

        @r.post("/schemes", status_code=201, response_model=SchemeOut, tags=tags,
                summary="Add a special scheme (supervisor; Idempotency-Key required)")
        def create_scheme(request: Request, body: SchemeCreate, user: viewer,
                          key: key_header = None) -> JSONResponse:
            supervisor(user)
            return command_response(self.create_scheme(user, body, idem_for(request, key, body)))

        @r.get("/schemes/{scheme_id}", response_model=SchemeOut, tags=tags,
               summary="One live special scheme (404 once expired or ended)")
        def get_scheme(scheme_id: int, _user: viewer) -> SchemeOut:
            self.sweep()
            return self.get_scheme(scheme_id)

        @r.post("/schemes/{scheme_id}/extend", response_model=SchemeOut, tags=tags,
                summary="Extend a scheme: at most six months from now (supervisor)")
        def extend(request: Request, scheme_id: int, body: SchemeExtend, user: viewer,
                   key: key_header = None, if_match: match_header = None) -> JSONResponse:
            supervisor(user)
            return command_response(self.extend_scheme(user, scheme_id, body,
                                              idem_for(request, key, body),
                                              parse_if_match(if_match)))

        @r.post("/schemes/{scheme_id}/end", tags=tags,
                summary="End a scheme now; clients are told to remove it (supervisor)")
        def end(request: Request, scheme_id: int, body: SchemeEnd, user: viewer,
                key: key_header = None, if_match: match_header = None) -> JSONResponse:
            supervisor(user)
            return command_response(self.end_scheme(user, scheme_id, body,
                                           idem_for(request, key, body),
                                           parse_if_match(if_match)))

        @r.post("/schemes/{scheme_id}/review-request", response_model=SchemeOut, tags=tags,
                summary="Request a first-stage review (escalated after 14 days) (supervisor)")
        def review_request(request: Request, scheme_id: int, body: SchemeReviewRequest,
                           user: viewer, key: key_header = None,
                           if_match: match_header = None) -> JSONResponse:
            supervisor(user)
            return command_response(self.request_review(user, scheme_id, body,
                                               idem_for(request, key, body),
                                               parse_if_match(if_match)))

        @r.post("/schemes/{scheme_id}/victim-informed", response_model=SchemeOut, tags=tags,
                summary="Record that (and when) the victim was told (supervisor)")
        def victim_informed(request: Request, scheme_id: int, body: SchemeVictimInformed,
                            user: viewer, key: key_header = None,
                            if_match: match_header = None) -> JSONResponse:
            supervisor(user)
            return command_response(self.victim_informed(user, scheme_id, body,
                                                idem_for(request, key, body),
                                                parse_if_match(if_match)))

        @r.post("/orders", status_code=201, response_model=OrderOut, tags=tags,
                summary="Add a protective order (supervisor; Idempotency-Key required)")
        def create_order(request: Request, body: OrderCreate, user: viewer,
                         key: key_header = None) -> JSONResponse:
            supervisor(user)
            return command_response(self.create_order(user, body, idem_for(request, key, body)))

        @r.get("/orders/{order_id}", response_model=OrderOut, tags=tags,
               summary="One protective order")
        def get_order(order_id: int, _user: viewer) -> OrderOut:
            return self.get_order(order_id)

        @r.patch("/orders/{order_id}", response_model=OrderOut, tags=tags,
                 summary="Update a protective order (supervisor; If-Match required)")
        def patch_order(request: Request, order_id: int, body: OrderPatch, user: viewer,
                        key: key_header = None, if_match: match_header = None) -> JSONResponse:
            supervisor(user)
            v = parse_if_match(if_match)
            if v is None:
                raise ServiceError(
                    428, "The If-Match header is required: send the version of the order you "
                    "edited (for example If-Match: 3)."
                )
            return command_response(self.patch_order(user, order_id, body, v,
                                            idem_for(request, key, body, required=False)))

        @r.get("/warnings", response_model=WarningsPage, tags=tags,
               summary="Warnings matching a location and/or a person, most severe first")
        def get_warnings(
            _user: viewer,
            uprn: Annotated[str | None, Query(max_length=12)] = None,
            parent_uprn: Annotated[str | None, Query(max_length=12)] = None,
            usrn: Annotated[str | None, Query(max_length=12)] = None,
            address: Annotated[str | None, Query(max_length=500)] = None,
            postcode: Annotated[str | None, Query(max_length=10)] = None,
            name: Annotated[str | None, Query(max_length=200)] = None,
            dob: date | None = None,
            incident_id: int | None = None,
        ) -> WarningsPage:
            self.sweep()
            q = None
            if any((uprn, parent_uprn, usrn, address, postcode)):
                q = Place(uprn=uprn or None, parent_uprn=parent_uprn or None,
                          usrn=usrn or None, address=address or None,
                          postcode=postcode or None)
            who = Person(name=name, dob=dob) if name and name.strip() else None
            if q is None and who is None and incident_id is None:
                raise ServiceError(
                    422, "Say what to match: a location (uprn, parent_uprn, usrn, address, "
                    "postcode), a person (name, dob) or an incident_id."
                )
            return self.warnings(q, who, incident_id)

        def audit_route(action: str) -> Callable[..., JSONResponse]:
            def route(request: Request, kind: Literal["scheme", "order"], entity_id: int,
                      body: WarningAudit, user: viewer, key: key_header = None) -> JSONResponse:
                return command_response(self.audit_warning(user, kind, entity_id, body, action,
                                                  idem_for(request, key, body, required=False)))

            return route

        r.add_api_route("/warnings/{kind}/{entity_id}/shown", audit_route("warning_shown"),
                        methods=["POST"], tags=tags,
                        summary="Audit: this warning was shown to me for an incident")
        r.add_api_route("/warnings/{kind}/{entity_id}/acknowledge",
                        audit_route("warning_acknowledged"), methods=["POST"], tags=tags,
                        summary="Audit: I acknowledged this warning for an incident")
        return r
