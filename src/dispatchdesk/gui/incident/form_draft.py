"""The new-incident form's draft: kept in the desk's cache as it is typed, offered back after a
restart (a crash, a power cut, Ctrl+Q), dropped once the incident is queued or discarded.

:class:`DraftSaver` watches one form: each change restarts a short timer, and when typing
pauses the form's content goes to ``save`` (the sync engine's ``save_form_draft``, which
writes on the cache's worker thread, never on this one). Leaving the form by Esc (discard)
saves "nothing"; Create leaves the draft to the engine, which drops it in the same
transaction that queues the incident (a crash in between keeps one or the other).

:class:`DraftNote` is the offer after a restart: a line above the queue naming what was kept,
with "Open it" (or Ctrl+N) to carry on in the form and "Discard" to drop it. Nothing is
modal: the queue stays usable, and the draft stays in the cache until the operator chooses.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QDateTime, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QDialog, QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from dispatchdesk.domain.drafts import FormDraft
from dispatchdesk.gui.incident.new_incident import NewIncidentDialog

SaveDraft = Callable[[FormDraft | None], None]


def form_draft(dialog: NewIncidentDialog) -> FormDraft:
    """What the form holds now, as typed (nothing checked)."""
    agreed = dialog.appointment_agreed.isChecked()
    return FormDraft(
        values=dialog.values(),
        anonymous=dialog.anonymous.isChecked(),
        appointment_agreed=agreed,
        appointment=(
            dialog.appointment.dateTime().toString(Qt.DateFormat.ISODate) if agreed else None
        ),
    )


def fill_form(dialog: NewIncidentDialog, draft: FormDraft) -> None:
    """Put a kept draft back into the form, every field and every person named."""
    v = draft.values
    for edit, text in (
        (dialog.address, v.address),
        (dialog.postcode, v.postcode),
        (dialog.uprn, v.uprn),
        (dialog.parent_uprn, v.parent_uprn),
        (dialog.caller_name, v.caller_name),
        (dialog.caller_phone, v.caller_phone),
        (dialog.caller_dob, v.caller_dob),
    ):
        edit.setText(text)
    dialog.borough.setEditText(v.borough)
    dialog.type.setEditText(v.type)
    dialog.summary.setPlainText(v.summary)
    if v.grade is not None:
        dialog.set_grade(v.grade)
    dialog.anonymous.setChecked(draft.anonymous)
    dialog.appointment_agreed.setChecked(draft.appointment_agreed)
    if draft.appointment:
        when = QDateTime.fromString(draft.appointment, Qt.DateFormat.ISODate)
        if when.isValid():
            dialog.appointment.setDateTime(when)
    for row in list(dialog.person_rows):
        dialog.remove_person(row)
    for name, dob in v.persons:
        added = dialog.add_person()
        if added is None:
            break
        added.name.setText(name)
        added.dob.setText(dob)
    dialog.address.setFocus()


class DraftSaver(QObject):
    """Saves ``dialog``'s content through ``save`` once typing pauses for :attr:`PAUSE_MS`."""

    #: Short enough that a crash loses at most the last word or two; long enough that a
    #: fast typist's every key is not a cache write.
    PAUSE_MS = 400

    def __init__(self, dialog: NewIncidentDialog, save: SaveDraft) -> None:
        super().__init__(dialog)
        self._dialog = dialog
        self._save = save
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(self.PAUSE_MS)
        self.timer.timeout.connect(self.flush)
        dialog.changed.connect(self.timer.start)
        dialog.finished.connect(self._finished)

    def flush(self) -> None:
        """Save now (the timer's end, or the desk quitting with the form open)."""
        self.timer.stop()
        if self._dialog.isVisible():
            self._save(form_draft(self._dialog))

    def _finished(self, result: int) -> None:
        self.timer.stop()
        if result == QDialog.DialogCode.Rejected:
            self._save(None)  # discarded (Esc twice): nothing to offer next time
        # Accepted: the create drops the draft as it is queued.


class DraftNote(QFrame):
    """Above the queue after a restart: the incident that was being typed, kept."""

    open_requested = Signal()
    discard_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("draftNote")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.open_button = QPushButton("&Open it")
        self.open_button.clicked.connect(self.open_requested)
        self.discard_button = QPushButton("Discard")
        self.discard_button.setToolTip("Drop what was typed: it is not offered again")
        self.discard_button.clicked.connect(self.discard_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 2)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.open_button)
        layout.addWidget(self.discard_button)
        self.hide()

    def offer(self, draft: FormDraft) -> None:
        saved = (
            f" at {draft.saved_at.astimezone().strftime('%H:%M')}"
            if isinstance(draft.saved_at, datetime)
            else ""
        )
        self.label.setText(
            f"A new incident was being typed when the desk last stopped (kept{saved}): "
            f"{draft.headline()}. It was not created. Open it (or Ctrl+N) to finish it, "
            "or discard it."
        )
        self.show()

    def text(self) -> str:
        return self.label.text()
