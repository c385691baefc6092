"""Rationale refusal, roles, and the delay summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dispatchdesk.domain.delay import summarise
from dispatchdesk.domain.grades import DEFAULT_POLICY, Grade
from dispatchdesk.domain.incident import IncidentStatus
from dispatchdesk.domain.rationale import rationale_problem
from dispatchdesk.domain.roles import Right, Role, has_right

from .test_countdown import T0, make


def test_rationale_refuses_templates_and_copies() -> None:
    assert rationale_problem("NFA") is not None
    problem = rationale_problem("No further police action required.")
    assert problem is not None and "stock phrase" in problem
    own = "Spoke to both parties at 14 Elm Rd; victim safe at sister's, DASH completed."
    assert rationale_problem(own) is None
    copied = rationale_problem(own.replace("14", "15"), others=[own])
    assert copied is not None and "another incident" in copied


def test_roles() -> None:
    assert has_right(Role.CALL_HANDLER, Right.CREATE_INCIDENT)
    assert not has_right(Role.CALL_HANDLER, Right.CLOSE_INCIDENT)
    assert not has_right(Role.CALL_HANDLER, Right.CHANGE_STATUS)
    assert has_right(Role.DISPATCHER, Right.CLOSE_INCIDENT)
    assert not has_right(Role.DISPATCHER, Right.VIEW_DELAY_STRIP)
    assert all(has_right(Role.SUPERVISOR, r) for r in Right)


def test_delay_summary_counts_states_and_on_time_share() -> None:
    now = T0 + timedelta(minutes=50)
    incidents = [
        make(Grade.IMMEDIATE, id=1),  # breached by 35 min
        make(Grade.IMMEDIATE, id=2, created_at=now - timedelta(minutes=12)),  # at risk
        make(Grade.SIGNIFICANT, id=3),  # 10 min left of 60: at risk
        make(Grade.SIGNIFICANT, id=4, created_at=now),  # on track
        make(
            Grade.IMMEDIATE,
            id=5,
            status=IncidentStatus.AT_SCENE,
            attended_at=T0 + timedelta(minutes=10),
        ),  # on time
        make(
            Grade.IMMEDIATE,
            id=6,
            status=IncidentStatus.AT_SCENE,
            attended_at=T0 + timedelta(minutes=20),
        ),  # late
        make(Grade.REFERRED, id=7),
    ]
    s = summarise(incidents, now, DEFAULT_POLICY)
    i, sg = s.per_grade[Grade.IMMEDIATE], s.per_grade[Grade.SIGNIFICANT]
    assert (i.on_track, i.at_risk, i.breached) == (0, 1, 1)
    assert i.longest_breach == 35 * 60
    assert (sg.on_track, sg.at_risk, sg.breached) == (1, 1, 0)
    assert (s.on_time_today, s.decided_today) == (1, 3)


def test_delay_summary_today_is_the_london_day() -> None:
    now = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)
    yesterday = make(
        Grade.IMMEDIATE,
        created_at=now - timedelta(hours=2),
        status=IncidentStatus.AT_SCENE,
        attended_at=now - timedelta(hours=2),
    )
    s = summarise([yesterday], now, DEFAULT_POLICY)
    assert s.decided_today == 0
