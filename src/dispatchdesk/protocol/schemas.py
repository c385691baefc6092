"""Pydantic models of every request and response body in sync contract v1."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, Field, field_validator

from dispatchdesk.domain.downgrades import DowngradeOutcome
from dispatchdesk.domain.grades import Grade
from dispatchdesk.domain.history import DEFAULT_HISTORY_YEARS, LinkRelation, PersonRole
from dispatchdesk.domain.incident import DivertKind, IncidentStatus
from dispatchdesk.domain.roles import Role
from dispatchdesk.domain.unit import UnitStatus
from dispatchdesk.protocol.base import (
    RESPONSE_CONFIG,
    NonBlank,
    Password,
    Postcode,
    StrictWire,
    Uprn,
    Wire,
)
from dispatchdesk.protocol.notices import NoticeOut
from dispatchdesk.protocol.tasks import TaskModel, TaskPolicyModel
from dispatchdesk.protocol.warnings import OrderOut, PersonModel, SchemeOut, WarningPolicyModel

__all__ = ["NonBlank", "Postcode", "StrictWire", "Uprn", "Wire"]  # re-exported

# --- auth ---------------------------------------------------------------------------------


class TokenRequest(StrictWire):
    username: NonBlank
    #: Exactly as typed, spaces and all (as ``dispatchdesk users add`` stores it).
    password: Password


class TokenResponse(Wire):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    role: Role
    username: str


# --- incidents ----------------------------------------------------------------------------


class LocationModel(StrictWire):
    address: NonBlank
    postcode: Postcode
    borough: NonBlank
    uprn: Uprn = None
    parent_uprn: Uprn = None
    usrn: Uprn = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class LocationOut(LocationModel):
    """A location as the server sends it: unknown fields are ignored (:data:`RESPONSE_CONFIG`)."""

    model_config = RESPONSE_CONFIG


class CallerModel(StrictWire):
    name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    anonymous: bool = False
    #: Date of birth when the caller gives it (protective orders match name and DOB).
    dob: date | None = None
    #: What the caller is on the incident (a victim calling for themself is VICTIM).
    role: PersonRole = PersonRole.INFORMANT
    #: The caller asked to stay anonymous: ``anonymous`` is accepted only with this (422
    #: otherwise), as anonymity is never offered up front.
    anonymity_requested: bool = False
    #: Who recorded the anonymity and when: set by the server (what a client sends is
    #: replaced); null when the caller is not anonymous.
    anonymity_recorded_by: str | None = Field(default=None, max_length=100)
    anonymity_recorded_at: AwareDatetime | None = None


class CallerOut(CallerModel):
    """A caller as the server sends it: unknown fields are ignored (:data:`RESPONSE_CONFIG`)."""

    model_config = RESPONSE_CONFIG


class IncidentPersonModel(PersonModel):
    """A person named on an incident, with their role there (protective orders' persons have
    none: :class:`PersonModel`)."""

    role: PersonRole = PersonRole.OTHER


class IncidentPersonOut(IncidentPersonModel):
    """A person on an incident as the server sends it: unknown fields are ignored."""

    model_config = RESPONSE_CONFIG


class IncidentCreate(StrictWire):
    grade: Grade
    type: NonBlank
    summary: NonBlank
    location: LocationModel
    caller: CallerModel = CallerModel()
    #: Extended grade: the agreed appointment, which becomes the deadline.
    appointment_at: AwareDatetime | None = None
    #: People named on the incident (subject, victim, ...), matched against protective orders.
    persons: list[IncidentPersonModel] = Field(default=[], max_length=20)
    #: Weapons mentioned or seen.
    weapons: bool = False


class IncidentPatch(StrictWire):
    """Edit of an incident's fields, sent with ``If-Match: <version>``."""

    grade: Grade | None = None
    #: Required when ``grade`` is a downgrade.
    reason: str | None = Field(default=None, max_length=2000)
    status: IncidentStatus | None = None
    summary: str | None = Field(default=None, min_length=1, max_length=2000)
    appointment_at: AwareDatetime | None = None
    #: A type from the server's list; the tasks its policy requires are added (none removed).
    type: str | None = Field(default=None, min_length=1, max_length=2000)
    #: Weapons mentioned or seen.
    weapons: bool | None = None

    @field_validator("status")
    @classmethod
    def _not_closed(cls, value: IncidentStatus | None) -> IncidentStatus | None:
        if value is IncidentStatus.CLOSED:
            raise ValueError("close an incident with POST /incidents/{id}/close and a rationale")
        return value


class CloseRequest(StrictWire):
    rationale: NonBlank
    #: A supervisor closing although tasks for the attending officers are still open: the
    #: rationale says why (each open task is recorded NOT_DONE with it, and audited).
    override_open_tasks: bool = False


class LinkCreate(StrictWire):
    """Body of ``POST /incidents/{id}/links``: link this incident to ``incident_id``. The
    other incident gets the inverse link (PARENT and CHILD swap)."""

    incident_id: Annotated[int, Field(gt=0)]
    relation: LinkRelation
    reason: NonBlank


class LinkRemove(StrictWire):
    """Body of ``POST /incidents/{id}/links/{other_id}/remove`` (removes both sides)."""

    reason: NonBlank


class LinkOut(Wire):
    """A link from the incident that carries it to ``incident_id`` (``ref``)."""

    incident_id: int
    ref: str
    relation: LinkRelation
    reason: str
    by: str
    at: AwareDatetime


class DivertModel(Wire):
    """One DIVERT tag-list entry: a unit moved off ``from_incident_id`` to another incident
    (kind DIVERT), or cleared from it before arriving, leaving it with no unit (kind
    WITHDRAWN; ``to_incident_id`` and ``to_ref`` are null)."""

    id: int
    unit_id: int
    callsign: str
    from_incident_id: int
    from_ref: str
    to_incident_id: int | None
    to_ref: str | None
    by: str
    at: AwareDatetime
    reason: str
    #: When the incident it left stopped being owed (another unit arrived, or it was closed).
    released_at: AwareDatetime | None = None
    released_by: str | None = None
    released_reason: str | None = None
    reviewed_at: AwareDatetime | None = None
    reviewed_by: str | None = None
    review_note: str | None = None
    kind: DivertKind = DivertKind.DIVERT


class PendingDowngradeModel(Wire):
    """A downgrade requested by a call handler or dispatcher, awaiting a supervisor."""

    to: Grade
    reason: str
    by: str
    at: AwareDatetime


class DowngradeDecisionModel(PendingDowngradeModel):
    """How the last downgrade request ended (approved, rejected, or overtaken)."""

    outcome: DowngradeOutcome
    decided_by: str
    decided_at: AwareDatetime
    note: str


class DowngradeDecisionRequest(StrictWire):
    """Body of ``/incidents/{id}/downgrade/approve`` and ``/reject``: the supervisor's note."""

    note: NonBlank


class IncidentOut(Wire):
    id: int
    ref: str
    version: int
    grade: Grade
    status: IncidentStatus
    created_at: AwareDatetime
    deadline: AwareDatetime | None
    type: str
    summary: str
    location: LocationOut
    caller: CallerOut = CallerOut()
    persons: list[IncidentPersonOut] = []
    appointment_at: AwareDatetime | None = None
    attended_at: AwareDatetime | None = None
    closed_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None
    downgrade_reason: str | None = None
    rationale: str | None = None
    original_grade: Grade | None = None
    #: A unit was diverted away and no other unit has arrived since: attendance is owed.
    owed: bool = False
    #: Diverts away from this incident, oldest first (its DIVERT tags).
    diverts: list[DivertModel] = []
    #: Set while the incident is owed with no unit assigned for longer than the server's
    #: escalation time: the moment it escalated to supervisors. Cleared when a unit is assigned.
    escalated_at: AwareDatetime | None = None
    #: A downgrade awaiting a supervisor: grade and deadline stay as they are meanwhile.
    pending_downgrade: PendingDowngradeModel | None = None
    #: How the last downgrade request was decided (shown to the requester).
    downgrade_decision: DowngradeDecisionModel | None = None
    #: Tasks for the attending officers (policy: informants, domestic actions), oldest first.
    tasks: list[TaskModel] = []
    #: Weapons mentioned or seen.
    weapons: bool = False
    #: Links to other incidents, oldest first.
    links: list[LinkOut] = []


# --- units --------------------------------------------------------------------------------

_CALLSIGN = re.compile(r"^[A-Z0-9]{2,12}$")


def _callsign(value: str) -> str:
    compact = value.strip().upper()
    if not _CALLSIGN.match(compact):
        raise ValueError("a callsign is 2 to 12 letters and digits (for example LX21)")
    return compact


Callsign = Annotated[str, AfterValidator(_callsign)]
ShortText = Annotated[str, Field(min_length=1, max_length=60)]


class UnitCreate(StrictWire):
    callsign: Callsign
    #: IRV, area car, van, dog, ... (free text, as forces name them differently).
    kind: ShortText
    borough: ShortText
    status: UnitStatus = UnitStatus.AVAILABLE
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)

    @field_validator("status")
    @classmethod
    def _free(cls, value: UnitStatus) -> UnitStatus:
        if value.on_incident:
            raise ValueError("a new unit is AVAILABLE, COMMITTED or OFF_DUTY; assign it after")
        return value


class UnitOut(Wire):
    id: int
    callsign: str
    kind: str
    borough: str
    status: UnitStatus
    #: The incident the unit is on (ASSIGNED or AT_SCENE), else null.
    incident_id: int | None = None
    status_since: AwareDatetime
    lat: float | None = None
    lon: float | None = None
    version: int


class PassedWarning(StrictWire):
    """A warning (special scheme or protective order) the dispatcher passed to the unit sent:
    ``kind`` and ``id`` as in ``/warnings/{kind}/{id}/shown``."""

    kind: Literal["scheme", "order"]
    id: Annotated[int, Field(gt=0)]


def _distinct(value: list[PassedWarning]) -> list[PassedWarning]:
    if len({(w.kind, w.id) for w in value}) != len(value):
        raise ValueError("a warning is named twice")
    return value


#: Which warnings the unit was told of; empty (the default, and what older desks send): none.
WarningsPassed = Annotated[list[PassedWarning], Field(max_length=100), AfterValidator(_distinct)]


class AssignRequest(StrictWire):
    incident_id: int
    warnings_passed: WarningsPassed = []


class DivertRequest(StrictWire):
    incident_id: int
    reason: NonBlank
    warnings_passed: WarningsPassed = []


class ClearRequest(StrictWire):
    """Body of ``/units/{id}/clear`` (optional for a unit at scene). A unit that has not
    arrived needs a reason; if it is the last unit on the incident, clearing it is a
    withdrawal, tagged and owed like a divert."""

    reason: str | None = Field(default=None, max_length=2000)


class UnitStatusRequest(StrictWire):
    """A plain status change of a unit that is not on an incident."""

    status: UnitStatus

    @field_validator("status")
    @classmethod
    def _free(cls, value: UnitStatus) -> UnitStatus:
        if value.on_incident:
            raise ValueError("use /assign, /divert or /arrive to put a unit on an incident")
        return value


class ReviewRequest(StrictWire):
    note: NonBlank


# --- sync ---------------------------------------------------------------------------------


class PolicyModel(Wire):
    #: Target per grade in seconds; null means no attendance target (R).
    targets: dict[Grade, int | None]
    at_risk_fraction: float
    timezone: str
    #: Warning windows (order expiry, scheme limits), for matching offline like the server.
    warnings: WarningPolicyModel | None = None
    #: The boroughs and incident types the server accepts (case aside); empty: no list sent.
    boroughs: list[str] = []
    incident_types: list[str] = []
    #: A call handler's or dispatcher's downgrade waits for a supervisor.
    downgrade_needs_approval: bool = True
    #: Which incident types get which tasks, and when open ones are overdue.
    tasks: TaskPolicyModel | None = None
    #: How many years back history (``/history``) looks: at least five.
    history_years: int = DEFAULT_HISTORY_YEARS


class Snapshot(Wire):
    cursor: int
    server_time: AwareDatetime
    policy: PolicyModel
    #: Open incidents, and those closed since the start of the server's day.
    incidents: list[IncidentOut]
    #: The whole fleet.
    units: list[UnitOut] = []
    #: Special schemes not yet expired or ended, by server time.
    schemes: list[SchemeOut] = []
    #: Protective orders (expired ones too: their expiry is a warning in itself).
    orders: list[OrderOut] = []
    #: Operational notices not yet expired, by server time.
    notices: list[NoticeOut] = []


#: The entities this version's change feed carries. A newer server may add kinds; the wire
#: type is any name, so an older desk reads the feed and says what it cannot show.
KNOWN_ENTITIES = ("incident", "unit", "scheme", "order", "notice")


class Change(Wire):
    seq: int
    entity: Annotated[
        str,
        Field(
            min_length=1,
            max_length=40,
            description="The kind of entity: " + ", ".join(KNOWN_ENTITIES) + " (more may come).",
            examples=list(KNOWN_ENTITIES),
        ),
    ]
    op: Literal["upsert", "delete"]
    #: The entity (``IncidentOut`` or ``UnitOut``) for an upsert; ``{"id": ...}`` for a delete.
    data: dict[str, Any]


class ChangesPage(Wire):
    changes: list[Change]
    cursor: int
    #: True when more changes wait beyond ``limit``.
    more: bool = False


class FieldError(Wire):
    """One field the server refused: where (``["body", "location", "postcode"]``), why, and
    the value sent (cut to 100 characters)."""

    loc: list[str | int]
    msg: str
    type: str
    input: Any = None
    ctx: dict[str, Any] | None = None


class ErrorBody(Wire):
    """Every refusal (4xx): a sentence saying what to do, or (422) the fields refused."""

    detail: str | list[FieldError]


def parse_time(value: str) -> datetime:
    """Parse an ISO 8601 timestamp as sent in ``X-Server-Time``."""
    return datetime.fromisoformat(value)
