"""Grades, attendance targets and deadlines.

Targets are server policy: they travel to clients in the snapshot and are never hard-coded in
the GUI. ``DEFAULT_POLICY`` is what the reference server ships with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from dispatchdesk.domain.reference import ReferenceLists
from dispatchdesk.domain.tasks import DEFAULT_TASK_POLICY, TaskPolicy


class Grade(StrEnum):
    """Response grade of an incident, most urgent first."""

    IMMEDIATE = "I"
    SIGNIFICANT = "S"
    EXTENDED = "E"
    REFERRED = "R"

    @property
    def rank(self) -> int:
        """0 for the most urgent grade; a larger rank is a lower grade."""
        return _RANK[self]

    @property
    def label(self) -> str:
        return _LABEL[self]


_RANK = {Grade.IMMEDIATE: 0, Grade.SIGNIFICANT: 1, Grade.EXTENDED: 2, Grade.REFERRED: 3}
_LABEL = {
    Grade.IMMEDIATE: "Immediate",
    Grade.SIGNIFICANT: "Significant",
    Grade.EXTENDED: "Extended",
    Grade.REFERRED: "Referred",
}


def is_downgrade(old: Grade, new: Grade) -> bool:
    """A move to a less urgent grade; it needs a recorded reason."""
    return new.rank > old.rank


@dataclass(frozen=True)
class GradePolicy:
    """Attendance targets per grade and the at-risk window.

    ``targets[E]`` is the default used for an Extended incident until an appointment is agreed;
    ``None`` means no attendance and no countdown (Referred).
    """

    targets: dict[Grade, timedelta | None] = field(
        default_factory=lambda: {
            Grade.IMMEDIATE: timedelta(minutes=15),
            Grade.SIGNIFICANT: timedelta(minutes=60),
            Grade.EXTENDED: timedelta(hours=48),
            Grade.REFERRED: None,
        }
    )
    #: The last fraction of the target in which an incident is "at risk".
    at_risk_fraction: float = 1 / 3
    #: The local time zone that "today" is counted in (delay strip, order expiry words).
    timezone: str = "Europe/London"
    #: The boroughs and incident types the server accepts, as the snapshot brought them (the
    #: server's own are ``ServerSettings.reference_lists``); empty when none were sent.
    reference: ReferenceLists = field(default_factory=ReferenceLists)
    #: A downgrade by a call handler or dispatcher is a request a supervisor decides (the
    #: countdown stays on the current grade meanwhile); a supervisor's applies at once.
    downgrade_needs_approval: bool = True
    #: Which incident types get tasks for the attending officers, and when open ones are
    #: overdue (the server's own is ``ServerSettings.task_policy``).
    tasks: TaskPolicy = DEFAULT_TASK_POLICY

    def target(self, grade: Grade) -> timedelta | None:
        return self.targets.get(grade)

    def deadline(
        self, grade: Grade, created_at: datetime, appointment_at: datetime | None = None
    ) -> datetime | None:
        """``created_at + target(grade)``; for Extended the agreed appointment when there is one.

        A regrade calls this again with the *original* call time, never the regrade time.
        """
        if grade is Grade.EXTENDED and appointment_at is not None:
            return appointment_at
        target = self.target(grade)
        return None if target is None else created_at + target

    def at_risk_window(self, grade: Grade, created_at: datetime, deadline: datetime) -> timedelta:
        """Length of the at-risk window before ``deadline``."""
        span = deadline - created_at
        if span <= timedelta(0):
            target = self.target(grade)
            span = target if target is not None else timedelta(0)
        return span * self.at_risk_fraction


DEFAULT_POLICY = GradePolicy()
