"""Scheme and order rows as the wire shows them, the victim contact log, and the change
rows of a changed scheme or order."""

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from dispatchdesk.domain.warnings import (
    OrderType,
    Person,
    SchemeCategory,
    VictimContactOutcome,
    WarningPolicy,
    scheme_review_state,
)
from dispatchdesk.protocol.warnings import (
    OrderOut,
    PersonModel,
    PersonOut,
    PlaceOut,
    SchemeOut,
    VictimContactOut,
    person,
)
from dispatchdesk.server import changelog
from dispatchdesk.server.features.warnings.tables import (
    protective_orders,
    scheme_victim_contacts,
    schemes,
)

# --- rows to wire --------------------------------------------------------------------------


def scheme_out(
    row: Row[Any],
    now: datetime,
    policy: WarningPolicy,
    contacts: list[VictimContactOut] | None = None,
) -> SchemeOut:
    since, _words = removal_notice_since(row)
    notice = any(not c.outset and c.at >= since for c in contacts or [])
    return SchemeOut(
        id=row.id,
        version=row.version,
        location=PlaceOut.model_validate(row.location),
        category=SchemeCategory(row.category),
        summary=row.summary,
        officer_in_case=row.officer_in_case,
        starts_at=row.starts_at,
        expires_at=row.expires_at,
        extended_at=row.extended_at,
        review_state=scheme_review_state(row.expires_at, row.review_requested_at, now, policy),
        review_requested_at=row.review_requested_at,
        escalated_at=row.escalated_at,
        victim_informed_at=row.victim_informed_at,
        victim_contacts=contacts or [],
        removal_notice=notice,
    )


def scheme_name(scheme_id: int, category: str) -> str:
    """How the audit names a scheme: by id and category only, never its address or summary."""
    return f"scheme {scheme_id} ({category})"


def contacts(conn: Connection, which: Any) -> dict[int, list[VictimContactOut]]:
    """The victim contact logs of the schemes ``which`` selects (a condition on
    ``scheme_victim_contacts.c.scheme_id``), oldest first."""
    t = scheme_victim_contacts
    rows = conn.execute(sa.select(t).where(which).order_by(t.c.at, t.c.id)).all()
    out: dict[int, list[VictimContactOut]] = {}
    for r in rows:
        out.setdefault(int(r.scheme_id), []).append(
            VictimContactOut(
                outcome=VictimContactOutcome(r.outcome),
                note=r.note,
                at=r.at,
                by=r.username,
                recorded_at=r.recorded_at,
                outset=bool(r.outset),
            )
        )
    return out


def live_schemes_out(conn: Connection, now: datetime, policy: WarningPolicy) -> list[SchemeOut]:
    rows = conn.execute(sa.select(schemes).where(is_live(now)).order_by(schemes.c.id)).all()
    logs = (
        contacts(
            conn,
            scheme_victim_contacts.c.scheme_id.in_(
                sa.select(schemes.c.id).where(is_live(now)).scalar_subquery()
            ),
        )
        if rows
        else {}
    )
    return [scheme_out(r, now, policy, logs.get(r.id)) for r in rows]


def add_contact(
    conn: Connection,
    scheme_id: int,
    outcome: VictimContactOutcome,
    note: str | None,
    at: datetime,
    now: datetime,
    username: str,
    outset: bool = False,
) -> None:
    conn.execute(
        scheme_victim_contacts.insert().values(
            scheme_id=scheme_id,
            outcome=outcome.value,
            note=note,
            at=at,
            recorded_at=now,
            username=username,
            outset=outset,
        )
    )
    if outcome is VictimContactOutcome.INFORMED:  # the older field: the latest INFORMED
        conn.execute(
            schemes.update()
            .where(
                schemes.c.id == scheme_id,
                sa.or_(schemes.c.victim_informed_at.is_(None), schemes.c.victim_informed_at < at),
            )
            .values(victim_informed_at=at)
        )


def removal_notice_since(row: Row[Any]) -> tuple[datetime, str]:
    """Since when a victim contact counts as notice of the scheme's removal, and in words."""
    if row.review_requested_at is not None and (
        row.extended_at is None or row.review_requested_at >= row.extended_at
    ):
        return row.review_requested_at, "since its review was requested"
    if row.extended_at is not None:
        return row.extended_at, "since it was last extended"
    return row.created_at, "since it was added (the notice given then does not count)"


def removal_notice(conn: Connection, row: Row[Any]) -> VictimContactOut | None:
    """The latest victim contact (told, or a failed attempt) since the scheme's last decision
    point (:func:`removal_notice_since`); the outset notice never counts."""
    since, _words = removal_notice_since(row)
    t = scheme_victim_contacts
    found = contacts(
        conn, sa.and_(t.c.scheme_id == row.id, t.c.outset.is_(False), t.c.at >= since)
    ).get(row.id, [])
    return found[-1] if found else None


def order_out(row: Row[Any]) -> OrderOut:
    return OrderOut(
        id=row.id,
        version=row.version,
        order_type=OrderType(row.order_type),
        subject=PersonOut.model_validate(row.subject),
        protected_persons=[PersonOut.model_validate(p) for p in row.protected_persons],
        locations=[PlaceOut.model_validate(p) for p in row.locations],
        conditions=row.conditions,
        issued_on=row.issued_on,
        expires_on=row.expires_on,
        source_ref=row.source_ref,
    )


def incident_people(caller: dict[str, Any] | None, persons: list[Any] | None) -> list[Person]:
    """The caller (when named) and the people named on an incident, as stored."""
    # stored persons carry their role on the incident, which orders do not match on
    found = [PersonModel(name=p["name"], dob=p.get("dob")) for p in persons or []]
    if caller and caller.get("name"):
        found.insert(0, PersonModel(name=caller["name"], dob=caller.get("dob")))
    return [person(p) for p in found]


def is_live(now: datetime) -> Any:
    return sa.and_(schemes.c.removed_at.is_(None), schemes.c.expires_at > now)


def in_days(span: timedelta) -> str:
    days = span.total_seconds() / 86400
    return f"{days:g}-day"


def scheme_changed(
    conn: Connection, scheme_id: int, now: datetime, retention: int, policy: WarningPolicy
) -> SchemeOut:
    row = conn.execute(sa.select(schemes).where(schemes.c.id == scheme_id)).one()
    logs = contacts(conn, scheme_victim_contacts.c.scheme_id == scheme_id)
    out = scheme_out(row, now, policy, logs.get(scheme_id))
    changelog.append(
        conn,
        entity="scheme",
        entity_id=out.id,
        data=out.model_dump(mode="json"),
        now=now,
        retention=retention,
    )
    return out


def order_changed(conn: Connection, order_id: int, now: datetime, retention: int) -> OrderOut:
    row = conn.execute(sa.select(protective_orders).where(protective_orders.c.id == order_id)).one()
    out = order_out(row)
    changelog.append(
        conn,
        entity="order",
        entity_id=out.id,
        data=out.model_dump(mode="json"),
        now=now,
        retention=retention,
    )
    return out
