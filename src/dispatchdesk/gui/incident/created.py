"""After Create: the new incident's ref, to read back to the caller.

The server gives an incident its ref, so the desk learns it when the create is sent and
answered (the outbox shows the create command with its ``incident_id``) and the incident
reaches the queue. Until then the note above the queue says it is pending (offline it may be
for a while); once the ref is known the note shows it, it goes on the clipboard, and the new
row is selected and shown, the filters cleared when they would hide it (the note says so).
When the operator has moved to another incident meanwhile, the selection is left alone and the
note's "Show it" button goes to the new one. A refused create says so in the note too (the
commands panel keeps it to retry or discard); one discarded before it was sent says it was not
created.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QApplication, QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from dispatchdesk.domain.commands import CommandState, PendingCommand
from dispatchdesk.domain.incident import Incident

PENDING = "Pending — the ref comes when the server confirms"


class CreatedNote(QFrame):
    """One line above the queue: the latest new incident's ref (or that it is pending)."""

    #: The operator asked to see incident (id).
    show_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("createdNote")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = QLabel()
        self.label.setObjectName("createdNoteText")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.show_button = QPushButton("Show it")
        self.show_button.clicked.connect(self._show_clicked)
        self.close_button = QPushButton("OK")
        self.close_button.setToolTip("Hide this note")
        self.close_button.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 2)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.show_button)
        layout.addWidget(self.close_button)
        self.incident_id: int | None = None
        self.hide()

    def text(self) -> str:
        return self.label.text()

    def say(self, text: str, incident_id: int | None = None) -> None:
        self.incident_id = incident_id
        self.label.setText(text)
        self.setAccessibleName(text)
        self.show_button.setVisible(incident_id is not None)
        self.show()

    def _show_clicked(self) -> None:
        if self.incident_id is not None:
            self.show_requested.emit(self.incident_id)


class Queue(Protocol):
    """What the tracker needs of the queue window."""

    def known_incident(self, incident_id: int) -> Incident | None: ...

    def selected_id(self) -> int | None: ...

    def reveal_incident(self, incident_id: int) -> bool:
        """Select and show it; True when the filters had to be cleared for it."""
        ...


@dataclass
class _Create:
    description: str
    #: The queue's selection when Create was pressed: the new row is selected only if the
    #: operator has not moved on since.
    selected_before: int | None
    seen: bool = False
    incident_id: int | None = None
    state: CommandState = CommandState.QUEUED


class CreationTracker:
    """Follows each create from Create to its ref, through the outbox and the feed."""

    def __init__(
        self, queue: Queue, note: CreatedNote, copy: Callable[[str], None] | None = None
    ) -> None:
        self._queue = queue
        self.note = note
        self._copy = copy or _to_clipboard
        self._creates: dict[str, _Create] = {}

    def track(self, command_id: str, description: str) -> None:
        """Create was pressed: ``command_id`` is the create command in the outbox."""
        self._creates[command_id] = _Create(description, self._queue.selected_id())
        self.note.say(f"⏳ {PENDING}: {description}.")

    def on_commands(self, commands: Sequence[PendingCommand]) -> None:
        by_id = {c.id: c for c in commands}
        for command_id, create in list(self._creates.items()):
            command = by_id.get(command_id)
            if command is None:
                if create.seen and create.incident_id is None:
                    del self._creates[command_id]
                    self.note.say(
                        f"✖ Not created: {create.description} was discarded before "
                        "the server had it. Enter it again if it is still needed."
                    )
                continue
            create.seen = True
            if command.incident_id is not None:
                create.incident_id = command.incident_id
            if command.state is not create.state:
                create.state = command.state
                if command.state in (CommandState.FAILED, CommandState.HELD):
                    self.note.say(
                        f"✖ Not created yet: {create.description}. "
                        f"{command.message or ''} Retry or discard it in Unsent "
                        "commands (F8)."
                    )
                elif create.incident_id is None:
                    self.note.say(f"⏳ {PENDING}: {create.description}.")
        self._resolve()

    def on_changes(self, _upserts: Sequence[Incident] = (), _removed: Sequence[int] = ()) -> None:
        self._resolve()

    def _resolve(self) -> None:
        for command_id, create in list(self._creates.items()):
            if create.incident_id is None:
                continue
            incident = self._queue.known_incident(create.incident_id)
            if incident is None:
                continue
            del self._creates[command_id]
            self._copy(incident.ref)
            text = (
                f"✔ Created {incident.ref} — read it back to the caller (it is on the "
                f"clipboard). {create.description}."
            )
            moved_on = self._queue.selected_id() != create.selected_before
            if not moved_on and self._queue.reveal_incident(incident.id):
                text += " The filters were cleared to show it."
            self.note.say(text, incident.id)


def _to_clipboard(text: str) -> None:
    clipboard = QApplication.clipboard()
    if clipboard is not None:
        clipboard.setText(text)
