"""When the queue's "tasks overdue" flags appear, without looking at every row each tick.

The flag itself is computed at paint time from the incident and the tick's "now" (like the
countdown: :func:`~dispatchdesk.domain.tasks.tasks_overdue`); what changes with time alone is
the moment an incident's open tasks become overdue (its call time plus the policy's time). This
keeps those moments in a heap, and :meth:`OverdueMoments.due` gives, once, the incidents whose
moment has passed, so the model repaints just their flags cells when it happens.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from datetime import datetime

from dispatchdesk.domain.incident import Incident
from dispatchdesk.domain.tasks import TaskPolicy, open_tasks


class OverdueMoments:
    """(moment, incident id) of every open incident with open tasks not yet overdue."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int]] = []

    def reset(self, incidents: Iterable[Incident], policy: TaskPolicy) -> None:
        self._heap = [(i.created_at + policy.overdue_after, i.id) for i in incidents if _watched(i)]
        heapq.heapify(self._heap)

    def add(self, incident: Incident, policy: TaskPolicy) -> None:
        """An incident changed: watch its moment (an entry no longer needed does no harm)."""
        if _watched(incident):
            heapq.heappush(self._heap, (incident.created_at + policy.overdue_after, incident.id))

    def due(self, now: datetime) -> list[int]:
        """Incidents whose moment has come since the last call (each given once)."""
        out: list[int] = []
        while self._heap and self._heap[0][0] <= now:
            out.append(heapq.heappop(self._heap)[1])
        return out


def _watched(incident: Incident) -> bool:
    return incident.is_open and bool(open_tasks(incident.tasks))


def overdue_words(incident: Incident, policy: TaskPolicy) -> str:
    """The flag's tooltip: which tasks are still open, and since when they are due."""
    still = open_tasks(incident.tasks)
    hours = policy.overdue_after.total_seconds() / 3600
    return (
        f"{len(still)} task{'s' if len(still) != 1 else ''} for the attending officers still "
        f"open more than {hours:g} h after the call: " + "; ".join(t.title for t in still) + "."
    )
