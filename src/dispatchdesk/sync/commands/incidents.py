"""Incident commands: create, regrade, status, summary, close, and its tasks done or not."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from dispatchdesk.domain.commands import CommandKind
from dispatchdesk.domain.drafts import NEW_INCIDENT_FORM
from dispatchdesk.domain.grades import Grade
from dispatchdesk.domain.incident import Incident, IncidentStatus
from dispatchdesk.domain.tasks import Task
from dispatchdesk.protocol.schemas import CloseRequest, IncidentCreate, IncidentPatch
from dispatchdesk.protocol.tasks import TaskDone, TaskNotDone
from dispatchdesk.sync.api import IncidentDraft
from dispatchdesk.sync.commands import Enqueue, validated
from dispatchdesk.sync.commands.links import LINK_FOLLOW_UP
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
            weapons=draft.weapons,
        )
        description = f"New {draft.grade.value} incident: {draft.type}, {draft.location.one_line}"
        acked = set(draft.acknowledged_warnings)
        follow_ups = tuple(
            ("shown", r.kind, r.entity_id) for r in draft.shown_warnings if r not in acked
        ) + tuple(("acknowledged", r.kind, r.entity_id) for r in draft.acknowledged_warnings)
        # Links chosen in the form's history: ("link:RELATION:ref", reason, other id).
        follow_ups += tuple(
            (f"{LINK_FOLLOW_UP}{link.relation.value}:{link.ref}", link.reason, link.incident_id)
            for link in draft.links
        )
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

    def close(self, incident: Incident, rationale: str, override_open_tasks: bool = False) -> str:
        extra = {"override_open_tasks": True} if override_open_tasks else {}
        body, invalid = validated(CloseRequest, "close", rationale=rationale, **extra)
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

    def task_done(self, incident: Incident, task: Task, outcome: str) -> str:
        body, invalid = validated(TaskDone, "task outcome", outcome=outcome)
        return self._task(CommandKind.TASK_DONE, incident, task, "done", body, invalid)

    def task_not_done(self, incident: Incident, task: Task, reason: str) -> str:
        body, invalid = validated(TaskNotDone, "reason the task was not done", reason=reason)
        return self._task(CommandKind.TASK_NOT_DONE, incident, task, "not done", body, invalid)

    def _task(
        self,
        kind: CommandKind,
        incident: Incident,
        task: Task,
        state: str,
        body: dict[str, Any],
        invalid: str | None,
    ) -> str:
        return self._enqueue(
            Command(
                kind,
                incident.id,
                f"{incident.ref}: {task.kind.label} {state}",
                body,
                None,
                invalid,
                path_args={"task_id": task.id},
            )
        )
