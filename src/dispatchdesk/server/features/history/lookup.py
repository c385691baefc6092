"""Finding earlier incidents: candidates read from the search tables by index, then each one
classified by the warnings' own matchers (:func:`~dispatchdesk.domain.warnings.match_parsed`
for the location, :func:`~dispatchdesk.domain.warnings.match_person` for people), so history
and warnings agree on what matches.

Which candidates each matcher rule needs, and the index that reads them:

* UPRN, the block and its flats (``uprn``/``parent_uprn`` against the place's UPRN and parent
  UPRN): ``ix_incident_places_uprn``, ``ix_incident_places_parent_uprn``, most recent first;
  every such candidate matches, so at most :data:`SURE_LIMIT` are read per rule.
* the same house on the same street (USRN): ``ix_incident_places_usrn``;
* free text (the same house, and the same full postcode or a street at most one typo away):
  a typo leaves either the first half or the last half of the street as typed, so the
  candidates are the house's streets starting with that half (``street``) or ending with the
  other (``street_rev``, the street reversed): two prefix reads of ``(house, street)``.
* a person: the same normalised name with the same date of birth or none
  (``ix_incident_places_name``); with a date of birth, the names recorded with it
  (``ix_incident_people_dob``, distinct names only) of which those near enough are kept
  (rapidfuzz's Indel similarity, an upper bound of difflib's ratio, first; then the matcher).

Candidates that need the matcher's say (free text, near names) are read up to
:data:`CHECK_LIMIT` per rule. A rule that filled its limit makes the answer ``truncated``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from rapidfuzz import process
from rapidfuzz.distance import Indel
from sqlalchemy.engine import Connection

from dispatchdesk.domain.history import HISTORY_LIMIT
from dispatchdesk.domain.warnings import (
    MATCH_RANK,
    MatchKind,
    ParsedPlace,
    Person,
    WarningPolicy,
    match_parsed,
    match_person,
    normalise_name,
)
from dispatchdesk.protocol.schemas import IncidentPersonModel
from dispatchdesk.server.db import incidents
from dispatchdesk.server.features.history.keys import parsed_place
from dispatchdesk.server.features.history.tables import incident_people, incident_places

#: Candidates read per rule whose every row matches (one more tells there are more).
SURE_LIMIT = HISTORY_LIMIT + 1
#: Candidates read per rule whose rows the matcher decides on.
CHECK_LIMIT = 2_000


@dataclass(frozen=True, slots=True)
class Asked:
    """One person asked about: as given, with the role they have on the incident asked from
    (OTHER for ``GET /history``)."""

    person: IncidentPersonModel

    @property
    def norm(self) -> str:
        return normalise_name(self.person.name)


@dataclass
class Found:
    """An earlier incident that matched, and every way it did."""

    incident_id: int
    created_at: datetime
    #: (matched_on, kind or relation, their person, the person asked about)
    matches: list[tuple[str, str, IncidentPersonModel | None, IncidentPersonModel | None]] = field(
        default_factory=list
    )


@dataclass
class Candidates:
    """Candidate incident ids from every rule, and whether a rule filled its limit."""

    ids: set[int] = field(default_factory=set)
    truncated: bool = False

    def take(self, rows: Sequence[Any], limit: int) -> None:
        self.ids.update(int(r[0]) for r in rows)
        if len(rows) >= limit:
            self.truncated = True


def _recent(
    conn: Connection, table: sa.Table, id_col: Any, where: Any, since: datetime, limit: int
) -> Sequence[Any]:
    return conn.execute(
        sa.select(id_col)
        .where(where, table.c.created_at >= since)
        .order_by(table.c.created_at.desc())
        .limit(limit)
    ).all()


def _prefix(column: Any, prefix: str, postgres: bool) -> Any:
    """``column`` starts with ``prefix`` (letters, digits and spaces only), readable from a
    btree: LIKE on PostgreSQL (``text_pattern_ops``), a range on SQLite."""
    if postgres:
        return column.like(prefix + "%")
    return sa.and_(column >= prefix, column < prefix + "\U0010ffff")


def place_candidates(
    conn: Connection, q: ParsedPlace, since: datetime, found: Candidates, postgres: bool
) -> None:
    p = incident_places
    sure: list[Any] = []
    if q.uprn:
        sure += [p.c.uprn == q.uprn, p.c.parent_uprn == q.uprn]
    if q.parent_uprn:
        sure += [p.c.uprn == q.parent_uprn, p.c.parent_uprn == q.parent_uprn]
    house = q.house
    if house and q.usrn:
        sure.append(sa.and_(p.c.usrn == q.usrn, p.c.house == house))
    for where in sure:
        found.take(_recent(conn, p, p.c.incident_id, where, since, SURE_LIMIT), SURE_LIMIT)
    if not house:
        return
    check: list[Any] = []
    if q.postcode:
        check.append(sa.and_(p.c.postcode == q.postcode, p.c.house == house))
    street = q.parts.street if q.parts is not None else ""
    if street:
        half = len(street) // 2
        tail = street[::-1][: max(len(street) - half - 1, 1)]
        check.append(
            sa.and_(p.c.house == house, _prefix(p.c.street, street[: max(half, 1)], postgres))
        )
        check.append(sa.and_(p.c.house == house, _prefix(p.c.street_rev, tail, postgres)))
    for where in check:
        found.take(_recent(conn, p, p.c.incident_id, where, since, CHECK_LIMIT), CHECK_LIMIT)


def near_names(conn: Connection, norm: str, dob: date, policy: WarningPolicy) -> list[str]:
    """Other names recorded with ``dob`` that the matcher may call near-identical."""
    names = (
        conn.execute(
            sa.select(incident_people.c.name_norm)
            .where(incident_people.c.dob == dob, incident_people.c.name_norm != norm)
            .distinct()
        )
        .scalars()
        .all()
    )
    close = process.extract(
        norm,
        names,
        scorer=Indel.normalized_similarity,
        score_cutoff=policy.address_similarity - 1e-9,
        limit=None,
    )
    return [name for name, _score, _i in close]


def person_candidates(
    conn: Connection, who: Asked, since: datetime, found: Candidates, policy: WarningPolicy
) -> None:
    pe = incident_people
    norm, dob = who.norm, who.person.dob
    if not norm:
        return
    if dob is None:
        sure = [pe.c.name_norm == norm]
    else:
        sure = [
            sa.and_(pe.c.name_norm == norm, pe.c.dob == dob),
            sa.and_(pe.c.name_norm == norm, pe.c.dob.is_(None)),
        ]
    for where in sure:
        found.take(_recent(conn, pe, pe.c.incident_id, where, since, SURE_LIMIT), SURE_LIMIT)
    if dob is not None:
        near = near_names(conn, norm, dob, policy)
        if near:
            where = sa.and_(pe.c.dob == dob, pe.c.name_norm.in_(near))
            found.take(_recent(conn, pe, pe.c.incident_id, where, since, CHECK_LIMIT), CHECK_LIMIT)


def _people_of(row: Any) -> list[IncidentPersonModel]:
    caller = row.caller or {}
    out = []
    if caller.get("name"):
        out.append(
            IncidentPersonModel(
                name=caller["name"], dob=caller.get("dob"), role=caller.get("role") or "INFORMANT"
            )
        )
    out += [IncidentPersonModel.model_validate(p) for p in row.persons or []]
    return out


def classify(
    conn: Connection,
    ids: Iterable[int],
    place: ParsedPlace | None,
    asked: Sequence[Asked],
    policy: WarningPolicy,
) -> list[Found]:
    """Each candidate the matchers accept, with every way it matched."""
    wanted = sorted(set(ids))
    out: list[Found] = []
    for start in range(0, len(wanted), 500):
        rows = conn.execute(
            sa.select(
                incidents.c.id,
                incidents.c.created_at,
                incidents.c.location,
                incidents.c.caller,
                incidents.c.persons,
            ).where(incidents.c.id.in_(wanted[start : start + 500]))
        ).all()
        for row in rows:
            hit = Found(row.id, row.created_at)
            if place is not None:
                kind = match_parsed(parsed_place(row.location), place, policy)
                if kind is not None:
                    hit.matches.append(("location", kind.value, None, None))
            if asked:
                theirs = _people_of(row)
                for who in asked:
                    q = Person(who.person.name, who.person.dob)
                    for person in theirs:
                        k = match_person(Person(person.name, person.dob), q, policy)
                        if k is not None:
                            hit.matches.append(("person", k.value, person, who.person))
            if hit.matches:
                out.append(hit)
    return out


def match_key(match: tuple[str, str, Any, Any]) -> tuple[int, bool, int]:
    """Strongest first: a link, then definite before possible, then the matcher's rank."""
    on, how = match[0], match[1]
    if on == "link":
        return (0, False, 0)
    kind = MatchKind(how)
    return (1, kind.possible, MATCH_RANK[kind])
