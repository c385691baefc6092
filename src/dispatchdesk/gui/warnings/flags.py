"""Which warnings each incident in the queue carries, kept current off the paint path.

The queue's flags column shows an icon and words per warning kind (scheme, order): how severe
it is and whether this operator has acknowledged it. ``data()`` must read memory only, so the
matches are computed here ahead of time: at once for incidents that change, and for the whole
queue in slices of at most a few milliseconds on the event loop when schemes, orders or
acknowledgements change (10,000 incidents at tens of µs a lookup would otherwise freeze the
screen), and when the day turns in the policy's time zone: an order's severity goes by the
days left to its expiry, so "in 2 days" becomes "TOMORROW" (critical) at local midnight with
nothing else changing. No timer of its own watches for midnight: the window's once-a-second
ticker calls :meth:`IncidentWarnings.turn_of_day`, which compares today's date with the date
the marks were computed for (from the injected server clock; nothing counts down, so a clock
step or a suspended laptop cannot make it miss the turn).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal

from dispatchdesk.domain.incident import Incident
from dispatchdesk.domain.warnings import Person, Place, Severity, WarningRef, local_today
from dispatchdesk.protocol.warnings import WarningView
from dispatchdesk.sync.api import WarningIndex


@dataclass(frozen=True, slots=True)
class WarningMark:
    """One warning on one incident, as the queue row shows it."""

    ref: WarningRef
    severity: Severity
    acknowledged: bool


class IncidentSource(Protocol):
    """Where the incidents are read from: the queue's model (changed before the flags are
    told), so the flags keep no map of every incident of their own."""

    def incidents(self) -> Sequence[Incident]: ...

    def incident(self, incident_id: int) -> Incident | None: ...


def warning_ref(w: WarningView) -> WarningRef:
    """Which scheme or order ``w`` is about, read without unpacking it (an index warning's
    ``scheme`` / ``order`` are unpacked when read)."""
    return WarningRef(w.kind, w.entity_id)


class IncidentWarnings(QObject):
    """The warning index, this operator's acknowledgements, and marks per incident."""

    #: Incident ids whose marks changed (list[int]).
    changed = Signal(object)
    #: The day turned in the policy's time zone: severities and expiry wording are anew.
    day_turned = Signal()

    def __init__(
        self,
        now: Callable[[], datetime],
        source: IncidentSource,
        *,
        slice_seconds: float = 0.008,
        parent: Any = None,
    ) -> None:
        super().__init__(parent)
        self._now = now
        self._source = source
        self._slice = slice_seconds
        self._index = WarningIndex()
        self._revision = self._index.revision
        self._acked: frozenset[tuple[int, WarningRef]] = frozenset()
        self._marks: dict[int, tuple[WarningMark, ...]] = {}
        self._todo: list[int] = []
        #: The local date the marks were last computed for in full.
        self._day: date | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._work)

    # -- reading ---------------------------------------------------------------------------

    @property
    def index(self) -> WarningIndex:
        return self._index

    def marks(self, incident_id: int) -> tuple[WarningMark, ...]:
        return self._marks.get(incident_id, ())

    @property
    def all_acknowledged(self) -> frozenset[tuple[int, WarningRef]]:
        return self._acked

    def acknowledged(self, incident_id: int) -> set[WarningRef]:
        return {ref for iid, ref in self._acked if iid == incident_id}

    def now(self) -> datetime:
        """Server time, as the lookups use it."""
        return self._now()

    def for_incident(self, incident: Incident) -> Sequence[WarningView]:
        """Every warning for the incident now (live lookup, most severe first)."""
        return self._index.for_incident(incident, self._now())

    def lookup(self, place: Place, people: Sequence[Person]) -> Sequence[WarningView]:
        """Warnings for a location being entered (the new-incident form)."""
        return self._index.lookup(place, people, self._now())

    @property
    def flagged(self) -> int:
        """How many incidents carry at least one warning mark."""
        return len(self._marks)

    @property
    def busy(self) -> bool:
        """A recomputation of the whole queue is under way."""
        return bool(self._todo)

    # -- changing --------------------------------------------------------------------------

    def set_data(
        self, index: WarningIndex, acknowledged: frozenset[tuple[int, WarningRef]]
    ) -> bool:
        """Schemes, orders or acknowledgements changed. New schemes or orders: recompute
        every incident in slices; acknowledgements only: just the incidents they name.
        Returns whether the schemes or orders changed."""
        changed = index is not self._index or index.revision != self._revision
        newly = acknowledged ^ self._acked
        self._index, self._revision, self._acked = index, index.revision, acknowledged
        if changed:
            self._schedule_all()
            self._timer.start()
        else:
            touched = [iid for iid in {iid for iid, _ref in newly} if self._recompute(iid)]
            if touched:
                self.changed.emit(touched)
        return changed

    def set_incidents(self) -> None:
        """Everything anew (the source holds the new incidents, most urgent first: the top of
        the queue gets its flags first)."""
        self._marks = {}
        self._schedule_all()
        self._timer.start()

    def turn_of_day(self) -> bool:
        """Called on every tick: when the policy's local date differs from the one the marks
        were computed for, recompute them all (in slices) and emit :attr:`day_turned`."""
        today = local_today(self._now(), self._index.policy)
        if self._day is None:
            self._day = today
            return False
        if today == self._day:
            return False
        self._schedule_all()
        self._timer.start()
        self.day_turned.emit()
        return True

    def _schedule_all(self) -> None:
        self._day = local_today(self._now(), self._index.policy)
        # Popped from the end: in the order given (most urgent first), never re-sorted here
        # (sorting 10,000 incidents by urgency would hold up the first paint).
        self._todo = [i.id for i in reversed(self._source.incidents())]

    def apply_changes(self, upserts: Sequence[Incident], removed: Sequence[int]) -> None:
        """A few incidents changed (the source has them already): their marks now (their
        location may have changed)."""
        kept = {i.id for i in upserts}
        for incident_id in removed:
            if incident_id not in kept:
                self._marks.pop(incident_id, None)
        changed = [i.id for i in upserts if self._recompute(i.id)]
        if changed:
            self.changed.emit(changed)

    def _work(self) -> None:
        """One slice: as many incidents as fit in ``slice_seconds``, most urgent first."""
        stop = time.perf_counter() + self._slice
        changed: list[int] = []
        while self._todo and time.perf_counter() < stop:
            incident_id = self._todo.pop()
            if self._recompute(incident_id):
                changed.append(incident_id)
        if not self._todo:
            self._timer.stop()
        if changed:
            self.changed.emit(changed)

    def _recompute(self, incident_id: int) -> bool:
        incident = self._source.incident(incident_id)
        if incident is None or not incident.is_open:
            marks: tuple[WarningMark, ...] = ()
        else:
            found = self._index.for_incident(incident, self._now())
            marks = tuple(
                WarningMark(ref, w.severity, (incident_id, ref) in self._acked)
                for w in found
                for ref in (warning_ref(w),)
            )
        if marks == self._marks.get(incident_id, ()):
            return False
        if marks:
            self._marks[incident_id] = marks
        else:
            self._marks.pop(incident_id, None)
        return True
