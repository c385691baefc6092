"""Converters between domain dataclasses and wire models: domain -> wire -> domain is equal
(hypothesis, for every converter pair in protocol/convert.py and the warning policy's)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatchdesk.domain.grades import Grade, GradePolicy
from dispatchdesk.domain.history import IncidentLink, IncidentPerson, LinkRelation, PersonRole
from dispatchdesk.domain.incident import (
    Caller,
    Divert,
    DivertKind,
    Incident,
    IncidentStatus,
    Location,
)
from dispatchdesk.domain.reference import ReferenceLists
from dispatchdesk.domain.tasks import Task, TaskKind, TaskPolicy, TaskState
from dispatchdesk.domain.unit import Unit, UnitStatus
from dispatchdesk.domain.warnings import WarningPolicy
from dispatchdesk.protocol.convert import (
    caller_from_wire,
    caller_to_wire,
    divert_from_wire,
    divert_to_wire,
    incident_from_json,
    incident_from_wire,
    incident_to_wire,
    link_from_wire,
    link_to_wire,
    location_from_wire,
    location_to_wire,
    person_from_wire,
    person_to_wire,
    policy_from_wire,
    policy_to_wire,
    unit_from_wire,
    unit_to_wire,
)
from dispatchdesk.protocol.warnings import WarningPolicyModel

# Text as the wire keeps it: request models strip whitespace, so none at either end.
_letters = st.characters(
    min_codepoint=33, max_codepoint=0x2FF, exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")
)
text = st.builds(
    lambda head, mid: head + mid.rstrip(),
    st.text(_letters, min_size=1, max_size=1),
    st.text(
        st.characters(
            min_codepoint=32, max_codepoint=0x2FF, exclude_categories=("Cs", "Zl", "Zp", "Cc")
        ),
        max_size=30,
    ),
)
opt_text = st.none() | text
digits = st.from_regex(r"[0-9]{1,12}", fullmatch=True)
postcode = st.from_regex(r"[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}", fullmatch=True)
offsets = st.sampled_from([UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5))])
moment = st.builds(
    lambda d, tz: d.replace(tzinfo=tz),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
    offsets,
)
opt_moment = st.none() | moment
dob = st.none() | st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 1, 1))
ids = st.integers(min_value=1, max_value=2**53)
lat = st.none() | st.floats(min_value=-90, max_value=90, allow_nan=False)
lon = st.none() | st.floats(min_value=-180, max_value=180, allow_nan=False)

locations = st.builds(
    Location,
    address=text,
    postcode=postcode,
    borough=text,
    uprn=st.none() | digits,
    parent_uprn=st.none() | digits,
    usrn=st.none() | digits,
    lat=lat,
    lon=lon,
)
callers = st.builds(
    Caller,
    name=st.none() | text.filter(lambda s: len(s) <= 200),
    phone=st.none() | st.from_regex(r"\+?[0-9]([0-9 ]{0,18}[0-9])?", fullmatch=True),
    anonymous=st.booleans(),
    dob=dob,
    role=st.sampled_from(PersonRole),
    anonymity_requested=st.booleans(),
    anonymity_recorded_by=opt_text.filter(lambda s: s is None or len(s) <= 100),
    anonymity_recorded_at=opt_moment,
)
tasks = st.builds(
    Task,
    id=ids,
    kind=st.sampled_from(TaskKind),
    state=st.sampled_from(TaskState),
    detail=text,
    outcome=opt_text,
    reason=opt_text,
    by=opt_text,
    at=opt_moment,
)
diverts = st.builds(
    Divert,
    id=ids,
    unit_id=ids,
    callsign=text,
    from_incident_id=ids,
    from_ref=text,
    to_incident_id=st.none() | ids,
    to_ref=opt_text,
    by=text,
    at=moment,
    reason=text,
    released_at=opt_moment,
    released_by=opt_text,
    released_reason=opt_text,
    reviewed_at=opt_moment,
    reviewed_by=opt_text,
    review_note=opt_text,
    kind=st.sampled_from(DivertKind),
)
units = st.builds(
    Unit,
    id=ids,
    callsign=text,
    kind=text,
    borough=text,
    status=st.sampled_from(UnitStatus),
    incident_id=st.none() | ids,
    status_since=moment,
    version=ids,
    lat=lat,
    lon=lon,
)
persons = st.builds(
    IncidentPerson,
    name=text.filter(lambda s: len(s) <= 200),
    dob=dob,
    role=st.sampled_from(PersonRole),
)
links = st.builds(
    IncidentLink,
    incident_id=ids,
    ref=text,
    relation=st.sampled_from(LinkRelation),
    reason=text,
    by=text,
    at=moment,
)
incidents = st.builds(
    Incident,
    id=ids,
    ref=text,
    version=ids,
    grade=st.sampled_from(Grade),
    status=st.sampled_from(IncidentStatus),
    created_at=moment,
    deadline=opt_moment,
    type=text,
    summary=text,
    location=locations,
    caller=callers,
    appointment_at=opt_moment,
    attended_at=opt_moment,
    closed_at=opt_moment,
    updated_at=opt_moment,
    downgrade_reason=opt_text,
    rationale=opt_text,
    original_grade=st.none() | st.sampled_from(Grade),
    owed=st.booleans(),
    diverts=st.lists(diverts, max_size=3).map(tuple),
    escalated_at=opt_moment,
    persons=st.lists(persons, max_size=3).map(tuple),
    weapons=st.booleans(),
    links=st.lists(links, max_size=3).map(tuple),
    tasks=st.lists(tasks, max_size=5).map(tuple),
)
whole_seconds = st.integers(min_value=0, max_value=10**7).map(lambda s: timedelta(seconds=s))
words = st.from_regex(r"[A-Za-z]{1,12}( [A-Za-z]{1,12})?", fullmatch=True)
grade_policies = st.builds(
    GradePolicy,
    # The wire carries whole seconds; every grade is sent (a missing one reads as None).
    targets=st.fixed_dictionaries({g: st.none() | whole_seconds for g in Grade}),
    at_risk_fraction=st.floats(min_value=0, max_value=1),
    timezone=st.sampled_from(["Europe/London", "UTC", "America/New_York"]),
    reference=st.builds(
        ReferenceLists,
        boroughs=st.lists(words, max_size=4, unique_by=str.casefold).map(tuple),
        incident_types=st.lists(words, max_size=4, unique_by=str.casefold).map(tuple),
    ),
    tasks=st.builds(
        TaskPolicy,
        informant_types=st.lists(words, max_size=4, unique_by=str.casefold).map(tuple),
        domestic_types=st.lists(words, max_size=3, unique_by=str.casefold).map(tuple),
        overdue_after=whole_seconds.filter(lambda t: t > timedelta(0)),
    ),
)
warning_policies = st.builds(
    WarningPolicy,
    timezone=st.sampled_from(["Europe/London", "UTC"]),
    order_heightened_before_days=st.integers(0, 365),
    order_heightened_after_days=st.integers(0, 365),
    scheme_max_months=st.integers(1, 24),
    review_window=whole_seconds,
    escalate_after=whole_seconds,
    address_similarity=st.floats(min_value=0, max_value=1),
)

EXAMPLES = settings(max_examples=60, deadline=None)


@EXAMPLES
@given(locations)
def test_location_round_trip(loc: Location) -> None:
    assert location_from_wire(location_to_wire(loc)) == loc


@EXAMPLES
@given(callers)
def test_caller_round_trip(caller: Caller) -> None:
    assert caller_from_wire(caller_to_wire(caller)) == caller


@EXAMPLES
@given(diverts)
def test_divert_round_trip(divert: Divert) -> None:
    assert divert_from_wire(divert_to_wire(divert)) == divert


@EXAMPLES
@given(persons)
def test_incident_person_round_trip(person: IncidentPerson) -> None:
    assert person_from_wire(person_to_wire(person)) == person


@EXAMPLES
@given(links)
def test_link_round_trip(link: IncidentLink) -> None:
    assert link_from_wire(link_to_wire(link)) == link


@EXAMPLES
@given(units)
def test_unit_round_trip(unit: Unit) -> None:
    assert unit_from_wire(unit_to_wire(unit)) == unit


@EXAMPLES
@given(incidents)
def test_incident_round_trip(incident: Incident) -> None:
    wire = incident_to_wire(incident)
    assert incident_from_wire(wire) == incident
    # And through JSON, as the cache and the feed carry it.
    assert incident_from_json(wire.model_dump(mode="json")) == incident


@EXAMPLES
@given(grade_policies)
def test_grade_policy_round_trip(policy: GradePolicy) -> None:
    assert policy_from_wire(policy_to_wire(policy)) == policy


@EXAMPLES
@given(warning_policies)
def test_warning_policy_round_trip(policy: WarningPolicy) -> None:
    assert WarningPolicyModel.from_policy(policy).to_policy() == policy


@EXAMPLES
@given(st.lists(incidents, min_size=2, max_size=6))
def test_incidents_from_json_share_one_zone_per_offset(many: list[Incident]) -> None:
    """pydantic parses each time with its own zone object; the domain incidents share one per
    offset (a desk holds 50,000 of them), equal and printed exactly as before."""
    wires = [incident_to_wire(i).model_dump(mode="json") for i in many]
    parsed = [incident_from_json(w) for w in wires]
    assert parsed == many
    assert [incident_to_wire(p).model_dump(mode="json") for p in parsed] == wires
    zones: dict[timedelta | None, object] = {}
    for p in parsed:
        for when in (p.created_at, p.deadline, p.appointment_at, p.attended_at, p.closed_at):
            if when is not None:
                assert when.tzinfo is zones.setdefault(when.utcoffset(), when.tzinfo)


def test_a_postcode_already_written_properly_is_kept_as_given() -> None:
    """Not a copy per incident: pydantic shares a repeated string across parsed incidents,
    and the validator keeps it when it already reads right."""
    from dispatchdesk.protocol.schemas import LocationModel

    text = '{"address": "12 Acre Lane", "postcode": "SW2 5SA", "borough": "Lambeth"}'
    one, two = (LocationModel.model_validate_json(text) for _ in range(2))
    assert one.postcode == "SW2 5SA" and one.postcode is two.postcode
    assert LocationModel(address="x", postcode="sw25sa", borough="L").postcode == "SW2 5SA"
