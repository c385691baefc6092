"""A supervisor's picture of the shift: the day so far, hour by hour, in the server's time zone.

Per grade, each hour's *decided* incidents (the delay strip's "I+S on time today" rule, see
:func:`dispatchdesk.domain.delay.summarise`: due today, and attended or past the deadline) and how
many of them were on time. An incident is put in the hour its outcome was settled: the hour it
was attended when on time, else the hour its deadline passed (that is also the hour it
breached). Summed over the hours the numbers are the strip's, so the two never disagree.

Owed incidents over time: a step series from the DIVERT tags the incidents carry (an incident is
owed from a tag's ``at`` until its ``released_at``), not a sample of the live count. Incidents
closed before today are not held by the desk; their tags were released when they were closed.

Hours are counted in UTC from the server's local midnight, so a day with a clock change has 23 or
25 of them (the repeated hour is labelled twice).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dispatchdesk.domain.countdown import CountdownState
from dispatchdesk.domain.grades import Grade, GradePolicy
from dispatchdesk.domain.incident import Incident

SHIFT_GRADES = (Grade.IMMEDIATE, Grade.SIGNIFICANT, Grade.EXTENDED)
_HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class HourSlot:
    """One hour of the day: its start (UTC) and its local label, ``"09"``."""

    start: datetime
    label: str


@dataclass(frozen=True)
class GradeHours:
    """One grade's decided and on-time incidents per hour slot."""

    decided: tuple[int, ...]
    on_time: tuple[int, ...]

    @property
    def breaches(self) -> tuple[int, ...]:
        """Incidents whose deadline passed unattended, per hour it passed."""
        return tuple(d - o for d, o in zip(self.decided, self.on_time, strict=True))

    def share(self, slot: int) -> float | None:
        """The on-time share of one hour; None when nothing was decided in it."""
        decided = self.decided[slot]
        return None if decided == 0 else self.on_time[slot] / decided


@dataclass(frozen=True)
class ShiftPicture:
    day_start: datetime
    #: The hours of the day so far, the current one last.
    hours: tuple[HourSlot, ...]
    grades: dict[Grade, GradeHours]
    #: (from, owed incidents) steps, the first at ``day_start`` (all grades).
    owed_steps: tuple[tuple[datetime, int], ...]
    #: Per grade, the deadline of the longest-breached incident still waiting (None: none).
    oldest_breach: dict[Grade, datetime | None] = field(default_factory=dict)
    #: Per grade, owed steps of that grade's incidents only.
    owed_by_grade: dict[Grade, tuple[tuple[datetime, int], ...]] = field(default_factory=dict)

    def longest_breach(self, grade: Grade, now: datetime) -> float:
        """Seconds past the deadline of the longest breach still waiting, at ``now`` (0: none).
        Cheap per tick: the picture holds the deadline."""
        deadline = self.oldest_breach.get(grade)
        return 0.0 if deadline is None else max(0.0, (now - deadline).total_seconds())


def day_start_utc(now: datetime, timezone: str) -> datetime:
    """The server's local midnight of ``now``'s day, in UTC."""
    local = now.astimezone(ZoneInfo(timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def hour_slots(now: datetime, timezone: str) -> tuple[HourSlot, ...]:
    """The hours from the local midnight of ``now`` to the hour ``now`` is in."""
    zone = ZoneInfo(timezone)
    start = day_start_utc(now, timezone)
    slots = []
    t = start
    while t <= now:
        slots.append(HourSlot(t, t.astimezone(zone).strftime("%H")))
        t += _HOUR  # UTC arithmetic: a clock change gives 23 or 25 hours
    return tuple(slots)


def hour_key(now: datetime, timezone: str) -> tuple[datetime, int]:
    """Changes when the hour turns (or the day): to know when to recompute."""
    start = day_start_utc(now, timezone)
    return start, int((now - start).total_seconds() // 3600)


def settled_at(incident: Incident, now: datetime, policy: GradePolicy) -> tuple[datetime, bool]:
    """When the incident's outcome was settled and whether on time, or raise ValueError when
    it is not settled yet (no deadline, or waiting within it)."""
    deadline = incident.deadline
    if deadline is None:
        raise ValueError("no deadline")
    cd = incident.countdown(now, policy)
    if cd.state is CountdownState.ATTENDED and cd.seconds >= 0 and incident.attended_at:
        return incident.attended_at, True
    if cd.state is CountdownState.ATTENDED or deadline <= now:
        return deadline, False
    raise ValueError("not settled yet")


def owed_intervals(incident: Incident) -> list[tuple[datetime, datetime | None]]:
    """When the incident was owed: the union of its tags' [at, released_at) intervals."""
    spans = sorted((d.at, d.released_at) for d in incident.diverts)
    merged: list[tuple[datetime, datetime | None]] = []
    for at, end in spans:
        if merged:
            last_at, last_end = merged[-1]
            if last_end is None or at <= last_end:
                longer = None if last_end is None or end is None else max(last_end, end)
                merged[-1] = (last_at, longer)
                continue
        merged.append((at, end))
    return merged


def owed_steps(
    incidents: Iterable[Incident], day_start: datetime, now: datetime
) -> tuple[tuple[datetime, int], ...]:
    """The number of owed incidents from ``day_start`` to ``now``, as (from, count) steps."""
    start_count = 0
    changes: dict[datetime, int] = {}
    for incident in incidents:
        for at, end in owed_intervals(incident):
            if at > now or (end is not None and end <= day_start):
                continue
            if at <= day_start:
                start_count += 1
            else:
                changes[at] = changes.get(at, 0) + 1
            if end is not None and end <= now:
                changes[end] = changes.get(end, 0) - 1
    steps = [(day_start, start_count)]
    count = start_count
    for when in sorted(changes):
        if changes[when]:
            count += changes[when]
            steps.append((when, count))
    return tuple(steps)


def shift_picture(
    incidents: Iterable[Incident], now: datetime, policy: GradePolicy
) -> ShiftPicture:
    """One pass over the incidents the desk holds (open ones and today's closed ones)."""
    incidents = list({i.id: i for i in incidents}.values())  # the last of an id wins
    hours = hour_slots(now, policy.timezone)
    day_start = hours[0].start
    decided = {g: [0] * len(hours) for g in SHIFT_GRADES}
    on_time = {g: [0] * len(hours) for g in SHIFT_GRADES}
    oldest: dict[Grade, datetime | None] = dict.fromkeys(SHIFT_GRADES)
    for incident in incidents:
        deadline = incident.deadline
        if deadline is None or incident.grade not in decided:
            continue
        if incident.is_open and incident.attended_at is None and deadline < now:
            first = oldest[incident.grade]
            oldest[incident.grade] = deadline if first is None else min(first, deadline)
        if deadline < day_start:
            continue
        try:
            when, was_on_time = settled_at(incident, now, policy)
        except ValueError:
            continue
        slot = min(len(hours) - 1, max(0, int((when - day_start).total_seconds() // 3600)))
        decided[incident.grade][slot] += 1
        on_time[incident.grade][slot] += was_on_time
    by_grade = {
        g: owed_steps([i for i in incidents if i.grade is g], day_start, now) for g in SHIFT_GRADES
    }
    return ShiftPicture(
        day_start=day_start,
        hours=hours,
        grades={g: GradeHours(tuple(decided[g]), tuple(on_time[g])) for g in SHIFT_GRADES},
        owed_steps=owed_steps(incidents, day_start, now),
        oldest_breach=oldest,
        owed_by_grade=by_grade,
    )
