"""The DIVERT tag list's model: one row per divert or withdrawal, collected from the
live incidents and merged by id with the history loaded from the server; ``data()`` reads
memory only."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
)

from dispatchdesk.domain.incident import Divert, Incident
from dispatchdesk.gui.common import icons
from dispatchdesk.gui.common.tables import (
    ACCESSIBLE_ROLE,
    DECORATION_ROLE,
    DISPLAY_ROLE,
    TOOLTIP_ROLE,
    USER_ROLE,
    RowsTableModel,
)
from dispatchdesk.gui.common.timefmt import local

Index = QModelIndex | QPersistentModelIndex


class DivertColumn(IntEnum):
    FROM = 0
    TO = 1
    UNIT = 2
    BY = 3
    AT = 4
    REASON = 5
    STATE = 6
    REVIEW = 7
    KIND = 8


HEADERS = {
    DivertColumn.FROM: "From incident",
    DivertColumn.TO: "To incident",
    DivertColumn.UNIT: "Unit",
    DivertColumn.BY: "Diverted by",
    DivertColumn.AT: "Diverted at",
    DivertColumn.REASON: "Reason",
    DivertColumn.STATE: "Incident left",
    DivertColumn.REVIEW: "Review",
    DivertColumn.KIND: "Kind",
}

#: A cell's sort key (times as timestamps, text casefolded).
SORT_ROLE = USER_ROLE

#: The row's :class:`Divert`.
DIVERT_ROLE = SORT_ROLE + 1

_NCOLS = len(DivertColumn)

COL_AT = DivertColumn.AT.value

_COL_STATE = DivertColumn.STATE.value

_COL_REVIEW = DivertColumn.REVIEW.value

_COL_KIND = DivertColumn.KIND.value

#: What the server writes as the release reason when a supervisor closes an owed incident.
_SUPERVISOR_CLOSE = "closed by supervisor"


def _progress(divert: Divert) -> int:
    """How far a tag has got: released and reviewed only ever go from unset to set."""
    return (divert.released_at is not None) + (divert.reviewed_at is not None)


def newer(a: Divert, b: Divert) -> Divert:
    """The more advanced of two versions of one tag; ``b`` on a tie (the later news)."""
    return a if _progress(a) > _progress(b) else b


class DivertTableModel(RowsTableModel):
    """One row per divert, in arrival order (the proxy sorts); everything in memory."""

    headers = tuple(HEADERS[c] for c in DivertColumn)

    def __init__(self, tz: str = "Europe/London", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tz = tz
        self._rows: list[Divert] = []
        self._row_of: dict[int, int] = {}
        #: The live incidents that have diverts, by id: the state of the incident left.
        self._incidents: dict[int, Incident] = {}

    # -- reading ---------------------------------------------------------------------------

    def diverts(self) -> Sequence[Divert]:
        return self._rows

    def divert_at(self, row: int) -> Divert:
        return self._rows[row]

    def divert(self, divert_id: int) -> Divert | None:
        row = self._row_of.get(divert_id)
        return None if row is None else self._rows[row]

    def from_incident(self, divert: Divert) -> Incident | None:
        """The live incident the unit left, if this desk holds it."""
        return self._incidents.get(divert.from_incident_id)

    @property
    def tz(self) -> str:
        return self._tz

    def set_timezone(self, tz: str) -> None:
        """Show times in ``tz`` (the policy's time zone, the control room's)."""
        self._tz = tz
        self._changed_all()

    def state_text(self, divert: Divert) -> str:
        """What became of the incident the unit left, in words."""
        if divert.released_at is not None:
            reason = divert.released_reason or "released"
            if reason.casefold().startswith(_SUPERVISOR_CLOSE):
                # The server's words are "closed by supervisor <name>: <rationale>".
                return f"Closed by supervisor: {reason.partition(': ')[2] or reason}"
            return f"Released {self._hhmm(divert.released_at)}: {reason}"
        incident = self.from_incident(divert)
        if incident is None:
            return "OWED — incident not in the live queue"
        if incident.needs_unit:
            escalated = incident.escalated_at
            tail = "" if escalated is None else f", escalated {self._hhmm(escalated)}"
            return f"OWED — no unit{tail}"
        if incident.owed:
            return f"OWED — {incident.status.label.lower()}"
        # Released on the server but the tag's release has not reached this desk yet.
        return f"Incident {incident.status.label.lower()}"

    def release_details(self, divert: Divert) -> str:
        """Who released the tag, when, and the server's words (the cell's tooltip)."""
        when = (
            "" if divert.released_at is None else local(divert.released_at, self._tz, "%d/%m %H:%M")
        )
        return (
            f"Released {when} by {divert.released_by or 'the server'}: "
            f"{divert.released_reason or 'no reason recorded'}"
        )

    def review_text(self, divert: Divert) -> str:
        if divert.reviewed_at is None:
            return "Not reviewed"
        who = divert.reviewed_by or "a reviewer"
        return f"Reviewed by {who} {self._hhmm(divert.reviewed_at)}: {divert.review_note or ''}"

    def cell_text(self, divert: Divert, col: int) -> str:
        if col == 0:
            return divert.from_ref
        if col == 1:
            return divert.to_text
        if col == 2:
            return divert.callsign
        if col == 3:
            return divert.by
        if col == COL_AT:
            return local(divert.at, self._tz, "%d/%m %H:%M")
        if col == 5:
            return divert.reason
        if col == _COL_STATE:
            return self.state_text(divert)
        if col == _COL_KIND:
            return divert.kind.value
        return self.review_text(divert)

    def _hhmm(self, when: datetime) -> str:
        return local(when, self._tz, "%H:%M")

    # -- Qt model API ----------------------------------------------------------------------

    def data(self, index: Index, role: int = DISPLAY_ROLE) -> Any:
        row, col = index.row(), index.column()
        if not index.isValid() or row >= len(self._rows):
            return None
        divert = self._rows[row]
        if role == TOOLTIP_ROLE and col == _COL_STATE and divert.released_at is not None:
            return self.release_details(divert)
        if role in (DISPLAY_ROLE, TOOLTIP_ROLE, ACCESSIBLE_ROLE):
            return self.cell_text(divert, col)
        if role == SORT_ROLE:
            if col == COL_AT:
                return divert.at.timestamp()
            return self.cell_text(divert, col).casefold()
        if role == DIVERT_ROLE:
            return divert
        if role == DECORATION_ROLE and col == _COL_STATE:
            return self._state_icon(divert)
        return None

    def _state_icon(self, divert: Divert) -> Any:
        """A shape beside the words for an owed incident with nobody going: the worst case."""
        incident = self.from_incident(divert)
        if divert.released_at is None and incident is not None and incident.needs_unit:
            return icons.problem_icon()
        return None

    # -- changing --------------------------------------------------------------------------

    def set_incidents(self, incidents: Iterable[Incident]) -> None:
        """Take the live incidents (start-up or a snapshot). Tags already known are kept:
        the list is an audit trail, and an incident leaving the queue does not review it."""
        self.beginResetModel()
        self._incidents = {}
        for incident in incidents:
            self._take_incident(incident)
            for divert in incident.diverts:
                self._put(divert)
        self.endResetModel()

    def apply_changes(self, upserts: Sequence[Incident], removed: Sequence[int]) -> None:
        """Apply a batch as the queue does (an id both upserted and removed is kept)."""
        latest = {i.id: i for i in upserts}
        touched: set[int] = set()
        for incident_id in set(removed) - latest.keys():
            if self._incidents.pop(incident_id, None) is not None:
                touched.add(incident_id)
        for incident in latest.values():
            if self._take_incident(incident) or incident.id in touched:
                touched.add(incident.id)
            self._merge(incident.diverts)
        self._changed_rows(d for d in self._rows if d.from_incident_id in touched)

    def add_history(self, diverts: Iterable[Divert]) -> None:
        """Merge tags loaded from the server, by id; the more advanced version wins."""
        self._merge(diverts)

    def _take_incident(self, incident: Incident) -> bool:
        """Keep the incident if it has tags; True if it was or is kept (its rows change)."""
        had = self._incidents.pop(incident.id, None) is not None
        if incident.diverts:
            self._incidents[incident.id] = incident
        return had or bool(incident.diverts)

    def _put(self, divert: Divert) -> bool:
        """Add or update a tag without signals (inside a reset); True if it was new."""
        row = self._row_of.get(divert.id)
        if row is None:
            self._row_of[divert.id] = len(self._rows)
            self._rows.append(divert)
            return True
        self._rows[row] = newer(self._rows[row], divert)
        return False

    def _merge(self, diverts: Iterable[Divert]) -> None:
        """Update known tags in place (``dataChanged``) and append new ones in one insert."""
        fresh: dict[int, Divert] = {}
        changed: list[Divert] = []
        for divert in diverts:
            row = self._row_of.get(divert.id)
            if row is None:
                fresh[divert.id] = newer(fresh[divert.id], divert) if divert.id in fresh else divert
            elif (best := newer(self._rows[row], divert)) != self._rows[row]:
                self._rows[row] = best
                changed.append(best)
        self._changed_rows(changed)
        if fresh:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
            for divert in fresh.values():
                self._put(divert)
            self.endInsertRows()

    def _changed_rows(self, diverts: Iterable[Divert]) -> None:
        for row in sorted({self._row_of[d.id] for d in diverts}):
            self.dataChanged.emit(self.index(row, 0), self.index(row, _NCOLS - 1))

    def _changed_all(self) -> None:
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, _NCOLS - 1))
