"""Writes shared by the API and the bulk import (in the caller's transaction, which holds the
log lock): new schemes and orders, removing a scheme, the warnings passed to a unit; the
rules they are checked against; and the audit rows as served."""

import json
import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dispatchdesk.domain.warnings import (
    VictimContactOutcome,
    WarningPolicy,
    scheme_escalation_due,
    scheme_expiry_problem,
    scheme_review_due,
)
from dispatchdesk.protocol import API_PREFIX
from dispatchdesk.protocol.schemas import PassedWarning
from dispatchdesk.protocol.warnings import (
    OrderCreate,
    OrderOut,
    SchemeCreate,
    SchemeOut,
)
from dispatchdesk.server import changelog
from dispatchdesk.server.db import (
    audit_row,
    changes,
    idempotency,
)
from dispatchdesk.server.errors import (
    Invalid,
)
from dispatchdesk.server.features.warnings.records import (
    add_contact,
    in_days,
    order_changed,
    scheme_changed,
    scheme_name,
)
from dispatchdesk.server.features.warnings.tables import (
    protective_orders,
    schemes,
)
from dispatchdesk.server.reference import field_errors, order_dob_problems


def audit_warnings_passed(
    conn: Connection,
    now: datetime,
    username: str,
    passed: Sequence[PassedWarning],
    callsign: str,
    incident_ref: str,
    incident_id: int,
) -> str:
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
    found = _passed_rows(conn, passed)
    for ref in passed:
        row = found.get((ref.kind, ref.id))
        what = "special scheme" if ref.kind == "scheme" else "protective order"
        if row is None:
            raise Invalid(
                f"There is no {what} {ref.id}: the warnings passed to "
                f"{callsign} must be ones the server sent. Nothing was changed."
            )
        if ref.kind == "scheme":
            note = ", no longer live" if row.removed_at is not None or row.expires_at <= now else ""
            words.append(f"scheme {ref.id} ({row.category}{note})")
        else:
            words.append(f"order {ref.id} ({row.order_type})")
        audit_row(
            conn,
            now,
            username,
            "warning_passed",
            ref.kind,
            ref.id,
            f"{ref.kind} {ref.id} v{row.version} passed to {callsign} for incident "
            f"{incident_ref} (id {incident_id})",
        )
    return f"; warnings passed to {callsign}: {', '.join(words)}"


def _passed_rows(conn: Connection, passed: Sequence[PassedWarning]) -> dict[tuple[str, int], Any]:
    """The rows of the warnings named, by (kind, id): one read per kind named."""
    out: dict[tuple[str, int], Any] = {}
    for kind, table in (("scheme", schemes), ("order", protective_orders)):
        ids = [ref.id for ref in passed if ref.kind == kind]
        if ids:
            rows = conn.execute(sa.select(table).where(table.c.id.in_(ids)))
            out.update(((kind, r.id), r) for r in rows)
    return out


def check_new_scheme(
    body: SchemeCreate, now: datetime, policy: WarningPolicy
) -> list[tuple[str, str]]:
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
    if body.victim_informed_at is not None and body.victim_informed_at > now + timedelta(minutes=1):
        problems.append(("victim_informed_at", "The victim cannot have been told in the future."))
    return problems


def insert_scheme(
    conn: Connection,
    body: SchemeCreate,
    now: datetime,
    username: str,
    retention: int,
    policy: WarningPolicy,
    how: str = "",
) -> SchemeOut:
    """Insert a checked scheme, with its change and audit rows, in the caller's transaction
    (which holds the log lock). One added inside its review window has its first-stage
    review requested at once; the victim told at the outset is the first entry of its
    contact log."""
    loc = body.location
    in_window = now >= scheme_review_due(body.expires_at, policy)
    new_id = int(
        conn.execute(
            schemes.insert()
            .values(
                version=1,
                location=loc.model_dump(mode="json"),
                uprn=loc.uprn,
                parent_uprn=loc.parent_uprn,
                usrn=loc.usrn,
                category=body.category.value,
                summary=body.summary,
                officer_in_case=body.officer_in_case,
                starts_at=body.starts_at or now,
                expires_at=body.expires_at,
                review_requested_at=now if in_window else None,
                escalation_due_at=(
                    scheme_escalation_due(body.expires_at, now, policy) if in_window else None
                ),
                created_at=now,
                updated_at=now,
            )
            .returning(schemes.c.id)
        ).scalar_one()
    )
    if body.victim_informed_at is not None:
        add_contact(
            conn,
            new_id,
            VictimContactOutcome.INFORMED,
            "Told at the outset how long the scheme lasts",
            body.victim_informed_at,
            now,
            username,
            outset=True,
        )
    out = scheme_changed(conn, new_id, now, retention, policy)
    review = (
        f"; first-stage review requested at once: it expires within the "
        f"{in_days(policy.review_window)} review window"
        if in_window
        else ""
    )
    audit_row(
        conn,
        now,
        username,
        "create_scheme",
        "scheme",
        out.id,
        f"{scheme_name(out.id, out.category.value)} created, expires "
        f"{out.expires_at.isoformat()}{review}{how}",
    )
    return out


def remove_scheme(
    conn: Connection, scheme_id: int, now: datetime, retention: int, reason: str
) -> None:
    """Stop serving a scheme: mark it removed, rewrite its earlier log rows to a delete (so the
    log keeps none of its text) and append a delete change for clients to act on."""
    gone = json.dumps({"id": scheme_id}, separators=(",", ":"))
    conn.execute(
        schemes.update()
        .where(schemes.c.id == scheme_id)
        .values(
            removed_at=now,
            removed_reason=reason,
            updated_at=now,
            escalation_due_at=None,
        )
    )
    conn.execute(
        changes.update()
        .where(changes.c.entity == "scheme", changes.c.entity_id == scheme_id)
        .values(op="delete", data=gone)
    )
    changelog.append(
        conn,
        entity="scheme",
        entity_id=scheme_id,
        data={"id": scheme_id},
        now=now,
        retention=retention,
        op="delete",
    )
    # a command's stored result would otherwise replay the scheme to whoever resends it
    gone_body = json.dumps(
        {
            "detail": f"Special scheme {scheme_id} has expired or been ended "
            "and is no longer shown anywhere."
        }
    )
    stored = conn.execute(
        sa.select(idempotency.c.key, idempotency.c.response_body).where(
            idempotency.c.method_path.like(f"POST {API_PREFIX}/schemes%")
        )
    ).all()
    for key, body in stored:
        try:
            sid = json.loads(body).get("id")
        except (ValueError, AttributeError):
            continue
        if sid == scheme_id:
            conn.execute(
                idempotency.update()
                .where(idempotency.c.key == key)
                .values(
                    status_code=410,
                    response_body=gone_body,
                )
            )


_OLD_CREATE = re.compile(
    r"^(?P<category>[A-Z_]+) at .*, expires (?P<expires>\S+)(?P<how>.*)$", re.DOTALL
)


def redact_audit_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Audit rows as served: rows written before the audit named schemes by id and category
    only carry the scheme's address (``create_scheme``); those are rewritten on read to the
    current wording, keeping the category, expiry and import line."""
    out = []
    for row in rows:
        sid = row.get("entity_id")
        if (
            row.get("entity") == "scheme"
            and row.get("action") == "create_scheme"
            and not str(row.get("detail", "")).startswith(f"scheme {sid} (")
        ):
            found = _OLD_CREATE.match(str(row.get("detail", "")))
            if found is None:
                detail = (
                    f"scheme {sid}: created (details withheld: recorded before schemes "
                    "were audited by id and category only)"
                )
            else:
                how = found["how"]
                imported = how if re.fullmatch(r" \(import \S+ line \d+\)", how) else ""
                detail = (
                    f"{scheme_name(int(sid or 0), found['category'])} created, expires "
                    f"{found['expires']}{imported}"
                )
            row = {**row, "detail": detail}
        out.append(row)
    return out


def insert_order(
    conn: Connection, body: OrderCreate, now: datetime, username: str, retention: int, how: str = ""
) -> OrderOut:
    new_id = conn.execute(
        protective_orders.insert()
        .values(
            version=1,
            order_type=body.order_type.value,
            subject=body.subject.model_dump(mode="json"),
            protected_persons=[p.model_dump(mode="json") for p in body.protected_persons],
            locations=[p.model_dump(mode="json") for p in body.locations],
            conditions=body.conditions,
            issued_on=body.issued_on,
            expires_on=body.expires_on,
            source_ref=body.source_ref,
            created_at=now,
            updated_at=now,
        )
        .returning(protective_orders.c.id)
    ).scalar_one()
    out = order_changed(conn, int(new_id), now, retention)
    audit_row(
        conn,
        now,
        username,
        "create_order",
        "order",
        out.id,
        f"{out.order_type.value} {out.source_ref}, subject {out.subject.name}, expires "
        f"{out.expires_on.isoformat() if out.expires_on else 'until further order'}{how}",
    )
    return out


def order_problems(body: OrderCreate, today: date | None = None) -> list[tuple[str, str]]:
    """Rule problems of an order as (field, sentence); a date of birth after ``today`` (the
    control room's date) too when it is given, as ``subject.dob`` or
    ``protected_persons.N.dob``."""
    problems = []
    if body.expires_on is not None and body.expires_on < body.issued_on:
        problems.append(("expires_on", "An order cannot expire before it was issued."))
    if today is not None:
        problems += [
            (".".join(str(p) for p in loc), msg) for loc, msg in order_dob_problems(body, today)
        ]
    return problems


def refuse_order(problems: list[tuple[str, str]]) -> None:
    """422 naming each field (FastAPI's shape) when an order breaks a rule."""
    if problems:
        raise Invalid(
            field_errors(
                [
                    (tuple(int(p) if p.isdigit() else p for p in f.split(".")), msg)
                    for f, msg in problems
                ]
            )
        )
