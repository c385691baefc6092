"""Incidents as the client and the server's rules see them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum

from dispatchdesk.domain.countdown import Countdown, countdown
from dispatchdesk.domain.grades import Grade, GradePolicy
from dispatchdesk.domain.warnings import Person

_ZERO = timedelta(0)


class IncidentStatus(StrEnum):
    """Where an incident is in its life. The countdown stops at AT_SCENE."""

    OPEN = "OPEN"  # awaiting a unit
    ASSIGNED = "ASSIGNED"  # a unit is en route
    AT_SCENE = "AT_SCENE"  # a unit has arrived
    CLOSED = "CLOSED"

    @property
    def label(self) -> str:
        return _STATUS_LABEL[self]


_STATUS_LABEL = {
    IncidentStatus.OPEN: "Awaiting unit",
    IncidentStatus.ASSIGNED: "Unit en route",
    IncidentStatus.AT_SCENE: "At scene",
    IncidentStatus.CLOSED: "Closed",
}

#: The moves a status change (not a close) may make.
STATUS_MOVES: dict[IncidentStatus, frozenset[IncidentStatus]] = {
    IncidentStatus.OPEN: frozenset({IncidentStatus.ASSIGNED, IncidentStatus.AT_SCENE}),
    IncidentStatus.ASSIGNED: frozenset({IncidentStatus.OPEN, IncidentStatus.AT_SCENE}),
    IncidentStatus.AT_SCENE: frozenset({IncidentStatus.ASSIGNED}),
    IncidentStatus.CLOSED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class Location:
    address: str
    postcode: str
    borough: str
    uprn: str | None = None
    parent_uprn: str | None = None
    usrn: str | None = None
    lat: float | None = None
    lon: float | None = None

    @property
    def one_line(self) -> str:
        return f"{self.address}, {self.postcode}" if self.postcode else self.address


@dataclass(frozen=True, slots=True)
class Caller:
    name: str | None = None
    phone: str | None = None
    #: Recorded only when the caller asks for anonymity; never offered up front.
    anonymous: bool = False
    dob: date | None = None


@dataclass(frozen=True, slots=True)
class Divert:
    """One DIVERT tag: a unit taken off ``from_incident_id`` and sent to ``to_incident_id``.

    The incident it left stays *owed* until another unit arrives there or a supervisor closes
    it with a rationale (then ``released_at`` is set). A QA reviewer marks it ``reviewed_at``.
    """

    id: int
    unit_id: int
    callsign: str
    from_incident_id: int
    from_ref: str
    to_incident_id: int
    to_ref: str
    by: str
    at: datetime
    reason: str
    released_at: datetime | None = None
    released_by: str | None = None
    released_reason: str | None = None
    reviewed_at: datetime | None = None
    reviewed_by: str | None = None
    review_note: str | None = None

    @property
    def is_open(self) -> bool:
        """Still on the DIVERT tag list: not released, or released but not yet reviewed."""
        return self.released_at is None or self.reviewed_at is None


@dataclass(frozen=True, slots=True)
class Incident:
    id: int
    ref: str
    version: int
    grade: Grade
    status: IncidentStatus
    created_at: datetime
    deadline: datetime | None
    type: str
    summary: str
    location: Location
    caller: Caller = field(default_factory=Caller)
    appointment_at: datetime | None = None
    attended_at: datetime | None = None
    closed_at: datetime | None = None
    updated_at: datetime | None = None
    #: Reason recorded for the last downgrade, if any.
    downgrade_reason: str | None = None
    rationale: str | None = None
    #: Grade the incident was first given (shows a downgrade/upgrade history at a glance).
    original_grade: Grade | None = None
    #: A unit was diverted away and no other unit has arrived since: attendance is owed.
    owed: bool = False
    #: Diverts away from this incident, oldest first (its DIVERT tags).
    diverts: tuple[Divert, ...] = ()
    #: When the owed incident, left with no unit, escalated to supervisors (None otherwise).
    escalated_at: datetime | None = None
    #: People named on the incident (subject, victim, ...), matched against protective orders
    #: together with the caller.
    persons: tuple[Person, ...] = ()

    @property
    def needs_unit(self) -> bool:
        """Owed attendance and no unit on it: shown above everything else in the queue."""
        return self.owed and self.status is IncidentStatus.OPEN

    @property
    def is_open(self) -> bool:
        return self.status is not IncidentStatus.CLOSED

    def countdown(self, now: datetime, policy: GradePolicy) -> Countdown:
        if self.deadline is None or (not self.is_open and self.attended_at is None):
            return countdown(now=now, deadline=None, at_risk_window=_ZERO)
        window = policy.at_risk_window(self.grade, self.created_at, self.deadline)
        return countdown(
            now=now, deadline=self.deadline, at_risk_window=window, attended_at=self.attended_at
        )

    def urgency_key(self) -> tuple[int, float, int]:
        """Static sort key, most urgent first: unattended by deadline, then the rest.

        It only changes when the incident changes, so a sorted view never re-sorts per tick.
        """
        waiting = self.is_open and self.attended_at is None and self.deadline is not None
        deadline = self.deadline.timestamp() if self.deadline is not None else float("inf")
        # An owed incident with no unit goes above every grade's order (the 2018 case).
        band = 0 if self.needs_unit else 1 if waiting else 2
        return (band, deadline, self.grade.rank)

    def with_changes(self, **changes: object) -> Incident:
        return replace(self, **changes)  # type: ignore[arg-type]

