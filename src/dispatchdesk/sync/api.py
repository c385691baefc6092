"""The seam between the sync engine and whatever shows its state (the Qt GUI, tests).

The engine calls a :class:`DeskListener` on the event-loop thread (the GUI thread under
qasync); the GUI calls :class:`DeskCommands`, whose methods return at once (the work happens
on the loop and on the cache's worker thread) and report back through the listener.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from dispatchdesk.domain.commands import ConnectionInfo, PendingCommand
from dispatchdesk.domain.grades import Grade, GradePolicy
from dispatchdesk.domain.incident import Caller, Incident, IncidentStatus, Location


@dataclass(frozen=True)
class IncidentDraft:
    """What a call handler entered in the new-incident form."""

    grade: Grade
    type: str
    summary: str
    location: Location
    caller: Caller = field(default_factory=Caller)
    appointment_at: datetime | None = None


class DeskListener(Protocol):
    def on_state(self, incidents: Sequence[Incident], policy: GradePolicy) -> None:
        """Replace everything shown: at start from the cache, and after each snapshot."""

    def on_changes(self, upserts: Sequence[Incident], removed: Sequence[int]) -> None:
        """A coalesced batch of changes from the feed (already committed to the cache)."""

    def on_connection(self, info: ConnectionInfo) -> None:
        """Online / connecting / offline, with the age of the data."""

    def on_commands(self, commands: Sequence[PendingCommand]) -> None:
        """Every command not yet confirmed (queued, sent, failed, held), oldest first."""

    def on_problem(self, message: str) -> None:
        """Something the operator should read now (malformed payload, refused command ...)."""


class DeskCommands(Protocol):
    """Operator actions. Each returns the command id (its Idempotency-Key) at once."""

    def create_incident(self, draft: IncidentDraft) -> str: ...

    def regrade(
        self, incident: Incident, grade: Grade, reason: str | None = None
    ) -> str: ...

    def change_status(self, incident: Incident, status: IncidentStatus) -> str: ...

    def edit_summary(self, incident: Incident, summary: str) -> str: ...

    def close(self, incident: Incident, rationale: str) -> str: ...

    def retry(self, command_id: str) -> None:
        """Send a FAILED or HELD command again (a HELD one only on the operator's say-so)."""

    def discard(self, command_id: str) -> None:
        """Drop a FAILED or HELD command the operator has read."""
