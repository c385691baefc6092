"""What the queue window sounds an alert for, each event once (issue 15 item 6):

* a **breach of a grade I incident**: its deadline passes with no unit arrived. Found on the
  window's one ticker against the server's time (:class:`BreachWatch`: a heap of the waiting
  grade I deadlines, so a tick looks at the earliest only; never a timer per row). Announced
  once per incident and deadline: a regrade that gives it a new deadline which passes too is a
  new breach. The incidents already breached when the desk first shows the queue are not
  announced (they are red in the queue).
* a **new critical warning** on an open incident in the queue (:class:`CriticalWarningWatch`):
  each (incident, warning) once, when its flag is first computed after the desk's first full
  pass over the queue; acknowledged ones never.
* a **new escalation**: :class:`~dispatchdesk.gui.dispatch.escalations.EscalationNotifier`
  (once per escalation).

Sounds go through the window's :class:`~dispatchdesk.gui.common.sounds.AlertSounds`, which
the operator can mute (kept per operator in the desk's settings).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from dispatchdesk.domain.grades import Grade
from dispatchdesk.domain.incident import Incident
from dispatchdesk.domain.warnings import Severity, WarningRef
from dispatchdesk.gui.warnings.flags import WarningMark

#: The alert for a breach and for a new critical warning (one of ``resources.SOUND_NAMES``).
BREACH_SOUND = "breach"
CRITICAL_WARNING_SOUND = "breach"


def _waiting_deadline(incident: Incident) -> datetime | None:
    """The deadline of a grade I incident still waiting for its unit, else None."""
    if (
        incident.grade is Grade.IMMEDIATE
        and incident.is_open
        and incident.attended_at is None
        and incident.deadline is not None
    ):
        return incident.deadline
    return None


class BreachWatch:
    """Grade I incidents waiting for a unit, by deadline; :meth:`due` gives each new breach
    once."""

    def __init__(self) -> None:
        self._deadlines: dict[int, datetime] = {}
        self._heap: list[tuple[datetime, int]] = []
        self._heard: set[tuple[int, datetime]] = set()
        self._started = False

    def reset(self, incidents: Iterable[Incident], now: datetime) -> None:
        """Everything anew (the cache at start, a snapshot). At the first, what has already
        breached is taken as heard."""
        self._deadlines.clear()
        for incident in incidents:
            deadline = _waiting_deadline(incident)
            if deadline is not None:
                self._deadlines[incident.id] = deadline
        self._heap = [(d, i) for i, d in self._deadlines.items()]
        heapq.heapify(self._heap)
        if not self._started:
            self._started = True
            self._heard.update((i, d) for i, d in self._deadlines.items() if d < now)

    def update(self, upserts: Sequence[Incident], removed: Sequence[int]) -> None:
        kept = {i.id for i in upserts}
        for incident_id in removed:
            if incident_id not in kept:
                self._deadlines.pop(incident_id, None)
        for incident in upserts:
            deadline = _waiting_deadline(incident)
            if deadline is None:
                self._deadlines.pop(incident.id, None)
            elif self._deadlines.get(incident.id) != deadline:
                self._deadlines[incident.id] = deadline
                heapq.heappush(self._heap, (deadline, incident.id))

    def due(self, now: datetime) -> list[int]:
        """The incidents whose breach is new at ``now`` (each once)."""
        breached: list[int] = []
        while self._heap and self._heap[0][0] < now:
            deadline, incident_id = heapq.heappop(self._heap)
            if self._deadlines.get(incident_id) != deadline:
                continue  # attended, regraded or gone since: a stale entry
            if (incident_id, deadline) not in self._heard:
                self._heard.add((incident_id, deadline))
                breached.append(incident_id)
        return breached


class CriticalWarningWatch:
    """Critical, unacknowledged warnings on incidents: :meth:`changed` gives the new ones
    once armed (after the first full pass over the queue; before, it only learns them)."""

    def __init__(self, marks: Callable[[int], tuple[WarningMark, ...]]) -> None:
        self._marks = marks
        self._heard: set[tuple[int, WarningRef]] = set()
        self.armed = False

    def changed(self, incident_ids: Iterable[int]) -> list[tuple[int, WarningRef]]:
        new = [
            (incident_id, mark.ref)
            for incident_id in incident_ids
            for mark in self._marks(incident_id)
            if Severity(mark.severity) is Severity.CRITICAL
            and not mark.acknowledged
            and (incident_id, mark.ref) not in self._heard
        ]
        self._heard.update(new)
        return new if self.armed else []
