"""Warning audits: shown and acknowledged (everyone); an acknowledgement is also kept locally
at once, so the panel shows it offline."""

from __future__ import annotations

from dispatchdesk.domain.commands import CommandKind
from dispatchdesk.domain.warnings import WarningRef
from dispatchdesk.protocol.schemas import IncidentOut
from dispatchdesk.sync.commands import Enqueue
from dispatchdesk.sync.context import SyncContext
from dispatchdesk.sync.outbox import Command, FollowUps


class WarningCommands:
    """Mixed into :class:`~dispatchdesk.sync.engine.SyncEngine`, which sets ``_ctx`` and
    ``_enqueue``."""

    _ctx: SyncContext
    _enqueue: Enqueue

    def warning_shown(
        self, incident_id: int, ref: WarningRef, *, incident_ref: str | None = None
    ) -> None:
        self._audit(CommandKind.WARNING_SHOWN, "shown", incident_id, ref, incident_ref)

    def acknowledge_warning(
        self, incident_id: int, ref: WarningRef, *, incident_ref: str | None = None
    ) -> None:
        ctx = self._ctx
        key = (incident_id, ref)
        if key not in ctx.entities.acknowledged:
            ctx.entities.acknowledged.add(key)
            ctx.emit_warnings()
            ctx.spawn(ctx.worker.call(ctx.store.add_acknowledgement, incident_id, ref))
        self._audit(
            CommandKind.WARNING_ACKNOWLEDGED, "acknowledged", incident_id, ref, incident_ref
        )

    def _audit_follow_ups(self, incident: IncidentOut, follow_ups: FollowUps) -> None:
        """Warnings handled in the new-incident form, audited now the incident has an id."""
        for action, kind, entity_id in follow_ups:
            ref = WarningRef(kind, entity_id)
            if action == "acknowledged":
                self.acknowledge_warning(incident.id, ref, incident_ref=incident.ref)
            else:
                self.warning_shown(incident.id, ref, incident_ref=incident.ref)

    def _audit(
        self,
        kind: CommandKind,
        verb: str,
        incident_id: int,
        ref: WarningRef,
        incident_ref: str | None,
    ) -> None:
        where = incident_ref or f"incident {incident_id}"
        self._enqueue(
            Command(
                kind,
                incident_id,
                f"Warning ({ref.kind} #{ref.entity_id}) {verb} for {where}",
                {"incident_id": incident_id},
                None,
                path_args={"kind": ref.kind, "id": ref.entity_id},
            )
        )
