"""Downgrades with a second pair of eyes: a call handler's or dispatcher's downgrade is a
request a supervisor decides; the countdown stays on the current grade meanwhile.

The server holds the rule (policy ``GradePolicy.downgrade_needs_approval``); the desk words
what it shows from the incident's :class:`PendingDowngrade` and last
:class:`DowngradeDecision`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from dispatchdesk.domain.grades import Grade
from dispatchdesk.domain.roles import Role


class DowngradeOutcome(StrEnum):
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    #: Overtaken before a supervisor decided: the grade was raised or set by a supervisor, or
    #: the incident was closed (the note says which).
    SUPERSEDED = "SUPERSEDED"

    @property
    def label(self) -> str:
        return _OUTCOME_LABEL[self]


_OUTCOME_LABEL = {
    DowngradeOutcome.APPROVED: "approved",
    DowngradeOutcome.REJECTED: "rejected",
    DowngradeOutcome.SUPERSEDED: "overtaken",
}


@dataclass(frozen=True, slots=True)
class PendingDowngrade:
    """A downgrade to ``to`` requested by ``by`` at ``at``, awaiting a supervisor."""

    to: Grade
    reason: str
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class DowngradeDecision:
    """How the last downgrade request ended, and who decided, when, with what note."""

    to: Grade
    reason: str
    by: str
    at: datetime
    outcome: DowngradeOutcome
    decided_by: str
    decided_at: datetime
    note: str


def needs_approval(role: Role, policy_flag: bool) -> bool:
    """A downgrade by ``role`` waits for a supervisor (only supervisors apply their own)."""
    return policy_flag and role is not Role.SUPERVISOR


def _hhmm(when: datetime, tz: str) -> str:
    return when.astimezone(ZoneInfo(tz)).strftime("%H:%M")


def pending_text(pending: PendingDowngrade, tz: str) -> str:
    """``Downgrade to S requested by cathy at 14:02 — awaiting supervisor``."""
    return (
        f"Downgrade to {pending.to.value} requested by {pending.by} at "
        f"{_hhmm(pending.at, tz)} — awaiting supervisor"
    )


def decision_text(decision: DowngradeDecision, tz: str) -> str:
    """``Downgrade to S requested by cathy at 14:02 — approved by sue at 14:10: note``."""
    return (
        f"Downgrade to {decision.to.value} requested by {decision.by} at "
        f"{_hhmm(decision.at, tz)} — {decision.outcome.label} by {decision.decided_by} at "
        f"{_hhmm(decision.decided_at, tz)}: {decision.note}"
    )
