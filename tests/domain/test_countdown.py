"""Deadlines, regrades, the at-risk boundary, breaches counting up, and the server clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatchdesk.domain.clock import FakeClock, ServerClock
from dispatchdesk.domain.countdown import (
    CountdownState,
    epoch_us,
    format_countdown,
    format_duration,
)
from dispatchdesk.domain.grades import DEFAULT_POLICY, Grade, GradePolicy, is_downgrade
from dispatchdesk.domain.incident import Incident, IncidentStatus, Location

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def make(grade: Grade = Grade.IMMEDIATE, **kw: object) -> Incident:
    created = kw.pop("created_at", T0)
    assert isinstance(created, datetime)
    fields: dict[str, object] = {
        "id": 1,
        "ref": "CAD 1/23NOV26",
        "version": 1,
        "grade": grade,
        "status": IncidentStatus.OPEN,
        "created_at": created,
        "deadline": DEFAULT_POLICY.deadline(grade, created),
        "type": "Domestic",
        "summary": "s",
        "location": Location("1 High St", "E1 6AN", "Tower Hamlets"),
    }
    fields.update(kw)
    return Incident(**fields)  # type: ignore[arg-type]


def test_deadline_per_grade() -> None:
    assert DEFAULT_POLICY.deadline(Grade.IMMEDIATE, T0) == T0 + timedelta(minutes=15)
    assert DEFAULT_POLICY.deadline(Grade.SIGNIFICANT, T0) == T0 + timedelta(hours=1)
    assert DEFAULT_POLICY.deadline(Grade.EXTENDED, T0) == T0 + timedelta(hours=48)
    assert DEFAULT_POLICY.deadline(Grade.REFERRED, T0) is None


def test_extended_deadline_is_the_appointment() -> None:
    appointment = T0 + timedelta(days=1, hours=3)
    assert DEFAULT_POLICY.deadline(Grade.EXTENDED, T0, appointment) == appointment


def test_regrade_recomputes_from_the_original_call_time() -> None:
    # Regraded S -> I twenty minutes after the call: the I target is already breached,
    # because the clock started when the call came in, not at the regrade.
    deadline = DEFAULT_POLICY.deadline(Grade.IMMEDIATE, T0)
    incident = make(Grade.IMMEDIATE, deadline=deadline)
    cd = incident.countdown(T0 + timedelta(minutes=20), DEFAULT_POLICY)
    assert cd.state is CountdownState.BREACHED
    assert format_countdown(cd) == "+05:00"


def test_downgrade_direction() -> None:
    assert is_downgrade(Grade.IMMEDIATE, Grade.SIGNIFICANT)
    assert is_downgrade(Grade.SIGNIFICANT, Grade.REFERRED)
    assert not is_downgrade(Grade.SIGNIFICANT, Grade.IMMEDIATE)
    assert not is_downgrade(Grade.EXTENDED, Grade.EXTENDED)


def test_at_risk_boundary_is_the_last_third() -> None:
    clock = FakeClock(T0)
    incident = make(Grade.IMMEDIATE)  # 15 min target: at risk for the last 5 minutes
    clock.advance(timedelta(minutes=9, seconds=59))
    assert incident.countdown(clock.now(), DEFAULT_POLICY).state is CountdownState.ON_TRACK
    clock.advance(1)
    assert incident.countdown(clock.now(), DEFAULT_POLICY).state is CountdownState.AT_RISK
    clock.advance(timedelta(minutes=5))
    assert incident.countdown(clock.now(), DEFAULT_POLICY).state is CountdownState.AT_RISK
    clock.advance(0.001)
    assert incident.countdown(clock.now(), DEFAULT_POLICY).state is CountdownState.BREACHED


def test_at_risk_fraction_is_policy() -> None:
    policy = GradePolicy(at_risk_fraction=0.5)
    incident = make(Grade.SIGNIFICANT)
    assert incident.countdown(T0 + timedelta(minutes=31), policy).state is CountdownState.AT_RISK
    assert incident.countdown(T0 + timedelta(minutes=31), DEFAULT_POLICY).state is (
        CountdownState.ON_TRACK
    )


def test_breach_counts_up_and_stays_readable_for_hours() -> None:
    clock = FakeClock(T0)
    incident = make(Grade.SIGNIFICANT)
    clock.advance(timedelta(hours=1, seconds=1))
    assert format_countdown(incident.countdown(clock.now(), DEFAULT_POLICY)) == "+00:01"
    clock.advance(timedelta(hours=1, minutes=42, seconds=9))
    assert format_countdown(incident.countdown(clock.now(), DEFAULT_POLICY)) == "+1:42:10"
    clock.advance(timedelta(days=1))
    assert format_countdown(incident.countdown(clock.now(), DEFAULT_POLICY)) == "+1d 01:42:10"


def test_counting_down_reads_minutes_and_seconds() -> None:
    incident = make(Grade.IMMEDIATE)
    cd = incident.countdown(T0 + timedelta(seconds=55), DEFAULT_POLICY)
    assert format_countdown(cd) == "14:05"
    # Never "00:00" while time remains.
    cd = incident.countdown(T0 + timedelta(minutes=14, seconds=59.5), DEFAULT_POLICY)
    assert format_countdown(cd) == "00:01"


def test_countdown_stops_when_a_unit_arrives() -> None:
    arrived = T0 + timedelta(minutes=11)
    incident = make(Grade.IMMEDIATE, status=IncidentStatus.AT_SCENE, attended_at=arrived)
    for later in (timedelta(minutes=12), timedelta(hours=5)):
        cd = incident.countdown(T0 + later, DEFAULT_POLICY)
        assert cd.state is CountdownState.ATTENDED
        assert cd.seconds == 240
    assert format_countdown(incident.countdown(T0, DEFAULT_POLICY)) == "Arrived, 04:00 to spare"


def test_referred_has_no_countdown() -> None:
    cd = make(Grade.REFERRED).countdown(T0 + timedelta(days=3), DEFAULT_POLICY)
    assert cd.state is CountdownState.NONE
    assert format_countdown(cd) == "—"


@given(st.floats(min_value=-1e7, max_value=1e7, allow_nan=False))
def test_format_duration_round_trips_whole_seconds(seconds: float) -> None:
    text = format_duration(seconds)
    days = 0
    if "d " in text:
        day_text, text = text.split("d ")
        days = int(day_text)
    parts = [int(p) for p in text.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    hours, minutes, secs = parts
    assert minutes < 60 and secs < 60 and hours < 24
    assert days * 86400 + hours * 3600 + minutes * 60 + secs == pytest.approx(
        -(-abs(seconds) // 1), abs=0
    )


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=10**6))
def test_urgency_key_orders_by_deadline(a: int, b: int) -> None:
    x = make(Grade.SIGNIFICANT, deadline=T0 + timedelta(seconds=a))
    y = make(Grade.IMMEDIATE, deadline=T0 + timedelta(seconds=b))
    assert (x.urgency_key() < y.urgency_key()) == (a < b or (a == b and False))


def test_attended_sort_after_waiting() -> None:
    waiting = make(Grade.SIGNIFICANT)
    attended = make(Grade.IMMEDIATE, attended_at=T0, status=IncidentStatus.AT_SCENE)
    assert waiting.urgency_key() < attended.urgency_key()


class FakeMonotonic:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_server_clock_counts_right_on_a_wrong_workstation_clock() -> None:
    mono = FakeMonotonic()
    wrong_wall = T0.timestamp() - 3600  # workstation an hour slow
    clock = ServerClock(monotonic=mono, wall=lambda: wrong_wall)
    server_time = T0
    clock.observe(server_time, sent_mono=1000.0, received_mono=1000.2)
    mono.t = 1000.1 + 30
    assert clock.now() == T0 + timedelta(seconds=30)
    assert round(clock.offset_seconds) == 3600 + 30


def test_server_clock_from_a_stored_offset_when_offline() -> None:
    mono = FakeMonotonic()
    wall = T0.timestamp()
    clock = ServerClock(offset_seconds=-120.0, monotonic=mono, wall=lambda: wall)
    assert clock.now() == T0 - timedelta(minutes=2)
    assert not clock.synced
    mono.t += 5
    assert clock.now() == T0 - timedelta(minutes=2) + timedelta(seconds=5)


@given(
    grade=st.sampled_from(list(Grade)),
    status=st.sampled_from(list(IncidentStatus)),
    offset_us=st.integers(-3 * 86_400 * 10**6, 3 * 86_400 * 10**6),
    whole=st.booleans(),
    attended=st.one_of(st.none(), st.integers(-7_200, 7_200)),
)
def test_a_prepared_countdown_is_the_countdown_at_every_moment(
    grade: Grade, status: IncidentStatus, offset_us: int, whole: bool, attended: int | None
) -> None:
    """The queue's tick computes ``prepared_countdown(...).at(epoch_us(now))``: the same state,
    seconds and text as ``countdown(now)``, on whole seconds and the at-risk boundary too."""
    incident = make(
        grade,
        status=status,
        attended_at=None if attended is None else T0 + timedelta(seconds=attended),
    )
    prepared = incident.prepared_countdown(DEFAULT_POLICY)
    if whole:
        offset_us -= offset_us % 1_000_000
    moments = [T0 + timedelta(microseconds=offset_us)]
    if incident.deadline is not None:
        window = DEFAULT_POLICY.at_risk_window(grade, incident.created_at, incident.deadline)
        moments += [incident.deadline - window, incident.deadline, incident.deadline + _US]
    for now in moments:
        expected = incident.countdown(now, DEFAULT_POLICY)
        got = prepared.at(epoch_us(now))
        assert got == expected, now
        assert format_countdown(got) == format_countdown(expected)


_US = timedelta(microseconds=1)


@given(st.floats(min_value=-1e7, max_value=1e7, allow_nan=False))
def test_format_duration_reads_as_it_always_did(seconds: float) -> None:
    """The table of an hour's "mm:ss" changes nothing: the formula it replaced, inline."""
    total = -(-abs(seconds) // 1)
    days, rest = divmod(int(total), 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        expected = f"{days}d {hours:02d}:{minutes:02d}:{secs:02d}"
    elif hours:
        expected = f"{hours}:{minutes:02d}:{secs:02d}"
    else:
        expected = f"{minutes:02d}:{secs:02d}"
    assert format_duration(seconds) == expected
    assert format_duration(3599.2) == "1:00:00" and format_duration(59.01) == "01:00"
