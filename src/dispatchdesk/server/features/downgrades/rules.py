"""The grade part of an incident ``PATCH``, and what overtakes a pending downgrade request.

Pure of HTTP; called by the incidents service inside its command's transaction.

* A downgrade by a call handler or dispatcher, while the policy's
  ``downgrade_needs_approval`` holds, is a *request*: its reason passes the rationale check at
  once, it is stored as the incident's ``pending_downgrade``, and the grade and deadline stay
  as they are (the PATCH answers 202). A second request while one waits is 409.
* A supervisor's own downgrade, and any upgrade, apply at once, and *overtake* a waiting
  request: it ends as a ``SUPERSEDED`` decision saying what overtook it (an upgrade is never
  held up by a request to go the other way). So does a close.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection, Row

from dispatchdesk.domain.downgrades import DowngradeOutcome, needs_approval
from dispatchdesk.domain.grades import Grade, is_downgrade
from dispatchdesk.protocol.schemas import DowngradeDecisionModel, PendingDowngradeModel
from dispatchdesk.server.auth import User
from dispatchdesk.server.errors import Conflict, Invalid
from dispatchdesk.server.rationales import Entity
from dispatchdesk.server.runner import CommandRunner


@dataclass
class GradeChange:
    """What a PATCH's grade does: the row values, a note for the audit, and whether it was
    only requested (202)."""

    values: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    requested: bool = False

    @property
    def applied(self) -> bool:
        return "grade" in self.values


def pending_of(row: Row[Any]) -> PendingDowngradeModel | None:
    return (
        PendingDowngradeModel.model_validate(row.pending_downgrade)
        if row.pending_downgrade
        else None
    )


def waiting_words(pending: PendingDowngradeModel, tz: ZoneInfo) -> str:
    when = pending.at.astimezone(tz).strftime("%H:%M")
    return f"a downgrade to {pending.to.value} requested by {pending.by} at {when}"


def decided(
    pending: PendingDowngradeModel,
    outcome: DowngradeOutcome,
    by: str,
    now: datetime,
    note: str,
) -> dict[str, Any]:
    """The row values ending ``pending`` with a decision."""
    decision = DowngradeDecisionModel(
        **pending.model_dump(), outcome=outcome, decided_by=by, decided_at=now, note=note
    )
    return {"pending_downgrade": None, "downgrade_decision": decision.model_dump(mode="json")}


def overtaken(row: Row[Any], by: str, now: datetime, why: str) -> dict[str, Any]:
    """The row values ending the incident's waiting request (if any) as overtaken by ``why``."""
    pending = pending_of(row)
    if pending is None:
        return {}
    return decided(pending, DowngradeOutcome.SUPERSEDED, by, now, why)


def grade_change(
    runner: CommandRunner,
    conn: Connection,
    now: datetime,
    user: User,
    row: Row[Any],
    wanted: Grade,
    reason: str | None,
) -> GradeChange:
    """The grade part of a PATCH from ``row.grade`` to ``wanted`` (a different grade)."""
    grade = Grade(row.grade)
    if not is_downgrade(grade, wanted):
        why = f"upgraded to {wanted.value} by {user.username} before a supervisor decided"
        return GradeChange(
            {"grade": wanted.value, **overtaken(row, user.username, now, why)},
            f"upgraded {grade.value}→{wanted.value}",
        )
    requested = needs_approval(user.role, runner.settings.policy.downgrade_needs_approval)
    pending = pending_of(row)
    if requested and pending is not None:
        raise Conflict(
            f"Incident {row.ref} already has {waiting_words(pending, runner.tz())} awaiting a "
            "supervisor: ask a supervisor to decide it before requesting another."
        )
    text = (reason or "").strip()
    if not text:
        raise Invalid(
            [
                {
                    "loc": ["body", "reason"],
                    "msg": f"A downgrade from {grade.value} to {wanted.value} "
                    "needs a reason: say why this incident can wait longer.",
                    "type": "value_error",
                }
            ],
        )
    runner.check_rationale(
        conn,
        now,
        text,
        kind="downgrade",
        what="downgrade reason",
        entity=Entity(row.id, row.ref),
        by=user.username,
    )
    if requested:
        request = PendingDowngradeModel(to=wanted, reason=text, by=user.username, at=now)
        return GradeChange(
            {"pending_downgrade": request.model_dump(mode="json")},
            f"downgrade {grade.value}→{wanted.value} requested, awaiting a supervisor: {text}",
            requested=True,
        )
    why = f"{user.username} downgraded it to {wanted.value} directly"
    values = {"grade": wanted.value, "downgrade_reason": text}
    return GradeChange(
        {**values, **overtaken(row, user.username, now, why)},
        f"downgraded {grade.value}→{wanted.value}: {text}",
    )
