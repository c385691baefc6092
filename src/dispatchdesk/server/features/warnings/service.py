"""Special schemes, protective orders and warnings, pure of HTTP: reads and commands.

Tables: :mod:`.tables`. Every write runs through
``CommandRunner.run`` (idempotency, change log and audit in one transaction). A scheme is served
(snapshot, changes, events, warnings, reads) only while ``now < expires_at`` by the server's
clock and until it is ended; from its expiry the sweep (:class:`~.sweeper.SchemeSweeper`, run by a
thread while the app runs and before each snapshot, change page and warnings query) appends a
``delete`` change and rewrites the scheme's earlier log rows to that delete, so the log keeps no
trace of its text (ending does the same at once). The audit names a scheme by id and category
only (:func:`scheme_name`), never by address or summary.

Reviews: a scheme entering its review window (``policy.review_window``, 28 days before expiry)
gets a first-stage review request from the sweep (at once when it is added or extended inside
the window); with no decision (extend or end) it goes to second stage at
:func:`~dispatchdesk.domain.warnings.scheme_escalation_due`, always before expiry. Victim
contact is a log (:data:`scheme_victim_contacts`); ending needs an entry recorded since the
review request, extension or creation, or a supervisor's override rationale."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import Connection, Row

from dispatchdesk.domain.warnings import (
    Person,
    Place,
    ReviewState,
    VictimContactOutcome,
    WarningPolicy,
    local_today,
    scheme_escalation_due,
    scheme_expiry_problem,
    scheme_review_due,
)
from dispatchdesk.protocol.schemas import Snapshot
from dispatchdesk.protocol.warnings import (
    OrderCreate,
    OrderOut,
    OrderPatch,
    SchemeCreate,
    SchemeEnd,
    SchemeExtend,
    SchemeOut,
    SchemeReviewRequest,
    SchemeVictimContact,
    SchemeVictimInformed,
    WarningAudit,
    WarningPolicyModel,
    WarningsPage,
    find_warnings_for_people,
)
from dispatchdesk.server.auth import User
from dispatchdesk.server.db import (
    audit_row,
    incidents,
    read_tx,
)
from dispatchdesk.server.errors import (
    Conflict,
    Invalid,
    NotFound,
    Stale,
)
from dispatchdesk.server.features.warnings.records import (
    add_contact,
    contacts,
    in_days,
    incident_people,
    is_live,
    live_schemes_out,
    order_changed,
    order_out,
    removal_notice,
    removal_notice_since,
    scheme_changed,
    scheme_name,
    scheme_out,
)
from dispatchdesk.server.features.warnings.sweeper import SchemeSweeper, Sweeping
from dispatchdesk.server.features.warnings.tables import (
    protective_orders,
    scheme_victim_contacts,
    schemes,
)
from dispatchdesk.server.features.warnings.writes import (
    check_new_scheme,
    insert_order,
    insert_scheme,
    order_problems,
    refuse_order,
    remove_scheme,
)
from dispatchdesk.server.rationales import Entity
from dispatchdesk.server.runner import CommandResult, CommandRunner, Idem


class WarningsDesk:
    """Schemes, orders and warnings over one :class:`CommandRunner`."""

    def __init__(self, runner: CommandRunner, policy: WarningPolicy | None = None) -> None:
        self.runner = runner
        self.policy = policy or runner.settings.warning_policy
        #: Expiry, automatic review requests and escalation of schemes.
        self.sweeper = SchemeSweeper(runner, self.policy)

    @property
    def _retention(self) -> int:
        return self.runner.settings.change_retention

    def sweep(self) -> int:
        """Sweep the schemes now (see :meth:`SchemeSweeper.sweep`); how many changed."""
        return self.sweeper.sweep()

    def start_sweeper(self, seconds: float | None = None) -> Sweeping:
        """Sweep every ``seconds`` on a thread while the app runs."""
        return self.sweeper.start(seconds)

    # --- reads -----------------------------------------------------------------------------

    def extend_snapshot(self, snap: Snapshot) -> Snapshot:
        """The snapshot with live schemes and all orders, read after its cursor (so every
        change up to the cursor is in them; later ones the client replays, idempotently)."""
        now = snap.server_time
        with read_tx(self.runner.engine) as conn:
            live = live_schemes_out(conn, now, self.policy)
            o_rows = conn.execute(
                sa.select(protective_orders).order_by(protective_orders.c.id)
            ).all()
        policy = snap.policy.model_copy(
            update={"warnings": WarningPolicyModel.from_policy(self.policy)}
        )
        return snap.model_copy(
            update={
                "policy": policy,
                "schemes": live,
                "orders": [order_out(r) for r in o_rows],
            }
        )

    def get_scheme(self, scheme_id: int) -> SchemeOut:
        now = self.runner.now()
        with read_tx(self.runner.engine) as conn:
            row = conn.execute(
                sa.select(schemes).where(schemes.c.id == scheme_id, is_live(now))
            ).first()
            logs = contacts(conn, scheme_victim_contacts.c.scheme_id == scheme_id)
        if row is None:
            raise NotFound(f"There is no live special scheme {scheme_id}.")
        return scheme_out(row, now, self.policy, logs.get(scheme_id))

    def list_schemes(self, state: ReviewState | None) -> list[SchemeOut]:
        """The live schemes (in a review state when given), by id."""
        now = self.runner.now()
        with read_tx(self.runner.engine) as conn:
            live = live_schemes_out(conn, now, self.policy)
        return [s for s in live if state is None or s.review_state is state]

    def get_order(self, order_id: int) -> OrderOut:
        with read_tx(self.runner.engine) as conn:
            row = conn.execute(
                sa.select(protective_orders).where(protective_orders.c.id == order_id)
            ).first()
        if row is None:
            raise NotFound(f"There is no protective order {order_id}.")
        return order_out(row)

    def warnings(
        self, q: Place | None, who: Person | None, incident_id: int | None
    ) -> WarningsPage:
        now = self.runner.now()
        people: list[Person] = [who] if who is not None else []
        with read_tx(self.runner.engine) as conn:
            if incident_id is not None:
                inc = conn.execute(
                    sa.select(incidents.c.location, incidents.c.caller, incidents.c.persons).where(
                        incidents.c.id == incident_id
                    )
                ).first()
                if inc is None:
                    raise NotFound(f"There is no incident {incident_id}.")
                loc = inc.location
                if q is None:
                    q = Place(
                        uprn=loc.get("uprn"),
                        parent_uprn=loc.get("parent_uprn"),
                        usrn=loc.get("usrn"),
                        address=loc.get("address"),
                        postcode=loc.get("postcode"),
                    )
                if who is None:
                    people = incident_people(inc.caller, inc.persons)
            live = live_schemes_out(conn, now, self.policy) if q else []
            o_rows = conn.execute(sa.select(protective_orders)).all()
        found = find_warnings_for_people(
            live,
            [order_out(r) for r in o_rows],
            q,
            people,
            now,
            self.policy,
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
        self,
        user: User,
        scheme_id: int,
        idem: Idem,
        action: str,
        if_match: int | None,
        change: Callable[[Connection, Row[Any], datetime], str],
    ) -> CommandResult:
        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            row = conn.execute(
                sa.select(schemes).where(schemes.c.id == scheme_id, is_live(now))
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
                audit_row(conn, now, user.username, action, "scheme", scheme_id, f"{name} {detail}")
                return 200, {"id": scheme_id, "ended_at": now.isoformat()}
            conn.execute(
                schemes.update()
                .where(schemes.c.id == scheme_id)
                .values(
                    version=row.version + 1,
                    updated_at=now,
                )
            )
            out = scheme_changed(conn, scheme_id, now, self._retention, self.policy)
            audit_row(
                conn,
                now,
                user.username,
                action,
                "scheme",
                scheme_id,
                f"{name} v{out.version}: {detail}",
            )
            return 200, out.model_dump(mode="json")

        self.sweep()
        return self.runner.run(user, idem, apply, action, scheme_id, "scheme")

    def extend_scheme(
        self, user: User, scheme_id: int, body: SchemeExtend, idem: Idem, if_match: int | None
    ) -> CommandResult:
        def change(conn: Connection, row: Row[Any], now: datetime) -> str:
            problem = scheme_expiry_problem(
                now, body.expires_at, self.policy, what="extension (now)"
            )
            if problem is not None:
                raise Invalid(problem)
            # the extension decides the review; inside the new expiry's review window the
            # next first-stage review is requested at once
            in_window = now >= scheme_review_due(body.expires_at, self.policy)
            conn.execute(
                schemes.update()
                .where(schemes.c.id == row.id)
                .values(
                    expires_at=body.expires_at,
                    extended_at=now,
                    review_requested_at=now if in_window else None,
                    escalated_at=None,
                    escalation_due_at=(
                        scheme_escalation_due(body.expires_at, now, self.policy)
                        if in_window
                        else None
                    ),
                )
            )
            review = (
                "; first-stage review requested at once: it expires within the "
                f"{in_days(self.policy.review_window)} review window"
                if in_window
                else ""
            )
            return f"extended to {body.expires_at.isoformat()}{review}" + (
                f": {body.note}" if body.note else ""
            )

        return self._scheme_command(user, scheme_id, idem, "extend_scheme", if_match, change)

    def end_scheme(
        self, user: User, scheme_id: int, body: SchemeEnd, idem: Idem, if_match: int | None
    ) -> CommandResult:
        def change(conn: Connection, row: Row[Any], now: datetime) -> str:
            self.runner.check_rationale(
                conn,
                now,
                body.reason,
                kind="scheme_end",
                what="reason for ending the scheme",
                entity=Entity(scheme_id=row.id),
                by=user.username,
            )
            told = removal_notice(conn, row)
            override = ""
            if told is None:
                if body.override_rationale is None or not body.override_rationale.strip():
                    _since, words = removal_notice_since(row)
                    raise Conflict(
                        f"Scheme {scheme_id}: the victim has not been told of its "
                        f"removal and no failed attempt to tell them is recorded {words}. "
                        "Tell the victim the scheme is being removed, or record a failed "
                        "attempt, then end it; a supervisor may end it anyway with a rationale."
                    )
                self.runner.check_rationale(
                    conn,
                    now,
                    body.override_rationale,
                    kind="scheme_end",
                    what="rationale for ending without telling the victim",
                    entity=Entity(scheme_id=row.id),
                    by=user.username,
                    field="override_rationale",
                )
                override = (
                    "; the victim was not told of the removal and no failed attempt "
                    "is recorded: ended on the supervisor's rationale: "
                    f"{body.override_rationale.strip()}"
                )
            remove_scheme(conn, row.id, now, self._retention, f"ended: {body.reason}")
            notice = (
                ""
                if told is None
                else f"; victim contact {told.outcome.value} at {told.at.isoformat()}"
            )
            return f"ended: {body.reason}{notice}{override}"

        return self._scheme_command(user, scheme_id, idem, "end_scheme", if_match, change)

    def request_review(
        self,
        user: User,
        scheme_id: int,
        body: SchemeReviewRequest,
        idem: Idem,
        if_match: int | None,
    ) -> CommandResult:
        def change(conn: Connection, row: Row[Any], now: datetime) -> str:
            if row.review_requested_at is not None:
                raise Conflict(
                    f"A review of scheme {scheme_id} was already requested at "
                    f"{row.review_requested_at.isoformat()}: decide it (extend or end)."
                )
            conn.execute(
                schemes.update()
                .where(schemes.c.id == row.id)
                .values(
                    review_requested_at=now,
                    escalated_at=None,
                    escalation_due_at=scheme_escalation_due(row.expires_at, now, self.policy),
                )
            )
            return "first-stage review requested" + (f": {body.note}" if body.note else "")

        return self._scheme_command(
            user, scheme_id, idem, "request_scheme_review", if_match, change
        )

    def victim_informed(
        self,
        user: User,
        scheme_id: int,
        body: SchemeVictimInformed,
        idem: Idem,
        if_match: int | None,
    ) -> CommandResult:
        """The older command: an INFORMED entry of the victim contact log."""
        contact = SchemeVictimContact(
            outcome=VictimContactOutcome.INFORMED, note=body.note, at=body.at
        )
        return self.victim_contact(
            user, scheme_id, contact, idem, if_match, action="scheme_victim_informed"
        )

    def victim_contact(
        self,
        user: User,
        scheme_id: int,
        body: SchemeVictimContact,
        idem: Idem,
        if_match: int | None,
        action: str = "scheme_victim_contact",
    ) -> CommandResult:
        """Add to the victim contact log. The note stays in the log, out of the audit."""

        def change(conn: Connection, row: Row[Any], now: datetime) -> str:
            at = body.at or now
            if at > now + timedelta(minutes=1):
                what = "told" if body.outcome is VictimContactOutcome.INFORMED else "tried to tell"
                raise Invalid(
                    f"The victim cannot have been {what} in the future: give the time it happened."
                )
            at = min(at, now)
            note = body.note.strip() if body.note and body.note.strip() else None
            add_contact(conn, row.id, body.outcome, note, at, now, user.username)
            return f"victim contact {body.outcome.value} at {at.isoformat()}"

        return self._scheme_command(user, scheme_id, idem, action, if_match, change)

    def create_order(self, user: User, body: OrderCreate, idem: Idem) -> CommandResult:
        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            refuse_order(order_problems(body, local_today(now, self.policy)))
            self._check_source_ref(conn, body.source_ref, None)
            out = insert_order(conn, body, now, user.username, self._retention)
            return 201, out.model_dump(mode="json")

        return self.runner.run(user, idem, apply, "create_order", None, "order")

    @staticmethod
    def _check_source_ref(conn: Connection, ref: str, own_id: int | None) -> None:
        other = conn.execute(
            sa.select(protective_orders.c.id).where(protective_orders.c.source_ref == ref)
        ).scalar()
        if other is not None and other != own_id:
            raise Conflict(
                f"Order {other} already has the source reference {ref!r}: update that "
                "order instead of adding it again."
            )

    def patch_order(
        self, user: User, order_id: int, body: OrderPatch, if_match: int | None, idem: Idem
    ) -> CommandResult:
        fields = body.model_fields_set
        if not fields:
            raise Invalid("Nothing to change: send at least one field of the order.")

        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            row = conn.execute(
                sa.select(protective_orders).where(protective_orders.c.id == order_id)
            ).first()
            if row is None:
                raise NotFound(f"There is no protective order {order_id}.")
            if if_match is not None and row.version != if_match:  # None: If-Match: *
                raise Stale(
                    f"Order {order_id} has changed since you loaded it: it is now at "
                    f"version {row.version}, not {if_match}. Review it and try again."
                )
            current = order_out(row)
            try:
                merged = OrderCreate.model_validate(
                    {
                        **current.model_dump(mode="json", exclude={"id", "version"}),
                        **body.model_dump(mode="json", include=fields),
                    }
                )
            except ValidationError as exc:  # a required field sent as null
                raise Invalid(
                    [
                        {"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]}
                        for e in exc.errors()
                    ]
                ) from None
            refuse_order(order_problems(merged, local_today(now, self.policy)))
            if merged.source_ref != current.source_ref:
                self._check_source_ref(conn, merged.source_ref, order_id)
            conn.execute(
                protective_orders.update()
                .where(protective_orders.c.id == order_id)
                .values(
                    order_type=merged.order_type.value,
                    subject=merged.subject.model_dump(mode="json"),
                    protected_persons=[p.model_dump(mode="json") for p in merged.protected_persons],
                    locations=[p.model_dump(mode="json") for p in merged.locations],
                    conditions=merged.conditions,
                    issued_on=merged.issued_on,
                    expires_on=merged.expires_on,
                    source_ref=merged.source_ref,
                    version=row.version + 1,
                    updated_at=now,
                )
            )
            out = order_changed(conn, order_id, now, self._retention)
            audit_row(
                conn,
                now,
                user.username,
                "update_order",
                "order",
                order_id,
                f"v{out.version}: changed {', '.join(sorted(fields))}",
            )
            return 200, out.model_dump(mode="json")

        return self.runner.run(user, idem, apply, "update_order", order_id, "order")

    def audit_warning(
        self,
        user: User,
        kind: Literal["scheme", "order"],
        entity_id: int,
        body: WarningAudit,
        action: str,
        idem: Idem,
    ) -> CommandResult:
        """Record that a warning was shown to, or acknowledged by, an operator. Recorded even
        for a scheme that has since expired (the record of what was seen must not be lost)."""
        table = schemes if kind == "scheme" else protective_orders

        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            inc = conn.execute(
                sa.select(incidents.c.ref).where(incidents.c.id == body.incident_id)
            ).first()
            if inc is None:
                raise NotFound(f"There is no incident {body.incident_id}.")
            row = conn.execute(sa.select(table).where(table.c.id == entity_id)).first()
            if row is None:
                raise NotFound(f"There is no {kind} {entity_id}.")
            note = ""
            if kind == "scheme" and (row.removed_at is not None or row.expires_at <= now):
                note = " (the scheme was no longer live)"
            verb = "shown" if action == "warning_shown" else "acknowledged"
            name = (
                scheme_name(entity_id, row.category) if kind == "scheme" else f"{kind} {entity_id}"
            )
            detail = (
                f"{name} v{row.version} {verb} for incident {inc.ref} (id {body.incident_id}){note}"
            )
            audit_row(conn, now, user.username, action, kind, entity_id, detail)
            return 200, {
                "kind": kind,
                "id": entity_id,
                "incident_id": body.incident_id,
                "action": verb,
                "by": user.username,
                "at": now.isoformat(),
            }

        return self.runner.run(user, idem, apply, action, entity_id, kind)
