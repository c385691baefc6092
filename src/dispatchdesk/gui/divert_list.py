"""The DIVERT tag list: every divert (a unit taken off one incident and sent to another) and
every withdrawal (a unit cleared before it arrived, leaving its incident with no unit; kind
WITHDRAWN, no target, "—"), what became of the incident it left, and whether a reviewer has
looked at it.

:class:`DivertTableModel` holds one row per :class:`~dispatchdesk.domain.incident.Divert`,
collected from the live incidents' ``diverts`` (whose ``owed``/``needs_unit`` give the state of
the incident left) and merged by id with history loaded from the server (older incidents no
longer in the live queue). :class:`DivertFilterProxy` filters (open / not reviewed / all) and
sorts, newest first by default. :class:`DivertListView` is the widget for a dock: the filter,
Review… (supervisors, with a required note, inline and non-modal), Export CSV… and Open
incident.

``data()`` reads memory only; the history is loaded by an injected coroutine function on the
asyncio loop (qasync runs it on the GUI thread), never by blocking the GUI thread.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from enum import Enum, IntEnum
from typing import Any

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from dispatchdesk.domain.incident import Divert, DivertKind, Incident
from dispatchdesk.domain.roles import Right, Role, has_right
from dispatchdesk.gui import icons
from dispatchdesk.gui.tables import (
    ACCESSIBLE_ROLE,
    DECORATION_ROLE,
    DISPLAY_ROLE,
    TOOLTIP_ROLE,
    USER_ROLE,
    RowsTableModel,
    configure_table,
)
from dispatchdesk.gui.timefmt import local
from dispatchdesk.sync.api import DeskCommands

Index = QModelIndex | QPersistentModelIndex
#: Loads the server's whole DIVERT history (``GET /api/v1/diverts?state=all``).
HistoryLoader = Callable[[], Awaitable[list[Divert]]]
#: Asks the operator for a file to write and calls back with it (not at all if cancelled).
PathChooser = Callable[[Callable[[str], None]], None]


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


class DivertFilter(Enum):
    """Which tags the list shows."""

    OPEN = "Open (not released or not reviewed)"
    NOT_REVIEWED = "Not reviewed"
    ALL = "All (history)"

    def accepts(self, divert: Divert) -> bool:
        if self is DivertFilter.OPEN:
            return divert.is_open
        if self is DivertFilter.NOT_REVIEWED:
            return divert.reviewed_at is None
        return True


#: A cell's sort key (times as timestamps, text casefolded).
SORT_ROLE = USER_ROLE
#: The row's :class:`Divert`.
DIVERT_ROLE = SORT_ROLE + 1
_NCOLS = len(DivertColumn)
_COL_AT = DivertColumn.AT.value
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
        when = "" if divert.released_at is None else local(
            divert.released_at, self._tz, "%d/%m %H:%M")
        return (f"Released {when} by {divert.released_by or 'the server'}: "
                f"{divert.released_reason or 'no reason recorded'}")

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
        if col == _COL_AT:
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
            if col == _COL_AT:
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


class DivertFilterProxy(QSortFilterProxyModel):
    """The chosen :class:`DivertFilter`, sorted by :data:`SORT_ROLE` (newest first at start)."""

    def __init__(self, model: DivertTableModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._filter = DivertFilter.OPEN
        self.setSourceModel(model)
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)
        self.sort(_COL_AT, Qt.SortOrder.DescendingOrder)

    @property
    def filter(self) -> DivertFilter:
        return self._filter

    def set_filter(self, which: DivertFilter) -> None:
        self.beginFilterChange()
        self._filter = which
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        return self._filter.accepts(self._model.divert_at(source_row))

    def divert_at(self, row: int) -> Divert:
        return self._model.divert_at(self.mapToSource(self.index(row, 0)).row())

    def shown(self) -> list[Divert]:
        """The tags shown, in the order shown."""
        return [self.divert_at(row) for row in range(self.rowCount())]


CSV_HEADER = (
    "Divert id", "From incident", "To incident", "Unit", "Diverted by", "Diverted at",
    "Reason", "Incident left", "Released at", "Released by", "Release reason", "Review",
    "Reviewed at", "Reviewed by", "Review note", "Kind",
)


def _moved(divert: Divert) -> str:
    """"LX30 diverted from CAD 1 to CAD 90" or "LX30 withdrawn from CAD 1 before arriving"."""
    if divert.kind is DivertKind.WITHDRAWN:
        return f"{divert.callsign} withdrawn from {divert.from_ref} before arriving"
    return f"{divert.callsign} diverted from {divert.from_ref} to {divert.to_text}"


def _iso(when: datetime | None) -> str:
    return "" if when is None else when.isoformat()


def _safe(text: str | None) -> str:
    """Free text as a spreadsheet will not run it: a leading = + - @ makes Excel read a formula
    (CSV injection), so such a cell gets a leading apostrophe."""
    text = text or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_row(model: DivertTableModel, divert: Divert) -> list[str]:
    return [
        str(divert.id), divert.from_ref, divert.to_text, divert.callsign, _safe(divert.by),
        _iso(divert.at), _safe(divert.reason), _safe(model.state_text(divert)),
        _iso(divert.released_at), _safe(divert.released_by), _safe(divert.released_reason),
        _safe(model.review_text(divert)), _iso(divert.reviewed_at), _safe(divert.reviewed_by),
        _safe(divert.review_note), divert.kind.value,
    ]


def write_csv(path: str, model: DivertTableModel, diverts: Iterable[Divert]) -> int:
    """Write ``diverts`` with a header row; returns the number of rows. Raises ``OSError``."""
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_HEADER)
        for divert in diverts:
            writer.writerow(csv_row(model, divert))
            count += 1
    return count


class _EscapeFilter(QObject):
    """Esc in the note field cancels the review. Claiming the key at ShortcutOverride keeps it
    from a dock's own Esc shortcut, which would otherwise make both ambiguous."""

    def __init__(self, cancel: Callable[[], None], parent: QObject) -> None:
        super().__init__(parent)
        self._cancel = cancel

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind not in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            return False
        if not isinstance(event, QKeyEvent) or event.key() != Qt.Key.Key_Escape:
            return False
        event.accept()  # at ShortcutOverride: "this key is mine", then it comes as a KeyPress
        if kind == QEvent.Type.KeyPress:
            self._cancel()
        return True


class DivertListView(QWidget):
    """The DIVERT tag list for a dock or window."""

    #: The operator asked to open an incident (the one the selected tag's unit left).
    open_incident = Signal(int)

    def __init__(
        self,
        commands: DeskCommands,
        role: Role,
        load_history: HistoryLoader | None = None,
        choose_path: PathChooser | None = None,
        tz: str = "Europe/London",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._commands = commands
        self._role = role
        self._load_history = load_history
        self._choose_path = choose_path or self._choose_path_dialog
        self._history_task: asyncio.Future[None] | None = None
        self._history_loaded = False
        self._reviewing: int | None = None
        self.file_dialog: QFileDialog | None = None
        self.model = DivertTableModel(tz, self)
        self.proxy = DivertFilterProxy(self.model, self)
        self._build()
        self._build_actions()
        self._connect()
        self._update_actions()

    # -- construction ----------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(self._build_bar())
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        layout.addWidget(self._build_table(), 1)
        layout.addWidget(self._build_review())

    def _build_bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        # No mnemonics (Alt+letter) here: they are window-wide and the docks beside this one
        # already use most letters; the actions' Ctrl keys are scoped to this view instead.
        label = QLabel("Show:")
        self.filter_combo = QComboBox()
        for which in DivertFilter:
            self.filter_combo.addItem(which.value, which)
        self.filter_combo.setAccessibleName("DIVERT tags shown")
        label.setBuddy(self.filter_combo)
        self.count_label = QLabel()
        self.review_button = QPushButton("Review…")
        self.export_button = QPushButton("Export CSV…")
        self.open_button = QPushButton("Open incident")
        self.export_button.setToolTip("Export the DIVERT tags shown to a CSV file (Ctrl+S)")
        for widget, stretch in ((label, 0), (self.filter_combo, 0), (self.count_label, 1),
                                (self.review_button, 0), (self.export_button, 0),
                                (self.open_button, 0)):
            bar.addWidget(widget, stretch)
        return bar

    def _build_table(self) -> QTableView:
        table = QTableView()
        table.setObjectName("divertTable")
        table.setModel(self.proxy)
        configure_table(
            table, sort_column=_COL_AT, sort_order=Qt.SortOrder.DescendingOrder,
            stretch_column=DivertColumn.REASON,
            column_widths=((0, 140), (1, 140), (2, 70), (3, 90), (4, 95), (6, 220), (7, 200),
                           (8, 90)),
        )
        table.setAccessibleName("DIVERT tag list")
        self.table = table
        return table

    def _build_review(self) -> QFrame:
        """Inline, non-modal: the note field and its buttons under the list."""
        box = QFrame()
        box.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(box)
        self.review_title = QLabel()
        self.review_title.setWordWrap(True)
        self.note = QLineEdit()
        self.note.setPlaceholderText("Review note, specific to this divert (required)")
        self.note.setAccessibleName("Review note")
        self.note.installEventFilter(_EscapeFilter(self.cancel_review, self.note))
        self.review_error = QLabel()
        self.review_error.setProperty("role", "error")
        self.review_error.setWordWrap(True)
        self.submit_button = QPushButton("Mark reviewed")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Cancel the review (Esc in the note)")
        buttons = QHBoxLayout()
        buttons.addWidget(self.note, 1)
        buttons.addWidget(self.submit_button)
        buttons.addWidget(self.cancel_button)
        layout.addWidget(self.review_title)
        layout.addLayout(buttons)
        layout.addWidget(self.review_error)
        box.hide()
        self.review_box = box
        return box

    def _build_actions(self) -> None:
        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        self.act_review = self._key_action("Review the selected DIVERT tag…", ["Ctrl+R"],
                                           self.start_review, context)
        self.act_export = self._key_action("Export the DIVERT tags shown as CSV…", ["Ctrl+S"],
                                           self.export_csv, context)
        self.act_open = self._key_action("Open the incident the unit left", ["Return", "Enter"],
                                         self.open_selected, Qt.ShortcutContext.WidgetShortcut)
        self.table.addAction(self.act_open)
        self.removeAction(self.act_open)

    def _key_action(
        self, text: str, keys: Sequence[str], slot: Callable[[], None],
        context: Qt.ShortcutContext,
    ) -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(context)
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        return action

    def _connect(self) -> None:
        self.filter_combo.activated.connect(self._filter_chosen)
        self.review_button.clicked.connect(self.start_review)
        self.export_button.clicked.connect(self.export_csv)
        self.open_button.clicked.connect(self.open_selected)
        self.submit_button.clicked.connect(self.submit_review)
        self.cancel_button.clicked.connect(self.cancel_review)
        self.note.returnPressed.connect(self.submit_review)
        self.table.doubleClicked.connect(lambda _index: self.open_selected())
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._update_actions())
        for signal in (self.proxy.rowsInserted, self.proxy.rowsRemoved,
                       self.proxy.dataChanged):
            signal.connect(lambda *_: self._update_actions())
        self.proxy.modelReset.connect(self._update_actions)
        self.proxy.layoutChanged.connect(lambda *_: self._update_actions())

    # -- feeding ---------------------------------------------------------------------------

    def set_incidents(self, incidents: Iterable[Incident]) -> None:
        self.model.set_incidents(incidents)

    def apply_changes(self, upserts: Sequence[Incident], removed: Sequence[int]) -> None:
        self.model.apply_changes(upserts, removed)

    def add_history(self, diverts: Iterable[Divert]) -> None:
        self.model.add_history(diverts)

    def set_timezone(self, tz: str) -> None:
        self.model.set_timezone(tz)

    # -- reading ---------------------------------------------------------------------------

    def selected(self) -> Divert | None:
        current = self.table.currentIndex()
        return self.proxy.divert_at(current.row()) if current.isValid() else None

    def select_divert(self, divert_id: int) -> bool:
        for row in range(self.proxy.rowCount()):
            if self.proxy.divert_at(row).id == divert_id:
                self.table.setCurrentIndex(self.proxy.index(row, 0))
                return True
        return False

    def shortcut_actions(self) -> list[QAction]:
        """The view's keyboard actions, for Help ▸ Shortcuts."""
        return [self.act_review, self.act_export, self.act_open]

    def focus_table(self) -> None:
        self.table.setFocus()
        if not self.table.currentIndex().isValid() and self.proxy.rowCount():
            self.table.setCurrentIndex(self.proxy.index(0, 0))

    # -- filter and history ----------------------------------------------------------------

    def set_filter(self, which: DivertFilter) -> None:
        """Show ``which``; choosing All loads the server's history once (again after a failure)."""
        self.filter_combo.setCurrentIndex(list(DivertFilter).index(which))
        self._filter_chosen(self.filter_combo.currentIndex())

    def _filter_chosen(self, index: int) -> None:
        which = list(DivertFilter)[index]
        self.proxy.set_filter(which)
        if which is DivertFilter.ALL:
            self._start_history()
        self._update_actions()

    @property
    def history_loading(self) -> bool:
        return self._history_task is not None and not self._history_task.done()

    def _start_history(self) -> None:
        if self._history_loaded or self.history_loading:
            return
        if self._load_history is None:
            self._say("This desk cannot load older DIVERT tags; showing those it holds.")
            return
        try:
            task = asyncio.ensure_future(self._fetch_history(self._load_history))
        except RuntimeError as exc:  # no asyncio loop at all: say so, do not crash
            self._say(f"Could not load the DIVERT history: {exc}", error=True)
            return
        self._history_task = task
        # An owner closed while loading: stop, rather than update deleted widgets.
        self.destroyed.connect(lambda *_: task.cancel())
        self._say("Loading history…")

    async def _fetch_history(self, loader: HistoryLoader) -> None:
        try:
            diverts = list(await loader())
        except Exception as exc:  # any failure is shown; the list keeps what it has
            self._say(f"Could not load the DIVERT history ({_reason(exc)}). Showing the tags "
                      "this desk holds; choose All (history) again to retry.", error=True)
            return
        self._history_loaded = True
        self.model.add_history(diverts)
        self._say(f"History loaded: {len(diverts):,} DIVERT tags from the server.")

    # -- actions ---------------------------------------------------------------------------

    def open_selected(self) -> None:
        divert = self.selected()
        if divert is not None:
            self.open_incident.emit(divert.from_incident_id)

    def review_refusal(self, divert: Divert | None) -> str | None:
        """Why Review… cannot be used now, or None when it can."""
        if not has_right(self._role, Right.REVIEW_DIVERTS):
            return f"Only supervisors review DIVERT tags (you are signed in as {self._role.label})."
        if divert is None:
            return "Select a DIVERT tag to review."
        if divert.reviewed_at is not None:
            when = local(divert.reviewed_at, self.model.tz, "%H:%M")
            return f"Already reviewed by {divert.reviewed_by or 'a reviewer'} at {when}."
        return None

    def start_review(self) -> None:
        divert = self.selected()
        refusal = self.review_refusal(divert)
        if refusal is not None or divert is None:
            self._say(refusal or "", error=True)
            return
        self._reviewing = divert.id
        self.review_title.setText(
            f"Review: {_moved(divert)} by {divert.by} — {divert.reason}")
        self.review_error.clear()
        self.note.clear()
        self.review_box.show()
        self.note.setFocus()

    def submit_review(self) -> None:
        divert = None if self._reviewing is None else self.model.divert(self._reviewing)
        if divert is None:
            self.cancel_review()
            return
        note = self.note.text().strip()
        if not note:
            self.review_error.setText("A review note is required: say what was checked.")
            self.note.setFocus()
            return
        self._commands.review_divert(divert, note)
        self._say(f"Review of {divert.callsign} from {divert.from_ref} sent; it shows as "
                  "reviewed once the server confirms it.")
        self._close_review()

    def cancel_review(self) -> None:
        self._close_review()

    def _close_review(self) -> None:
        self._reviewing = None
        self.note.clear()
        self.review_error.clear()
        self.review_box.hide()
        self.table.setFocus()

    def export_csv(self) -> None:
        """Ask for a file, then write the rows shown, in the order shown."""
        self._choose_path(self._write_csv)

    def _write_csv(self, path: str) -> None:
        if not path:
            return
        try:
            count = write_csv(path, self.model, self.proxy.shown())
        except OSError as exc:
            self._say(f"Could not export to {path}: {_reason(exc)}", error=True)
            return
        self._say(f"Exported {count:,} DIVERT tags to {path}.")

    def _choose_path_dialog(self, done: Callable[[str], None]) -> None:
        """A non-modal save dialog (``open()``, never ``exec()``), kept until it closes."""
        dialog = QFileDialog(self, "Export DIVERT tags", "divert-tags.csv",
                             "CSV files (*.csv);;All files (*)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("csv")
        dialog.fileSelected.connect(done)
        dialog.finished.connect(lambda _result: self._dialog_closed(dialog))
        self.file_dialog = dialog
        dialog.open()

    def _dialog_closed(self, dialog: QFileDialog) -> None:
        if self.file_dialog is dialog:
            self.file_dialog = None
        dialog.deleteLater()

    # -- state shown -----------------------------------------------------------------------

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setProperty("role", "error" if error else None)
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)

    def _update_actions(self) -> None:
        divert = self.selected()
        refusal = self.review_refusal(divert)
        # Ctrl+R stays live so a keyboard user hears why not; the button shows it greyed.
        self.review_button.setEnabled(refusal is None)
        self.review_button.setToolTip(refusal or "Mark the selected DIVERT tag reviewed, with "
                                      "a note (Ctrl+R)")
        self.open_button.setEnabled(divert is not None)
        self.open_button.setToolTip("Open the incident the unit left (Enter)" if divert else
                                    "Select a DIVERT tag first.")
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count_label.setText(f"{shown:,} of {total:,} DIVERT tags shown")


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__

