"""The countdown to the attendance deadline.

``remaining = deadline - now`` is computed whenever it is shown, never decremented per tick.
A breach counts *up* and stays readable at hours (S-grade breaches of hours are normal).
The countdown stops when the first unit arrives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
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


def format_duration(seconds: float) -> str:
    """``14:05`` under an hour, ``1:02:10`` from an hour, ``2d 03:04:05`` from a day.

    Whole seconds, rounded up: "00:00" is never shown while time remains, and a breach reads
    "+00:01" from its first second.
    """
    total = math.ceil(abs(seconds))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}:{minutes:02d}:{secs:02d}"
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}"


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
