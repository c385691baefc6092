"""Downgrade requests waiting for a supervisor: a dock of the queue window for supervisors (a
table, oldest request first, and Enter or Open to take one to the incident panel, where the
supervisor approves or rejects it with a note), and the count the delay strip shows.

:class:`PendingDowngradesModel` holds the open incidents carrying a ``pending_downgrade``
(from the relay's incidents, in memory); :class:`DowngradeRequests` builds the dock and says
how many wait (:attr:`DowngradeRequests.count_changed`). Other roles get neither: their
requests show in the incident panel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from dispatchdesk.domain.incident import Incident
from dispatchdesk.domain.roles import Right, Role, has_right
from dispatchdesk.gui.common.tables import (
    ACCESSIBLE_ROLE,
    DISPLAY_ROLE,
    TOOLTIP_ROLE,
    USER_ROLE,
    RowsTableModel,
    configure_table,
)
from dispatchdesk.gui.common.timefmt import local

Index = QModelIndex | QPersistentModelIndex

#: The dock's title (its tab among the bottom docks).
DOCK_TITLE = "Downgrade requests"
#: The row's incident id.
INCIDENT_ID_ROLE = USER_ROLE + 1


class DowngradeColumn(IntEnum):
    INCIDENT = 0
    GRADE = 1
    BY = 2
    AT = 3
    REASON = 4


HEADERS = ("Incident", "Grade", "Requested by", "At", "Reason")


def waiting(incident: Incident) -> bool:
    return incident.is_open and incident.pending_downgrade is not None


def header_text(count: int) -> str:
    if not count:
        return "No downgrade requests waiting."
    noun = "request waits" if count == 1 else "requests wait"
    return (
        f"{count} downgrade {noun} for a supervisor: open one (Enter) and approve or reject "
        "it with a note. The countdown stays on the current grade until then."
    )


class PendingDowngradesModel(RowsTableModel):
    """Open incidents with a downgrade request waiting, oldest request first."""

    headers = HEADERS

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Incident] = []
        self._all: dict[int, Incident] = {}
        self.tz = "Europe/London"

    def set_incidents(self, incidents: Iterable[Incident]) -> None:
        self._all = {i.id: i for i in incidents if waiting(i)}
        self._show()

    def apply_changes(self, upserts: Iterable[Incident], removed: Iterable[int]) -> None:
        for incident_id in removed:
            self._all.pop(incident_id, None)
        for incident in upserts:
            if waiting(incident):
                self._all[incident.id] = incident
            else:
                self._all.pop(incident.id, None)
        self._show()

    def _show(self) -> None:
        rows = sorted(self._all.values(), key=_request_at)
        if [i.id for i in rows] == [i.id for i in self._rows]:
            self._rows = rows
            if rows:
                last = self.index(len(rows) - 1, len(HEADERS) - 1)
                self.dataChanged.emit(self.index(0, 0), last)
            return
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    def incident(self, row: int) -> Incident | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def data(self, index: Index, role: int = DISPLAY_ROLE) -> Any:
        if not index.isValid() or index.parent().isValid():
            return None
        incident = self.incident(index.row())
        if incident is None or incident.pending_downgrade is None:
            return None
        role = int(role)
        if role == INCIDENT_ID_ROLE:
            return incident.id
        if role in (DISPLAY_ROLE, TOOLTIP_ROLE, ACCESSIBLE_ROLE):
            return self._text(incident, index.column(), role)
        return None

    def _text(self, incident: Incident, column: int, role: int) -> str | None:
        pending = incident.pending_downgrade
        assert pending is not None
        texts = {
            DowngradeColumn.INCIDENT: incident.ref,
            DowngradeColumn.GRADE: f"{incident.grade.value} → {pending.to.value}",
            DowngradeColumn.BY: pending.by,
            DowngradeColumn.AT: local(pending.at, self.tz, "%H:%M"),
            DowngradeColumn.REASON: pending.reason,
        }
        text = texts.get(DowngradeColumn(column)) if 0 <= column < len(HEADERS) else None
        if text is None or role == DISPLAY_ROLE:
            return text
        if role == TOOLTIP_ROLE and column != DowngradeColumn.REASON:
            return None
        return (
            f"{incident.ref}: downgrade from {incident.grade.value} to {pending.to.value} "
            f"requested by {pending.by} at {local(pending.at, self.tz, '%H:%M')}: {pending.reason}"
        )


def _request_at(incident: Incident) -> Any:
    pending = incident.pending_downgrade
    return (pending.at if pending is not None else incident.created_at, incident.id)


class _Table(QTableView):
    """Enter opens the selected request's incident."""

    activated_row = Signal(int)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.activated_row.emit(self.currentIndex().row())
            return
        super().keyPressEvent(event)


class PendingDowngradesView(QWidget):
    """The list: a header in words, the table, and Open."""

    open_incident = Signal(int)

    def __init__(self, model: PendingDowngradesModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.table = _Table()
        self.table.setModel(model)
        self.table.setAccessibleName("Downgrade requests waiting")
        configure_table(
            self.table,
            sort_column=DowngradeColumn.AT,
            sort_order=Qt.SortOrder.AscendingOrder,
            stretch_column=DowngradeColumn.REASON,
            column_widths=((0, 150), (1, 70), (2, 110), (3, 60)),
        )
        self.table.setSortingEnabled(False)  # the model's order: oldest request first
        self.open_button = QPushButton("&Open incident")
        self.open_button.setToolTip("Open the selected request's incident to decide it (Enter)")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.open_button.clicked.connect(self.open_selected)
        self.table.activated_row.connect(self._open_row)
        self.table.doubleClicked.connect(lambda index: self._open_row(index.row()))
        for signal in (model.modelReset, model.dataChanged):
            signal.connect(self._refresh)
        self._refresh()

    def _refresh(self, *_args: object) -> None:
        count = self.model.rowCount()
        self.header.setText(header_text(count))
        self.header.setAccessibleName(self.header.text())
        self.open_button.setEnabled(count > 0)

    def open_selected(self) -> None:
        index = self.table.currentIndex()
        self._open_row(index.row() if index.isValid() else 0)

    def _open_row(self, row: int) -> None:
        incident = self.model.incident(row)
        if incident is not None:
            self.open_incident.emit(incident.id)

    def focus_table(self) -> None:
        self.table.setFocus()
        if not self.table.currentIndex().isValid() and self.model.rowCount():
            self.table.selectRow(0)


class DowngradeRequests(QObject):
    """For supervisors: the dock of requests waiting, and their count."""

    #: How many requests wait (for the delay strip).
    count_changed = Signal(int)
    open_incident = Signal(int)

    def __init__(
        self,
        role: Role,
        add_dock: Callable[[str, str, QWidget], QDockWidget],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = PendingDowngradesModel(self)
        self.view: PendingDowngradesView | None = None
        self.dock: QDockWidget | None = None
        self._count = 0
        if has_right(role, Right.DECIDE_DOWNGRADES):
            self.view = PendingDowngradesView(self.model)
            self.view.open_incident.connect(self.open_incident)
            self.dock = add_dock(DOCK_TITLE, "downgradesDock", self.view)

    def set_timezone(self, tz: str) -> None:
        self.model.tz = tz

    def set_incidents(self, incidents: Sequence[Incident]) -> None:
        self.model.set_incidents(incidents)
        self._counted()

    def apply_changes(self, upserts: Sequence[Incident], removed: Sequence[int]) -> None:
        self.model.apply_changes(upserts, removed)
        self._counted()

    @property
    def count(self) -> int:
        return self._count

    def _counted(self) -> None:
        count = self.model.rowCount()
        if self.dock is not None:
            self.dock.setWindowTitle(f"{DOCK_TITLE} ({count})" if count else DOCK_TITLE)
        if count != self._count:
            self._count = count
            self.count_changed.emit(count)

    def show(self) -> None:
        """Bring the list forward and put the keyboard on it."""
        if self.dock is None or self.view is None:
            return
        self.dock.show()
        self.dock.raise_()
        self.view.focus_table()
