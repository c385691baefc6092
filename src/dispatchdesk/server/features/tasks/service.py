"""Recording the attending officers' tasks, pure of HTTP.

``done`` records what was found (a HISTORY_CHECK only once the incident's history has been
opened, which is audited: that audit row is the proof the check was made); ``not_done``
records why, and the reason must be the incident's own (the rationale check). Only an OPEN
task of an open incident is recorded; a task is named by its incident and its id, so a task
of another incident is not found. Each writes the incident's change and an audit row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from dispatchdesk.domain.incident import IncidentStatus
from dispatchdesk.domain.tasks import TaskKind, TaskState
from dispatchdesk.protocol.tasks import TaskDone, TaskNotDone
from dispatchdesk.server.auth import User
from dispatchdesk.server.db import audit, incident_tasks, incidents
from dispatchdesk.server.errors import Conflict, NotFound
from dispatchdesk.server.features.incidents.records import wire
from dispatchdesk.server.features.incidents.service import Incidents
from dispatchdesk.server.rationales import Entity
from dispatchdesk.server.runner import CommandResult, CommandRunner, Idem

#: The audit action of opening an incident's history (``GET /incidents/{id}/history``).
HISTORY_OPENED = "history_viewed"


class Tasks:
    """Task commands over one :class:`CommandRunner` and the incidents feature."""

    def __init__(self, runner: CommandRunner, incidents: Incidents) -> None:
        self.runner = runner
        self.incidents = incidents

    def done(
        self, user: User, incident_id: int, task_id: int, body: TaskDone, idem: Idem
    ) -> CommandResult:
        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            row, task = self._open_task(conn, incident_id, task_id)
            if task.kind == TaskKind.HISTORY_CHECK.value:
                self._check_history_opened(conn, row)
            values = {"state": TaskState.DONE.value, "outcome": body.outcome}
            return self._record(conn, now, user, row, task, values, f"done: {body.outcome}")

        return self.runner.run(user, idem, apply, "task_done", incident_id)

    def not_done(
        self, user: User, incident_id: int, task_id: int, body: TaskNotDone, idem: Idem
    ) -> CommandResult:
        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            row, task = self._open_task(conn, incident_id, task_id)
            self.runner.check_rationale(
                conn,
                now,
                body.reason,
                kind="task_not_done",
                what=f"reason the task “{_label(task)}” was not done",
                entity=Entity(row.id, row.ref),
                by=user.username,
            )
            values = {"state": TaskState.NOT_DONE.value, "reason": body.reason}
            return self._record(conn, now, user, row, task, values, f"not done: {body.reason}")

        return self.runner.run(user, idem, apply, "task_not_done", incident_id)

    # --- inside the commands ---------------------------------------------------------------

    def _open_task(
        self, conn: Connection, incident_id: int, task_id: int
    ) -> tuple[Row[Any], Row[Any]]:
        row = self.incidents.load(conn, incident_id)
        task = conn.execute(
            sa.select(incident_tasks).where(
                incident_tasks.c.id == task_id, incident_tasks.c.incident_id == incident_id
            )
        ).first()
        if task is None:
            raise NotFound(
                f"Incident {row.ref} has no task {task_id}: choose one of the tasks listed "
                "on this incident."
            )
        if row.status == IncidentStatus.CLOSED.value:
            raise Conflict(f"Incident {row.ref} is closed: its tasks can no longer be recorded.")
        if task.state != TaskState.OPEN.value:
            when = task.at.astimezone(self.runner.tz()).strftime("%d/%m/%Y %H:%M")
            state = TaskState(task.state).label
            raise Conflict(
                f"The task “{_label(task)}” of {row.ref} was already recorded {state} by "
                f"{task.by} at {when}; it is not recorded twice."
            )
        return row, task

    def _check_history_opened(self, conn: Connection, row: Row[Any]) -> None:
        opened = conn.execute(
            sa.select(audit.c.id)
            .where(
                audit.c.action == HISTORY_OPENED,
                audit.c.entity == "incident",
                audit.c.entity_id == row.id,
            )
            .limit(1)
        ).first()
        if opened is None:
            raise Conflict(
                f"Nobody has opened the history of {row.ref} yet: open it (the History panel "
                "of the incident, or GET /incidents/{id}/history), then record what it showed."
            )

    def _record(
        self,
        conn: Connection,
        now: datetime,
        user: User,
        row: Row[Any],
        task: Row[Any],
        values: dict[str, Any],
        said: str,
    ) -> tuple[int, dict[str, Any]]:
        conn.execute(
            incident_tasks.update()
            .where(incident_tasks.c.id == task.id)
            .values(**values, by=user.username, at=now)
        )
        conn.execute(
            incidents.update()
            .where(incidents.c.id == row.id)
            .values(version=row.version + 1, updated_at=now)
        )
        out = self.incidents.emit_incident(conn, now, row.id)
        self.runner.write_audit(
            conn,
            now,
            user.username,
            "task_" + values["state"].lower(),
            "incident",
            row.id,
            f"{row.ref} task {task.id} “{_label(task)}” {said}",
        )
        return 200, wire(out)


def _label(task: Row[Any]) -> str:
    kind = TaskKind(task.kind)
    return f"{kind.label} ({task.detail})" if task.detail else kind.label
