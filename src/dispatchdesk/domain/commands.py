"""Commands the operator has issued and where each one is, as the client shows them.

A command lives in the durable outbox from the moment the operator issues it until the change
feed confirms it (or the server refuses it and the operator has seen why).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class CommandState(StrEnum):
    QUEUED = "queued"  # waiting to be sent (offline, or behind another command)
    SENT = "sent"  # the server accepted it; waiting for the change feed to confirm
    FAILED = "failed"  # the server refused it; ``message`` says why; kept until dismissed
    HELD = "held"  # older than the maximum age: not replayed without the operator's say-so


class CommandKind(StrEnum):
    CREATE_INCIDENT = "create_incident"
    UPDATE_INCIDENT = "update_incident"  # PATCH: regrade, status, summary
    CLOSE_INCIDENT = "close_incident"
    ASSIGN_UNIT = "assign_unit"
    DIVERT_UNIT = "divert_unit"
    ARRIVE_UNIT = "arrive_unit"
    CLEAR_UNIT = "clear_unit"
    UNIT_STATUS = "unit_status"
    REVIEW_DIVERT = "review_divert"
    EXTEND_SCHEME = "extend_scheme"
    END_SCHEME = "end_scheme"
    REQUEST_SCHEME_REVIEW = "request_scheme_review"
    SCHEME_VICTIM_INFORMED = "scheme_victim_informed"
    SCHEME_VICTIM_CONTACT = "scheme_victim_contact"
    #: A supervisor's decision on a call handler's or dispatcher's downgrade request.
    APPROVE_DOWNGRADE = "approve_downgrade"
    REJECT_DOWNGRADE = "reject_downgrade"
    #: A task for the attending officers recorded done (with an outcome) or not done (a reason).
    TASK_DONE = "task_done"
    TASK_NOT_DONE = "task_not_done"
    #: Audit records: a warning was shown to / acknowledged by this operator for an incident.
    WARNING_SHOWN = "warning_shown"
    WARNING_ACKNOWLEDGED = "warning_acknowledged"
    POST_NOTICE = "post_notice"
    #: A read receipt: this operator has read (acknowledged) an operational notice.
    NOTICE_READ = "notice_read"
    #: Link an incident to another (with a relation and a reason), and remove a link.
    LINK_INCIDENT = "link_incident"
    UNLINK_INCIDENT = "unlink_incident"


@dataclass(frozen=True, slots=True)
class PendingCommand:
    id: str  # also its Idempotency-Key
    kind: CommandKind
    incident_id: int | None  # None for a create not yet confirmed
    description: str  # "Regrade CAD 1234/23NOV26 to I"
    created_at: datetime  # local wall time the operator issued it
    state: CommandState
    message: str | None = None  # the server's reason when FAILED or HELD
    #: The body the operator entered, so a refused command loses nothing.
    body: dict[str, object] | None = None
    #: The unit a unit command moves (assign, divert, arrive, clear, status), else None.
    unit_id: int | None = None


class ConnectionState(StrEnum):
    CONNECTING = "connecting"
    ONLINE = "online"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    state: ConnectionState
    #: Server time of the last successful contact; the age of the data on screen.
    last_synced_at: datetime | None = None
    message: str | None = None
    #: The URL of the server (API node) in use, when the client was given several.
    server: str | None = None
