"""The units board: the fleet in a dock, filtered, sorted, and moved by keyboard or drag.

A filter bar (free text on callsign and type; type, borough and status combos) over a sortable
table whose default order is available units first, then by callsign. Row actions (arrive,
clear, set available / committed / off duty) have shortcuts that work anywhere in the board and
are enabled only for the statuses they fit. A role that cannot dispatch (no commands object)
sees the same board with every action disabled, and the board says why.

Clearing a unit that has not arrived (en route) asks for a reason inline, non-modal, and says
what it does: if it is the last unit on its incident, the incident is left with no unit and
stays owed (tagged WITHDRAWN on the DIVERT tag list, escalated if no unit goes), exactly like a
divert. A unit at scene is cleared at once.

Commands return at once; the result comes back through the feed, and meanwhile the model's
pending column says what is under way for the unit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import (
    QItemSelection,
    QModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dispatchdesk.domain.unit import Unit, UnitStatus
from dispatchdesk.gui.common.refusals import RefusalWatch
from dispatchdesk.gui.common.tables import configure_table
from dispatchdesk.gui.dispatch.units_model import UnitColumn, UnitsTableModel
from dispatchdesk.gui.dispatch.units_proxy import UnitsFilterProxy
from dispatchdesk.sync.api import DeskCommands

ALL_KINDS = "All types"

ALL_BOROUGHS = "All boroughs"

#: The status filter's choices: (text, statuses shown).
STATUS_CHOICES: tuple[tuple[str, frozenset[UnitStatus]], ...] = (
    ("All", frozenset(UnitStatus)),
    ("Available", frozenset({UnitStatus.AVAILABLE})),
    ("On incident", frozenset({UnitStatus.ASSIGNED, UnitStatus.AT_SCENE})),
    ("Committed", frozenset({UnitStatus.COMMITTED})),
    ("Off duty", frozenset({UnitStatus.OFF_DUTY})),
)

#: Text each column must fit (widths come from the font, so no cell is ever measured).
COLUMN_SAMPLES = {
    UnitColumn.CALLSIGN: "WWW999",
    UnitColumn.KIND: "Area car",
    UnitColumn.BOROUGH: "Hammersmith",
    UnitColumn.STATUS: "Committed",
    UnitColumn.TIME_IN_STATUS: "10 h 00",
    UnitColumn.INCIDENT: "CAD 9999/23NOV26",
}

_CELL_PADDING = 16

#: Why a read-only board cannot act (call handlers see units but do not dispatch them).
READ_ONLY_REASON = "Read only: your role can see units but not dispatch them (dispatchers can)."

_ON_INCIDENT = frozenset({UnitStatus.ASSIGNED, UnitStatus.AT_SCENE})


class UnitsBoard(QWidget):
    """The fleet for a dock: filter bar, sortable table, row actions."""

    #: Enter or double-click on a unit: its id.
    unit_activated = Signal(int)
    #: The current unit changed: its id, or -1 when none is current.
    current_unit_changed = Signal(int)

    def __init__(
        self,
        model: UnitsTableModel,
        commands: DeskCommands | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self._commands = commands
        self.proxy = UnitsFilterProxy(model, self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self._build_filter_bar())
        layout.addWidget(self._build_table(), 1)
        self.all_actions: list[QAction] = []
        layout.addWidget(self._build_actions())
        layout.addWidget(self._build_withdraw())
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setAccessibleName("Units board message")
        layout.addWidget(self.status_label)
        self._connect()
        self._refill_combos()
        self._update_actions()
        if commands is None:
            self.show_message(READ_ONLY_REASON)

    # -- construction ----------------------------------------------------------------------

    def _build_filter_bar(self) -> QWidget:
        bar = QWidget()
        layout = QHBoxLayout(bar)
        layout.setContentsMargins(4, 2, 4, 2)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Find callsign or type")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Find unit by callsign or type")
        self.kind_combo = QComboBox()
        self.kind_combo.setAccessibleName("Unit type filter")
        self.borough_combo = QComboBox()
        self.borough_combo.setAccessibleName("Unit borough filter")
        self.status_combo = QComboBox()
        for text, _statuses in STATUS_CHOICES:
            self.status_combo.addItem(text)
        self.status_combo.setAccessibleName("Unit status filter")
        self.count_label = QLabel()
        for widget, stretch in (
            (self.search, 1),
            (self.kind_combo, 0),
            (self.borough_combo, 0),
            (self.status_combo, 0),
            (self.count_label, 0),
        ):
            layout.addWidget(widget, stretch)
        return bar

    def _build_table(self) -> QTableView:
        table = QTableView()
        table.setObjectName("unitsTable")
        table.setModel(self.proxy)
        # The row height is fixed by size_columns (from the font).
        configure_table(
            table,
            sort_column=UnitColumn.STATUS,
            sort_order=Qt.SortOrder.AscendingOrder,
            stretch_column=UnitColumn.PENDING,
            alternating_rows=False,
        )
        # Drag a unit onto an incident in the queue (CopyAction: the unit stays here); a role
        # that cannot dispatch gets no drag to start with.
        mode = QAbstractItemView.DragDropMode
        table.setDragDropMode(mode.DragOnly if self._commands is not None else mode.NoDragDrop)
        table.setDefaultDropAction(Qt.DropAction.CopyAction)
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        table.setAccessibleName("Units")
        self.table = table
        self.size_columns()
        return table

    def size_columns(self) -> None:
        """Column widths from the font (call again after a theme or font change)."""
        self.table.ensurePolished()
        metrics = self.table.fontMetrics()
        for column, sample in COLUMN_SAMPLES.items():
            self.table.setColumnWidth(column, metrics.horizontalAdvance(sample) + _CELL_PADDING)
        vheader = self.table.verticalHeader()
        vheader.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vheader.setDefaultSectionSize(metrics.height() + 8)

    def _build_actions(self) -> QWidget:
        bar = QWidget()
        layout = QHBoxLayout(bar)
        layout.setContentsMargins(4, 0, 4, 0)
        self._applies: dict[QAction, frozenset[UnitStatus]] = {}
        self.act_open = self._action(
            "&Open unit",
            ["Return", "Enter"],
            self._activate_current,
            context=Qt.ShortcutContext.WidgetShortcut,
        )
        self.table.addAction(self.act_open)
        row = self._row_action
        self.act_arrive = row(
            layout, "A&rrived at scene", "Ctrl+Shift+R", {UnitStatus.ASSIGNED}, self.arrive
        )
        self.act_clear = row(
            layout, "C&lear from incident", "Ctrl+Shift+L", _ON_INCIDENT, self.clear
        )
        self.act_available = row(
            layout,
            "Set A&vailable",
            "Ctrl+Shift+V",
            {UnitStatus.COMMITTED, UnitStatus.OFF_DUTY},
            lambda: self.set_status(UnitStatus.AVAILABLE),
        )
        self.act_committed = row(
            layout,
            "Set Co&mmitted",
            "Ctrl+Shift+M",
            {UnitStatus.AVAILABLE, UnitStatus.OFF_DUTY},
            lambda: self.set_status(UnitStatus.COMMITTED),
        )
        self.act_off_duty = row(
            layout,
            "Set &Off duty",
            "Ctrl+Shift+O",
            {UnitStatus.AVAILABLE, UnitStatus.COMMITTED},
            lambda: self.set_status(UnitStatus.OFF_DUTY),
        )
        layout.addStretch(1)
        return bar

    def _build_withdraw(self) -> QWidget:
        """The reason asked for when a unit that has not arrived is cleared (hidden)."""
        #: The unit waiting for a reason to be cleared, if any.
        self._withdrawing: int | None = None
        #: Clears sent with a reason: a refusal asks for the reason again, with the one sent.
        self.refusals = RefusalWatch()
        self.withdraw_box = QWidget()
        box = QVBoxLayout(self.withdraw_box)
        box.setContentsMargins(4, 0, 4, 0)
        self.withdraw_text = QLabel()
        self.withdraw_text.setWordWrap(True)
        self.withdraw_text.setProperty("role", "error")
        row = QHBoxLayout()
        label = QLabel("Reason for &clearing")
        self.withdraw_reason = QLineEdit()
        self.withdraw_reason.setPlaceholderText(
            "Why is this unit stood down before arriving? (required)"
        )
        self.withdraw_reason.setAccessibleName("Reason for clearing the unit")
        label.setBuddy(self.withdraw_reason)
        self.withdraw_button = QPushButton("Clear unit")
        self.withdraw_button.setAutoDefault(False)
        self.withdraw_cancel = QPushButton("Cancel")
        self.withdraw_cancel.setAutoDefault(False)
        for widget, stretch in (
            (label, 0),
            (self.withdraw_reason, 1),
            (self.withdraw_button, 0),
            (self.withdraw_cancel, 0),
        ):
            row.addWidget(widget, stretch)
        box.addWidget(self.withdraw_text)
        box.addLayout(row)
        self.withdraw_reason.returnPressed.connect(self.send_withdraw)
        self.withdraw_button.clicked.connect(self.send_withdraw)
        self.withdraw_cancel.clicked.connect(self.cancel_withdraw)
        self.withdraw_box.hide()
        return self.withdraw_box

    def _row_action(
        self,
        layout: QHBoxLayout,
        text: str,
        keys: str,
        statuses: Iterable[UnitStatus],
        slot: Callable[[], None],
    ) -> QAction:
        """An action on the current unit, for the statuses it fits: a button and a shortcut."""
        action = self._action(text, [keys], slot)
        self._applies[action] = frozenset(statuses)
        self.table.addAction(action)  # the table's context menu
        button = QToolButton()
        button.setDefaultAction(action)
        layout.addWidget(button)
        return action

    def _action(
        self,
        text: str,
        keys: list[str],
        slot: Callable[[], None],
        context: Qt.ShortcutContext = Qt.ShortcutContext.WidgetWithChildrenShortcut,
    ) -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(k) for k in keys])
        # Only while focus is in the board: the queue keeps its own keys.
        action.setShortcutContext(context)
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        self.all_actions.append(action)
        return action

    def _connect(self) -> None:
        self.search.textChanged.connect(self.proxy.set_search)
        self.kind_combo.currentIndexChanged.connect(self._kind_chosen)
        self.borough_combo.currentIndexChanged.connect(self._borough_chosen)
        self.status_combo.currentIndexChanged.connect(self._status_chosen)
        self.table.doubleClicked.connect(lambda _index: self._activate_current())
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        for signal in (self.model.modelReset, self.model.rowsInserted, self.model.rowsRemoved):
            signal.connect(self._fleet_changed)
        self.model.dataChanged.connect(self._data_changed)
        for signal in (
            self.proxy.modelReset,
            self.proxy.rowsInserted,
            self.proxy.rowsRemoved,
            self.proxy.layoutChanged,
        ):
            signal.connect(self._update_count)

    # -- filters ---------------------------------------------------------------------------

    def _kind_chosen(self) -> None:
        self.proxy.set_kind(self.kind_combo.currentData())

    def _borough_chosen(self) -> None:
        self.proxy.set_borough(self.borough_combo.currentData())

    def _status_chosen(self, index: int) -> None:
        self.proxy.set_statuses(STATUS_CHOICES[max(0, index)][1])

    def set_status_filter(self, text: str) -> None:
        """Choose a status filter by its text ("All", "Available", "On incident", ...)."""
        self.status_combo.setCurrentIndex(self.status_combo.findText(text))

    def _refill_combos(self) -> None:
        units = self.model.units()
        _refill(self.kind_combo, ALL_KINDS, {u.kind for u in units})
        _refill(self.borough_combo, ALL_BOROUGHS, {u.borough for u in units})

    def _fleet_changed(self) -> None:
        self._refill_combos()
        self._update_actions()

    def _data_changed(self, top_left: QModelIndex, bottom_right: QModelIndex) -> None:
        # Time-in-status ticks come through here too: only a change of the unit itself can
        # bring a new type or borough, or change which actions apply.
        if top_left.column() <= UnitColumn.STATUS <= bottom_right.column():
            self._refill_combos()
            self._update_actions()

    def _update_count(self) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count_label.setText(f"{shown} units" if shown == total else f"{shown} of {total}")

    # -- current unit ----------------------------------------------------------------------

    def current_unit(self) -> Unit | None:
        index = self.table.currentIndex()
        if not index.isValid() or not self.table.selectionModel().isRowSelected(index.row()):
            return None
        return self.proxy.unit_at(index.row())

    def select_unit(self, unit_id: int) -> bool:
        """Make ``unit_id`` the current row (False when it is filtered out or unknown)."""
        row = self.proxy.proxy_row_of(unit_id)
        if row is None:
            return False
        self.table.selectRow(row)
        self.table.setCurrentIndex(self.proxy.index(row, 0))
        return True

    def _selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self._update_actions()
        unit = self.current_unit()
        if self._withdrawing is not None and (unit is None or unit.id != self._withdrawing):
            self.cancel_withdraw()  # the reason asked for another unit no longer fits
        self.current_unit_changed.emit(-1 if unit is None else unit.id)

    def _activate_current(self) -> None:
        unit = self.current_unit()
        if unit is not None:
            self.unit_activated.emit(unit.id)

    def _update_actions(self) -> None:
        unit = self.current_unit()
        for action, statuses in self._applies.items():
            action.setEnabled(
                self._commands is not None and unit is not None and unit.status in statuses
            )
            action.setToolTip(self._why(action, unit, statuses))

    def _why(self, action: QAction, unit: Unit | None, statuses: frozenset[UnitStatus]) -> str:
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        name = f"{action.text().replace('&', '')} ({keys})"
        if self._commands is None:
            return f"{name}: {READ_ONLY_REASON}"
        if unit is None:
            return f"{name}: select a unit first."
        if unit.status not in statuses:
            allowed = " or ".join(sorted(s.label for s in statuses))
            return f"{name}: {unit.callsign} is {unit.status.label}; needs {allowed}."
        return name

    # -- actions ---------------------------------------------------------------------------

    def arrive(self) -> None:
        self._act(self.act_arrive, "Arrived at scene", lambda c, u: c.arrive_unit(u))

    def clear(self) -> None:
        """Clear the current unit; one that has not arrived is cleared with a reason."""
        unit = self.current_unit()
        if (
            self._commands is not None
            and unit is not None
            and unit.status is UnitStatus.ASSIGNED
            and unit.incident_id is not None
        ):
            self._ask_withdraw(unit)
            return
        self._act(self.act_clear, "Clear", lambda c, u: c.clear_unit(u))

    def withdraw_warning(self, unit: Unit) -> str:
        """What clearing ``unit`` (en route) does to its incident, in words."""
        incident_id = unit.incident_id if unit.incident_id is not None else -1
        ref = self.model.incident_ref(incident_id)
        others = [
            u.callsign
            for u in self.model.units()
            if u.incident_id == incident_id and u.id != unit.id
        ]
        if others:
            return (
                f"{unit.callsign} has not arrived at {ref}. {', '.join(others)} "
                f"{'is' if len(others) == 1 else 'are'} still on it, so {ref} is not owed: "
                f"say why {unit.callsign} is stood down."
            )
        return (
            f"{unit.callsign} has not arrived at {ref} and is the only unit on it. Clearing "
            f"it withdraws it: {ref} is left with no unit and stays OWED — at the top of "
            "the queue, on the DIVERT tag list as WITHDRAWN, escalated to supervisors if no "
            "unit is sent — until another unit arrives. Say why it is withdrawn."
        )

    def _ask_withdraw(self, unit: Unit) -> None:
        self._withdrawing = unit.id
        self.withdraw_text.setText(self.withdraw_warning(unit))
        self.withdraw_text.setAccessibleDescription(self.withdraw_text.text())
        self.withdraw_box.show()
        self.show_message(
            f"{unit.callsign} has not arrived: give a reason to clear it, then "
            "Enter. Nothing is sent until then."
        )
        self.withdraw_reason.setFocus()

    def send_withdraw(self) -> None:
        """Enter on the reason: clear the unit with it, if one was given."""
        if self._withdrawing is None or self._commands is None:
            return
        unit = self.model.unit(self._withdrawing)
        reason = self.withdraw_reason.text().strip()
        if unit is None or not unit.status.on_incident:
            self.cancel_withdraw()
            self.show_message("That unit is no longer on an incident: nothing was sent.")
            return
        if not reason:
            self.show_message(
                f"Clearing {unit.callsign} before it arrives needs a reason: say "
                "why it is stood down. Nothing was sent."
            )
            self.withdraw_reason.setFocus()
            return
        # The unit may have arrived meanwhile: then it is a plain clear (the reason is kept).
        owed = unit.status is UnitStatus.ASSIGNED and not any(
            u.incident_id == unit.incident_id and u.id != unit.id for u in self.model.units()
        )
        ref = self.model.incident_ref(unit.incident_id if unit.incident_id is not None else -1)
        command_id = self._commands.clear_unit(unit, reason)

        def refused(message: str) -> None:
            again = self.model.unit(unit.id)
            if (
                again is not None
                and again.status is UnitStatus.ASSIGNED
                and self.select_unit(unit.id)
            ):
                self._ask_withdraw(again)
                self.withdraw_reason.setText(reason)
            self.show_message(f"Clear {unit.callsign}: {message}")

        self.refusals.watch(command_id, refused)
        self.cancel_withdraw()
        tail = f" {ref} stays owed until another unit arrives." if owed else ""
        self.show_message(
            f"Clear: {unit.callsign} — sent with the reason, pending until the "
            f"server confirms.{tail}"
        )
        self.table.setFocus()

    def cancel_withdraw(self) -> None:
        self._withdrawing = None
        self.withdraw_reason.clear()
        self.withdraw_box.hide()

    def set_status(self, status: UnitStatus) -> None:
        action = {
            UnitStatus.AVAILABLE: self.act_available,
            UnitStatus.COMMITTED: self.act_committed,
            UnitStatus.OFF_DUTY: self.act_off_duty,
        }[status]
        self._act(action, f"Set {status.label}", lambda c, u: c.set_unit_status(u, status))

    def _act(self, action: QAction, what: str, send: Callable[[DeskCommands, Unit], str]) -> None:
        unit = self.current_unit()
        if self._commands is None:
            self.show_message(READ_ONLY_REASON)
            return
        if unit is None:
            self.show_message("Select a unit first.")
            return
        if unit.status not in self._applies[action]:
            self.show_message(self._why(action, unit, self._applies[action]))
            return
        send(self._commands, unit)
        self.show_message(f"{what}: {unit.callsign} — sent, pending until the server confirms.")

    def show_message(self, text: str) -> None:
        self.status_label.setText(text)
        self.status_label.setAccessibleDescription(text)

    # -- keyboard entry points -------------------------------------------------------------

    def focus_table(self) -> None:
        """Focus the table, on its current row or the first one."""
        self.table.setFocus()
        if not self.table.currentIndex().isValid() and self.proxy.rowCount():
            self.table.selectRow(0)

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()


def _refill(combo: QComboBox, all_text: str, values: set[str]) -> None:
    """Refill a filter combo with ``values``, keeping the choice (the "all" item keeps None)."""
    wanted = sorted((v for v in values if v), key=str.casefold)
    current = combo.currentData()
    present = [combo.itemData(i) for i in range(1, combo.count())]
    if combo.count() and present == wanted:
        return
    combo.blockSignals(True)
    combo.clear()
    combo.addItem(all_text, None)
    for value in wanted:
        combo.addItem(value, value)
    if current is not None and current not in wanted:
        # Keep a chosen value even when no unit has it now: the filter stays what was chosen.
        combo.addItem(current, current)
    combo.setCurrentIndex(max(0, combo.findData(current)) if current is not None else 0)
    combo.blockSignals(False)
