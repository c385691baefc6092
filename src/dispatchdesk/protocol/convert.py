"""Between wire models and domain dataclasses."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any, overload

from pydantic_core import TzInfo

from dispatchdesk.domain.downgrades import DowngradeDecision, PendingDowngrade
from dispatchdesk.domain.grades import Grade, GradePolicy
from dispatchdesk.domain.history import IncidentLink, IncidentPerson
from dispatchdesk.domain.incident import Caller, Divert, Incident, Location
from dispatchdesk.domain.reference import ReferenceLists
from dispatchdesk.domain.tasks import DEFAULT_TASK_POLICY
from dispatchdesk.domain.unit import Unit
from dispatchdesk.protocol.schemas import (
    CallerModel,
    DivertModel,
    DowngradeDecisionModel,
    IncidentOut,
    IncidentPersonModel,
    LinkOut,
    LocationModel,
    PendingDowngradeModel,
    PolicyModel,
    UnitOut,
)
from dispatchdesk.protocol.tasks import TaskModel, TaskPolicyModel


def location_from_wire(m: LocationModel) -> Location:
    return Location(
        address=m.address,
        postcode=m.postcode,
        borough=m.borough,
        uprn=m.uprn,
        parent_uprn=m.parent_uprn,
        usrn=m.usrn,
        lat=m.lat,
        lon=m.lon,
    )


def location_to_wire(loc: Location) -> LocationModel:
    return LocationModel(
        address=loc.address,
        postcode=loc.postcode,
        borough=loc.borough,
        uprn=loc.uprn,
        parent_uprn=loc.parent_uprn,
        usrn=loc.usrn,
        lat=loc.lat,
        lon=loc.lon,
    )


def caller_from_wire(m: CallerModel) -> Caller:
    return Caller(
        name=m.name,
        phone=m.phone,
        anonymous=m.anonymous,
        dob=m.dob,
        role=m.role,
        anonymity_requested=m.anonymity_requested,
        anonymity_recorded_by=m.anonymity_recorded_by,
        anonymity_recorded_at=m.anonymity_recorded_at,
    )


def caller_to_wire(c: Caller) -> CallerModel:
    return CallerModel(
        name=c.name,
        phone=c.phone,
        anonymous=c.anonymous,
        dob=c.dob,
        role=c.role,
        anonymity_requested=c.anonymity_requested,
        anonymity_recorded_by=c.anonymity_recorded_by,
        anonymity_recorded_at=c.anonymity_recorded_at,
    )


def person_from_wire(m: IncidentPersonModel) -> IncidentPerson:
    return IncidentPerson(name=m.name, dob=m.dob, role=m.role)


def person_to_wire(p: IncidentPerson) -> IncidentPersonModel:
    return IncidentPersonModel(name=p.name, dob=p.dob, role=p.role)


def link_from_wire(m: LinkOut) -> IncidentLink:
    return IncidentLink(**m.model_dump())


def link_to_wire(link: IncidentLink) -> LinkOut:
    return LinkOut.model_validate(link, from_attributes=True)


def divert_from_wire(m: DivertModel) -> Divert:
    return Divert(**m.model_dump())


def divert_to_wire(d: Divert) -> DivertModel:
    return DivertModel.model_validate(d, from_attributes=True)


def unit_from_wire(m: UnitOut) -> Unit:
    return Unit(
        id=m.id,
        callsign=m.callsign,
        kind=m.kind,
        borough=m.borough,
        status=m.status,
        incident_id=m.incident_id,
        status_since=m.status_since,
        version=m.version,
        lat=m.lat,
        lon=m.lon,
    )


def unit_to_wire(u: Unit) -> UnitOut:
    return UnitOut.model_validate(u, from_attributes=True)


#: One zone object per fixed UTC offset, shared by the incidents' times (see _one_zone).
_ZONES: dict[timedelta | None, tzinfo] = {}


@overload
def _one_zone(when: datetime) -> datetime: ...
@overload
def _one_zone(when: datetime | None) -> datetime | None: ...
def _one_zone(when: datetime | None) -> datetime | None:
    """``when`` with the zone object every other time of its offset has.

    pydantic gives each parsed time its own ``TzInfo`` (40 bytes beside the datetime's 48): a
    desk holding 50,000 incidents held 100,000 copies of UTC. Only pydantic's fixed-offset
    zone is replaced, by one of the same type and offset: equal, and printed the same.
    """
    zone = None if when is None else when.tzinfo
    if type(zone) is not TzInfo:
        return when
    assert when is not None and zone is not None
    shared = _ZONES.setdefault(zone.utcoffset(None), zone)
    return when if shared is zone else when.replace(tzinfo=shared)


def incident_from_wire(m: IncidentOut) -> Incident:
    return Incident(
        id=m.id,
        ref=m.ref,
        version=m.version,
        grade=m.grade,
        status=m.status,
        created_at=_one_zone(m.created_at),
        deadline=_one_zone(m.deadline),
        type=m.type,
        summary=m.summary,
        location=location_from_wire(m.location),
        caller=caller_from_wire(m.caller),
        appointment_at=_one_zone(m.appointment_at),
        attended_at=_one_zone(m.attended_at),
        closed_at=_one_zone(m.closed_at),
        updated_at=_one_zone(m.updated_at),
        downgrade_reason=m.downgrade_reason,
        rationale=m.rationale,
        original_grade=m.original_grade,
        owed=m.owed,
        diverts=tuple(divert_from_wire(d) for d in m.diverts),
        escalated_at=m.escalated_at,
        pending_downgrade=(
            PendingDowngrade(**m.pending_downgrade.model_dump())
            if m.pending_downgrade is not None
            else None
        ),
        downgrade_decision=(
            DowngradeDecision(**m.downgrade_decision.model_dump())
            if m.downgrade_decision is not None
            else None
        ),
        tasks=tuple(t.to_task() for t in m.tasks),
        persons=tuple(person_from_wire(p) for p in m.persons),
        weapons=m.weapons,
        links=tuple(link_from_wire(link) for link in m.links),
    )


def incident_to_wire(i: Incident) -> IncidentOut:
    return IncidentOut(
        id=i.id,
        ref=i.ref,
        version=i.version,
        grade=i.grade,
        status=i.status,
        created_at=i.created_at,
        deadline=i.deadline,
        type=i.type,
        summary=i.summary,
        location=location_to_wire(i.location),
        caller=caller_to_wire(i.caller),
        appointment_at=i.appointment_at,
        attended_at=i.attended_at,
        closed_at=i.closed_at,
        updated_at=i.updated_at,
        downgrade_reason=i.downgrade_reason,
        rationale=i.rationale,
        original_grade=i.original_grade,
        owed=i.owed,
        diverts=[divert_to_wire(d) for d in i.diverts],
        escalated_at=i.escalated_at,
        pending_downgrade=(
            PendingDowngradeModel.model_validate(i.pending_downgrade, from_attributes=True)
            if i.pending_downgrade is not None
            else None
        ),
        downgrade_decision=(
            DowngradeDecisionModel.model_validate(i.downgrade_decision, from_attributes=True)
            if i.downgrade_decision is not None
            else None
        ),
        tasks=[TaskModel.from_task(t) for t in i.tasks],
        persons=[person_to_wire(p) for p in i.persons],
        weapons=i.weapons,
        links=[link_to_wire(link) for link in i.links],
    )


def incident_from_json(data: dict[str, Any]) -> Incident:
    """Validate a JSON object as an incident; raises ``pydantic.ValidationError`` if malformed."""
    return incident_from_wire(IncidentOut.model_validate(data))


def policy_from_wire(m: PolicyModel) -> GradePolicy:
    targets: dict[Grade, timedelta | None] = {
        g: (None if s is None else timedelta(seconds=s)) for g, s in m.targets.items()
    }
    for grade in Grade:
        targets.setdefault(grade, None)
    return GradePolicy(
        targets=targets,
        at_risk_fraction=m.at_risk_fraction,
        timezone=m.timezone,
        reference=reference_from_wire(m),
        downgrade_needs_approval=m.downgrade_needs_approval,
        tasks=m.tasks.to_policy() if m.tasks is not None else DEFAULT_TASK_POLICY,
    )


def reference_from_wire(m: PolicyModel) -> ReferenceLists:
    """The server's lists; a list the desk cannot use (a blank or a value twice) is dropped,
    leaving the check to the server."""
    try:
        boroughs = ReferenceLists(boroughs=tuple(m.boroughs)).boroughs
    except ValueError:
        boroughs = ()
    try:
        types = ReferenceLists(incident_types=tuple(m.incident_types)).incident_types
    except ValueError:
        types = ()
    return ReferenceLists(boroughs, types)


def policy_to_wire(p: GradePolicy) -> PolicyModel:
    return PolicyModel(
        targets={g: (None if t is None else int(t.total_seconds())) for g, t in p.targets.items()},
        at_risk_fraction=p.at_risk_fraction,
        timezone=p.timezone,
        boroughs=list(p.reference.boroughs),
        incident_types=list(p.reference.incident_types),
        downgrade_needs_approval=p.downgrade_needs_approval,
        tasks=TaskPolicyModel.from_policy(p.tasks),
    )
