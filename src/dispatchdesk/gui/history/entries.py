"""The history panel's content as plain data, and its words (no Qt).

A :class:`HistoryEntry` is one past incident and what it matched (the location, a person, a
link); :func:`summary_line` is the line above the entries ("6 years: 4 incidents at this
address, 3 involving Gary HOLLIS (b. 1984) — 2 with weapons, 3 domestic") and
:func:`entry_line` the line for each: date, ref, type, grade, what matched and the person's
role there, the other parties named there, weapons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from dispatchdesk.domain.history import LinkRelation, PersonRole
from dispatchdesk.domain.incident import Incident


class MatchedOn(StrEnum):
    LOCATION = "location"
    PERSON = "person"
    #: Linked to the incident (not a match: listed because someone linked it).
    LINK = "link"


@dataclass(frozen=True, slots=True)
class Party:
    """A person named on a past incident, with their role there."""

    name: str
    dob: date | None = None
    role: PersonRole = PersonRole.OTHER

    def key(self) -> tuple[str, date | None]:
        return (" ".join(self.name.casefold().split()), self.dob)


@dataclass(frozen=True, slots=True)
class Match:
    """Why a past incident is in the history."""

    on: MatchedOn
    #: The server's code for how it matched (``uprn``, ``street_house``, ``same_block``,
    #: ``name`` ...; see :data:`MATCH_WORDS`).
    how: str = ""
    #: A weak match (same block, similar address, name without a date of birth on one side):
    #: shown as a *possible match*, never hidden.
    possible: bool = False
    #: For a person match: the person as the past incident names them (with the role there).
    person: Party | None = None
    #: Whom on this side it matched (the person typed in the form or named on the incident).
    subject: Party | None = None
    #: For a link: how the incident is linked.
    relation: LinkRelation | None = None


#: The server's match codes in words.
MATCH_WORDS = {
    "uprn": "same UPRN",
    "parent_uprn": "same building",
    "child_uprn": "a flat in this building",
    "same_block": "same block",
    "street_house": "same street and house number",
    "same_address": "same address",
    "address": "similar address",
    "person": "name and date of birth",
    "name": "same name, date of birth missing on one side",
}


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One past incident in a history answer, and everything it matched."""

    incident: Incident
    matches: tuple[Match, ...] = ()

    @property
    def id(self) -> int:
        return self.incident.id

    def parties(self) -> list[Party]:
        """Everyone named, then the caller (when named), with their roles."""
        inc = self.incident
        found = [Party(p.name, p.dob, p.role) for p in inc.persons]
        if inc.caller.name:
            found.append(Party(inc.caller.name, inc.caller.dob, inc.caller.role))
        return found

    def matched_persons(self) -> list[Party]:
        return [m.person for m in self.matches if m.on is MatchedOn.PERSON and m.person]

    @property
    def at_location(self) -> bool:
        return any(m.on is MatchedOn.LOCATION for m in self.matches)

    @property
    def domestic(self) -> bool:
        return "domestic" in self.incident.type.casefold()


@dataclass(frozen=True)
class HistoryPicture:
    """A whole answer: the entries, most recent first, and what was asked."""

    entries: tuple[HistoryEntry, ...]
    #: Server time of the answer, and the start of its window.
    server_time: datetime
    since: datetime
    #: More incidents matched than the server sends (the most recent are sent).
    truncated: bool = False
    #: A location was searched (the summary then says how many were at it).
    location_asked: bool = True
    #: The people searched for, as typed or named on the incident.
    subjects: tuple[Party, ...] = field(default_factory=tuple)

    @property
    def years(self) -> int:
        return round((self.server_time - self.since).days / 365.25)


def merge(entries: Sequence[HistoryEntry]) -> list[HistoryEntry]:
    """One entry per past incident (several lookups may bring the same one), their matches
    together, most recent first."""
    by_id: dict[int, HistoryEntry] = {}
    for e in entries:
        seen = by_id.get(e.id)
        if seen is None:
            by_id[e.id] = e
        else:
            extra = tuple(m for m in e.matches if m not in seen.matches)
            by_id[e.id] = HistoryEntry(seen.incident, seen.matches + extra)
    return sorted(by_id.values(), key=lambda e: e.incident.created_at, reverse=True)


# --- words -----------------------------------------------------------------------------------


def who(party: Party, *, full_dob: bool = False) -> str:
    """``Gary HOLLIS (b. 1984)``; the name alone without a date of birth."""
    if party.dob is None:
        return party.name
    born = party.dob.strftime("%d/%m/%Y") if full_dob else str(party.dob.year)
    return f"{party.name} (b. {born})"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def summary_line(picture: HistoryPicture) -> str:
    """The line above the entries; says plainly when nothing was found."""
    entries = picture.entries
    head = f"{picture.years} years"
    if not entries:
        asked = _asked(picture)
        return f"{head}: nothing found {asked}." if asked else f"{head}: nothing found."
    parts: list[str] = []
    if picture.location_asked:
        at = sum(e.at_location for e in entries)
        parts.append(f"{_count(at, 'incident')} at this address" if at else "none at this address")
    nobody: list[str] = []
    for subject in _subjects(picture):
        n = sum(_involves(e, subject) for e in entries)
        if n:
            parts.append(f"{n} involving {who(subject)}")
        else:
            nobody.append(who(subject))
    if nobody:
        parts.append(f"none involving {' or '.join(nobody)}")
    linked = sum(any(m.on is MatchedOn.LINK for m in e.matches) for e in entries)
    if linked:
        parts.append(f"{linked} linked")
    if not parts:
        parts.append(_count(len(entries), "incident"))
    weapons = sum(e.incident.weapons for e in entries)
    domestic = sum(e.domestic for e in entries)
    tail = [f"{weapons} with weapons" if weapons else "none with weapons"]
    if domestic:
        tail.append(f"{domestic} domestic")
    line = f"{head}: {', '.join(parts)} — {', '.join(tail)}"
    if picture.truncated:
        line += f" (more than {len(entries)}: the most recent {len(entries)} are listed)"
    return line


def _asked(picture: HistoryPicture) -> str:
    what = ["at this address"] if picture.location_asked else []
    what += [f"involving {who(s)}" for s in picture.subjects]
    return " or ".join(what)


def _subjects(picture: HistoryPicture) -> list[Party]:
    """The people searched for; else, those the entries matched (one each)."""
    if picture.subjects:
        return list(picture.subjects)
    seen: dict[tuple[str, date | None], Party] = {}
    for e in picture.entries:
        for m in e.matches:
            p = m.subject or m.person
            if m.on is MatchedOn.PERSON and p is not None:
                seen.setdefault(p.key(), Party(p.name, p.dob))
    return list(seen.values())


def _involves(entry: HistoryEntry, subject: Party) -> bool:
    key = subject.key()
    for m in entry.matches:
        if m.on is not MatchedOn.PERSON:
            continue
        if m.subject is not None:
            if m.subject.key() == key:
                return True
        elif m.person is not None and m.person.key() == key:
            return True
    return False


def matched_text(entry: HistoryEntry) -> str:
    """What matched, with each matched person's role there: "at this address (same UPRN);
    Gary HOLLIS (b. 1984) was SUSPECT". A weak match says POSSIBLE MATCH and why."""
    bits: list[str] = []
    for m in entry.matches:
        maybe = "POSSIBLE MATCH: " if m.possible else ""
        words = MATCH_WORDS.get(m.how, m.how.replace("_", " "))
        if m.on is MatchedOn.LOCATION:
            bits.append(f"{maybe}at this address ({words})")
        elif m.on is MatchedOn.LINK:
            relation = m.relation.value if m.relation else m.how or "linked"
            bits.append(f"linked: {relation}")
        elif m.person is not None:
            why = f" ({words})" if m.possible else ""
            bits.append(f"{maybe}{who(m.person)} was {m.person.role.value}{why}")
    return "; ".join(dict.fromkeys(bits))


#: Who called without being part of what happened: not one of the parties.
NOT_PARTIES = frozenset({PersonRole.INFORMANT, PersonRole.CALLER})


def others_text(entry: HistoryEntry) -> str:
    """The other parties named there, each by role: "victim Mark HOLLIS, witness Ann LEE"
    (an informant who only called is not a party; the read-only view lists them)."""
    matched = {p.key() for p in entry.matched_persons()}
    others = [p for p in entry.parties() if p.key() not in matched and p.role not in NOT_PARTIES]
    return ", ".join(f"{p.role.label} {who(p)}" for p in others)


def entry_line(entry: HistoryEntry, tz: str) -> str:
    """Date, ref, type, grade, what matched and the roles, the other parties, weapons."""
    inc = entry.incident
    when = inc.created_at.astimezone(ZoneInfo(tz)).strftime("%d/%m/%Y")
    line = f"{when}  {inc.ref}  {inc.type}  {inc.grade.value}"
    matched = matched_text(entry)
    if matched:
        line += f" — {matched}"
    others = others_text(entry)
    if others:
        line += f"; {others}"
    if inc.weapons:
        line += " — WEAPONS"
    return line


def parties_callout(entry: HistoryEntry) -> str:
    """The matched people and the others, in one sentence: "Gary HOLLIS was SUSPECT; victim
    Mark HOLLIS" (empty when nobody is named)."""
    named = [f"{p.name} was {p.role.value}" for p in entry.matched_persons()]
    others = others_text(entry)
    return "; ".join([*named, *([others] if others else [])])
