"""People's roles on an incident, links between incidents, and the history window.

What was already known about a place and its people: every incident at the location, and
every incident involving the same persons (whatever their role there), for at least five years.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from dispatchdesk.domain.warnings import Person

#: History covers this many years by default (server policy ``history_years``).
DEFAULT_HISTORY_YEARS = 6
#: ... and never fewer (the Met's policy after the IOPC cases: a minimum of five years).
MIN_HISTORY_YEARS = 5
#: At most this many incidents in one history answer (``truncated`` when there were more).
HISTORY_LIMIT = 200


class PersonRole(StrEnum):
    """What a person named on an incident was there."""

    CALLER = "CALLER"
    INFORMANT = "INFORMANT"
    VICTIM = "VICTIM"
    SUSPECT = "SUSPECT"
    WITNESS = "WITNESS"
    OTHER = "OTHER"

    @property
    def label(self) -> str:
        return self.value.lower()


class LinkRelation(StrEnum):
    """How an incident is linked to another, as seen from the first one: "this incident is
    a DUPLICATE of / the PARENT of / the CHILD of / RELATED to that one"."""

    RELATED = "RELATED"
    DUPLICATE = "DUPLICATE"
    PARENT = "PARENT"
    CHILD = "CHILD"

    @property
    def inverse(self) -> LinkRelation:
        """The same link as the other incident sees it (a parent's link is its child's)."""
        return _INVERSE.get(self, self)


_INVERSE = {LinkRelation.PARENT: LinkRelation.CHILD, LinkRelation.CHILD: LinkRelation.PARENT}


@dataclass(frozen=True, slots=True)
class IncidentPerson(Person):
    """A person named on an incident, with their role there (OTHER when not said)."""

    role: PersonRole = PersonRole.OTHER


@dataclass(frozen=True, slots=True)
class IncidentLink:
    """A link from an incident to ``incident_id`` (``ref``): who made it, when and why."""

    incident_id: int
    ref: str
    relation: LinkRelation
    reason: str
    by: str
    at: datetime


def history_years_problem(years: int) -> str | None:
    """Why ``years`` cannot be the history window, or None."""
    if years < MIN_HISTORY_YEARS:
        return (
            f"history_years must be at least {MIN_HISTORY_YEARS}: history checks cover a "
            "minimum of five years"
        )
    return None


def years_before(moment: datetime, years: int) -> datetime:
    """``moment`` the same day and time ``years`` calendar years earlier (29 February: the
    28th)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)
