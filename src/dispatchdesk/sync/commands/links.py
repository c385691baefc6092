"""Links between incidents: link one to another with a relation and a reason, and remove a
link. Like every command they wait in the durable outbox while the server cannot be reached;
the reply is the incident at its new version, confirmed when the feed brings it."""

from __future__ import annotations

from dispatchdesk.domain.commands import CommandKind
from dispatchdesk.domain.history import LinkRelation
from dispatchdesk.domain.incident import Incident
from dispatchdesk.protocol.schemas import LinkCreate, LinkRemove
from dispatchdesk.sync.commands import Enqueue, validated
from dispatchdesk.sync.outbox import Command


class LinkCommands:
    """Mixed into :class:`~dispatchdesk.sync.engine.SyncEngine`, which sets ``_enqueue``."""

    _enqueue: Enqueue

    def link_incident(
        self, incident: Incident, other: Incident, relation: LinkRelation, reason: str
    ) -> str:
        body, invalid = validated(
            LinkCreate, "link", incident_id=other.id, relation=relation, reason=reason
        )
        return self._enqueue(
            Command(
                CommandKind.LINK_INCIDENT,
                incident.id,
                f"Link {incident.ref} to {other.ref} ({relation.value})",
                body,
                None,
                invalid,
            )
        )

    def unlink_incident(
        self, incident: Incident, other_id: int, other_ref: str, reason: str
    ) -> str:
        body, invalid = validated(LinkRemove, "link removal", reason=reason)
        return self._enqueue(
            Command(
                CommandKind.UNLINK_INCIDENT,
                incident.id,
                f"Remove the link from {incident.ref} to {other_ref}",
                body,
                None,
                invalid,
                path_args={"other_id": other_id},
            )
        )
