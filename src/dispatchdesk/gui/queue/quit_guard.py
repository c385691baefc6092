"""Ctrl+Q (or closing the window) asks first when quitting would leave something behind:
commands not yet sent, or a new incident half typed in the form.

Nothing is lost by quitting (unsent commands stay in the outbox on this computer, the form's
draft in the cache), but the operator should know before the desk goes: the question says how
many commands are unsent, that they will be sent when the desk next starts and is signed in,
which ones wait for a decision instead, and that the form's content will be offered again.
It is a non-modal box: the queue keeps running behind it, and "Keep working" (the default,
and Esc) leaves everything as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from dispatchdesk.domain.commands import CommandState, PendingCommand


def _n(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def quit_question(commands: Sequence[PendingCommand], form_has_input: bool) -> str | None:
    """The question to ask before quitting, or None when nothing would be left behind."""
    queued = sum(c.state is CommandState.QUEUED for c in commands)
    waiting = sum(c.state in (CommandState.HELD, CommandState.FAILED) for c in commands)
    parts: list[str] = []
    if queued:
        parts.append(
            f"{_n(queued, 'command is', 'commands are')} not sent yet. "
            f"{'It is' if queued == 1 else 'They are'} kept on this computer and sent when "
            "the desk next starts and you have signed in."
        )
    if waiting:
        parts.append(
            f"{_n(waiting, 'command was', 'commands were')} refused or held and "
            f"{'waits' if waiting == 1 else 'wait'} for your decision in Unsent commands "
            "(F8): not sent by itself."
        )
    if form_has_input:
        parts.append(
            "The new incident you are typing has not been created. What you typed is kept "
            "and offered again when the desk next starts."
        )
    if not parts:
        return None
    return "\n\n".join(parts)


class QuitGuard(QObject):
    """Decides whether the window may close now; asks (non-modal) when it may not.

    ``form_has_input`` tells whether the new-incident form holds something; ``keep_draft``
    saves it at once; ``close`` closes the window for good once the operator has said Quit.
    """

    def __init__(
        self,
        parent: QWidget,
        form_has_input: Callable[[], bool],
        keep_draft: Callable[[], None],
        close: Callable[[], object],
    ) -> None:
        super().__init__(parent)
        self._parent = parent
        self._form_has_input = form_has_input
        self._keep_draft = keep_draft
        self._close = close
        self.commands: list[PendingCommand] = []
        #: Set once the operator said Quit (or the app closes the window itself).
        self.confirmed = False
        self.box: QMessageBox | None = None

    def set_commands(self, commands: Sequence[PendingCommand]) -> None:
        self.commands = list(commands)

    def may_close(self) -> bool:
        """True to close now; False after showing (or raising) the question."""
        if self.confirmed:
            return True
        question = quit_question(self.commands, self._form_has_input())
        if question is None:
            return True
        self._ask(question)
        return False

    def _ask(self, question: str) -> None:
        box = self.box
        if box is None:
            box = QMessageBox(self._parent)
            box.setWindowTitle("Quit Dispatch Desk?")
            box.setIcon(QMessageBox.Icon.Question)
            box.setWindowModality(Qt.WindowModality.NonModal)
            self.quit_button = box.addButton("&Quit", QMessageBox.ButtonRole.AcceptRole)
            self.keep_button = box.addButton("&Keep working", QMessageBox.ButtonRole.RejectRole)
            box.setDefaultButton(self.keep_button)
            box.setEscapeButton(self.keep_button)
            self.quit_button.clicked.connect(self._quit)
            self.box = box
        box.setText("Quit Dispatch Desk?")
        box.setInformativeText(question)
        box.show()
        box.raise_()
        box.activateWindow()

    def _quit(self) -> None:
        self.confirmed = True
        self._keep_draft()
        self._close()
