"""The incident's downgrade request in the detail panel: in words for everyone ("Downgrade to S
requested by cathy at 14:02 — awaiting supervisor", then how it was decided, with the note),
and for supervisors the decision itself: a note, then Approve or Reject.

The note is checked first here (:func:`rationale_problem`: long enough, not a stock phrase),
then by the server through the outbox; the panel follows the command in the message under the
buttons, and a refusal shows there, keeping the note. A note typed for one incident is kept
for it while another is shown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from dispatchdesk.domain.downgrades import (
    DowngradeOutcome,
    decision_text,
    pending_text,
)
from dispatchdesk.domain.incident import Incident
from dispatchdesk.domain.rationale import rationale_problem
from dispatchdesk.domain.roles import Right, Role, has_right
from dispatchdesk.sync.api import DeskCommands

NOTE_WHAT = "note on the downgrade request"


#: ``watch(command id, note shown meanwhile, called once confirmed)``: the panel follows it.
Watch = Callable[[str, str, Callable[[], None] | None], None]


def downgrade_words(incident: Incident, tz: str) -> str:
    """The request waiting, else how the last one ended, else ""."""
    if incident.pending_downgrade is not None and incident.is_open:
        return pending_text(incident.pending_downgrade, tz)
    if incident.downgrade_decision is not None:
        return decision_text(incident.downgrade_decision, tz)
    return ""


class DowngradeBox(QWidget):
    """The request's line, and the supervisor's decision on it."""

    def __init__(
        self,
        commands: DeskCommands,
        role: Role,
        message: QWidget,
        show_error: Callable[[str], None],
        watch: Watch,
        parent: QWidget | None = None,
    ) -> None:
        """``message``: the panel's inline message (laid out under the buttons), which
        ``show_error`` and ``watch`` write to."""
        super().__init__(parent)
        self._commands = commands
        self._decides = has_right(role, Right.DECIDE_DOWNGRADES)
        self._show_error = show_error
        self._watch = watch
        self._incident: Incident | None = None
        self._notes: dict[int, str] = {}
        self.state = QLabel()
        self.state.setObjectName("downgradeState")
        self.state.setWordWrap(True)
        self.state.hide()
        self.decide_box = QGroupBox("Downgrade request — your decision")
        #: The requester's reason, for the supervisor to weigh.
        self.request_reason = QLabel()
        self.request_reason.setWordWrap(True)
        self.note = QLineEdit()
        self.note.setPlaceholderText("Your note: why you approve or reject it (required)")
        self.note.setAccessibleName("Note on the downgrade request")
        note_label = QLabel("&Note")
        note_label.setBuddy(self.note)
        self.approve_button = QPushButton("&Approve downgrade")
        self.reject_button = QPushButton("Re&ject")
        buttons = QHBoxLayout()
        buttons.addWidget(self.approve_button)
        buttons.addWidget(self.reject_button)
        box = QVBoxLayout(self.decide_box)
        box.addWidget(self.request_reason)
        box.addWidget(note_label)
        box.addWidget(self.note)
        box.addLayout(buttons)
        box.addWidget(message)
        self.decide_box.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.state)
        layout.addWidget(self.decide_box)
        self.approve_button.clicked.connect(self.approve)
        self.reject_button.clicked.connect(self.reject)

    def show_incident(self, incident: Incident | None, tz: str) -> None:
        previous = self._incident
        if previous is not None and (incident is None or incident.id != previous.id):
            self._notes[previous.id] = self.note.text()
            self.note.setText(self._notes.pop(incident.id, "") if incident else "")
        elif previous is None and incident is not None:
            self.note.setText(self._notes.pop(incident.id, ""))
        self._incident = incident
        words = downgrade_words(incident, tz) if incident is not None else ""
        self.state.setText(words)
        self.state.setAccessibleDescription(words)
        self.state.setVisible(bool(words))
        waiting = (
            incident is not None and incident.is_open and incident.pending_downgrade is not None
        )
        self.decide_box.setVisible(self._decides and waiting)
        pending = incident.pending_downgrade if incident is not None else None
        self.request_reason.setText(f"Reason given: {pending.reason}" if pending else "")

    @property
    def deciding(self) -> bool:
        """A decision is asked of this desk now (a supervisor, a request waiting)."""
        return not self.decide_box.isHidden()

    def focus_note(self) -> None:
        self.note.setFocus()

    def approve(self) -> None:
        self._decide(approve=True)

    def reject(self) -> None:
        self._decide(approve=False)

    def _decide(self, approve: bool) -> None:
        incident = self._incident
        if incident is None or not self.deciding or incident.pending_downgrade is None:
            return
        note = self.note.text().strip()
        problem = rationale_problem(note, what=NOTE_WHAT)
        if problem is not None:
            self._show_error(problem)
            self.note.setFocus()
            return
        to = incident.pending_downgrade.to.value
        if approve:
            command_id = self._commands.approve_downgrade(incident, note)
            queued = f"Approval of the downgrade to {to} queued; pending until the server confirms."
        else:
            command_id = self._commands.reject_downgrade(incident, note)
            queued = (
                f"Rejection of the downgrade to {to} queued; pending until the server confirms."
            )
        self._watch(command_id, queued, self.note.clear)


class DecisionNotices:
    """Tells the operator who requested a downgrade how a supervisor decided it, wherever they
    are looking (``say``: the window's message bar, which stays until dismissed). Only a
    decision that arrives as a change of an incident this desk already held is told, once;
    a snapshot only records what is there."""

    def __init__(
        self,
        username: str,
        say: Callable[[str], None],
        held: Callable[[int], Incident | None],
        tz: str = "Europe/London",
    ):
        self._username = username
        self._say = say
        #: The incident as the desk holds it before a change is applied (the queue's model,
        #: asked before it applies the change: no second map of 50,000 incidents here).
        self._held = held
        self.tz = tz

    def apply_changes(self, upserts: Iterable[Incident], _removed: Iterable[int]) -> None:
        """Call before the queue's model applies the same change."""
        for incident in upserts:
            held = self._held(incident.id)
            before = None if held is None else held.downgrade_decision
            decision = incident.downgrade_decision
            if (
                held is not None
                and decision is not None
                and decision != before
                and decision.by == self._username
                and decision.outcome is not DowngradeOutcome.SUPERSEDED
            ):
                self._say(f"{incident.ref}: {decision_text(decision, self.tz)}")
