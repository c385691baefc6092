"""The incident queue as a Qt table model, held in memory (list + id→row dict).

``data()`` reads memory only and compares roles with cached ints (PySide6 enum comparisons are
~20× slower and Qt calls ``data()`` ~7 times per painted cell). The countdown is computed at
paint time from the deadline and the injected ``now`` (the server clock); nothing decrements it.

Sorting uses :data:`SORT_ROLE`, a *static* key per column that only changes when the incident
changes; the countdown column sorts by :meth:`Incident.urgency_key`, never by its text.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QIcon

from dispatchdesk.domain.commands import CommandState, PendingCommand
from dispatchdesk.domain.countdown import (
    Countdown,
    CountdownState,
    PreparedCountdown,
    epoch_us,
    format_countdown,
)
from dispatchdesk.domain.downgrades import pending_text
from dispatchdesk.domain.grades import DEFAULT_POLICY, GradePolicy
from dispatchdesk.domain.incident import DivertKind, Incident
from dispatchdesk.domain.tasks import tasks_overdue
from dispatchdesk.domain.warnings import Severity
from dispatchdesk.gui.common import icons
from dispatchdesk.gui.common.tables import (
    ACCESSIBLE_ROLE,
    ALIGNMENT_ROLE,
    BACKGROUND_ROLE,
    DECORATION_ROLE,
    DISPLAY_ROLE,
    FOREGROUND_ROLE,
    TOOLTIP_ROLE,
    USER_ROLE,
    RowsTableModel,
)
from dispatchdesk.gui.common.theme import StateColours, countdown_colours, problem_colour
from dispatchdesk.gui.common.timefmt import local
from dispatchdesk.gui.queue.task_flags import OverdueMoments, overdue_words
from dispatchdesk.gui.warnings.flags import WarningMark

Index = QModelIndex | QPersistentModelIndex


class Column(IntEnum):
    REF = 0
    GRADE = 1
    TYPE = 2
    LOCATION = 3
    CREATED = 4
    DEADLINE = 5
    COUNTDOWN = 6
    STATUS = 7
    FLAGS = 8


HEADERS = {
    Column.REF: "Ref",
    Column.GRADE: "Grade",
    Column.TYPE: "Type",
    Column.LOCATION: "Location",
    Column.CREATED: "Created",
    Column.DEADLINE: "Deadline",
    Column.COUNTDOWN: "Countdown",
    Column.STATUS: "Status",
    Column.FLAGS: "Flags",
}

#: Static sort key of a cell (the countdown column: ``Incident.urgency_key()`` as a number).
SORT_ROLE = USER_ROLE
#: The :class:`Incident` of the row.
INCIDENT_ROLE = SORT_ROLE + 1
#: The :class:`CountdownState` of the row at ``now``.
COUNTDOWN_STATE_ROLE = SORT_ROLE + 2
#: The countdown cell whole: (text, icon, foreground, background, state), for the delegate
#: that paints it from one call (``countdown_delegate``).
COUNTDOWN_CELL_ROLE = SORT_ROLE + 3

_NCOLS = len(Column)
_COL_COUNTDOWN = Column.COUNTDOWN.value
_COL_FLAGS = Column.FLAGS.value
_COL_GRADE = Column.GRADE.value
_COL_STATUS = Column.STATUS.value
_RIGHT_ALIGN = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

_STATE_WORDS = {
    CountdownState.ON_TRACK: "On track: the deadline has not yet entered its at-risk window.",
    CountdownState.AT_RISK: "At risk: the deadline is close.",
    CountdownState.BREACHED: "Breached: the deadline has passed and no unit has arrived.",
    CountdownState.ATTENDED: "Attended: a unit has arrived; the countdown has stopped.",
    CountdownState.NONE: "No attendance target.",
}


#: Role -> position in the tuple of :meth:`IncidentTableModel._countdown_cell`.
_COUNTDOWN_SLOTS: dict[int, int] = {
    DISPLAY_ROLE: 0,
    DECORATION_ROLE: 1,
    FOREGROUND_ROLE: 2,
    BACKGROUND_ROLE: 3,
    COUNTDOWN_STATE_ROLE: 4,
}


def _row_key(incident: Incident) -> tuple[float, int]:
    return urgency_number(incident), incident.id


def _incident_id(incident: Incident) -> int:
    return incident.id


def urgency_number(incident: Incident) -> float:
    """``Incident.urgency_key()`` packed into one float, so the proxy compares it in C++.

    band (0 owed with no unit, 1 waiting, 2 the rest) × 1e11 + deadline timestamp (or 9e10
    when none) + grade rank / 10.
    """
    band, deadline, rank = incident.urgency_key()
    if deadline == float("inf"):
        deadline = 9e10
    return band * 1e11 + deadline + rank / 10


def _hhmm(when: datetime | None, tz: str) -> str:
    return "" if when is None else local(when, tz, "%d/%m %H:%M")


class IncidentTableModel(RowsTableModel):
    """Incidents in memory; countdown cells computed at paint time from ``now()``."""

    headers = tuple(HEADERS[c] for c in Column)

    def __init__(self, now: Callable[[], datetime], parent: Any = None) -> None:
        super().__init__(parent)
        self._now = now
        #: Rows are kept most urgent first: (urgency_number, id) of each row, ascending, so
        #: the default order needs no sorting by the proxy, and a row is found by bisection.
        #: Each row's urgency number is held beside it in an array of doubles (8 bytes a row,
        #: where a (float, id) tuple a row took 88 at 50,000 incidents).
        self._rows: list[Incident] = []
        self._urgency: array[float] = array("d")
        self._by_id: dict[int, Incident] = {}
        self._policy = DEFAULT_POLICY
        self._pending: dict[int, CommandState] = {}
        self._colours: dict[CountdownState, StateColours] = countdown_colours("normal")
        self._theme = "normal"
        #: The tick's "now" and each row's countdown at it: Qt asks ~7 roles per painted cell,
        #: and one computation per row per tick is enough (see :meth:`refresh_now`).
        self._tick_now: datetime | None = None
        self._tick_us = 0
        self._countdowns: dict[int, Countdown] = {}
        #: Each incident's countdown prepared for any "now" (by id, with the incident it was
        #: prepared from): the tick then costs a subtraction and a comparison per row.
        self._prepared: dict[int, tuple[Incident, PreparedCountdown]] = {}
        self._cells: dict[int, tuple[Any, ...]] = {}
        #: Warnings per incident (scheme, order; acknowledged or not), computed ahead of time.
        self._marks: Callable[[int], tuple[WarningMark, ...]] = lambda _id: ()
        #: When each incident's open tasks become overdue (its flags cell repaints then).
        self._overdue = OverdueMoments()

    # -- reading ---------------------------------------------------------------------------

    @property
    def policy(self) -> GradePolicy:
        return self._policy

    def now(self) -> datetime:
        return self._now()

    def incidents(self) -> Sequence[Incident]:
        """All incidents held, in model row order (read-only view)."""
        return self._rows

    def incident_at(self, row: int) -> Incident:
        return self._rows[row]

    def incident(self, incident_id: int) -> Incident | None:
        return self._by_id.get(incident_id)

    def row_of(self, incident_id: int) -> int | None:
        incident = self._by_id.get(incident_id)
        return None if incident is None else self._place(urgency_number(incident), incident.id)

    def _place(self, urgency: float, incident_id: int) -> int:
        """The row where (``urgency``, ``incident_id``) is or would go, by bisection: on the
        urgency, then among rows of equal urgency (all those with no deadline) on the id."""
        lo = bisect_left(self._urgency, urgency)
        hi = bisect_right(self._urgency, urgency, lo)
        if hi - lo < 2:
            return lo if hi == lo or self._rows[lo].id >= incident_id else hi
        return bisect_left(self._rows, incident_id, lo, hi, key=_incident_id)

    def _key_at(self, row: int) -> tuple[float, int] | None:
        """(urgency_number, id) of ``row``, None past either end."""
        if 0 <= row < len(self._rows):
            return self._urgency[row], self._rows[row].id
        return None

    def pending_state(self, incident_id: int) -> CommandState | None:
        return self._pending.get(incident_id)

    def refresh_now(self) -> None:
        """Take "now" for the coming repaint (the ticker calls this once a second).

        Until it is first called, every countdown is computed from ``now()`` on each request.
        """
        self._tick_now = self._now()
        self._tick_us = epoch_us(self._tick_now)
        self._countdowns.clear()
        self._cells.clear()
        late = (self.row_of(i) for i in self._overdue.due(self._tick_now))
        for first, last in row_runs(sorted(r for r in late if r is not None)):
            self._emit_rows_changed(first, last, Column.FLAGS, Column.FLAGS)

    def _countdown(self, row: int, incident: Incident) -> Countdown:
        if self._tick_now is None:
            return incident.countdown(self._now(), self._policy)
        cd = self._countdowns.get(row)
        if cd is None:
            held = self._prepared.get(incident.id)
            if held is None or held[0] is not incident:
                if len(self._prepared) > 2 * len(self._rows) + 100:
                    self._prepared.clear()  # incidents long gone
                held = (incident, incident.prepared_countdown(self._policy))
                self._prepared[incident.id] = held
            cd = self._countdowns[row] = held[1].at(self._tick_us)
        return cd

    # -- Qt model API ----------------------------------------------------------------------

    def data(self, index: Index, role: int = DISPLAY_ROLE) -> Any:
        row = index.row()
        if not index.isValid() or row >= len(self._rows):
            return None
        col = index.column()
        if col == _COL_COUNTDOWN:
            slot = _COUNTDOWN_SLOTS.get(role)
            if slot is not None:  # the painted roles: one lookup per role per tick
                return self._countdown_cell(row)[slot]
            if role == COUNTDOWN_CELL_ROLE:
                return self._countdown_cell(row)
            if role in (TOOLTIP_ROLE, ACCESSIBLE_ROLE):
                cell = self._countdown_cell(row)
                return f"{_STATE_WORDS[cell[4]]} {cell[0]}"
            if role == SORT_ROLE:
                return self._urgency[row]
            if role == ALIGNMENT_ROLE:
                return _RIGHT_ALIGN
            return self._rows[row] if role == INCIDENT_ROLE else None
        incident = self._rows[row]
        if role == DISPLAY_ROLE:
            return self._text(incident, col)
        if role == SORT_ROLE:
            return self._sort_key(incident, col)
        if role == INCIDENT_ROLE:
            return incident
        if role == TOOLTIP_ROLE:
            return self._tooltip(incident, col)
        if role == COUNTDOWN_STATE_ROLE:
            return self._countdown(row, incident).state
        if col == _COL_FLAGS:
            if role == DECORATION_ROLE:
                return self._flags_icon(incident)
            if role == FOREGROUND_ROLE:
                return self._flags_colour(incident)
            if role == ACCESSIBLE_ROLE:
                return f"{self._text(incident, col)}. {self._flags_tooltip(incident)}"
        return None

    # -- cells -----------------------------------------------------------------------------

    def countdown_cell(self, row: int) -> tuple[str, QIcon, QColor, QColor, CountdownState]:
        """What the countdown cell of ``row`` paints: text, icon, foreground, background and
        state (:data:`COUNTDOWN_CELL_ROLE`; the delegate calls this directly)."""
        return self._countdown_cell(row)

    def _countdown_cell(self, row: int) -> tuple[str, QIcon, QColor, QColor, CountdownState]:
        """Everything the countdown cell shows, in :data:`_COUNTDOWN_SLOTS` order (the
        tooltip and accessible text are made from it on request)."""
        cell = self._cells.get(row) if self._tick_now is not None else None
        if cell is None:
            cd = self._countdown(row, self._rows[row])
            colours = self._colours[cd.state]
            cell = (
                format_countdown(cd),
                icons.countdown_icon(cd.state),
                colours.foreground,
                colours.background,
                cd.state,
            )
            if self._tick_now is not None:
                self._cells[row] = cell
        return cell

    def _text(self, incident: Incident, col: int) -> str:
        if col == 0:
            return incident.ref
        if col == _COL_GRADE:
            return incident.grade.value
        if col == 2:
            return incident.type
        if col == 3:
            return incident.location.one_line
        if col == 4:
            return _hhmm(incident.created_at, self._policy.timezone)
        if col == 5:
            return _hhmm(incident.deadline, self._policy.timezone)
        if col == _COL_STATUS:
            return incident.status.label
        return " · ".join(self._flags(incident))

    def _sort_key(self, incident: Incident, col: int) -> Any:
        if col == 0:
            return incident.ref
        if col == _COL_GRADE:
            return incident.grade.rank
        if col == 2:
            return incident.type.casefold()
        if col == 3:
            return incident.location.one_line.casefold()
        if col == 4:
            return incident.created_at.timestamp()
        if col == 5:
            return incident.deadline.timestamp() if incident.deadline else 9e10
        if col == _COL_STATUS:
            return list(type(incident.status)).index(incident.status)
        # Most severe warning first (not yet acknowledged above acknowledged), then how many.
        weight = max(
            (
                3 - m.severity.rank + (3 if not m.acknowledged else 0)
                for m in self._marks(incident.id)
            ),
            default=0,
        )
        return 100 * weight + len(self._flags(incident))

    def _tooltip(self, incident: Incident, col: int) -> str | None:
        if col == _COL_GRADE:
            return incident.grade.label
        if col == _COL_FLAGS:
            return self._flags_tooltip(incident) or None
        if col == 3:
            return f"{incident.location.one_line} ({incident.location.borough})"
        return None

    def _flags(self, incident: Incident) -> list[str]:
        flags = []
        if incident.owed and incident.is_open:
            word = incident.owed_word
            flags.append(
                f"{word}: ESCALATED, NO UNIT"
                if incident.escalated_at
                else f"{word}: NO UNIT"
                if incident.needs_unit
                else word
            )
        for kind, severity, acked in _warning_kinds(self._marks(incident.id)):
            flags.append(warning_flag(kind, severity, acked))
        pending = self._pending.get(incident.id)
        if pending is CommandState.FAILED:
            flags.append("failed")
        elif pending is CommandState.HELD:
            flags.append("held")
        elif pending is not None:
            flags.append("pending")
        if incident.downgrade_reason is not None or _downgraded(incident):
            flags.append("downgraded")
        if incident.pending_downgrade is not None and incident.is_open:
            flags.append(f"downgrade to {incident.pending_downgrade.to.value} requested")
        if incident.caller.anonymous:
            flags.append("anonymous caller")
        if self._tasks_late(incident):
            flags.append("TASKS OVERDUE")
        return flags

    def _tasks_late(self, incident: Incident) -> bool:
        """Open tasks older than the policy allows, at the tick's "now" (paint time)."""
        if not incident.tasks or not incident.is_open:
            return False
        now = self._tick_now or self._now()
        return tasks_overdue(incident.tasks, incident.created_at, now, self._policy.tasks)

    def _flags_tooltip(self, incident: Incident) -> str:
        lines = []
        if incident.owed and incident.is_open:
            lines.append(owed_words(incident, self._policy.timezone))
        for mark in self._marks(incident.id):
            state = "acknowledged" if mark.acknowledged else "NOT yet acknowledged"
            lines.append(
                f"{mark.severity.value.capitalize()} {mark.ref.kind} warning "
                f"#{mark.ref.entity_id}: {state}. Open the incident to read it."
            )
        pending = self._pending.get(incident.id)
        if pending is CommandState.FAILED:
            lines.append("A command for this incident was refused: see Commands.")
        elif pending is CommandState.HELD:
            lines.append("A command for this incident is held: send or discard it in Commands.")
        elif pending is not None:
            lines.append("A command for this incident is waiting for confirmation.")
        if incident.downgrade_reason is not None or _downgraded(incident):
            reason = incident.downgrade_reason or "(no reason recorded)"
            lines.append(f"Downgraded from {_original(incident)}: {reason}")
        if incident.pending_downgrade is not None and incident.is_open:
            lines.append(pending_text(incident.pending_downgrade, self._policy.timezone) + ".")
        if incident.caller.anonymous:
            lines.append("The caller asked for anonymity. Officers must still contact them.")
        if self._tasks_late(incident):
            lines.append(overdue_words(incident, self._policy.tasks))
        return "\n".join(lines)

    def _flags_colour(self, incident: Incident) -> Any:
        if (
            self._pending.get(incident.id) in (CommandState.FAILED, CommandState.HELD)
            or (incident.owed and incident.is_open)
            or self._tasks_late(incident)
        ):
            return problem_colour(self._theme)
        unread = [m.severity for m in self._marks(incident.id) if not m.acknowledged]
        if unread:
            # The most severe warning not yet acknowledged, in its colour in this theme.
            return icons.severity_colour(min(unread, key=lambda s: s.rank), self._theme)
        return None

    def _flags_icon(self, incident: Incident) -> Any:
        items: tuple[tuple[str, Severity | None], ...] = tuple(
            (kind.lower(), severity)
            for kind, severity, _ in _warning_kinds(self._marks(incident.id))
        )
        if incident.owed and incident.is_open:
            items = (("divert", None), *items)
        return icons.flags_icon(items, self._theme) if items else None

    def set_warning_marks(self, marks: Callable[[int], tuple[WarningMark, ...]]) -> None:
        """Where the flags column reads each incident's warnings (memory only)."""
        self._marks = marks
        if self._rows:
            self._emit_rows_changed(0, len(self._rows) - 1, Column.FLAGS, Column.FLAGS)

    def warnings_changed(self, incident_ids: Iterable[int]) -> None:
        """Repaint the flags of these incidents (their warnings or acknowledgements changed)."""
        rows = [r for r in (self.row_of(i) for i in incident_ids) if r is not None]
        for first, last in row_runs(rows):
            self._emit_rows_changed(first, last, Column.FLAGS, Column.FLAGS)

    # -- changing --------------------------------------------------------------------------

    def set_incidents(self, incidents: Iterable[Incident], policy: GradePolicy) -> None:
        """Replace everything (a snapshot, or the cache at start), most urgent first."""
        self.beginResetModel()
        self._countdowns.clear()
        self._cells.clear()
        self._prepared.clear()
        self._policy = policy
        self._by_id = {i.id: i for i in incidents}
        self._overdue.reset(self._by_id.values(), policy.tasks)
        keyed = sorted((urgency_number(i), i.id, i) for i in self._by_id.values())
        self._urgency = array("d", (urgency for urgency, _, _ in keyed))
        self._rows = [incident for _, _, incident in keyed]
        del keyed
        self.endResetModel()

    def apply_changes(self, upserts: Sequence[Incident], removed: Sequence[int]) -> None:
        """Apply a coalesced batch, keeping rows most urgent first.

        An update that keeps its place is one ``dataChanged``; one whose urgency moved it is
        removed and inserted at its new place (the proxy handles both incrementally, where a
        move would make it re-filter every row). An id both upserted and removed is kept:
        nothing is dropped on ambiguity.
        """
        self._countdowns.clear()
        self._cells.clear()
        latest = {i.id: i for i in upserts}
        gone = (self.row_of(i) for i in set(removed) - latest.keys())
        self._remove_rows(sorted((r for r in gone if r is not None), reverse=True))
        for incident in latest.values():
            self._upsert(incident)

    def _upsert(self, incident: Incident) -> None:
        self._overdue.add(incident, self._policy.tasks)
        key = _row_key(incident)
        row = self.row_of(incident.id)
        if row is not None:
            before = self._key_at(row - 1)
            after = self._key_at(row + 1)
            if (before is None or before < key) and (after is None or key < after):
                self._rows[row] = incident
                self._urgency[row] = key[0]
                self._by_id[incident.id] = incident
                self._emit_rows_changed(row, row)
                return
            self._remove_row(row)
        row = self._place(*key)
        self.beginInsertRows(QModelIndex(), row, row)
        self._rows.insert(row, incident)
        self._urgency.insert(row, key[0])
        self._by_id[incident.id] = incident
        self.endInsertRows()

    def _remove_row(self, row: int) -> None:
        self._remove_range(row, row)

    def _remove_rows(self, descending: list[int]) -> None:
        """Remove rows given highest first, one signal per contiguous range."""
        while descending:
            last = first = descending.pop(0)
            while descending and descending[0] == first - 1:
                first = descending.pop(0)
            self._remove_range(first, last)

    def _remove_range(self, first: int, last: int) -> None:
        self.beginRemoveRows(QModelIndex(), first, last)
        for incident in self._rows[first : last + 1]:
            del self._by_id[incident.id]
        del self._rows[first : last + 1]
        del self._urgency[first : last + 1]
        self.endRemoveRows()

    def set_pending(self, commands: Iterable[PendingCommand]) -> None:
        """Mark incidents that have commands in the outbox ("pending", "failed", "held")."""
        new: dict[int, CommandState] = {}
        for command in commands:
            if command.incident_id is not None:
                new[command.incident_id] = _worse(new.get(command.incident_id), command.state)
        touched = {
            i for i in new.keys() | self._pending.keys() if new.get(i) != self._pending.get(i)
        }
        self._pending = new
        rows = [r for r in (self.row_of(i) for i in touched) if r is not None]
        for first, last in row_runs(rows):
            self._emit_rows_changed(first, last, Column.FLAGS, Column.FLAGS)

    def set_theme(self, theme: str) -> None:
        """Use the countdown colours of ``theme``; repaints the countdown column."""
        self._colours = countdown_colours(theme)
        self._theme = theme
        self._cells.clear()
        if self._rows:
            self._emit_rows_changed(0, len(self._rows) - 1, Column.COUNTDOWN, Column.FLAGS)

    def _emit_rows_changed(
        self, first: int, last: int, first_col: int = 0, last_col: int = len(Column) - 1
    ) -> None:
        self.dataChanged.emit(self.index(first, first_col), self.index(last, last_col))


_SEVERITY = {
    CommandState.QUEUED: 0,
    CommandState.SENT: 0,
    CommandState.HELD: 1,
    CommandState.FAILED: 2,
}


def _worse(old: CommandState | None, new: CommandState) -> CommandState:
    if old is None or _SEVERITY[new] > _SEVERITY[old]:
        return new
    return old


def _warning_kinds(marks: tuple[WarningMark, ...]) -> list[tuple[str, Severity, bool]]:
    """("Scheme" | "Order", the most severe of them, all acknowledged?) per warning kind
    present, schemes first."""
    found: list[tuple[str, Severity, bool]] = []
    for kind in ("scheme", "order"):
        of_kind = [m for m in marks if m.ref.kind == kind]
        if of_kind:
            worst = min((m.severity for m in of_kind), key=lambda s: s.rank)
            found.append((kind.capitalize(), worst, all(m.acknowledged for m in of_kind)))
    return found


def warning_flag(kind: str, severity: Severity, acknowledged: bool) -> str:
    """A warning kind's flag in the queue row, its severity written out: "⚠ ORDER CRITICAL",
    "⚠ SCHEME HEIGHTENED", "⚠ Order (info)" while not yet acknowledged (⚠), then
    "Order ✓ CRITICAL", "Scheme ✓ heightened", "Order ✓ (info)"."""
    if not acknowledged:
        if severity is Severity.INFO:
            return f"⚠ {kind} (info)"
        return f"⚠ {kind.upper()} {severity.value.upper()}"
    if severity is Severity.CRITICAL:
        return f"{kind} ✓ CRITICAL"
    return f"{kind} ✓ {'heightened' if severity is Severity.HEIGHTENED else '(info)'}"


def owed_words(incident: Incident, timezone: str) -> str:
    """The whole story of an owed incident in one sentence (tooltips, the detail panel)."""
    last = incident.diverts[-1] if incident.diverts else None
    text = "OWED ATTENDANCE: a unit was diverted away"
    if last is not None and last.kind is DivertKind.WITHDRAWN:
        text = (
            f"OWED ATTENDANCE: a unit was withdrawn before arriving ({last.callsign} by "
            f"{last.by} at {local(last.at, timezone, '%H:%M')}: {last.reason})"
        )
    elif last is not None:
        text += (
            f" ({last.callsign} to {last.to_ref} by {last.by} at "
            f"{local(last.at, timezone, '%H:%M')}: {last.reason})"
        )
    if incident.needs_unit:
        text += ". No unit is on it now: reallocate (F2)."
    if incident.escalated_at is not None:
        text += f" Escalated to supervisors at {local(incident.escalated_at, timezone, '%H:%M')}."
    return text


def _downgraded(incident: Incident) -> bool:
    original = incident.original_grade
    return original is not None and incident.grade.rank > original.rank


def _original(incident: Incident) -> str:
    original = incident.original_grade
    return "an earlier grade" if original is None else f"{original.value} ({original.label})"


#: Changed rows closer than this are reported in one ``dataChanged``.
RUN_GAP = 8


def row_runs(rows: Iterable[int], gap: int = RUN_GAP) -> list[tuple[int, int]]:
    """Changed rows as (first, last) runs, merging rows less than ``gap`` apart.

    One ``dataChanged`` spanning scattered rows across 10,000 makes the proxy re-check every
    row in between (~70 ms); a few short runs cost next to nothing.
    """
    runs: list[tuple[int, int]] = []
    for row in sorted(set(rows)):
        if runs and row - runs[-1][1] <= gap:
            runs[-1] = (runs[-1][0], row)
        else:
            runs.append((row, row))
    return runs
