"""The countdown to the attendance deadline.

``remaining = deadline - now`` is computed whenever it is shown, never decremented per tick.
A breach counts *up* and stays readable at hours (S-grade breaches of hours are normal).
The countdown stops when the first unit arrives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum


class CountdownState(StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    #: A unit arrived: the countdown stopped. ``seconds`` is the margin (negative when late).
    ATTENDED = "attended"
    #: No attendance target (Referred), or closed.
    NONE = "none"

    @property
    def label(self) -> str:
        return _STATE_LABEL[self]


_STATE_LABEL = {
    CountdownState.ON_TRACK: "On track",
    CountdownState.AT_RISK: "At risk",
    CountdownState.BREACHED: "Breached",
    CountdownState.ATTENDED: "Attended",
    CountdownState.NONE: "No target",
}


@dataclass(frozen=True, slots=True)
class Countdown:
    state: CountdownState
    #: Seconds to the deadline; negative once breached (or, when attended, arrived late).
    seconds: float


def countdown(
    *,
    now: datetime,
    deadline: datetime | None,
    at_risk_window: timedelta,
    attended_at: datetime | None = None,
) -> Countdown:
    """The countdown state at ``now``."""
    if deadline is None:
        return Countdown(CountdownState.NONE, 0.0)
    if attended_at is not None:
        return Countdown(CountdownState.ATTENDED, (deadline - attended_at).total_seconds())
    remaining = (deadline - now).total_seconds()
    if remaining < 0:
        return Countdown(CountdownState.BREACHED, remaining)
    if remaining <= at_risk_window.total_seconds():
        return Countdown(CountdownState.AT_RISK, remaining)
    return Countdown(CountdownState.ON_TRACK, remaining)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def epoch_us(when: datetime) -> int:
    """Whole microseconds since the epoch (an aware ``when``): differences are exact."""
    return (when - _EPOCH) // _MICROSECOND


@dataclass(frozen=True, slots=True)
class PreparedCountdown:
    """:func:`countdown` with all that does not depend on ``now`` worked out once: a queue
    computes each visible row's countdown every second from the same incident.

    ``at(epoch_us(now))`` is ``countdown(now=now, ...)`` exactly: the remaining time is the
    difference of whole microseconds divided as ``timedelta.total_seconds`` divides it."""

    #: The answer whatever ``now`` is (no deadline, or attended), else None.
    fixed: Countdown | None
    deadline_us: int = 0
    at_risk_seconds: float = 0.0

    @classmethod
    def of(
        cls, deadline: datetime | None, at_risk_window: timedelta, attended_at: datetime | None
    ) -> PreparedCountdown:
        if deadline is None or attended_at is not None:
            now = deadline or _EPOCH  # not used by the answer
            return cls(
                countdown(
                    now=now,
                    deadline=deadline,
                    at_risk_window=at_risk_window,
                    attended_at=attended_at,
                )
            )
        return cls(None, epoch_us(deadline), at_risk_window.total_seconds())

    def at(self, now_us: int) -> Countdown:
        if self.fixed is not None:
            return self.fixed
        remaining = (self.deadline_us - now_us) / 1_000_000
        if remaining < 0:
            return Countdown(CountdownState.BREACHED, remaining)
        if remaining <= self.at_risk_seconds:
            return Countdown(CountdownState.AT_RISK, remaining)
        return Countdown(CountdownState.ON_TRACK, remaining)


def format_duration(seconds: float) -> str:
    """``14:05`` under an hour, ``1:02:10`` from an hour, ``2d 03:04:05`` from a day.

    Whole seconds, rounded up: "00:00" is never shown while time remains, and a breach reads
    "+00:01" from its first second.
    """
    total = math.ceil(abs(seconds))
    if total < 3_600:
        return _MINUTES_SECONDS[total]  # the queue's usual case, every visible row each second
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    if days:
        return f"{days}d {hours:02d}:{_MINUTES_SECONDS[rest]}"
    return f"{hours}:{_MINUTES_SECONDS[rest]}"


#: "mm:ss" of each second of an hour.
_MINUTES_SECONDS = tuple(f"{m:02d}:{s:02d}" for m in range(60) for s in range(60))


def format_countdown(cd: Countdown) -> str:
    """The text of a countdown cell: ``14:05``, ``+1:02:10``, ``Arrived 03:10 early`` ..."""
    if cd.state is CountdownState.NONE:
        return "—"
    if cd.state is CountdownState.ATTENDED:
        if cd.seconds >= 0:
            return f"Arrived, {format_duration(cd.seconds)} to spare"
        return f"Arrived {format_duration(-cd.seconds)} late"
    if cd.state is CountdownState.BREACHED:
        # ceil: the first breached second already reads +00:01
        return "+" + format_duration(-cd.seconds)
    return format_duration(cd.seconds)
