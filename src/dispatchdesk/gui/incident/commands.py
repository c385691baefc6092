"""The incident commands of the queue window: the new-incident form (Ctrl+N) and the
regrade, summary and close actions, which open the incident panel at the right field.

The form's draft is kept in the cache as it is typed, and one kept from before a restart is
offered back above the queue (:mod:`~dispatchdesk.gui.incident.form_draft`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QBoxLayout

from dispatchdesk.domain.drafts import NEW_INCIDENT_FORM, FormDraft
from dispatchdesk.domain.grades import DEFAULT_POLICY, GradePolicy
from dispatchdesk.domain.roles import Right, Role, has_right
from dispatchdesk.gui.history.incident import history_source
from dispatchdesk.gui.incident.created import CreationTracker
from dispatchdesk.gui.incident.form_draft import DraftNote, DraftSaver, fill_form, form_draft
from dispatchdesk.gui.incident.new_incident import NewIncidentDialog
from dispatchdesk.gui.warnings.flags import IncidentWarnings
from dispatchdesk.sync.api import DeskCommands, IncidentDraft

if TYPE_CHECKING:
    from dispatchdesk.gui.queue.window import QueueWindow


class IncidentCommands(QObject):
    """New incident, regrade, edit summary, close, for one queue window."""

    def __init__(
        self,
        window: QueueWindow,
        commands: DeskCommands,
        role: Role,
        now: Callable[[], datetime],
        warnings: IncidentWarnings,
    ) -> None:
        super().__init__(window)
        self._window = window
        self._commands = commands
        self._role = role
        self._now = now
        self._warnings = warnings
        self._policy: GradePolicy = DEFAULT_POLICY
        self.new_incident_dialog: NewIncidentDialog | None = None
        #: Follows each create to its ref (the note above the queue, the clipboard, the row).
        self.creations = CreationTracker(window.selection_keeper, window.created_note)
        #: The open form's draft keeper; the draft kept from before a restart, until the
        #: operator opens or discards it, and the line above the queue that offers it.
        self.draft_saver: DraftSaver | None = None
        self.kept_draft: FormDraft | None = None
        self.draft_note = DraftNote()
        self.draft_note.open_requested.connect(self.new_incident)
        self.draft_note.discard_requested.connect(self.discard_kept_draft)
        central = window.created_note.parentWidget()
        layout = central.layout() if central is not None else None
        assert isinstance(layout, QBoxLayout)
        layout.insertWidget(layout.indexOf(window.created_note) + 1, self.draft_note)

    def set_policy(self, policy: GradePolicy) -> None:
        """A snapshot may bring other reference lists: an open form follows them."""
        self._policy = policy
        if self.new_incident_dialog is not None:
            self.new_incident_dialog.set_reference(policy.reference)

    def new_incident(self) -> None:
        if not has_right(self._role, Right.CREATE_INCIDENT):
            return
        dialog = self.new_incident_dialog
        if dialog is None:
            dialog = NewIncidentDialog(
                self._window,
                warnings_for=self._warnings.lookup,
                now=self._now,
                reference=self._policy.reference,
                play_sound=self._window.sounds.play,
                history=history_source(self._commands),
            )
            dialog.submitted.connect(self._create_incident)
            self._window.relay.connection.connect(dialog.history.loader.on_connection)
            self._warnings.day_turned.connect(dialog.refresh_warnings)
            dialog.finished.connect(self._new_incident_closed)
            self.draft_saver = DraftSaver(dialog, self._save_draft)
            self.new_incident_dialog = dialog
        kept, self.kept_draft = self.kept_draft, None
        if kept is not None:
            # Ctrl+N with a draft on offer carries on with it (a new, empty form would
            # overwrite it at the first key).
            self.draft_note.hide()
            fill_form(dialog, kept)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def _create_incident(self, draft: IncidentDraft) -> None:
        command_id = self._commands.create_incident(draft)
        self.creations.track(
            command_id, f"New {draft.grade.value} incident: {draft.type}, {draft.location.one_line}"
        )

    def _new_incident_closed(self, _result: int) -> None:
        if self.new_incident_dialog is not None:
            self.new_incident_dialog.deleteLater()
            self.new_incident_dialog = None
            self.draft_saver = None

    def _save_draft(self, draft: FormDraft | None) -> None:
        self._commands.save_form_draft(NEW_INCIDENT_FORM, draft)

    def offer_draft(self, draft: FormDraft) -> None:
        """Offer a draft kept from before a restart (a line above the queue; non-modal)."""
        if not draft.has_input() or not has_right(self._role, Right.CREATE_INCIDENT):
            return
        self.kept_draft = draft
        self.draft_note.offer(draft)

    def discard_kept_draft(self) -> None:
        self.kept_draft = None
        self.draft_note.hide()
        self._save_draft(None)

    def form_has_input(self) -> bool:
        """The new-incident form is open with something typed in it."""
        dialog = self.new_incident_dialog
        return dialog is not None and dialog.isVisible() and dialog.values().has_input()

    def draft_to_carry(self) -> FormDraft | None:
        """What a window replacing this one should offer: the draft still on offer, or
        what the open form holds."""
        dialog = self.new_incident_dialog
        if self.kept_draft is None and dialog is not None and self.form_has_input():
            return form_draft(dialog)
        return self.kept_draft

    def keep_draft_now(self) -> None:
        """Save the open form's draft at once (the desk is quitting)."""
        if self.draft_saver is not None:
            self.draft_saver.flush()

    def start_regrade(self) -> None:
        self._with_detail(self._window.detail.focus_regrade)

    def start_edit_summary(self) -> None:
        self._with_detail(self._window.detail.focus_summary)

    def start_close(self) -> None:
        self._with_detail(self._window.detail.focus_close)

    def _with_detail(self, focus: Callable[[], None]) -> None:
        window = self._window
        if window.selection_keeper.selected_incident() is None:
            window.show_problem(window.selection_keeper.no_selection("try again"))
            return
        window.detail_dock.show()
        window.detail_dock.raise_()
        focus()
