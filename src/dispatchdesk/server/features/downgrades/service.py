"""A supervisor's decision on a downgrade request, pure of HTTP.

Approving applies the downgrade exactly as a supervisor's own downgrade would: the grade, the
deadline recomputed from the original call time, the request's reason as the downgrade
reason. Rejecting leaves grade and deadline as they are. Either way the note (checked like
every rationale: the supervisor's own words) and the outcome are kept on the incident as its
``downgrade_decision``, the version goes up, and the change reaches every desk.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from dispatchdesk.domain.downgrades import DowngradeOutcome
from dispatchdesk.domain.grades import Grade, is_downgrade
from dispatchdesk.domain.incident import IncidentStatus
from dispatchdesk.protocol.schemas import DowngradeDecisionRequest
from dispatchdesk.server.auth import User
from dispatchdesk.server.db import incidents
from dispatchdesk.server.errors import Conflict, Stale
from dispatchdesk.server.features.downgrades.rules import decided, pending_of, waiting_words
from dispatchdesk.server.features.incidents.records import wire
from dispatchdesk.server.features.incidents.service import Incidents
from dispatchdesk.server.rationales import Entity
from dispatchdesk.server.runner import CommandResult, CommandRunner, Idem


class Downgrades:
    """Approve or reject the downgrade request an incident carries."""

    def __init__(self, runner: CommandRunner, incidents: Incidents) -> None:
        self.runner = runner
        self.incidents = incidents

    def decide(
        self,
        user: User,
        incident_id: int,
        outcome: DowngradeOutcome,
        body: DowngradeDecisionRequest,
        if_match: int | None,
        idem: Idem,
    ) -> CommandResult:
        approve = outcome is DowngradeOutcome.APPROVED
        action = "approve_downgrade" if approve else "reject_downgrade"

        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            row = self.incidents.load(conn, incident_id)
            if if_match is not None and row.version != if_match:
                raise Stale(
                    f"Incident {row.ref} has changed since you loaded it: it is now at version "
                    f"{row.version}, not {if_match}. Review the current incident and try again.",
                )
            pending = pending_of(row)
            if pending is None or row.status == IncidentStatus.CLOSED.value:
                raise Conflict(
                    f"Incident {row.ref} has no downgrade request awaiting a decision"
                    + (f" (the last one was {_last(row)})." if row.downgrade_decision else ".")
                )
            grade = Grade(row.grade)
            if approve and not is_downgrade(grade, pending.to):
                raise Conflict(
                    f"Incident {row.ref} is grade {grade.value} now, so {pending.to.value} "
                    "is no longer a downgrade: reject the request."
                )
            self.runner.check_rationale(
                conn,
                now,
                body.note,
                kind="downgrade_review",
                what="note on the downgrade request",
                entity=Entity(row.id, row.ref),
                by=user.username,
            )
            values = decided(pending, outcome, user.username, now, body.note.strip())
            if approve:
                policy = self.runner.settings.policy
                values |= {
                    "grade": pending.to.value,
                    "downgrade_reason": pending.reason,
                    "deadline": policy.deadline(pending.to, row.created_at, row.appointment_at),
                }
            values |= {"version": row.version + 1, "updated_at": now}
            conn.execute(incidents.update().where(incidents.c.id == row.id).values(values))
            out = self.incidents.emit_incident(conn, now, row.id)
            words = waiting_words(pending, self.runner.tz())
            verdict = "approved" if approve else "rejected"
            self.runner.write_audit(
                conn,
                now,
                user.username,
                action,
                "incident",
                row.id,
                f"{out.ref} v{out.version}: {words} {verdict}: {body.note.strip()}",
            )
            return 200, wire(out)

        return self.runner.run(user, idem, apply, action, incident_id)


def _last(row: Any) -> str:
    decision = row.downgrade_decision
    outcome = DowngradeOutcome(decision["outcome"]).label
    return f"{outcome} by {decision['decided_by']}"
