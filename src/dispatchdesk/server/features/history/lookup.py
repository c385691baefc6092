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

from dispatchdesk.domain.addresses import street_similar, street_type
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
from dispatchdesk.protocol.schemas import IncidentPersonModel, IncidentPersonOut
from dispatchdesk.server.db import UTCDateTime, incidents
from dispatchdesk.server.features.history.keys import parsed_place
from dispatchdesk.server.features.history.tables import incident_people

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
    """The index reads of every rule, run as one statement: each rule a sub-select of
    incident ids, most recent first, up to its limit. After :meth:`run`, ``ids`` holds the
    candidates and ``truncated`` whether a rule filled its limit."""

    since: datetime
    postgres: bool
    #: The matcher's street similarity threshold (the free-text rules' rows are sifted by it).
    threshold: float = 0.82
    rules: list[tuple[str, str, int]] = field(default_factory=list)
    #: Rule number -> (street, postcode) asked: its rows are kept only when their own street
    #: and postcode could pass the matcher's free-text rule (read from the search keys, so
    #: the many houses of that number on other streets are never read as incidents).
    sift: dict[int, tuple[str, str | None]] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    types: dict[str, Any] = field(default_factory=dict)
    ids: set[int] = field(default_factory=set)
    truncated: bool = False

    def value(self, v: Any, type_: Any = None) -> str:
        """A bound parameter's name for ``v``."""
        name = f"p{len(self.params)}"
        self.params[name] = v
        if type_ is not None:
            self.types[name] = type_
        return f":{name}"

    def rule(
        self, table: str, where: str, limit: int, sift: tuple[str, str | None] | None = None
    ) -> None:
        if sift is not None:
            self.sift[len(self.rules)] = sift
        self.rules.append((table, where, limit))

    def _could_match(self, rule: int, street: str | None, postcode: str | None) -> bool:
        """What :func:`~dispatchdesk.domain.warnings.match_parsed` may accept for the same
        house: the same full postcode, or a street that may be the same (its district check
        is left to it)."""
        asked_street, asked_postcode = self.sift[rule]
        if postcode is not None and postcode == asked_postcode:
            return True
        return street_similar(street or "", asked_street, self.threshold)

    def prefix(self, column: str, prefix: str) -> str:
        """``column`` starts with ``prefix`` (letters, digits and spaces only), read from a
        btree: LIKE on PostgreSQL (``text_pattern_ops``), a range on SQLite."""
        if self.postgres:
            return f"{column} LIKE {self.value(prefix + '%')}"
        return (
            f"{column} >= {self.value(prefix)} AND {column} < {self.value(prefix + chr(0x10FFFF))}"
        )

    def run(self, conn: Connection) -> None:
        if not self.rules:
            return
        since = self.value(self.since, UTCDateTime())
        keys = {
            "incident_places": "street, postcode",
            "incident_people": "CAST(NULL AS VARCHAR) AS street, CAST(NULL AS VARCHAR) AS postcode",
        }
        parts = [
            f"SELECT incident_id, {i} AS rule, street, postcode FROM (SELECT incident_id, "
            f"{keys[table]} FROM {table} WHERE {where} AND created_at >= {since} "
            f"ORDER BY created_at DESC LIMIT {limit}) AS r{i}"
            for i, (table, where, limit) in enumerate(self.rules)
        ]
        query = sa.text(" UNION ALL ".join(parts)).bindparams(
            *(sa.bindparam(k, type_=t) for k, t in self.types.items())
        )
        per_rule: dict[int, int] = {}
        for incident_id, rule, street, postcode in conn.execute(query, self.params).all():
            per_rule[rule] = per_rule.get(rule, 0) + 1
            if rule not in self.sift or self._could_match(rule, street, postcode):
                self.ids.add(int(incident_id))
        self.truncated = any(n >= self.rules[r][2] for r, n in per_rule.items())


def place_candidates(q: ParsedPlace, found: Candidates) -> None:
    places = "incident_places"
    v = found.value
    for column, value in (
        ("uprn", q.uprn),
        ("parent_uprn", q.uprn),
        ("uprn", q.parent_uprn),
        ("parent_uprn", q.parent_uprn),
    ):
        if value:
            found.rule(places, f"{column} = {v(value)}", SURE_LIMIT)
    house = q.house
    if not house:
        return
    if q.usrn:
        found.rule(places, f"usrn = {v(q.usrn)} AND house = {v(house)}", SURE_LIMIT)
    if q.postcode:
        found.rule(places, f"postcode = {v(q.postcode)} AND house = {v(house)}", CHECK_LIMIT)
    street = q.parts.street if q.parts is not None else ""
    if street:
        for column, prefix in _street_prefixes(street):
            found.rule(
                places,
                f"house = {v(house)} AND {found.prefix(column, prefix)}",
                CHECK_LIMIT,
                sift=(street, q.postcode),
            )


def _street_prefixes(street: str) -> list[tuple[str, str]]:
    """The prefixes of ``street`` and of it reversed that every street the matcher may call
    similar starts with (:func:`~dispatchdesk.domain.addresses.street_similar`).

    One typo (an edit, or two neighbours swapped) at position ``i`` leaves the text before
    ``i`` and after ``i + 1`` alike, so a similar street shares the first half or (but for
    one letter) the last half. When the street has a type ("acre lane"), a similar street
    with a type has the same type (two types that differ are two streets), so the typo is in
    the name: the last half of the *name* and the type are shared, which keeps the reversed
    read to the streets of that name rather than every "... road" at that number. A street
    with no type matches its name alone ("acre" for "acre lane"), which starts with the
    name's first half; a typo in the type word lies after it.
    """
    name, kind = street_type(street)
    half = max(len(name) // 2, 1)
    tail = name[half + 1 :] if len(name) - half - 1 > 0 else name[-1:]
    if kind is not None:
        tail = f"{tail} {kind}"
    return [("street", name[:half]), ("street_rev", tail[::-1])]


def near_names(
    conn: Connection, asked: Sequence[Asked], policy: WarningPolicy
) -> dict[tuple[str, date], list[str]]:
    """For each person asked with a date of birth, the other names recorded with that date of
    birth that the matcher may call near-identical (one read of the index for all)."""
    dobs = {who.person.dob for who in asked if who.norm and who.person.dob is not None}
    if not dobs:
        return {}
    names: dict[date, list[str]] = {}
    for dob, name in conn.execute(
        sa.select(incident_people.c.dob, incident_people.c.name_norm)
        .where(incident_people.c.dob.in_(sorted(dobs)))
        .group_by(incident_people.c.dob, incident_people.c.name_norm)
    ).all():
        names.setdefault(dob, []).append(name)
    out: dict[tuple[str, date], list[str]] = {}
    for who in asked:
        dob = who.person.dob
        if not who.norm or dob is None:
            continue
        close = process.extract(
            who.norm,
            [n for n in names.get(dob, []) if n != who.norm],
            scorer=Indel.normalized_similarity,
            score_cutoff=policy.address_similarity - 1e-9,
            limit=None,
        )
        out[(who.norm, dob)] = [name for name, _score, _i in close]
    return out


def person_candidates(
    who: Asked, found: Candidates, near: dict[tuple[str, date], list[str]]
) -> None:
    people = "incident_people"
    v = found.value
    norm, dob = who.norm, who.person.dob
    if not norm:
        return
    if dob is None:
        found.rule(people, f"name_norm = {v(norm)}", SURE_LIMIT)
        return
    day = v(dob, sa.Date())
    found.rule(people, f"name_norm = {v(norm)} AND dob = {day}", SURE_LIMIT)
    found.rule(people, f"name_norm = {v(norm)} AND dob IS NULL", SURE_LIMIT)
    others = near.get((norm, dob), [])
    if others:
        listed = ", ".join(v(n) for n in others[:50])
        found.rule(people, f"dob = {day} AND name_norm IN ({listed})", CHECK_LIMIT)


def people_of(row: Any) -> list[IncidentPersonOut]:
    """The caller (when named; INFORMANT unless a role is stored) and the people named on an
    incident row, with their roles."""
    caller = row.caller or {}
    out = []
    if caller.get("name"):
        out.append(
            IncidentPersonOut(
                name=caller["name"], dob=caller.get("dob"), role=caller.get("role") or "INFORMANT"
            )
        )
    out += [IncidentPersonOut.model_validate(p) for p in row.persons or []]
    return out


def incident_rows(conn: Connection, ids: Iterable[int]) -> dict[int, Any]:
    """The incidents' rows, by id."""
    wanted = sorted(set(ids))
    out: dict[int, Any] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        out.update(
            (r.id, r) for r in conn.execute(sa.select(incidents).where(incidents.c.id.in_(chunk)))
        )
    return out


def classify(
    rows: Iterable[Any], place: ParsedPlace | None, asked: Sequence[Asked], policy: WarningPolicy
) -> list[Found]:
    """Each candidate incident (its row) the matchers accept, with every way it matched."""
    queries = [(who, Person(who.person.name, who.person.dob), who.norm) for who in asked]
    out: list[Found] = []
    for row in rows:
        hit = Found(row.id, row.created_at)
        if place is not None:
            kind = match_parsed(parsed_place(row.location), place, policy)
            if kind is not None:
                hit.matches.append(("location", kind.value, None, None))
        if queries:
            for person in people_of(row):
                theirs = Person(person.name, person.dob)
                norm = normalise_name(person.name)
                for who, q, q_norm in queries:
                    # what match_person could accept: the same name, or the same date of birth
                    if norm != q_norm and (q.dob is None or q.dob != person.dob):
                        continue
                    k = match_person(theirs, q, policy)
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
