"""The tasks for the attending officers, in the incident panel: one line each (what, its
state, who recorded it when and what they said), and for those who may record them an inline
text with one key per action: Ctrl+Enter records the selected task done with the text as what
was found, Ctrl+Shift+Enter records it not done with the text as why (checked here like a
rationale first; the server decides). A line above says when open tasks are overdue, by the
policy's time from the call, computed on the tick from the injected clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, cast

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from dispatchdesk.domain.incident import Incident
from dispatchdesk.domain.rationale import rationale_problem
from dispatchdesk.domain.tasks import Task, TaskPolicy, TaskState, open_tasks, tasks_overdue
from dispatchdesk.gui.common.tables import (
    ACCESSIBLE_ROLE,
    DISPLAY_ROLE,
    TOOLTIP_ROLE,
    USER_ROLE,
    Index,
    RowsTableModel,
)
from dispatchdesk.gui.common.timefmt import local
from dispatchdesk.sync.api import DeskCommands

DONE_KEYS = ("Ctrl+Return", "Ctrl+Enter")
NOT_DONE_KEYS = ("Ctrl+Shift+Return", "Ctrl+Shift+Enter")
#: The row's :class:`Task`.
TASK_ROLE = USER_ROLE + 1


class InlineMessage(Protocol):
    """The panel's inline message beside a field."""

    def show_error(self, text: str) -> None: ...

    def show_note(self, text: str) -> None: ...

    def clear_message(self) -> None: ...


#: ``watch(command_id, message, note, on_confirmed)``: the panel follows a command in the
#: message until the feed confirms it (then ``on_confirmed``) or the server refuses it.
Watch = Callable[[str, Any, str, Callable[[], None] | None], None]


def recorded_text(task: Task, tz: str) -> str:
    """``done by dan at 14:02: Rang the informant…``; ``—`` while open."""
    if task.state is TaskState.OPEN or task.at is None:
        return "—"
    said = task.outcome if task.state is TaskState.DONE else task.reason
    return f"{task.state.label} by {task.by} at {local(task.at, tz, '%H:%M')}: {said or ''}"


class TasksModel(RowsTableModel):
    """The incident's tasks, in the server's order (oldest first): what (with, once
    recorded, a second line saying by whom, when and what they said) and its state."""

    headers = ("Task", "State")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Task] = []
        self._tz = "Europe/London"

    def set_tasks(self, tasks: Sequence[Task], tz: str) -> None:
        self.beginResetModel()
        self._rows = list(tasks)
        self._tz = tz
        self.endResetModel()

    def task(self, row: int) -> Task | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, task_id: int) -> int | None:
        return next((n for n, t in enumerate(self._rows) if t.id == task_id), None)

    def data(self, index: Index, role: int = DISPLAY_ROLE) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        task = self._rows[index.row()]
        role = int(role)
        if role == TASK_ROLE:
            return task
        if role not in (DISPLAY_ROLE, TOOLTIP_ROLE, ACCESSIBLE_ROLE):
            return None
        if index.column() == 1:
            return task.state.label
        if task.state is TaskState.OPEN:
            return task.title
        return f"{task.title}\n{recorded_text(task, self._tz)}"


class TasksBox(QGroupBox):
    """Tasks of the shown incident, and (for those who may close it) how to record them."""

    def __init__(
        self,
        commands: DeskCommands,
        can_record: bool,
        message: QLabel,
        watch: Watch,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Tas&ks for the attending officers", parent)
        self._commands = commands
        self._can_record = can_record
        self._watch = watch
        self._incident: Incident | None = None
        #: The inline message under the tasks (the panel's kind, following a command).
        self.message: InlineMessage = cast(InlineMessage, message)
        self.overdue = QLabel()
        self.overdue.setObjectName("tasksOverdue")
        self.overdue.setWordWrap(True)
        self.overdue.setProperty("role", "error")
        self.overdue.hide()
        self.model = TasksModel(self)
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        # A narrow dock (1366-wide screens): the text wraps, each row as tall as it needs
        # (a handful of rows, measured when they change, never per tick).
        self.view.setWordWrap(True)
        self.view.verticalHeader().hide()
        self.view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        header.sectionResized.connect(lambda *_: self._fit_rows())
        self.view.setColumnWidth(1, 70)
        self.text = QLineEdit()
        self.text.setPlaceholderText("What was found, or why it was not done")
        self.text.setAccessibleName("Outcome or reason for the selected task")
        self.keys_hint = QLabel("Ctrl+Enter: done · Ctrl+Shift+Enter: not done")
        self.keys_hint.setWordWrap(True)
        self.done_button = QPushButton("Done")
        self.done_button.setToolTip("Record the selected task done, with what was found.")
        self.not_done_button = QPushButton("Not done")
        self.not_done_button.setToolTip("Record the selected task not done, with why.")
        for button in (self.done_button, self.not_done_button):
            button.setAutoDefault(False)
        self.done_button.clicked.connect(lambda: self.record(done=True))
        self.not_done_button.clicked.connect(lambda: self.record(done=False))
        #: The keys, as actions (Help ▸ Keyboard shortcuts lists them; hidden, and so off,
        #: for those who may not record).
        self.done_action = QAction("Record the selected task done (incident panel)", self)
        self.not_done_action = QAction("Record the selected task not done (incident panel)", self)
        for action, keys, done in (
            (self.done_action, DONE_KEYS, True),
            (self.not_done_action, NOT_DONE_KEYS, False),
        ):
            action.setShortcuts([QKeySequence(key) for key in keys])
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(lambda _=False, d=done: self.record(done=d))
            action.setVisible(can_record)
            self.addAction(action)
        layout = QVBoxLayout(self)
        layout.addWidget(self.overdue)
        layout.addWidget(self.view)
        self.entry = QWidget()
        entry = QVBoxLayout(self.entry)
        entry.setContentsMargins(0, 0, 0, 0)
        entry.addWidget(self.text)
        entry.addWidget(self.keys_hint)
        buttons = QHBoxLayout()
        buttons.addWidget(self.done_button)
        buttons.addWidget(self.not_done_button)
        entry.addLayout(buttons)
        layout.addWidget(self.entry)
        layout.addWidget(message)
        self.entry.setVisible(can_record)

    def shortcut_actions(self) -> list[QAction]:
        """Done and not done, for Help ▸ Keyboard shortcuts (hidden from those who may not)."""
        return [self.done_action, self.not_done_action]

    # -- what is shown ---------------------------------------------------------------------

    def show_incident(self, incident: Incident | None, tz: str) -> None:
        """The incident's tasks (hidden when it has none); the selected task is kept (unless it
        was just recorded), else the first open one is selected."""
        keep = self.selected_task()
        same = incident is not None and self._incident is not None
        same = same and incident.id == self._incident.id  # type: ignore[union-attr]
        self._incident = incident
        tasks = incident.tasks if incident is not None else ()
        self.setVisible(bool(tasks))
        self.model.set_tasks(tasks, tz)
        self._fit_rows()
        row = self.model.row_of(keep.id) if same and keep is not None else None
        if row is not None and keep is not None and tasks[row].state is not keep.state:
            row = None  # just recorded: on to the next open task
        if row is None:
            row = next((n for n, t in enumerate(tasks) if t.state is TaskState.OPEN), 0)
        if tasks:
            self.view.selectRow(row)
        can = incident is not None and incident.is_open and bool(open_tasks(tasks))
        self.entry.setEnabled(can)

    def _fit_rows(self) -> None:
        """Rows as tall as their wrapped text, the view as tall as its rows (no scrolling)."""
        self.view.resizeRowsToContents()
        rows = sum(self.view.rowHeight(r) for r in range(self.model.rowCount()))
        self.view.setFixedHeight(self.view.horizontalHeader().sizeHint().height() + rows + 4)

    def refresh(self, now: datetime, policy: TaskPolicy) -> None:
        """Per tick: whether the open tasks are overdue (the policy's time since the call)."""
        incident = self._incident
        late = (
            incident is not None
            and incident.is_open
            and tasks_overdue(incident.tasks, incident.created_at, now, policy)
        )
        if late and incident is not None:
            n = len(open_tasks(incident.tasks))
            hours = policy.overdue_after.total_seconds() / 3600
            text = (
                f"⚠ Overdue: {n} task{'s' if n != 1 else ''} still open more than {hours:g} h "
                "after the call."
            )
            if self.overdue.text() != text:
                self.overdue.setText(text)
                self.overdue.setAccessibleDescription(text)
        self.overdue.setVisible(late)

    def selected_task(self) -> Task | None:
        rows = self.view.selectionModel().selectedRows() if self.view.selectionModel() else []
        return self.model.task(rows[0].row()) if rows else None

    def select_task(self, task_id: int) -> None:
        row = self.model.row_of(task_id)
        if row is not None:
            self.view.selectRow(row)

    # -- recording -------------------------------------------------------------------------

    def record(self, *, done: bool) -> None:
        """Record the selected task done (the text: what was found) or not done (the text:
        why), after the checks the server would make first."""
        incident, task = self._incident, self.selected_task()
        if not self._can_record or incident is None or not self.entry.isEnabled():
            return
        if task is None:
            self.message.show_error("Select the task to record first.")
            self.view.setFocus()
            return
        if task.state is not TaskState.OPEN:
            self.message.show_error(f"“{task.title}” is already recorded {task.state.label}.")
            return
        text = self.text.text().strip()
        problem = _problem(text, done)
        if problem is not None:
            self.message.show_error(problem)
            self.text.setFocus()
            return
        if done:
            command_id = self._commands.task_done(incident, task, text)
        else:
            command_id = self._commands.task_not_done(incident, task, text)
        state = "done" if done else "not done"
        self._watch(
            command_id,
            self.message,
            f"“{task.title}” {state}: queued; pending until the server confirms.",
            self.text.clear,
        )


def _problem(text: str, done: bool) -> str | None:
    if done:
        if not text:
            return "Say what was found: type it in the box, then Ctrl+Enter."
        return None
    return rationale_problem(text, what="reason the task was not done")
