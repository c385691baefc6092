"""A supervisor's decision on a downgrade request: approve or reject, with a note.

Sent with ``If-Match``: the version the supervisor saw, so a decision on an incident that has
changed since (a new fact in its summary, the request overtaken) is refused, not applied blind.
"""

from __future__ import annotations

from dispatchdesk.domain.commands import CommandKind
from dispatchdesk.domain.incident import Incident
from dispatchdesk.protocol.schemas import DowngradeDecisionRequest
from dispatchdesk.sync.commands import Enqueue, validated
from dispatchdesk.sync.outbox import Command


class DowngradeCommands:
    """Mixed into :class:`~dispatchdesk.sync.engine.SyncEngine`, which sets ``_enqueue``."""

    _enqueue: Enqueue

    def approve_downgrade(self, incident: Incident, note: str) -> str:
        return self._decide(incident, note, CommandKind.APPROVE_DOWNGRADE, "Approve")

    def reject_downgrade(self, incident: Incident, note: str) -> str:
        return self._decide(incident, note, CommandKind.REJECT_DOWNGRADE, "Reject")

    def _decide(self, incident: Incident, note: str, kind: CommandKind, verb: str) -> str:
        body, invalid = validated(DowngradeDecisionRequest, "decision", note=note)
        pending = incident.pending_downgrade
        to = f" to {pending.to.value}" if pending is not None else ""
        return self._enqueue(
            Command(
                kind,
                incident.id,
                f"{verb} downgrade of {incident.ref}{to}",
                body,
                incident.version,
                invalid,
            )
        )
