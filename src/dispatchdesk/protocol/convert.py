"""Between wire models and domain dataclasses."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dispatchdesk.domain.grades import Grade, GradePolicy
from dispatchdesk.domain.history import IncidentLink, IncidentPerson
from dispatchdesk.domain.incident import Caller, Divert, Incident, Location
from dispatchdesk.domain.reference import ReferenceLists
from dispatchdesk.domain.unit import Unit
from dispatchdesk.protocol.schemas import (
    CallerModel,
    DivertModel,
    IncidentOut,
    IncidentPersonModel,
    LinkOut,
    LocationModel,
    PolicyModel,
    UnitOut,
)


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
    return Caller(name=m.name, phone=m.phone, anonymous=m.anonymous, dob=m.dob, role=m.role)


def caller_to_wire(c: Caller) -> CallerModel:
    return CallerModel(name=c.name, phone=c.phone, anonymous=c.anonymous, dob=c.dob, role=c.role)


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


def incident_from_wire(m: IncidentOut) -> Incident:
    return Incident(
        id=m.id,
        ref=m.ref,
        version=m.version,
        grade=m.grade,
        status=m.status,
        created_at=m.created_at,
        deadline=m.deadline,
        type=m.type,
        summary=m.summary,
        location=location_from_wire(m.location),
        caller=caller_from_wire(m.caller),
        appointment_at=m.appointment_at,
        attended_at=m.attended_at,
        closed_at=m.closed_at,
        updated_at=m.updated_at,
        downgrade_reason=m.downgrade_reason,
        rationale=m.rationale,
        original_grade=m.original_grade,
        owed=m.owed,
        diverts=tuple(divert_from_wire(d) for d in m.diverts),
        escalated_at=m.escalated_at,
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
    )
