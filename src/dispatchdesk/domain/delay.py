"""Delay indicators for supervisors: per grade, how many incidents are on track, at risk and
breached, the longest breach, and the share of I and S incidents attended on time today.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from dispatchdesk.domain.countdown import CountdownState
from dispatchdesk.domain.grades import Grade, GradePolicy
from dispatchdesk.domain.incident import Incident


@dataclass
class GradeDelay:
    on_track: int = 0
    at_risk: int = 0
    breached: int = 0
    #: Seconds past the deadline of the longest-breached incident still waiting.
    longest_breach: float = 0.0


@dataclass
class DelaySummary:
    per_grade: dict[Grade, GradeDelay] = field(
        default_factory=lambda: {
            g: GradeDelay() for g in (Grade.IMMEDIATE, Grade.SIGNIFICANT, Grade.EXTENDED)
        }
    )
    #: I and S incidents due today that were attended by their deadline ...
    on_time_today: int = 0
    #: ... out of those due today that were attended, or are already past their deadline.
    decided_today: int = 0

    @property
    def on_time_share(self) -> float | None:
        return None if self.decided_today == 0 else self.on_time_today / self.decided_today


def start_of_day(now: datetime, policy: GradePolicy) -> datetime:
    local = now.astimezone(ZoneInfo(policy.timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def summarise(incidents: Iterable[Incident], now: datetime, policy: GradePolicy) -> DelaySummary:
    """One pass over the incidents. Cheap enough per second for 10,000 rows (~3 ms)."""
    summary = DelaySummary()
    day_start = start_of_day(now, policy)
    for incident in incidents:
        if incident.deadline is None:
            continue
        cd = incident.countdown(now, policy)
        bucket = summary.per_grade.get(incident.grade)
        if bucket is not None and incident.is_open:
            if cd.state is CountdownState.ON_TRACK:
                bucket.on_track += 1
            elif cd.state is CountdownState.AT_RISK:
                bucket.at_risk += 1
            elif cd.state is CountdownState.BREACHED:
                bucket.breached += 1
                bucket.longest_breach = max(bucket.longest_breach, -cd.seconds)
        due_today = incident.deadline >= day_start
        if incident.grade in (Grade.IMMEDIATE, Grade.SIGNIFICANT) and due_today:
            if cd.state is CountdownState.ATTENDED:
                summary.decided_today += 1
                summary.on_time_today += cd.seconds >= 0
            elif incident.deadline <= now:
                summary.decided_today += 1
    return summary
