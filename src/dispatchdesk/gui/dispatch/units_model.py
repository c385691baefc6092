"""The fleet as a Qt table model, held in memory (list + id→row dict).

One row per unit: callsign, type, borough, status (text *and* colour), time in status, the
incident it is on, and what the outbox is doing with it ("assigning to CAD 12/23NOV26…",
"refused: …"). ``data()`` reads memory only and compares roles with cached ints, as the
incident model does.

Time in status is shown to the minute, so :meth:`UnitsTableModel.refresh_now` (called by the
window's one ticker each second) recomputes it for every unit but only reports the rows whose
text changed: at most once a minute per unit, and nothing for the proxy to re-filter between.

Rows are dragged to the incident queue as :data:`UNIT_MIME` carrying the unit id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor

from dispatchdesk.domain.commands import CommandKind, CommandState, PendingCommand
from dispatchdesk.domain.unit import Unit, UnitStatus
from dispatchdesk.gui.common import icons
from dispatchdesk.gui.common.tables import (
    ACCESSIBLE_ROLE,
    BACKGROUND_ROLE,
    DECORATION_ROLE,
    DISPLAY_ROLE,
    FOREGROUND_ROLE,
    TOOLTIP_ROLE,
    USER_ROLE,
    RowsTableModel,
)
from dispatchdesk.gui.common.theme import THEMES, problem_colour

Index = QModelIndex | QPersistentModelIndex

#: MIME type of a dragged unit; the payload is the unit id in ASCII digits.
UNIT_MIME = "application/x-dispatchdesk-unit"


class UnitColumn(IntEnum):
    CALLSIGN = 0
    KIND = 1
    BOROUGH = 2
    STATUS = 3
    TIME_IN_STATUS = 4
    INCIDENT = 5
    PENDING = 6


UNIT_HEADERS = {
    UnitColumn.CALLSIGN: "Callsign",
    UnitColumn.KIND: "Type",
    UnitColumn.BOROUGH: "Borough",
    UnitColumn.STATUS: "Status",
    UnitColumn.TIME_IN_STATUS: "In status",
    UnitColumn.INCIDENT: "Incident",
    UnitColumn.PENDING: "Pending",
}

#: Static sort key of a cell (a string or a number, so the proxy compares it in C++).
UNIT_SORT_ROLE = USER_ROLE
#: The :class:`Unit` of the row.
UNIT_ROLE = UNIT_SORT_ROLE + 1

_NCOLS = len(UnitColumn)
_COL_CALLSIGN = UnitColumn.CALLSIGN.value
_COL_STATUS = UnitColumn.STATUS.value
_COL_TIME = UnitColumn.TIME_IN_STATUS.value
_COL_INCIDENT = UnitColumn.INCIDENT.value
_COL_PENDING = UnitColumn.PENDING.value

#: Board order of statuses: available first (what a dispatcher looks for), off duty last.
STATUS_ORDER = {
    status: n
    for n, status in enumerate(
        (
            UnitStatus.AVAILABLE,
            UnitStatus.ASSIGNED,
            UnitStatus.AT_SCENE,
            UnitStatus.COMMITTED,
            UnitStatus.OFF_DUTY,
        )
    )
}

_STATUS_COLOURS: dict[str, dict[UnitStatus, tuple[str, str]]] = {
    # (foreground, background); the status cell always carries the status text as well.
    "normal": {
        UnitStatus.AVAILABLE: ("#14532d", "#dcfce7"),
        UnitStatus.ASSIGNED: ("#1e3a8a", "#dbeafe"),
        UnitStatus.AT_SCENE: ("#581c87", "#f3e8ff"),
        UnitStatus.COMMITTED: ("#713f12", "#fef08a"),
        UnitStatus.OFF_DUTY: ("#374151", "#e5e7eb"),
    },
    "high-contrast": {
        UnitStatus.AVAILABLE: ("#000000", "#4ade80"),
        UnitStatus.ASSIGNED: ("#ffffff", "#1d4ed8"),
        UnitStatus.AT_SCENE: ("#ffffff", "#7e22ce"),
        UnitStatus.COMMITTED: ("#000000", "#facc15"),
        UnitStatus.OFF_DUTY: ("#ffffff", "#000000"),
    },
}


_PENDING_VERB = {
    CommandKind.ASSIGN_UNIT: "assigning to",
    CommandKind.DIVERT_UNIT: "diverting to",
    CommandKind.ARRIVE_UNIT: "marking at scene",
    CommandKind.CLEAR_UNIT: "clearing",
    CommandKind.UNIT_STATUS: "setting status",
}
_UNIT_KINDS = frozenset(_PENDING_VERB)
_STATUS_VALUES = frozenset(s.value for s in UnitStatus)
_SEVERITY = {
    CommandState.QUEUED: 0,
    CommandState.SENT: 0,
    CommandState.HELD: 1,
    CommandState.FAILED: 2,
}


def status_colours(theme: str) -> dict[UnitStatus, tuple[QColor, QColor]]:
    """(foreground, background) of each unit status in ``theme``."""
    if theme not in THEMES:
        raise ValueError(f"unknown theme {theme!r}; expected one of {THEMES}")
    return {s: (QColor(fg), QColor(bg)) for s, (fg, bg) in _STATUS_COLOURS[theme].items()}


def format_time_in_status(seconds: float) -> str:
    """ "<1 min", "12 min", "1 h 05": minutes are what a dispatcher acts on."""
    minutes = max(0, int(seconds // 60))
    if minutes < 1:
        return "<1 min"
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d}"


def natural_key(text: str) -> str:
    """``text`` folded, with digit runs zero-padded, so LX2 sorts before LX10 (as a string)."""
    return re.sub(r"\d+", lambda m: m.group().zfill(8), text.casefold())


def unit_ids_from_mime(mime: QMimeData) -> list[int]:
    """The unit ids carried by a drag (empty when it carries no unit)."""
    if not mime.hasFormat(UNIT_MIME):
        return []
    raw = bytes(mime.data(UNIT_MIME).data()).decode("ascii", "replace")
    return [int(part) for part in raw.split(",") if part.strip().isdigit()]


class UnitsTableModel(RowsTableModel):
    """Units in memory, in arrival order (the proxy sorts them)."""

    headers = tuple(UNIT_HEADERS[c] for c in UnitColumn)

    #: The outbox changed (after :meth:`set_pending`): open assign dialogs follow their commands.
    pending_changed = Signal()

    def __init__(
        self,
        now: Callable[[], datetime],
        incident_ref: Callable[[int], str | None] = lambda _id: None,
        parent: Any = None,
    ) -> None:
        super().__init__(parent)
        self._now = now
        self._incident_ref = incident_ref
        self._rows: list[Unit] = []
        self._row_of: dict[int, int] = {}
        #: Time-in-status text per row at the last tick (data() only reads it).
        self._times: list[str] = []
        #: Per unit id: (pending text, failed-or-held) of its most telling outbox command.
        self._pending: dict[int, tuple[str, bool]] = {}
        self._commands: list[PendingCommand] = []
        self._colours = status_colours("normal")
        self._problem_colour = problem_colour("normal")

    # -- reading ---------------------------------------------------------------------------

    def units(self) -> Sequence[Unit]:
        """All units held, in model row order (read-only view)."""
        return self._rows

    def unit(self, unit_id: int) -> Unit | None:
        row = self._row_of.get(unit_id)
        return None if row is None else self._rows[row]

    def unit_at(self, row: int) -> Unit:
        return self._rows[row]

    def row_of(self, unit_id: int) -> int | None:
        return self._row_of.get(unit_id)

    def by_callsign(self, callsign: str) -> Unit | None:
        """The unit whose callsign is ``callsign`` (case and surrounding spaces ignored)."""
        wanted = callsign.strip().casefold()
        return next((u for u in self._rows if u.callsign.casefold() == wanted), None)

    def pending_text(self, unit_id: int) -> str:
        return self._pending.get(unit_id, ("", False))[0]

    def commands(self) -> Sequence[PendingCommand]:
        """The outbox as last given to :meth:`set_pending`."""
        return self._commands

    def incident_ref(self, incident_id: int) -> str:
        return self._incident_ref(incident_id) or f"incident #{incident_id}"

    # -- Qt model API ----------------------------------------------------------------------

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled
        )

    def data(self, index: Index, role: int = DISPLAY_ROLE) -> Any:
        row = index.row()
        if not index.isValid() or row >= len(self._rows):
            return None
        unit = self._rows[row]
        col = index.column()
        if role in (DISPLAY_ROLE, ACCESSIBLE_ROLE):
            return self._text(unit, row, col, role == ACCESSIBLE_ROLE)
        if role == UNIT_SORT_ROLE:
            return self._sort_key(unit, col)
        if role == UNIT_ROLE:
            return unit
        if col == _COL_STATUS and role in (FOREGROUND_ROLE, BACKGROUND_ROLE):
            return self._colours[unit.status][0 if role == FOREGROUND_ROLE else 1]
        if col == _COL_PENDING:
            return self._pending_extra(unit, role)
        if role == TOOLTIP_ROLE:
            return self._tooltip(unit, row, col)
        return None

    def mimeTypes(self) -> list[str]:
        return [UNIT_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        """The dragged unit(s): ids as "12" (or "12,15"), and the callsigns as plain text."""
        rows = sorted({i.row() for i in indexes if i.isValid() and i.row() < len(self._rows)})
        units = [self._rows[r] for r in rows]
        mime = QMimeData()
        mime.setData(UNIT_MIME, ",".join(str(u.id) for u in units).encode("ascii"))
        # Plain text too: dropped into a text field (the assign dialog) it names the unit.
        mime.setText(" ".join(u.callsign for u in units))
        return mime

    def supportedDragActions(self) -> Qt.DropAction:
        # The unit stays on the board: a drop on an incident copies, it never moves the row.
        return Qt.DropAction.CopyAction

    # -- cells -----------------------------------------------------------------------------

    def _text(self, unit: Unit, row: int, col: int, accessible: bool) -> str:
        if col == _COL_CALLSIGN:
            return unit.callsign
        if col == 1:
            return unit.kind
        if col == 2:
            return unit.borough
        if col == _COL_STATUS:
            return f"Status: {unit.status.label}" if accessible else unit.status.label
        if col == _COL_TIME:
            return self._times[row]
        if col == _COL_INCIDENT:
            return "" if unit.incident_id is None else self.incident_ref(unit.incident_id)
        return self.pending_text(unit.id)

    def _sort_key(self, unit: Unit, col: int) -> Any:
        if col == _COL_CALLSIGN:
            return natural_key(unit.callsign)
        if col == 1:
            return unit.kind.casefold()
        if col == 2:
            return unit.borough.casefold()
        if col == _COL_STATUS:
            # Status, then callsign, in one string: the board's default order in one column.
            return f"{STATUS_ORDER[unit.status]}{natural_key(unit.callsign)}"
        if col == _COL_TIME:
            # Shortest time in status first; static (it only changes when the status does).
            return -unit.status_since.timestamp()
        if col == _COL_INCIDENT:
            return (
                "" if unit.incident_id is None else natural_key(self.incident_ref(unit.incident_id))
            )
        return self.pending_text(unit.id)

    def _tooltip(self, unit: Unit, row: int, col: int) -> str | None:
        if col in (_COL_STATUS, _COL_TIME):
            return f"{unit.callsign}: {unit.status.label} for {self._times[row]}"
        if col == _COL_INCIDENT and unit.incident_id is not None:
            return (
                f"{unit.callsign} is {unit.status.label.lower()} on "
                f"{self.incident_ref(unit.incident_id)}"
            )
        return None

    def _pending_extra(self, unit: Unit, role: int) -> Any:
        text, problem = self._pending.get(unit.id, ("", False))
        if not text:
            return None
        if role == DECORATION_ROLE:
            return icons.problem_icon() if problem else icons.connecting_icon()
        if role == FOREGROUND_ROLE and problem:
            return self._problem_colour
        if role == TOOLTIP_ROLE:
            return text if problem else f"{text} Waiting for the server to confirm."
        return None

    # -- changing --------------------------------------------------------------------------

    def set_units(self, units: Iterable[Unit]) -> None:
        """Replace the whole fleet (a snapshot, or the cache at start)."""
        self.beginResetModel()
        latest = {u.id: u for u in units}
        self._rows = list(latest.values())
        self._row_of = {u.id: n for n, u in enumerate(self._rows)}
        now = self._now()
        self._times = [self._time_text(u, now) for u in self._rows]
        self.endResetModel()

    def apply_units(self, upserts: Sequence[Unit], removed: Sequence[int]) -> None:
        """Apply a batch of changes. An id both upserted and removed is kept."""
        latest = {u.id: u for u in upserts}
        for unit_id in sorted(
            set(removed) - latest.keys(), key=lambda i: self._row_of.get(i, -1), reverse=True
        ):
            row = self._row_of.get(unit_id)
            if row is not None:
                self._remove_row(row)
        now = self._now()
        fresh = [u for u in latest.values() if u.id not in self._row_of]
        for unit in latest.values():
            row = self._row_of.get(unit.id)
            if row is not None:
                self._rows[row] = unit
                self._times[row] = self._time_text(unit, now)
                self._emit_rows(row, row)
        if fresh:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
            for unit in fresh:
                self._row_of[unit.id] = len(self._rows)
                self._rows.append(unit)
                self._times.append(self._time_text(unit, now))
            self.endInsertRows()

    def _remove_row(self, row: int) -> None:
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._rows[row]
        del self._times[row]
        self._row_of = {u.id: n for n, u in enumerate(self._rows)}
        self.endRemoveRows()

    def refresh_now(self) -> None:
        """Per tick: recompute time in status; report only the rows whose text changed."""
        now = self._now()
        changed: list[int] = []
        for row, unit in enumerate(self._rows):
            text = self._time_text(unit, now)
            if text != self._times[row]:
                self._times[row] = text
                changed.append(row)
        for first, last in _runs(changed):
            self._emit_rows(first, last, _COL_TIME, _COL_TIME)

    def set_pending(self, commands: Sequence[PendingCommand]) -> None:
        """Show what the outbox is doing with each unit (every unconfirmed command)."""
        self._commands = list(commands)
        new = _pending_by_unit(commands, self.incident_ref)
        touched = {
            i for i in new.keys() | self._pending.keys() if new.get(i) != self._pending.get(i)
        }
        self._pending = new
        rows = sorted(r for r in (self._row_of.get(i) for i in touched) if r is not None)
        for first, last in _runs(rows):
            self._emit_rows(first, last, _COL_PENDING, _COL_PENDING)
        self.pending_changed.emit()

    def incidents_changed(self) -> None:
        """Incident refs may have arrived after the units that name them: repaint them."""
        if self._rows:
            self._emit_rows(0, len(self._rows) - 1, _COL_INCIDENT, _COL_PENDING)

    def set_theme(self, theme: str) -> None:
        """Use the status colours of ``theme`` (``normal`` or ``high-contrast``)."""
        self._colours = status_colours(theme)
        self._problem_colour = problem_colour(theme)
        if self._rows:
            self._emit_rows(0, len(self._rows) - 1, _COL_STATUS, _COL_STATUS)

    def _time_text(self, unit: Unit, now: datetime) -> str:
        return format_time_in_status((now - unit.status_since).total_seconds())

    def _emit_rows(
        self, first: int, last: int, first_col: int = 0, last_col: int = _NCOLS - 1
    ) -> None:
        self.dataChanged.emit(self.index(first, first_col), self.index(last, last_col))


def _runs(rows: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted rows as contiguous (first, last) runs."""
    runs: list[tuple[int, int]] = []
    for row in rows:
        if runs and row == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], row)
        else:
            runs.append((row, row))
    return runs


def _pending_by_unit(
    commands: Sequence[PendingCommand], ref: Callable[[int], str]
) -> dict[int, tuple[str, bool]]:
    """Per unit, the text of its most telling command: a refusal over a wait, else the newest."""
    chosen: dict[int, PendingCommand] = {}
    for command in commands:  # oldest first: a later command of equal severity replaces
        if command.unit_id is None or command.kind not in _UNIT_KINDS:
            continue
        old = chosen.get(command.unit_id)
        if old is None or _SEVERITY[command.state] >= _SEVERITY[old.state]:
            chosen[command.unit_id] = command
    return {
        uid: (pending_text(c, ref), c.state in (CommandState.FAILED, CommandState.HELD))
        for uid, c in chosen.items()
    }


def pending_text(command: PendingCommand, ref: Callable[[int], str]) -> str:
    """ "assigning to CAD 12/23NOV26…", "refused: <reason>", "held: <reason>"."""
    if command.state is CommandState.FAILED:
        return f"refused: {command.message or 'no reason given'}"
    if command.state is CommandState.HELD:
        return f"held: {command.message or 'too old to send'} (see Commands)"
    verb = _PENDING_VERB[command.kind]
    if (
        command.kind in (CommandKind.ASSIGN_UNIT, CommandKind.DIVERT_UNIT)
        and command.incident_id is not None
    ):
        return f"{verb} {ref(command.incident_id)}…"
    if command.kind is CommandKind.UNIT_STATUS:
        status = (command.body or {}).get("status")
        if isinstance(status, str) and status in _STATUS_VALUES:
            return f"setting {UnitStatus(status).label}…"
    return f"{verb}…"
