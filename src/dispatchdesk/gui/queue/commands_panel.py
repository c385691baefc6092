"""Commands not yet confirmed by the server: queued, sent, failed (with the server's reason)
and held (older than the maximum age, not replayed without the operator's say-so).

Failed ones offer Retry / Discard; held ones ask the operator to Send or Discard. Both call
:class:`~dispatchdesk.sync.api.DeskCommands`.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dispatchdesk.domain.commands import CommandState, PendingCommand
from dispatchdesk.sync.api import DeskCommands

_STATE_WORDS = {
    CommandState.QUEUED: "Waiting to send",
    CommandState.SENT: "Sent, awaiting confirmation",
    CommandState.FAILED: "FAILED",
    CommandState.HELD: "HELD — not sent",
}

HEADERS = ("State", "Issued", "Command", "Message", "Action")


class CommandsPanel(QWidget):
    """The outbox as the operator sees it."""

    #: Number of failed + held commands (the operator must act on these).
    attention_changed = Signal(int)

    def __init__(self, commands: DeskCommands, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._commands = commands
        self._shown: list[PendingCommand] = []
        self.summary = QLabel("No commands waiting.")
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        # The command and the server's message share what the state, time and buttons leave:
        # the panel is read without scrolling sideways (whole texts in the tooltips).
        header = self.table.horizontalHeader()
        for col in (2, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Stretch)
        for col, width in ((0, 190), (1, 80), (4, 180)):
            self.table.setColumnWidth(col, width)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.summary)
        layout.addWidget(self.table)
        self.retry_action = self._key_action(
            "Retry / send the selected command", "Ctrl+R", self.retry_selected
        )
        self.discard_action = self._key_action(
            "Discard the selected command", "Delete", self.discard_selected
        )

    def _key_action(self, text: str, keys: str, slot: object) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(keys))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def selected(self) -> PendingCommand | None:
        row = self.table.currentRow()
        return self._shown[row] if 0 <= row < len(self._shown) else None

    def retry_selected(self) -> None:
        command = self.selected()
        if command is not None and command.state in (CommandState.FAILED, CommandState.HELD):
            self._commands.retry(command.id)

    def discard_selected(self) -> None:
        command = self.selected()
        if command is not None and command.state in (CommandState.FAILED, CommandState.HELD):
            self._commands.discard(command.id)

    @property
    def shown(self) -> list[PendingCommand]:
        return list(self._shown)

    def set_commands(self, commands: Sequence[PendingCommand]) -> None:
        self._shown = list(commands)
        self.table.setRowCount(len(self._shown))
        for row, command in enumerate(self._shown):
            self._fill_row(row, command)
        attention = sum(c.state in (CommandState.FAILED, CommandState.HELD) for c in commands)
        self.summary.setText(_summary(len(commands), attention))
        self.attention_changed.emit(attention)

    def _fill_row(self, row: int, command: PendingCommand) -> None:
        values = (
            _STATE_WORDS[command.state],
            command.created_at.astimezone().strftime("%H:%M:%S"),
            command.description,
            command.message or "",
        )
        for col, value in enumerate(values):
            item = QTableWidgetItem(value)
            item.setToolTip(value)
            self.table.setItem(row, col, item)
        actions = self._actions(command)
        if actions is None:
            self.table.removeCellWidget(row, 4)
        else:
            self.table.setCellWidget(row, 4, actions)

    def _actions(self, command: PendingCommand) -> QWidget | None:
        if command.state not in (CommandState.FAILED, CommandState.HELD):
            return None
        box = QWidget()
        layout = QHBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        send = "Send" if command.state is CommandState.HELD else "Retry"
        for text, slot in ((send, self._commands.retry), ("Discard", self._commands.discard)):
            button = QPushButton(text)
            button.setObjectName(f"{text.lower()}-{command.id}")
            button.setToolTip(f"{text}: {command.description}")
            button.clicked.connect(lambda _=False, s=slot, cid=command.id: s(cid))
            layout.addWidget(button)
        return box

    def button(self, command_id: str, text: str) -> QPushButton | None:
        """The Retry/Send/Discard button of one command (for keyboard focus and tests)."""
        return self.findChild(
            QPushButton, f"{text.lower()}-{command_id}", Qt.FindChildOption.FindChildrenRecursively
        )


class CommandsDock(QDockWidget):
    """The commands panel in the queue window's dock: its title counts the commands that need
    the operator's decision, and it comes forward when that count grows."""

    def __init__(self, commands: DeskCommands, parent: QWidget | None = None) -> None:
        super().__init__("Commands", parent)
        self.setObjectName("commandsDock")
        self.panel = CommandsPanel(commands)
        self.setWidget(self.panel)
        self._attention = 0
        self.panel.attention_changed.connect(self._attention_changed)

    def focus(self) -> None:
        """Show the dock and put the keyboard on its table (F8)."""
        self.show()
        self.raise_()
        self.panel.table.setFocus()

    def _attention_changed(self, count: int) -> None:
        title = "Commands" if count == 0 else f"Commands — {count} need your decision"
        self.setWindowTitle(title)
        if count > self._attention:
            self.show()
            self.raise_()
        self._attention = count


def _summary(total: int, attention: int) -> str:
    if total == 0:
        return "No commands waiting."
    text = f"{total} command(s) not yet confirmed."
    if attention:
        text += f" {attention} need your decision (failed or held)."
    return text
