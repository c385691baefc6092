"""History and links, pure of HTTP.

Reads: ``search`` (``GET /history``: a location and/or a person) and ``incident_history``
(``GET /incidents/{id}/history``: the incident's location and every person on it, the caller
included, plus its linked incidents). Both look back the policy's ``history_years`` (at least
five), cover every incident type and grade, closed ones included, and answer most recent first,
at most 200. Opening either is audited (who, when, what was looked up): history names people.

Commands: ``link`` and ``unlink``, through the :class:`CommandRunner`: both incidents change
(version, change log, audit), the other side holding the inverse relation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dispatchdesk.domain.history import (
    HISTORY_LIMIT,
    LinkRelation,
    history_years_problem,
    years_before,
)
from dispatchdesk.domain.rationale import rationale_problem
from dispatchdesk.domain.warnings import MatchKind, ParsedPlace, Place
from dispatchdesk.protocol.history import HistoryEntry, HistoryMatch, HistoryPage
from dispatchdesk.protocol.schemas import IncidentPersonModel, LinkCreate, LinkOut, LinkRemove
from dispatchdesk.server.auth import User
from dispatchdesk.server.db import audit_row, incidents, is_postgres, read_tx, write_tx
from dispatchdesk.server.errors import Conflict, Invalid, NotFound
from dispatchdesk.server.features.history.keys import parsed_place
from dispatchdesk.server.features.history.links import links_of
from dispatchdesk.server.features.history.lookup import (
    Asked,
    Candidates,
    Found,
    classify,
    incident_rows,
    match_key,
    near_names,
    people_of,
    person_candidates,
    place_candidates,
)
from dispatchdesk.server.features.history.records import incidents_out
from dispatchdesk.server.features.history.tables import incident_links
from dispatchdesk.server.features.incidents.service import Incidents
from dispatchdesk.server.rationales import Entity
from dispatchdesk.server.runner import RATIONALE_REFUSED, CommandResult, CommandRunner, Idem


def _entry(found: Found, incident: Any) -> HistoryEntry:
    ordered = sorted(dict.fromkeys(found.matches), key=match_key)
    matches = [
        HistoryMatch(
            matched_on=on,
            match=how,
            possible=on != "link" and MatchKind(how).possible,
            person=theirs,
            query_person=asked,
        )
        for on, how, theirs, asked in ordered
    ]
    best = matches[0]
    return HistoryEntry(
        incident=incident,
        matched_on=best.matched_on,
        match=best.match,
        possible=best.possible,
        person=best.person,
        query_person=best.query_person,
        matches=matches,
    )


class History:
    """History reads and incident links over one :class:`CommandRunner`."""

    def __init__(self, runner: CommandRunner, incidents: Incidents) -> None:
        self.runner = runner
        self.incidents = incidents

    @property
    def postgres(self) -> bool:
        return is_postgres(self.runner.engine)

    def since(self, now: datetime, years: int | None) -> datetime:
        """The start of the window: ``years`` (the policy's when not given) before ``now``."""
        years = self.runner.settings.history_years if years is None else years
        if (problem := history_years_problem(years)) is not None:
            raise Invalid([{"loc": ["query", "years"], "msg": problem, "type": "value_error"}])
        return years_before(now, years)

    # --- reads -----------------------------------------------------------------------------

    def search(
        self, user: User, place: Place | None, person: IncidentPersonModel | None, years: int | None
    ) -> HistoryPage:
        """``GET /history``: earlier incidents at ``place`` and/or involving ``person``."""
        if place is None and person is None:
            raise Invalid(
                "Say what to look up: a location (uprn, parent_uprn, usrn, address or "
                "postcode) and/or a person's name (with the date of birth if known)."
            )
        now = self.runner.now()
        since = self.since(now, years)
        parsed = ParsedPlace.of(place) if place is not None else None
        asked = [Asked(person)] if person is not None else []
        what = "; ".join(
            x
            for x in (
                place and (place.address or place.uprn or place.usrn or place.postcode or ""),
                person and f"{person.name} ({person.dob or 'no DOB'})",
            )
            if x
        )
        with self._reading(user, "history_search", None) as (conn, audit):
            page = self._page(conn, now, since, parsed, asked, None, [])
            audit(f"Searched history for {what}: {_count(page)}")
        return page

    def incident_history(self, user: User, incident_id: int) -> HistoryPage:
        """``GET /incidents/{id}/history``: for its location and every person on it, plus
        its linked incidents; the incident itself is never in it."""
        now = self.runner.now()
        since = self.since(now, None)
        with self._reading(user, "history_viewed", incident_id) as (conn, audit):
            row = self.incidents.load(conn, incident_id)
            linked = links_of(conn, [row.id]).get(row.id, [])
            asked = [Asked(p) for p in people_of(row)]
            page = self._page(conn, now, since, parsed_place(row.location), asked, row.id, linked)
            audit(f"Opened the history of {row.ref}: {_count(page)}")
        return page.model_copy(update={"incident_id": row.id})

    @contextmanager
    def _reading(
        self, user: User, action: str, incident_id: int | None
    ) -> Iterator[tuple[Connection, Callable[[str], None]]]:
        """A read transaction, and the audit of what it read: on PostgreSQL written in the
        same transaction (one round trip, not a second transaction); on SQLite, whose read
        transaction cannot become a writer once others have written, in a write transaction
        of its own right after. Either way no answer leaves without its audit row."""
        details: list[str] = []

        def write(conn: Connection, detail: str) -> None:
            entity = "incident" if incident_id is not None else "history"
            audit_row(conn, self.runner.now(), user.username, action, entity, incident_id, detail)

        with read_tx(self.runner.engine) as conn:
            if self.postgres:
                yield conn, lambda detail: write(conn, detail)
            else:
                yield conn, details.append
        if details:
            with write_tx(self.runner.engine) as conn:
                write(conn, details[0])

    def _page(
        self,
        conn: Connection,
        now: datetime,
        since: datetime,
        place: ParsedPlace | None,
        asked: Sequence[Asked],
        exclude: int | None,
        linked: list[LinkOut],
    ) -> HistoryPage:
        policy = self.runner.settings.warning_policy
        found = Candidates(since, self.postgres, policy.address_similarity)
        if place is not None:
            place_candidates(place, found)
        near = near_names(conn, asked, policy)
        for who in asked:
            person_candidates(who, found, near)
        found.run(conn)
        found.ids.discard(exclude or 0)
        rows = incident_rows(conn, found.ids | {link.incident_id for link in linked})
        hits = {
            h.incident_id: h
            for h in classify((rows[i] for i in found.ids if i in rows), place, asked, policy)
        }
        for link in linked:
            hit = hits.setdefault(
                link.incident_id, Found(link.incident_id, rows[link.incident_id].created_at)
            )
            hit.matches.append(("link", link.relation.value, None, None))
        newest = sorted(hits.values(), key=lambda h: (h.created_at, h.incident_id), reverse=True)
        # linked incidents are always listed; the rest, most recent first, fill up to the limit
        shown = _first(newest, {link.incident_id for link in linked}, HISTORY_LIMIT)
        outs = incidents_out(conn, [rows[h.incident_id] for h in shown])
        return HistoryPage(
            server_time=now,
            since=since,
            incidents=[_entry(h, outs[h.incident_id]) for h in shown],
            truncated=found.truncated or len(newest) > len(shown),
        )

    # --- links -----------------------------------------------------------------------------

    def link(self, user: User, incident_id: int, body: LinkCreate, idem: Idem) -> CommandResult:
        """Link ``incident_id`` to ``body.incident_id``; the other side gets the inverse."""

        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            row = self.incidents.load(conn, incident_id)
            other = self.incidents.load(conn, body.incident_id)
            if other.id == row.id:
                raise Invalid(
                    [
                        {
                            "loc": ["body", "incident_id"],
                            "msg": f"{row.ref} cannot be linked to itself: give the other "
                            "incident's id.",
                            "type": "value_error",
                        }
                    ]
                )
            have = conn.execute(
                sa.select(incident_links.c.relation).where(
                    incident_links.c.incident_id == row.id, incident_links.c.other_id == other.id
                )
            ).scalar()
            if have is not None:
                raise Conflict(
                    f"{row.ref} is already linked to {other.ref} ({have}). Remove that link "
                    "first to link them otherwise."
                )
            if (problem := rationale_problem(body.reason, what="link reason")) is not None:
                # Refused like every other reason: 422 naming the field.
                raise Invalid(
                    [
                        {
                            "loc": ["body", "reason"],
                            "msg": problem,
                            "type": RATIONALE_REFUSED,
                        }
                    ]
                )
            sides = ((row, other, body.relation), (other, row, body.relation.inverse))
            for mine, theirs, relation in sides:
                conn.execute(
                    incident_links.insert().values(
                        incident_id=mine.id,
                        other_id=theirs.id,
                        relation=relation.value,
                        reason=body.reason,
                        by=user.username,
                        at=now,
                    )
                )
            return 201, self._changed(
                conn, now, user, "link_incident", row, other, body.relation, body.reason
            )

        return self.runner.run(user, idem, apply, "link_incident", incident_id)

    def unlink(
        self, user: User, incident_id: int, other_id: int, body: LinkRemove, idem: Idem
    ) -> CommandResult:
        """Remove the link between two incidents (both sides)."""

        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            row = self.incidents.load(conn, incident_id)
            other = self.incidents.load(conn, other_id)
            have = conn.execute(
                sa.select(incident_links.c.relation).where(
                    incident_links.c.incident_id == row.id, incident_links.c.other_id == other.id
                )
            ).scalar()
            if have is None:
                raise NotFound(
                    f"{row.ref} is not linked to {other.ref}: there is nothing to remove."
                )
            self.runner.check_rationale(
                conn,
                now,
                body.reason,
                kind="link_remove",
                what="reason for removing the link",
                entity=Entity(row.id, row.ref),
                by=user.username,
            )
            conn.execute(
                incident_links.delete().where(
                    sa.or_(
                        sa.and_(
                            incident_links.c.incident_id == row.id,
                            incident_links.c.other_id == other.id,
                        ),
                        sa.and_(
                            incident_links.c.incident_id == other.id,
                            incident_links.c.other_id == row.id,
                        ),
                    )
                )
            )
            return 200, self._changed(
                conn, now, user, "unlink_incident", row, other, LinkRelation(have), body.reason
            )

        return self.runner.run(user, idem, apply, "unlink_incident", incident_id)

    def _changed(
        self,
        conn: Connection,
        now: datetime,
        user: User,
        action: str,
        row: Any,
        other: Any,
        relation: LinkRelation,
        reason: str,
    ) -> dict[str, Any]:
        """Both incidents' new versions into the change log, each audited; the first's body."""
        verb = "linked to" if action == "link_incident" else "no longer linked to"
        first: dict[str, Any] = {}
        for mine, theirs, rel in ((row, other, relation), (other, row, relation.inverse)):
            conn.execute(
                incidents.update()
                .where(incidents.c.id == mine.id)
                .values(version=incidents.c.version + 1, updated_at=now)
            )
            out = self.incidents.emit_incident(conn, now, mine.id)
            self.runner.write_audit(
                conn,
                now,
                user.username,
                action,
                "incident",
                mine.id,
                f"{mine.ref} v{out.version} {verb} {theirs.ref} ({rel.value}): {reason}",
            )
            first = first or out.model_dump(mode="json")
        return first


def _first(newest: list[Found], always: set[int], limit: int) -> list[Found]:
    """``limit`` of ``newest`` (most recent first), every one of ``always`` among them."""
    room = max(limit - len(always), 0)
    chosen: list[Found] = []
    for hit in newest:
        if hit.incident_id in always:
            chosen.append(hit)
        elif room > 0:
            chosen.append(hit)
            room -= 1
    return chosen


def _count(page: HistoryPage) -> str:
    n = len(page.incidents)
    more = " (more not listed)" if page.truncated else ""
    return f"{n} incident{'s' if n != 1 else ''}{more}"
