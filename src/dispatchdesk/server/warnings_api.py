"""Special schemes, protective orders and warnings on the reference server.

Tables live on :data:`dispatchdesk.server.db.metadata`. Every write runs through
``CommandRunner.run`` (idempotency, change log and audit in one transaction). A scheme is served
(snapshot, changes, events, warnings, reads) only while ``now < expires_at`` by the server's
clock and until it is ended; from its expiry the sweep (:meth:`WarningsDesk.sweep`, run by a
thread while the app runs and before each snapshot, change page and warnings query) appends a
``delete`` change and rewrites the scheme's earlier log rows to that delete, so the log keeps no
trace of its text (ending does the same at once). The audit names a scheme by id and category
only (:func:`scheme_name`), never by address or summary.

Reviews: a scheme entering its review window (``policy.review_window``, 28 days before expiry)
gets a first-stage review request from the sweep (at once when it is added or extended inside
the window); with no decision (extend or end) it goes to second stage at
:func:`~dispatchdesk.domain.warnings.scheme_escalation_due`, always before expiry. Victim
contact is a log (:data:`scheme_victim_contacts`); ending needs an entry recorded since the
review request, extension or creation, or a supervisor's override rationale.
"""

import json
import logging
import re
import threading
from collections.abc import Callable, Sequence
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
    ReviewState,
    SchemeCategory,
    VictimContactOutcome,
    WarningPolicy,
    local_today,
    scheme_escalation_due,
    scheme_expiry_problem,
    scheme_review_due,
    scheme_review_state,
)
from dispatchdesk.protocol import API_PREFIX, IDEMPOTENCY_HEADER
from dispatchdesk.protocol.schemas import PassedWarning, Snapshot
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
    SchemeVictimContact,
    SchemeVictimInformed,
    VictimContactOut,
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
from dispatchdesk.server.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    PreconditionRequired,
    Stale,
)
from dispatchdesk.server.http_common import command_response, idem_for, parse_if_match
from dispatchdesk.server.rationales import Entity
from dispatchdesk.server.reference import field_errors, order_dob_problems
from dispatchdesk.server.runner import CommandResult, CommandRunner, Idem

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
    #: When a first-stage review with no decision goes to second stage: set with
    #: ``review_requested_at``, cleared by the escalation, a decision or the removal, so the
    #: sweep finds the due ones by index.
    sa.Column("escalation_due_at", UTCDateTime(), index=True),
    sa.Column("victim_informed_at", UTCDateTime()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    #: Set when the scheme expired or was ended; from then on it is never served.
    sa.Column("removed_at", UTCDateTime(), index=True),
    sa.Column("removed_reason", sa.Text),
    #: The sweep's look-ups of live schemes by expiry (removed_at alone matches every live one).
    sa.Index("ix_schemes_live_expiry", "removed_at", "expires_at"),
)

#: The victim contact log of each scheme: told (INFORMED) or a failed attempt (NO_CONTACT).
scheme_victim_contacts = sa.Table(
    "scheme_victim_contacts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("scheme_id", sa.Integer, sa.ForeignKey("schemes.id"), nullable=False,
              index=True),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("note", sa.Text),
    #: When the contact or attempt happened (never after the time it was recorded).
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("recorded_at", UTCDateTime(), nullable=False),
    sa.Column("username", sa.String(100), nullable=False),
    #: The notice given with the new scheme: it never counts as notice of the removal.
    sa.Column("outset", sa.Boolean, nullable=False, server_default=sa.false()),
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

def scheme_out(row: Row[Any], now: datetime, policy: WarningPolicy,
               contacts: list[VictimContactOut] | None = None) -> SchemeOut:
    since, _words = _removal_notice_since(row)
    notice = any(not c.outset and c.at >= since for c in contacts or [])
    return SchemeOut(
        id=row.id, version=row.version, location=PlaceModel.model_validate(row.location),
        category=SchemeCategory(row.category), summary=row.summary,
        officer_in_case=row.officer_in_case, starts_at=row.starts_at, expires_at=row.expires_at,
        extended_at=row.extended_at,
        review_state=scheme_review_state(row.expires_at, row.review_requested_at, now, policy),
        review_requested_at=row.review_requested_at, escalated_at=row.escalated_at,
        victim_informed_at=row.victim_informed_at, victim_contacts=contacts or [],
        removal_notice=notice,
    )


def scheme_name(scheme_id: int, category: str) -> str:
    """How the audit names a scheme: by id and category only, never its address or summary."""
    return f"scheme {scheme_id} ({category})"


def _contacts(conn: Connection, which: Any) -> dict[int, list[VictimContactOut]]:
    """The victim contact logs of the schemes ``which`` selects (a condition on
    ``scheme_victim_contacts.c.scheme_id``), oldest first."""
    t = scheme_victim_contacts
    rows = conn.execute(sa.select(t).where(which).order_by(t.c.at, t.c.id)).all()
    out: dict[int, list[VictimContactOut]] = {}
    for r in rows:
        out.setdefault(int(r.scheme_id), []).append(VictimContactOut(
            outcome=VictimContactOutcome(r.outcome), note=r.note, at=r.at, by=r.username,
            recorded_at=r.recorded_at, outset=bool(r.outset),
        ))
    return out


def _live_schemes_out(conn: Connection, now: datetime, policy: WarningPolicy) -> (
    list[SchemeOut]
):
    rows = conn.execute(sa.select(schemes).where(_live(now)).order_by(schemes.c.id)).all()
    logs = _contacts(conn, scheme_victim_contacts.c.scheme_id.in_(
        sa.select(schemes.c.id).where(_live(now)).scalar_subquery()
    )) if rows else {}
    return [scheme_out(r, now, policy, logs.get(r.id)) for r in rows]


def _add_contact(conn: Connection, scheme_id: int, outcome: VictimContactOutcome,
                 note: str | None, at: datetime, now: datetime, username: str,
                 outset: bool = False) -> None:
    conn.execute(scheme_victim_contacts.insert().values(
        scheme_id=scheme_id, outcome=outcome.value, note=note, at=at, recorded_at=now,
        username=username, outset=outset,
    ))
    if outcome is VictimContactOutcome.INFORMED:  # the older field: the latest INFORMED
        conn.execute(schemes.update().where(
            schemes.c.id == scheme_id,
            sa.or_(schemes.c.victim_informed_at.is_(None), schemes.c.victim_informed_at < at),
        ).values(victim_informed_at=at))


def _removal_notice_since(row: Row[Any]) -> tuple[datetime, str]:
    """Since when a victim contact counts as notice of the scheme's removal, and in words."""
    if row.review_requested_at is not None and (
        row.extended_at is None or row.review_requested_at >= row.extended_at
    ):
        return row.review_requested_at, "since its review was requested"
    if row.extended_at is not None:
        return row.extended_at, "since it was last extended"
    return row.created_at, "since it was added (the notice given then does not count)"


def _removal_notice(conn: Connection, row: Row[Any]) -> VictimContactOut | None:
    """The latest victim contact (told, or a failed attempt) since the scheme's last decision
    point (:func:`_removal_notice_since`); the outset notice never counts."""
    since, _words = _removal_notice_since(row)
    t = scheme_victim_contacts
    found = _contacts(conn, sa.and_(t.c.scheme_id == row.id, t.c.outset.is_(False),
                                    t.c.at >= since)).get(row.id, [])
    return found[-1] if found else None


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


def audit_warnings_passed(conn: Connection, now: datetime, username: str,
                          passed: Sequence[PassedWarning], callsign: str, incident_ref: str,
                          incident_id: int) -> str:
    """Record which warnings a dispatcher passed to a unit sent to an incident (assign or
    divert, in the command's transaction): one ``warning_passed`` audit row per warning (so a
    scheme's or order's own history says which units were told), and the words for the unit's
    audit row: "; warnings passed to LX21: scheme 12 (VICTIM_AT_RISK), order 7
    (NON_MOLESTATION)". Schemes are named by id and category only, never by address or
    summary. A scheme no longer live is still recorded (the unit was told), and says so.

    An id the server has never had is refused (422, nothing applied): the desk only names
    warnings the server sent it, so that is a broken or forged request, not a stale one.
    """
    if not passed:
        return ""
    words: list[str] = []
    for ref in passed:
        if ref.kind == "scheme":
            row = conn.execute(sa.select(schemes).where(schemes.c.id == ref.id)).first()
        else:
            row = conn.execute(sa.select(protective_orders)
                               .where(protective_orders.c.id == ref.id)).first()
        what = "special scheme" if ref.kind == "scheme" else "protective order"
        if row is None:
            raise Invalid(f"There is no {what} {ref.id}: the warnings passed to "
                               f"{callsign} must be ones the server sent. Nothing was changed.")
        if ref.kind == "scheme":
            note = ", no longer live" if row.removed_at is not None or row.expires_at <= now \
                else ""
            words.append(f"scheme {ref.id} ({row.category}{note})")
        else:
            words.append(f"order {ref.id} ({row.order_type})")
        _audit(conn, now, username, "warning_passed", ref.kind, ref.id,
               f"{ref.kind} {ref.id} v{row.version} passed to {callsign} for incident "
               f"{incident_ref} (id {incident_id})")
    return f"; warnings passed to {callsign}: {', '.join(words)}"


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
    (which holds the log lock). One added inside its review window has its first-stage
    review requested at once; the victim told at the outset is the first entry of its
    contact log."""
    loc = body.location
    in_window = now >= scheme_review_due(body.expires_at, policy)
    new_id = int(conn.execute(schemes.insert().values(
        version=1, location=loc.model_dump(mode="json"), uprn=loc.uprn,
        parent_uprn=loc.parent_uprn, usrn=loc.usrn, category=body.category.value,
        summary=body.summary, officer_in_case=body.officer_in_case,
        starts_at=body.starts_at or now, expires_at=body.expires_at,
        review_requested_at=now if in_window else None,
        escalation_due_at=(scheme_escalation_due(body.expires_at, now, policy)
                           if in_window else None),
        created_at=now, updated_at=now,
    ).returning(schemes.c.id)).scalar_one())
    if body.victim_informed_at is not None:
        _add_contact(conn, new_id, VictimContactOutcome.INFORMED,
                     "Told at the outset how long the scheme lasts", body.victim_informed_at,
                     now, username, outset=True)
    out = _scheme_changed(conn, new_id, now, retention, policy)
    review = (f"; first-stage review requested at once: it expires within the "
              f"{_days(policy.review_window)} review window" if in_window else "")
    _audit(conn, now, username, "create_scheme", "scheme", out.id,
           f"{scheme_name(out.id, out.category.value)} created, expires "
           f"{out.expires_at.isoformat()}{review}{how}")
    return out


def _days(span: timedelta) -> str:
    days = span.total_seconds() / 86400
    return f"{days:g}-day"


def _scheme_changed(conn: Connection, scheme_id: int, now: datetime, retention: int,
                    policy: WarningPolicy) -> SchemeOut:
    row = conn.execute(sa.select(schemes).where(schemes.c.id == scheme_id)).one()
    logs = _contacts(conn, scheme_victim_contacts.c.scheme_id == scheme_id)
    out = scheme_out(row, now, policy, logs.get(scheme_id))
    changelog.append(conn, entity="scheme", entity_id=out.id, data=out.model_dump(mode="json"),
                     now=now, retention=retention)
    return out


def remove_scheme(conn: Connection, scheme_id: int, now: datetime, retention: int,
                  reason: str) -> None:
    """Stop serving a scheme: mark it removed, rewrite its earlier log rows to a delete (so the
    log keeps none of its text) and append a delete change for clients to act on."""
    gone = json.dumps({"id": scheme_id}, separators=(",", ":"))
    conn.execute(schemes.update().where(schemes.c.id == scheme_id).values(
        removed_at=now, removed_reason=reason, updated_at=now, escalation_due_at=None,
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


_OLD_CREATE = re.compile(r"^(?P<category>[A-Z_]+) at .*, expires (?P<expires>\S+)(?P<how>.*)$",
                         re.DOTALL)


def redact_audit_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Audit rows as served: rows written before the audit named schemes by id and category
    only carry the scheme's address (``create_scheme``); those are rewritten on read to the
    current wording, keeping the category, expiry and import line."""
    out = []
    for row in rows:
        sid = row.get("entity_id")
        if row.get("entity") == "scheme" and row.get("action") == "create_scheme" and \
                not str(row.get("detail", "")).startswith(f"scheme {sid} ("):
            found = _OLD_CREATE.match(str(row.get("detail", "")))
            if found is None:
                detail = f"scheme {sid}: created (details withheld: recorded before schemes " \
                         "were audited by id and category only)"
            else:
                how = found["how"]
                imported = how if re.fullmatch(r" \(import \S+ line \d+\)", how) else ""
                detail = (f"{scheme_name(int(sid or 0), found['category'])} created, expires "
                          f"{found['expires']}{imported}")
            row = {**row, "detail": detail}
        out.append(row)
    return out


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


def order_problems(body: OrderCreate, today: date | None = None) -> list[tuple[str, str]]:
    """Rule problems of an order as (field, sentence); a date of birth after ``today`` (the
    control room's date) too when it is given, as ``subject.dob`` or
    ``protected_persons.N.dob``."""
    problems = []
    if body.expires_on is not None and body.expires_on < body.issued_on:
        problems.append(("expires_on", "An order cannot expire before it was issued."))
    if today is not None:
        problems += [(".".join(str(p) for p in loc), msg)
                     for loc, msg in order_dob_problems(body, today)]
    return problems


def _refuse_order(problems: list[tuple[str, str]]) -> None:
    """422 naming each field (FastAPI's shape) when an order breaks a rule."""
    if problems:
        raise Invalid(field_errors(
            [(tuple(int(p) if p.isdigit() else p for p in f.split(".")), msg)
             for f, msg in problems]))


# --- the desk ------------------------------------------------------------------------------

@dataclass
class _Sweeper:
    thread: threading.Thread
    stop_event: threading.Event

    def stop(self) -> None:
        self.stop_event.set()


class WarningsDesk:
    """Schemes, orders and warnings over one :class:`CommandRunner`."""

    def __init__(self, runner: CommandRunner, policy: WarningPolicy | None = None) -> None:
        self.runner = runner
        self.policy = policy or runner.settings.warning_policy
        self._sweep_lock = threading.Lock()
        self._backfilled = False

    @property
    def _retention(self) -> int:
        return self.runner.settings.change_retention

    # --- sweep -----------------------------------------------------------------------------

    def sweep(self) -> int:
        """Remove expired schemes, request the first-stage review of schemes entering their
        review window and escalate first-stage reviews with no decision; how many changed."""
        now = self.runner.now()
        due_expired = sa.and_(schemes.c.removed_at.is_(None), schemes.c.expires_at <= now)
        due_review = sa.and_(
            schemes.c.removed_at.is_(None), schemes.c.expires_at > now,
            schemes.c.review_requested_at.is_(None),
            schemes.c.expires_at <= now + self.policy.review_window,
        )
        pending = sa.and_(
            schemes.c.removed_at.is_(None), schemes.c.expires_at > now,
            schemes.c.escalated_at.is_(None), schemes.c.review_requested_at.is_not(None),
        )
        due_escalate = sa.and_(pending, schemes.c.escalation_due_at <= now)
        if not self._backfilled:
            self._backfill_escalation_due(pending)
        # one indexed look-up each (escalation_due_at is set only while a review awaits)
        quick = (due_expired, due_review, schemes.c.escalation_due_at <= now)
        with read_tx(self.runner.engine) as conn:
            any_due = any(conn.execute(sa.select(schemes.c.id).where(due).limit(1)).first()
                          is not None for due in quick)
        if not any_due:
            return 0
        with self._sweep_lock, write_tx(self.runner.engine) as conn:
            changelog.lock_head(conn)
            expired = conn.execute(sa.select(schemes).where(due_expired)).all()
            for row in expired:
                told = _removal_notice(conn, row)
                remove_scheme(conn, int(row.id), now, self._retention, "expired")
                victim = ("" if told is not None else
                          "; the victim was not told of its removal and no failed attempt "
                          "is recorded")
                _audit(conn, now, SYSTEM_USER.username, "expire_scheme", "scheme", int(row.id),
                       f"{scheme_name(row.id, row.category)} expired with no review decision"
                       f"{victim}: no longer served anywhere")
            stale = conn.execute(sa.select(schemes).where(due_escalate)).all()
            for row in stale:
                conn.execute(schemes.update().where(schemes.c.id == row.id).values(
                    escalated_at=now, escalation_due_at=None, version=row.version + 1,
                    updated_at=now,
                ))
                _scheme_changed(conn, row.id, now, self._retention, self.policy)
                _audit(conn, now, SYSTEM_USER.username, "escalate_scheme_review", "scheme",
                       row.id, f"{scheme_name(row.id, row.category)} v{row.version + 1}: no "
                       "decision on the first-stage review requested "
                       f"{row.review_requested_at.isoformat()}: escalated to second stage "
                       f"before its expiry {row.expires_at.isoformat()}")
            entering = conn.execute(sa.select(schemes).where(due_review)).all()
            for row in entering:
                conn.execute(schemes.update().where(schemes.c.id == row.id).values(
                    review_requested_at=now, escalated_at=None, version=row.version + 1,
                    escalation_due_at=scheme_escalation_due(row.expires_at, now, self.policy),
                    updated_at=now,
                ))
                _scheme_changed(conn, row.id, now, self._retention, self.policy)
                _audit(conn, now, SYSTEM_USER.username, "request_scheme_review", "scheme",
                       row.id, f"{scheme_name(row.id, row.category)} v{row.version + 1}: "
                       "first-stage review requested automatically: it expires "
                       f"{row.expires_at.isoformat()}, within the "
                       f"{_days(self.policy.review_window)} review window")
        self.runner.notify()
        return len(expired) + len(stale) + len(entering)

    def _backfill_escalation_due(self, pending: Any) -> None:
        """Reviews requested before ``escalation_due_at`` was stored get it (once)."""
        legacy = sa.and_(pending, schemes.c.escalation_due_at.is_(None))
        with read_tx(self.runner.engine) as conn:
            found = conn.execute(sa.select(schemes.c.id).where(legacy).limit(1)).first()
        if found is None:
            self._backfilled = True
            return
        with self._sweep_lock, write_tx(self.runner.engine) as conn:
            for row in conn.execute(sa.select(schemes).where(legacy)).all():
                conn.execute(schemes.update().where(schemes.c.id == row.id).values(
                    escalation_due_at=scheme_escalation_due(
                        row.expires_at, row.review_requested_at, self.policy),
                ))
        self._backfilled = True

    def start_sweeper(self, seconds: float | None = None) -> _Sweeper:
        """A daemon thread that sweeps every ``seconds`` and wakes the streams when the log
        head moved (a bulk import from another process, for example)."""
        stop = threading.Event()
        if seconds is None:
            seconds = min(SWEEP_SECONDS, self.runner.settings.sweep_seconds)

        def run() -> None:
            last: int | None = None
            while not stop.wait(seconds):
                try:
                    self.sweep()
                    seq = self.runner.head().seq
                    if last is not None and seq != last:
                        self.runner.notify()
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
        with read_tx(self.runner.engine) as conn:
            live = _live_schemes_out(conn, now, self.policy)
            o_rows = conn.execute(
                sa.select(protective_orders).order_by(protective_orders.c.id)
            ).all()
        policy = snap.policy.model_copy(
            update={"warnings": WarningPolicyModel.from_policy(self.policy)}
        )
        return snap.model_copy(update={
            "policy": policy,
            "schemes": live,
            "orders": [order_out(r) for r in o_rows],
        })

    def get_scheme(self, scheme_id: int) -> SchemeOut:
        now = self.runner.now()
        with read_tx(self.runner.engine) as conn:
            row = conn.execute(
                sa.select(schemes).where(schemes.c.id == scheme_id, _live(now))
            ).first()
            logs = _contacts(conn, scheme_victim_contacts.c.scheme_id == scheme_id)
        if row is None:
            raise NotFound(f"There is no live special scheme {scheme_id}.")
        return scheme_out(row, now, self.policy, logs.get(scheme_id))

    def list_schemes(self, state: ReviewState | None) -> list[SchemeOut]:
        """The live schemes (in a review state when given), by id."""
        now = self.runner.now()
        with read_tx(self.runner.engine) as conn:
            live = _live_schemes_out(conn, now, self.policy)
        return [s for s in live if state is None or s.review_state is state]

    def get_order(self, order_id: int) -> OrderOut:
        with read_tx(self.runner.engine) as conn:
            row = conn.execute(
                sa.select(protective_orders).where(protective_orders.c.id == order_id)
            ).first()
        if row is None:
            raise NotFound(f"There is no protective order {order_id}.")
        return order_out(row)

    def warnings(self, q: Place | None, who: Person | None, incident_id: int | None) -> (
        WarningsPage
    ):
        now = self.runner.now()
        people: list[Person] = [who] if who is not None else []
        with read_tx(self.runner.engine) as conn:
            if incident_id is not None:
                inc = conn.execute(
                    sa.select(incidents.c.location, incidents.c.caller, incidents.c.persons)
                    .where(incidents.c.id == incident_id)
                ).first()
                if inc is None:
                    raise NotFound(f"There is no incident {incident_id}.")
                loc = inc.location
                if q is None:
                    q = Place(uprn=loc.get("uprn"), parent_uprn=loc.get("parent_uprn"),
                              usrn=loc.get("usrn"), address=loc.get("address"),
                              postcode=loc.get("postcode"))
                if who is None:
                    people = _incident_people(inc.caller, inc.persons)
            live = _live_schemes_out(conn, now, self.policy) if q else []
            o_rows = conn.execute(sa.select(protective_orders)).all()
        found = find_warnings_for_people(
            live, [order_out(r) for r in o_rows],
            q, people, now, self.policy,
        )
        return WarningsPage(server_time=now, warnings=found)

    # --- commands --------------------------------------------------------------------------

    def create_scheme(self, user: User, body: SchemeCreate, idem: Idem) -> CommandResult:
        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            problems = check_new_scheme(body, now, self.policy)
            if problems:
                raise Invalid(" ".join(p for _f, p in problems))
            out = insert_scheme(conn, body, now, user.username, self._retention, self.policy)
            return 201, out.model_dump(mode="json")

        self.sweep()  # so a resent create of a scheme that has just expired finds it swept
        return self.runner.run(user, idem, apply, "create_scheme", None, "scheme")

    def _scheme_command(
        self, user: User, scheme_id: int, idem: Idem, action: str, if_match: int | None,
        change: Callable[[Connection, Row[Any], datetime], str],
    ) -> CommandResult:
        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            row = conn.execute(
                sa.select(schemes).where(schemes.c.id == scheme_id, _live(now))
            ).first()
            if row is None:
                raise NotFound(
                    f"There is no live special scheme {scheme_id}: it may have expired "
                    "or been ended."
                )
            if if_match is not None and row.version != if_match:
                raise Stale(
                    f"Scheme {scheme_id} has changed since you loaded it: it is now at "
                    f"version {row.version}, not {if_match}. Review it and try again."
                )
            detail = change(conn, row, now)
            name = scheme_name(scheme_id, row.category)
            if action == "end_scheme":
                _audit(conn, now, user.username, action, "scheme", scheme_id,
                       f"{name} {detail}")
                return 200, {"id": scheme_id, "ended_at": now.isoformat()}
            conn.execute(schemes.update().where(schemes.c.id == scheme_id).values(
                version=row.version + 1, updated_at=now,
            ))
            out = _scheme_changed(conn, scheme_id, now, self._retention, self.policy)
            _audit(conn, now, user.username, action, "scheme", scheme_id,
                   f"{name} v{out.version}: {detail}")
            return 200, out.model_dump(mode="json")

        self.sweep()
        return self.runner.run(user, idem, apply, action, scheme_id, "scheme")

    def extend_scheme(self, user: User, scheme_id: int, body: SchemeExtend, idem: Idem,
                      if_match: int | None) -> CommandResult:
        def change(conn: Connection, row: Row[Any], now: datetime) -> str:
            problem = scheme_expiry_problem(now, body.expires_at, self.policy,
                                            what="extension (now)")
            if problem is not None:
                raise Invalid(problem)
            # the extension decides the review; inside the new expiry's review window the
            # next first-stage review is requested at once
            in_window = now >= scheme_review_due(body.expires_at, self.policy)
            conn.execute(schemes.update().where(schemes.c.id == row.id).values(
                expires_at=body.expires_at, extended_at=now,
                review_requested_at=now if in_window else None, escalated_at=None,
                escalation_due_at=(scheme_escalation_due(body.expires_at, now, self.policy)
                                   if in_window else None),
            ))
            review = ("; first-stage review requested at once: it expires within the "
                      f"{_days(self.policy.review_window)} review window" if in_window else "")
            return (f"extended to {body.expires_at.isoformat()}{review}"
                    + (f": {body.note}" if body.note else ""))

        return self._scheme_command(user, scheme_id, idem, "extend_scheme", if_match, change)

    def end_scheme(self, user: User, scheme_id: int, body: SchemeEnd, idem: Idem,
                   if_match: int | None) -> CommandResult:
        def change(conn: Connection, row: Row[Any], now: datetime) -> str:
            self.runner.check_rationale(conn, now, body.reason, kind="scheme_end",
                                         what="reason for ending the scheme",
                                         entity=Entity(scheme_id=row.id), by=user.username)
            told = _removal_notice(conn, row)
            override = ""
            if told is None:
                if body.override_rationale is None or not body.override_rationale.strip():
                    _since, words = _removal_notice_since(row)
                    raise Conflict(
                        f"Scheme {scheme_id}: the victim has not been told of its "
                        f"removal and no failed attempt to tell them is recorded {words}. "
                        "Tell the victim the scheme is being removed, or record a failed "
                        "attempt, then end it; a supervisor may end it anyway with a rationale."
                    )
                self.runner.check_rationale(
                    conn, now, body.override_rationale, kind="scheme_end",
                    what="rationale for ending without telling the victim",
                    entity=Entity(scheme_id=row.id), by=user.username,
                )
                override = ("; the victim was not told of the removal and no failed attempt "
                            "is recorded: ended on the supervisor's rationale: "
                            f"{body.override_rationale.strip()}")
            remove_scheme(conn, row.id, now, self._retention, f"ended: {body.reason}")
            notice = ("" if told is None else
                      f"; victim contact {told.outcome.value} at {told.at.isoformat()}")
            return f"ended: {body.reason}{notice}{override}"

        return self._scheme_command(user, scheme_id, idem, "end_scheme", if_match, change)

    def request_review(self, user: User, scheme_id: int, body: SchemeReviewRequest,
                       idem: Idem, if_match: int | None) -> CommandResult:
        def change(conn: Connection, row: Row[Any], now: datetime) -> str:
            if row.review_requested_at is not None:
                raise Conflict(
                    f"A review of scheme {scheme_id} was already requested at "
                    f"{row.review_requested_at.isoformat()}: decide it (extend or end)."
                )
            conn.execute(schemes.update().where(schemes.c.id == row.id).values(
                review_requested_at=now, escalated_at=None,
                escalation_due_at=scheme_escalation_due(row.expires_at, now, self.policy),
            ))
            return "first-stage review requested" + (f": {body.note}" if body.note else "")

        return self._scheme_command(user, scheme_id, idem, "request_scheme_review", if_match,
                                    change)

    def victim_informed(self, user: User, scheme_id: int, body: SchemeVictimInformed,
                        idem: Idem, if_match: int | None) -> CommandResult:
        """The older command: an INFORMED entry of the victim contact log."""
        contact = SchemeVictimContact(outcome=VictimContactOutcome.INFORMED, note=body.note,
                                      at=body.at)
        return self.victim_contact(user, scheme_id, contact, idem, if_match,
                                   action="scheme_victim_informed")

    def victim_contact(self, user: User, scheme_id: int, body: SchemeVictimContact,
                       idem: Idem, if_match: int | None,
                       action: str = "scheme_victim_contact") -> CommandResult:
        """Add to the victim contact log. The note stays in the log, out of the audit."""
        def change(conn: Connection, row: Row[Any], now: datetime) -> str:
            at = body.at or now
            if at > now + timedelta(minutes=1):
                what = ("told" if body.outcome is VictimContactOutcome.INFORMED
                        else "tried to tell")
                raise Invalid(
                    f"The victim cannot have been {what} in the future: give the time it "
                    "happened."
                )
            at = min(at, now)
            note = body.note.strip() if body.note and body.note.strip() else None
            _add_contact(conn, row.id, body.outcome, note, at, now, user.username)
            return f"victim contact {body.outcome.value} at {at.isoformat()}"

        return self._scheme_command(user, scheme_id, idem, action, if_match, change)

    def create_order(self, user: User, body: OrderCreate, idem: Idem) -> CommandResult:
        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            _refuse_order(order_problems(body, local_today(now, self.policy)))
            self._check_source_ref(conn, body.source_ref, None)
            out = insert_order(conn, body, now, user.username, self._retention)
            return 201, out.model_dump(mode="json")

        return self.runner.run(user, idem, apply, "create_order", None, "order")

    @staticmethod
    def _check_source_ref(conn: Connection, ref: str, own_id: int | None) -> None:
        other = conn.execute(sa.select(protective_orders.c.id).where(
            protective_orders.c.source_ref == ref
        )).scalar()
        if other is not None and other != own_id:
            raise Conflict(
                f"Order {other} already has the source reference {ref!r}: update that "
                "order instead of adding it again."
            )

    def patch_order(self, user: User, order_id: int, body: OrderPatch, if_match: int,
                    idem: Idem) -> CommandResult:
        fields = body.model_fields_set
        if not fields:
            raise Invalid("Nothing to change: send at least one field of the order.")

        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            row = conn.execute(
                sa.select(protective_orders).where(protective_orders.c.id == order_id)
            ).first()
            if row is None:
                raise NotFound(f"There is no protective order {order_id}.")
            if row.version != if_match:
                raise Stale(
                    f"Order {order_id} has changed since you loaded it: it is now at "
                    f"version {row.version}, not {if_match}. Review it and try again."
                )
            current = order_out(row)
            merged = OrderCreate.model_validate({
                **current.model_dump(mode="json", exclude={"id", "version"}),
                **body.model_dump(mode="json", include=fields),
            })
            _refuse_order(order_problems(merged, local_today(now, self.policy)))
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

        return self.runner.run(user, idem, apply, "update_order", order_id, "order")

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
                raise NotFound(f"There is no incident {body.incident_id}.")
            row = conn.execute(sa.select(table).where(table.c.id == entity_id)).first()
            if row is None:
                raise NotFound(f"There is no {kind} {entity_id}.")
            note = ""
            if kind == "scheme" and (row.removed_at is not None or row.expires_at <= now):
                note = " (the scheme was no longer live)"
            verb = "shown" if action == "warning_shown" else "acknowledged"
            name = (scheme_name(entity_id, row.category) if kind == "scheme"
                    else f"{kind} {entity_id}")
            detail = (f"{name} v{row.version} {verb} for incident {inc.ref} "
                      f"(id {body.incident_id}){note}")
            _audit(conn, now, user.username, action, kind, entity_id, detail)
            return 200, {"kind": kind, "id": entity_id, "incident_id": body.incident_id,
                         "action": verb, "by": user.username, "at": now.isoformat()}

        return self.runner.run(user, idem, apply, action, entity_id, kind)

    # --- routes ----------------------------------------------------------------------------

    def router(self, require: Callable[[Right], Callable[..., User]]) -> APIRouter:
        r = APIRouter(prefix=API_PREFIX)
        viewer = Annotated[User, Depends(require(Right.VIEW))]
        key_header = Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER)]
        match_header = Annotated[str | None, Header(alias="If-Match")]

        def supervisor(user: User) -> None:
            if user.role is not Role.SUPERVISOR:
                raise Forbidden(
                    f"Your role ({user.role.label}) cannot change special schemes or "
                    "protective orders: it needs the supervisor role."
                )

        tags: list[str | Any] = ["warnings"]

        @r.post("/schemes", status_code=201, response_model=SchemeOut, tags=tags,
                summary="Add a special scheme (supervisor; Idempotency-Key required)")
        def create_scheme(request: Request, body: SchemeCreate, user: viewer,
                          key: key_header = None) -> JSONResponse:
            supervisor(user)
            return command_response(self.create_scheme(user, body, idem_for(request, key, body)))

        @r.get("/schemes", response_model=list[SchemeOut], tags=tags,
               summary="The live special schemes, optionally in one review state")
        def list_schemes(_user: viewer, state: ReviewState | None = None) -> list[SchemeOut]:
            self.sweep()
            return self.list_schemes(state)

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
                summary="End a scheme now; clients are told to remove it (supervisor). 409 "
                "unless the victim contact log has an entry since the review request, "
                "extension or creation, or an override_rationale is given")
        def end(request: Request, scheme_id: int, body: SchemeEnd, user: viewer,
                key: key_header = None, if_match: match_header = None) -> JSONResponse:
            supervisor(user)
            return command_response(self.end_scheme(user, scheme_id, body,
                                           idem_for(request, key, body),
                                           parse_if_match(if_match)))

        @r.post("/schemes/{scheme_id}/review-request", response_model=SchemeOut, tags=tags,
                summary="Request a first-stage review: second stage after 14 days with no "
                "decision, or halfway to expiry when sooner (supervisor)")
        def review_request(request: Request, scheme_id: int, body: SchemeReviewRequest,
                           user: viewer, key: key_header = None,
                           if_match: match_header = None) -> JSONResponse:
            supervisor(user)
            return command_response(self.request_review(user, scheme_id, body,
                                               idem_for(request, key, body),
                                               parse_if_match(if_match)))

        @r.post("/schemes/{scheme_id}/victim-informed", response_model=SchemeOut, tags=tags,
                summary="Record that (and when) the victim was told: an INFORMED entry of the "
                "victim contact log (supervisor)")
        def victim_informed(request: Request, scheme_id: int, body: SchemeVictimInformed,
                            user: viewer, key: key_header = None,
                            if_match: match_header = None) -> JSONResponse:
            supervisor(user)
            return command_response(self.victim_informed(user, scheme_id, body,
                                                idem_for(request, key, body),
                                                parse_if_match(if_match)))

        @r.post("/schemes/{scheme_id}/victim-contact", response_model=SchemeOut, tags=tags,
                summary="Add to the victim contact log: INFORMED, or NO_CONTACT (a failed "
                "attempt), with when and a note (supervisor)")
        def victim_contact(request: Request, scheme_id: int, body: SchemeVictimContact,
                           user: viewer, key: key_header = None,
                           if_match: match_header = None) -> JSONResponse:
            supervisor(user)
            return command_response(self.victim_contact(user, scheme_id, body,
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
                raise PreconditionRequired(
                    "The If-Match header is required: send the version of the order you "
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
                raise Invalid(
                    "Say what to match: a location (uprn, parent_uprn, usrn, address, "
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
