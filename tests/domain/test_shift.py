"""The shift picture's hour buckets (Europe/London, across an hour, midnight and clock changes),
its agreement with the delay strip's "on time today", and the owed step series from tags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatchdesk.domain.clock import FakeClock
from dispatchdesk.domain.delay import start_of_day, summarise
from dispatchdesk.domain.grades import DEFAULT_POLICY, Grade
from dispatchdesk.domain.incident import Divert, Incident, IncidentStatus, Location
from dispatchdesk.domain.shift import (
    hour_key,
    hour_slots,
    owed_steps,
    shift_picture,
)

LONDON = "Europe/London"
#: 23 Nov 2026: London is on GMT (UTC+0).
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def incident(
    iid: int, grade: Grade = Grade.IMMEDIATE, created_at: datetime = T0, **changes: object
) -> Incident:
    made = Incident(
        id=iid,
        ref=f"CAD {iid}/23NOV26",
        version=1,
        grade=grade,
        status=IncidentStatus.OPEN,
        created_at=created_at,
        deadline=DEFAULT_POLICY.deadline(grade, created_at),
        type="Domestic",
        summary="x",
        location=Location(address="1 High St", postcode="NW1", borough="Camden"),
    )
    return made.with_changes(**changes) if changes else made


def tag(tid: int, incident_id: int, at: datetime, released_at: datetime | None = None) -> Divert:
    return Divert(
        id=tid,
        unit_id=tid,
        callsign=f"LX{tid}",
        from_incident_id=incident_id,
        from_ref="CAD",
        to_incident_id=None,
        to_ref=None,
        by="dan",
        at=at,
        reason="r",
        released_at=released_at,
    )


def test_hours_so_far_and_the_hour_turning():
    clock = FakeClock(T0 + timedelta(minutes=59, seconds=59))
    hours = hour_slots(clock.now(), LONDON)
    assert [h.label for h in hours] == [f"{h:02d}" for h in range(10)]
    before = hour_key(clock.now(), LONDON)
    clock.advance(timedelta(seconds=1))
    assert hour_key(clock.now(), LONDON) != before
    assert hour_slots(clock.now(), LONDON)[-1].label == "10"


def test_midnight_starts_a_new_day_in_london_time():
    # Summer: London is UTC+1, so local midnight is 23:00 UTC the day before.
    clock = FakeClock(datetime(2026, 7, 1, 22, 59, 30, tzinfo=UTC))  # 23:59:30 BST
    hours = hour_slots(clock.now(), LONDON)
    assert len(hours) == 24 and hours[0].start == datetime(2026, 6, 30, 23, 0, tzinfo=UTC)
    before = hour_key(clock.now(), LONDON)
    clock.advance(timedelta(seconds=30))  # 00:00 BST
    assert hour_key(clock.now(), LONDON) != before
    after = hour_slots(clock.now(), LONDON)
    assert [h.label for h in after] == ["00"]
    assert after[0].start == datetime(2026, 7, 1, 23, 0, tzinfo=UTC)


def test_clock_change_days_have_23_and_25_hours():
    spring = hour_slots(datetime(2026, 3, 29, 22, 30, tzinfo=UTC), LONDON)  # 23:30 BST
    assert len(spring) == 23 and "01" not in [h.label for h in spring]
    autumn = hour_slots(datetime(2026, 10, 25, 23, 30, tzinfo=UTC), LONDON)  # 23:30 GMT
    assert len(autumn) == 25 and [h.label for h in autumn].count("01") == 2


def test_an_incident_is_counted_in_the_hour_its_outcome_was_settled():
    now = T0 + timedelta(hours=3)  # 12:00
    on_time = incident(1, created_at=T0, attended_at=T0 + timedelta(minutes=10))  # 09:10
    late = incident(
        2,
        created_at=T0 + timedelta(minutes=50),  # deadline 10:05
        attended_at=T0 + timedelta(hours=2),
    )
    waiting = incident(3, created_at=T0 + timedelta(hours=1, minutes=30))  # breached 10:45
    within = incident(4, created_at=now - timedelta(minutes=5))  # not settled yet
    closed_unattended = incident(
        5, created_at=T0, status=IncidentStatus.CLOSED, closed_at=T0 + timedelta(minutes=20)
    )
    picture = shift_picture(
        [on_time, late, waiting, within, closed_unattended], now, DEFAULT_POLICY
    )
    grade = picture.grades[Grade.IMMEDIATE]
    assert len(picture.hours) == 13
    assert grade.decided[9] == 2 and grade.on_time[9] == 1  # 1 on time; 5 missed at 09:15
    assert grade.decided[10] == 2 and grade.on_time[10] == 0  # 2 and 3 breached at 10:xx
    assert grade.breaches[10] == 2 and grade.share(10) == 0.0
    assert grade.share(11) is None and sum(grade.decided) == 4
    assert picture.longest_breach(Grade.IMMEDIATE, now) == 75 * 60  # 3 waits since 10:45
    assert picture.longest_breach(Grade.SIGNIFICANT, now) == 0.0


def test_yesterdays_deadlines_are_not_today():
    now = T0
    old = incident(1, created_at=T0 - timedelta(hours=10))  # deadline 23:15 yesterday
    picture = shift_picture([old], now, DEFAULT_POLICY)
    assert sum(picture.grades[Grade.IMMEDIATE].decided) == 0
    assert picture.oldest_breach[Grade.IMMEDIATE] == old.deadline  # still waiting: breached


@st.composite
def incidents(draw):
    created = T0 - timedelta(minutes=draw(st.integers(0, 3000)))
    made = incident(
        draw(st.integers(1, 25)),
        draw(st.sampled_from(list(Grade))),
        created,
        status=draw(st.sampled_from(list(IncidentStatus))),
    )
    if draw(st.booleans()):
        made = made.with_changes(attended_at=created + timedelta(minutes=draw(st.integers(0, 120))))
    return made


@settings(max_examples=150, deadline=None)
@given(held=st.lists(incidents(), max_size=20), seconds=st.integers(-20000, 40000))
def test_the_hours_add_up_to_the_strips_on_time_today(held, seconds):
    now = T0 + timedelta(seconds=seconds)
    picture = shift_picture(held, now, DEFAULT_POLICY)
    summary = summarise({i.id: i for i in held}.values(), now, DEFAULT_POLICY)
    assert picture.day_start == start_of_day(now, DEFAULT_POLICY)
    today = [picture.grades[g] for g in (Grade.IMMEDIATE, Grade.SIGNIFICANT)]
    assert sum(sum(g.decided) for g in today) == summary.decided_today
    assert sum(sum(g.on_time) for g in today) == summary.on_time_today
    for grade in (Grade.IMMEDIATE, Grade.SIGNIFICANT, Grade.EXTENDED):
        assert picture.longest_breach(grade, now) == summary.per_grade[grade].longest_breach


def test_owed_steps_follow_the_tags():
    day = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    now = day + timedelta(hours=12)
    a = incident(1, diverts=(tag(1, 1, day - timedelta(hours=2)),))  # owed since yesterday
    b = incident(2, diverts=(tag(2, 2, day + timedelta(hours=3), day + timedelta(hours=5)),))
    # Two overlapping tags on one incident: owed once, from the first to the last release.
    c = incident(
        3,
        diverts=(
            tag(3, 3, day + timedelta(hours=4), day + timedelta(hours=6)),
            tag(4, 3, day + timedelta(hours=5), day + timedelta(hours=7)),
        ),
    )
    gone = incident(4, diverts=(tag(5, 4, day - timedelta(hours=3), day - timedelta(hours=1)),))
    future = incident(5, diverts=(tag(6, 5, now + timedelta(hours=1)),))
    steps = owed_steps([a, b, c, gone, future], day, now)
    assert steps == (
        (day, 1),
        (day + timedelta(hours=3), 2),
        (day + timedelta(hours=4), 3),
        (day + timedelta(hours=5), 2),
        (day + timedelta(hours=7), 1),
    )


def test_owed_now_matches_the_owed_flags():
    now = T0
    tags_open = incident(1, owed=True, diverts=(tag(1, 1, T0 - timedelta(hours=1)),))
    released = incident(2, diverts=(tag(2, 2, T0 - timedelta(hours=2), T0 - timedelta(hours=1)),))
    picture = shift_picture([tags_open, released], now, DEFAULT_POLICY)
    assert picture.owed_steps[-1][1] == sum(i.owed for i in (tags_open, released)) == 1
    assert picture.owed_by_grade[Grade.IMMEDIATE][-1][1] == 1
    assert picture.owed_by_grade[Grade.SIGNIFICANT] == ((picture.day_start, 0),)
