"""Links between incidents: link one to another with a relation and a reason, and remove a
link. Like every command they wait in the durable outbox while the server cannot be reached;
the reply is the incident at its new version, confirmed when the feed brings it."""

from __future__ import annotations

from dispatchdesk.domain.commands import CommandKind
from dispatchdesk.domain.history import LinkRelation
from dispatchdesk.domain.incident import Incident
from dispatchdesk.protocol.schemas import IncidentOut, LinkCreate, LinkRemove
from dispatchdesk.sync.commands import Enqueue, validated
from dispatchdesk.sync.outbox import Command, FollowUps

#: A new incident's follow-up that is a link chosen in the form ("link:RELATION:ref").
LINK_FOLLOW_UP = "link:"


class LinkCommands:
    """Mixed into :class:`~dispatchdesk.sync.engine.SyncEngine`, which sets ``_enqueue``."""

    _enqueue: Enqueue

    def link_incident(
        self, incident: Incident, other: Incident, relation: LinkRelation, reason: str
    ) -> str:
        return self._link(incident.id, incident.ref, other.id, other.ref, relation, reason)

    def _link(
        self,
        incident_id: int,
        ref: str,
        other_id: int,
        other_ref: str,
        relation: LinkRelation | str,
        reason: str,
    ) -> str:
        body, invalid = validated(
            LinkCreate, "link", incident_id=other_id, relation=relation, reason=reason
        )
        return self._enqueue(
            Command(
                CommandKind.LINK_INCIDENT,
                incident_id,
                f"Link {ref} to {other_ref} ({relation})",
                body,
                None,
                invalid,
            )
        )

    def link_follow_ups(self, incident: IncidentOut, follow_ups: FollowUps) -> FollowUps:
        """Queue the links a new incident's form asked for, now it has an id; returns the
        other follow-ups (the warning audits)."""
        rest = []
        for action, reason, other_id in follow_ups:
            if not action.startswith(LINK_FOLLOW_UP):
                rest.append((action, reason, other_id))
                continue
            relation, _, other_ref = action.removeprefix(LINK_FOLLOW_UP).partition(":")
            self._link(incident.id, incident.ref, other_id, other_ref, relation, reason)
        return tuple(rest)

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
