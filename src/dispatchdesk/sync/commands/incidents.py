"""Incident commands: create, regrade, status, summary, close."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from dispatchdesk.domain.commands import CommandKind
from dispatchdesk.domain.drafts import NEW_INCIDENT_FORM
from dispatchdesk.domain.grades import Grade
from dispatchdesk.domain.incident import Incident, IncidentStatus
from dispatchdesk.protocol.schemas import CloseRequest, IncidentCreate, IncidentPatch
from dispatchdesk.sync.api import IncidentDraft
from dispatchdesk.sync.commands import Enqueue, validated
from dispatchdesk.sync.outbox import Command


class IncidentCommands:
    """Mixed into :class:`~dispatchdesk.sync.engine.SyncEngine`, which sets ``_enqueue``."""

    _enqueue: Enqueue

    def create_incident(self, draft: IncidentDraft) -> str:
        body, invalid = validated(
            IncidentCreate,
            "incident",
            grade=draft.grade,
            type=draft.type,
            summary=draft.summary,
            location=asdict(draft.location),
            caller=asdict(draft.caller),
            appointment_at=draft.appointment_at,
            persons=[asdict(p) for p in draft.persons],
        )
        description = f"New {draft.grade.value} incident: {draft.type}, {draft.location.one_line}"
        acked = set(draft.acknowledged_warnings)
        follow_ups = tuple(
            ("shown", r.kind, r.entity_id) for r in draft.shown_warnings if r not in acked
        ) + tuple(("acknowledged", r.kind, r.entity_id) for r in draft.acknowledged_warnings)
        return self._enqueue(
            Command(
                CommandKind.CREATE_INCIDENT,
                None,
                description,
                body,
                None,
                invalid,
                follow_ups=follow_ups,
                drops_draft=NEW_INCIDENT_FORM,
            )
        )

    def regrade(self, incident: Incident, grade: Grade, reason: str | None = None) -> str:
        fields: dict[str, Any] = {"grade": grade}
        if reason is not None:
            fields["reason"] = reason
        body, invalid = validated(IncidentPatch, "regrade", **fields)
        return self._patch(incident, f"Regrade {incident.ref} to {grade.value}", body, invalid)

    def change_status(self, incident: Incident, status: IncidentStatus) -> str:
        body, invalid = validated(IncidentPatch, "status change", status=status)
        return self._patch(incident, f"{incident.ref}: {status.label}", body, invalid)

    def edit_summary(self, incident: Incident, summary: str) -> str:
        body, invalid = validated(IncidentPatch, "summary", summary=summary)
        return self._patch(incident, f"Edit summary of {incident.ref}", body, invalid)

    def _patch(
        self, incident: Incident, description: str, body: dict[str, Any], invalid: str | None
    ) -> str:
        """A PATCH with If-Match: the version the operator saw."""
        return self._enqueue(
            Command(
                CommandKind.UPDATE_INCIDENT,
                incident.id,
                description,
                body,
                incident.version,
                invalid,
            )
        )

    def close(self, incident: Incident, rationale: str) -> str:
        body, invalid = validated(CloseRequest, "close", rationale=rationale)
        return self._enqueue(
            Command(
                CommandKind.CLOSE_INCIDENT,
                incident.id,
                f"Close {incident.ref}",
                body,
                None,
                invalid,
            )
        )
