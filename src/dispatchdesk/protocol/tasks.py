"""Wire models of the attending officers' tasks on an incident (sync contract v1).

Independent of :mod:`dispatchdesk.protocol.schemas` (which imports these for the incident and
the snapshot's policy).
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import AwareDatetime, Field

from dispatchdesk.domain.tasks import Task, TaskKind, TaskPolicy, TaskState
from dispatchdesk.protocol.base import NonBlank, StrictWire, Wire


class TaskModel(Wire):
    """One task: OPEN until recorded DONE (``outcome``: what was found) or NOT_DONE
    (``reason``: why), ``by`` whom and ``at`` when."""

    id: int
    kind: TaskKind
    state: TaskState
    #: Whom or what it is about ("Anon, 07700 900123" for an informant); "" for the
    #: domestic policy's actions.
    detail: str = ""
    outcome: str | None = None
    reason: str | None = None
    by: str | None = None
    at: AwareDatetime | None = None

    def to_task(self) -> Task:
        return Task(
            id=self.id,
            kind=self.kind,
            state=self.state,
            detail=self.detail,
            outcome=self.outcome,
            reason=self.reason,
            by=self.by,
            at=self.at,
        )

    @classmethod
    def from_task(cls, t: Task) -> TaskModel:
        return cls.model_validate(t, from_attributes=True)


class TaskDone(StrictWire):
    """Body of ``/incidents/{id}/tasks/{task_id}/done``: what the officers found."""

    outcome: NonBlank


class TaskNotDone(StrictWire):
    """Body of ``/incidents/{id}/tasks/{task_id}/not-done``: why it was not done (checked
    like every rationale: specific to this incident)."""

    reason: NonBlank


class TaskPolicyModel(Wire):
    """Which incident types get which tasks, and when open tasks are overdue."""

    informant_types: list[str] = Field(default_factory=list)
    domestic_types: list[str] = Field(default_factory=list)
    overdue_after_seconds: int = Field(gt=0)

    @classmethod
    def from_policy(cls, p: TaskPolicy) -> TaskPolicyModel:
        return cls(
            informant_types=list(p.informant_types),
            domestic_types=list(p.domestic_types),
            overdue_after_seconds=int(p.overdue_after.total_seconds()),
        )

    def to_policy(self) -> TaskPolicy:
        return TaskPolicy(
            informant_types=tuple(self.informant_types),
            domestic_types=tuple(self.domestic_types),
            overdue_after=timedelta(seconds=self.overdue_after_seconds),
        )
