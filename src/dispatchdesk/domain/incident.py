"""Incidents as the client and the server's rules see them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum

from dispatchdesk.domain.countdown import Countdown, PreparedCountdown, countdown
from dispatchdesk.domain.downgrades import DowngradeDecision, PendingDowngrade
from dispatchdesk.domain.grades import Grade, GradePolicy
from dispatchdesk.domain.history import IncidentLink, IncidentPerson, PersonRole
from dispatchdesk.domain.tasks import Task
from dispatchdesk.domain.unit import UnitStatus

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


def status_for_units(units: Iterable[UnitStatus], attended: bool) -> IncidentStatus:
    """The status of an open incident that the units on it say: AT_SCENE while a unit is
    there, ASSIGNED while units are only en route, and with no unit AT_SCENE if it was attended
    (it waits to be closed), else OPEN (awaiting a unit)."""
    on = set(units)
    if UnitStatus.AT_SCENE in on:
        return IncidentStatus.AT_SCENE
    if UnitStatus.ASSIGNED in on:
        return IncidentStatus.ASSIGNED
    return IncidentStatus.AT_SCENE if attended else IncidentStatus.OPEN


def status_change_problem(
    ref: str,
    current: IncidentStatus,
    wanted: IncidentStatus,
    units: Sequence[tuple[str, UnitStatus]],
    attended: bool,
) -> str | None:
    """Why a status edit (``PATCH status``) of an open incident is refused, or None.

    The status follows the units: a unit's arrival sets AT_SCENE (and ``attended_at``), an
    assignment ASSIGNED, and a clear or divert that leaves no unit OPEN. An edit may only set
    the status the units already say (which repairs a row that disagrees with them), and never
    AT_SCENE: attendance is recorded by an arrival only. ``units``: (callsign, status) of the
    units on the incident.
    """
    if wanted is current:
        return None
    there = [c for c, s in units if s is UnitStatus.AT_SCENE]
    going = [c for c, s in units if s is UnitStatus.ASSIGNED]
    if wanted is IncidentStatus.AT_SCENE:
        if not going and not there:
            return (
                f"{ref} has no unit on it, so it cannot be at scene: assign a unit (POST "
                "/units/{id}/assign, F2 on the desk), then mark it at scene when it arrives "
                "(POST /units/{id}/arrive, Dispatch ▸ Mark unit at scene)."
            )
        return (
            f"{ref} is marked at scene only by a unit's arrival: mark "
            f"{_names(going or there)} at scene with POST /units/{{id}}/arrive (Dispatch ▸ "
            "Mark unit at scene)."
        )
    expected = status_for_units((s for _, s in units), attended)
    if wanted is expected:
        return None
    if wanted is IncidentStatus.ASSIGNED:
        if there:
            return (
                f"{ref} has {_names(there)} at scene, so it stays at scene: clear or "
                "divert the unit (POST /units/{id}/clear or /divert) if it has left."
            )
        return (
            f"{ref} has no unit on it: assign one with POST /units/{{id}}/assign (F2 on "
            "the desk); it shows a unit en route once one is assigned."
        )
    if wanted is IncidentStatus.OPEN and units:
        return (
            f"{ref} has {_names(there + going)} on it: clear the unit (POST "
            "/units/{id}/clear, with a reason if it has not arrived) or divert it instead "
            "of setting the incident back to awaiting a unit."
        )
    if wanted is IncidentStatus.OPEN:
        return (
            f"{ref} was attended and waits to be closed: close it with a rationale (POST "
            "/incidents/{id}/close), or assign a unit (POST /units/{id}/assign, F2 on the "
            "desk) if it needs attending again."
        )
    return f"{ref} cannot be set to {wanted.label.lower()}: its status follows its units."


def _names(callsigns: Sequence[str]) -> str:
    return (
        ", ".join(callsigns)
        if len(callsigns) < 2
        else ", ".join(callsigns[:-1]) + " and " + callsigns[-1]
    )


class DivertKind(StrEnum):
    """A DIVERT tag: a unit moved to another incident, or cleared before it arrived."""

    DIVERT = "DIVERT"
    #: Cleared from the incident before arriving, leaving it with no unit (no target).
    WITHDRAWN = "WITHDRAWN"


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
    #: The caller asked to stay anonymous (``anonymous`` is recorded only with it).
    anonymity_requested: bool = False
    #: Who recorded the anonymity and when (set by the server).
    anonymity_recorded_by: str | None = None
    anonymity_recorded_at: datetime | None = None
    #: What the caller is on the incident (INFORMANT unless said).
    role: PersonRole = PersonRole.INFORMANT


@dataclass(frozen=True, slots=True)
class Divert:
    """One DIVERT tag: a unit taken off ``from_incident_id`` and sent to ``to_incident_id``
    (kind DIVERT), or cleared from it before it arrived, leaving it with no unit (kind
    WITHDRAWN, no target).

    The incident it left stays *owed* until another unit arrives there or a supervisor closes
    it with a rationale (then ``released_at`` is set). A QA reviewer marks it ``reviewed_at``.
    """

    id: int
    unit_id: int
    callsign: str
    from_incident_id: int
    from_ref: str
    to_incident_id: int | None
    to_ref: str | None
    by: str
    at: datetime
    reason: str
    released_at: datetime | None = None
    released_by: str | None = None
    released_reason: str | None = None
    reviewed_at: datetime | None = None
    reviewed_by: str | None = None
    review_note: str | None = None
    kind: DivertKind = DivertKind.DIVERT

    @property
    def to_text(self) -> str:
        """The incident the unit went to, "—" for a withdrawal."""
        return self.to_ref or "—"

    @property
    def movement(self) -> str:
        """ "LX21 diverted to CAD 0002/23NOV26" or "LX21 withdrawn before arriving"."""
        if self.kind is DivertKind.WITHDRAWN:
            return f"{self.callsign} withdrawn before arriving"
        return f"{self.callsign} diverted to {self.to_text}"

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
    #: A downgrade requested by a call handler or dispatcher, awaiting a supervisor.
    pending_downgrade: PendingDowngrade | None = None
    #: How the last downgrade request was decided.
    downgrade_decision: DowngradeDecision | None = None
    #: People named on the incident (subject, victim, ...) with their roles, matched against
    #: protective orders together with the caller.
    persons: tuple[IncidentPerson, ...] = ()
    #: Weapons mentioned or seen.
    weapons: bool = False
    #: Links to other incidents, oldest first.
    links: tuple[IncidentLink, ...] = ()
    #: Tasks for the attending officers, oldest first.
    tasks: tuple[Task, ...] = ()

    @property
    def owed_word(self) -> str:
        """What the queue flags an owed incident with: WITHDRAWN when the tag that left it
        owed most recently is a withdrawal (a unit cleared before arriving), else DIVERT."""
        last = self.diverts[-1] if self.diverts else None
        return "WITHDRAWN" if last is not None and last.kind is DivertKind.WITHDRAWN else "DIVERT"

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

    def prepared_countdown(self, policy: GradePolicy) -> PreparedCountdown:
        """:meth:`countdown` for any ``now``: ``.at(epoch_us(now))`` (a queue's tick)."""
        if self.deadline is None or (not self.is_open and self.attended_at is None):
            return PreparedCountdown.of(None, _ZERO, None)
        window = policy.at_risk_window(self.grade, self.created_at, self.deadline)
        return PreparedCountdown.of(self.deadline, window, self.attended_at)

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
