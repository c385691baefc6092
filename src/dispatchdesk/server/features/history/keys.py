"""The search keys of an incident (its place row and its people rows), derived from the
location, caller and persons as stored, and written beside the incident; and the backfill
that gives incidents stored before these tables existed their keys at start-up."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dispatchdesk.domain.history import PersonRole
from dispatchdesk.domain.warnings import ParsedPlace, Place, normalise_name
from dispatchdesk.server.db import incidents, write_tx
from dispatchdesk.server.features.history.tables import (
    history_keys_state,
    incident_people,
    incident_places,
)

log = logging.getLogger(__name__)

#: Incidents given their keys per transaction by the start-up backfill.
BACKFILL_BATCH = 5_000


def parsed_place(location: dict[str, Any]) -> ParsedPlace:
    """A stored (or asked) location as the warnings' matcher reads it."""
    return ParsedPlace.of(
        Place(
            uprn=location.get("uprn"),
            parent_uprn=location.get("parent_uprn"),
            usrn=location.get("usrn"),
            address=location.get("address"),
            postcode=location.get("postcode"),
        )
    )


def place_row(incident_id: int, created_at: datetime, location: dict[str, Any]) -> dict[str, Any]:
    p = parsed_place(location)
    street = (p.parts.street if p.parts is not None else "") or None
    return {
        "incident_id": incident_id,
        "created_at": created_at,
        "uprn": p.uprn,
        "parent_uprn": p.parent_uprn,
        "usrn": p.usrn,
        "house": (p.house or None) and p.house[:100],
        "street": street and street[:200],
        "street_rev": street and street[::-1][:200],
        "postcode": p.postcode,
    }


def _dob(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def people_rows(
    incident_id: int,
    created_at: datetime,
    caller: dict[str, Any] | None,
    persons: list[dict[str, Any]] | None,
) -> list[dict[str, Any]]:
    """The caller (when named; INFORMANT unless a role is stored) and each person named
    (OTHER unless a role is stored)."""
    found: list[tuple[dict[str, Any], bool, str]] = []
    if caller and caller.get("name"):
        found.append((caller, True, PersonRole.INFORMANT.value))
    found += [(p, False, PersonRole.OTHER.value) for p in persons or []]
    rows = []
    for person, is_caller, default_role in found:
        norm = normalise_name(str(person.get("name") or ""))
        if not norm:
            continue
        rows.append(
            {
                "incident_id": incident_id,
                "created_at": created_at,
                "name_norm": norm[:200],
                "dob": _dob(person.get("dob")),
                "role": person.get("role") or default_role,
                "caller": is_caller,
            }
        )
    return rows


def write_keys(conn: Connection, found: Sequence[Any]) -> None:
    """The keys of incident rows (``id``, ``created_at``, ``location``, ``caller``,
    ``persons``), in the caller's transaction."""
    places = [place_row(r.id, r.created_at, r.location) for r in found]
    people = [p for r in found for p in people_rows(r.id, r.created_at, r.caller, r.persons)]
    if places:
        conn.execute(incident_places.insert(), places)
    if people:
        conn.execute(incident_people.insert(), people)


def _key_columns() -> sa.Select[Any]:
    return sa.select(
        incidents.c.id,
        incidents.c.created_at,
        incidents.c.location,
        incidents.c.caller,
        incidents.c.persons,
    )


def backfill(engine: Engine) -> int:
    """Give every incident without keys its keys (incidents stored by an earlier version);
    how many. Looks only above the id checked by the last run; safe to run again, and while
    other writers run (each batch in its own transaction)."""
    state = history_keys_state
    with write_tx(engine) as conn:
        last = conn.execute(sa.select(state.c.checked_through).where(state.c.id == 1)).scalar()
        top = conn.execute(sa.select(sa.func.max(incidents.c.id))).scalar() or 0
    start = int(last or 0)
    done = 0
    while start < top:
        with write_tx(engine) as conn:
            found = conn.execute(
                _key_columns()
                .where(
                    incidents.c.id > start,
                    incidents.c.id <= top,
                    ~sa.exists().where(incident_places.c.incident_id == incidents.c.id),
                )
                .order_by(incidents.c.id)
                .limit(BACKFILL_BATCH)
            ).all()
            write_keys(conn, found)
        start = top if len(found) < BACKFILL_BATCH else found[-1].id
        done += len(found)
    with write_tx(engine) as conn:
        if last is None:
            conn.execute(state.insert().values(id=1, checked_through=top))
        elif top > last:
            conn.execute(state.update().where(state.c.id == 1).values(checked_through=top))
    if done:
        log.info("history: search keys written for %d earlier incidents", done)
    return done
