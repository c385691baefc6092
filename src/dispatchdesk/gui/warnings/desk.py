"""Warnings in the queue window: the flags computed per incident, the warning panel popped
when an incident is opened, and the supervisors' special-schemes dock.

:class:`WarningDesk` takes the engine's warning index from the relay, keeps the flags column and
the panel on screen in step with it (new, gone, or reworded when the day turns), and audits
what the panel showed and what the operator acknowledged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QDockWidget

from dispatchdesk.domain.commands import PendingCommand
from dispatchdesk.domain.grades import GradePolicy
from dispatchdesk.domain.incident import Incident
from dispatchdesk.domain.roles import Right, Role, has_right
from dispatchdesk.domain.warnings import DEFAULT_WARNING_POLICY, WarningRef
from dispatchdesk.gui.warnings.flags import IncidentWarnings
from dispatchdesk.gui.warnings.panel import WarningPanel
from dispatchdesk.gui.warnings.schemes_view import SchemesView
from dispatchdesk.sync.api import Acknowledgements, DeskCommands, WarningIndex

if TYPE_CHECKING:
    from dispatchdesk.gui.queue.window import QueueWindow


class WarningDesk(QObject):
    """The warning flags, panel and schemes view of one queue window."""

    def __init__(
        self, window: QueueWindow, commands: DeskCommands, role: Role, now: Callable[[], datetime]
    ) -> None:
        super().__init__(window)
        self._window = window
        self._commands = commands
        self._now = now
        self.warnings = IncidentWarnings(now, window.model, parent=self)
        window.model.set_warning_marks(self.warnings.marks)
        self.warnings.changed.connect(window.model.warnings_changed)
        # No sound from the panel here: the window sounds each new critical warning once
        # (queue.alerts), not again each time the panel shows it.
        self.warning_panel = WarningPanel(now, DEFAULT_WARNING_POLICY, window)
        self.warning_panel.shown.connect(self._warnings_shown)
        self.warning_panel.acknowledged.connect(self._warning_acknowledged)
        self.schemes_view: SchemesView | None = None
        self.schemes_dock: QDockWidget | None = None
        if has_right(role, Right.MANAGE_SCHEMES):
            self.schemes_view = SchemesView(commands, now, DEFAULT_WARNING_POLICY)

    def add_schemes_dock(self) -> None:
        """Supervisors: the schemes view in a dock, tabbed after the dispatch docks."""
        if self.schemes_view is not None and self.schemes_dock is None:
            self.schemes_dock = self._window.add_bottom_dock(
                "Special schemes", "schemesDock", self.schemes_view
            )

    # -- fed by the relay (after the queue's model) ------------------------------------------

    def set_incidents(self, _incidents: Sequence[Incident], _policy: GradePolicy) -> None:
        self.warnings.set_incidents()  # read from the model, most urgent first

    def apply_changes(self, upserts: Sequence[Incident], removed: Sequence[int]) -> None:
        self.warnings.apply_changes(upserts, removed)

    def set_commands(self, commands: Sequence[PendingCommand]) -> None:
        """The outbox: an end of a scheme the server refused opens its form again."""
        if self.schemes_view is not None:
            self.schemes_view.refusals.follow(commands)

    def set_warnings(self, index: WarningIndex, acknowledged: Acknowledgements) -> None:
        if not self.warnings.set_data(index, acknowledged):
            return  # acknowledgements only: the panel shows its own, the schemes are the same
        self.warning_panel.set_policy(index.policy)
        if self.schemes_view is not None:
            self.schemes_view.show_index(index)  # only the schemes changed since
        self._refresh_panel()

    def _refresh_panel(self) -> None:
        """The panel on screen follows: warnings gone, new, or (the day turned) reworded."""
        panel = self.warning_panel
        if panel.isVisible() and panel.incident_id is not None:
            incident = self._window.model.incident(panel.incident_id)
            if incident is not None:
                panel.update_warnings(
                    self.warnings.for_incident(incident), self.warnings.acknowledged(incident.id)
                )

    # -- the window's ticker and theme -------------------------------------------------------

    def on_tick(self) -> None:
        if self.warnings.turn_of_day():
            self._refresh_panel()  # "expires in 2 days" is "expires TOMORROW" now
        if self.schemes_view is not None:
            self.schemes_view.refresh_now()

    def set_theme(self, theme: str) -> None:
        if self.schemes_view is not None:
            self.schemes_view.set_theme(theme)

    def docks(self) -> list[QDockWidget]:
        return [self.schemes_dock] if self.schemes_dock is not None else []

    # -- the operator ------------------------------------------------------------------------

    def show_warnings(self, incident: Incident, *, take_focus: bool = False) -> None:
        """Pop the warning panel for an incident being opened, if it has any warnings; it
        takes the keyboard only with ``take_focus`` (the operator asked for it)."""
        found = self.warnings.for_incident(incident)
        if found:
            title = f"{incident.ref}, {incident.location.one_line}"
            self.warning_panel.show_for(
                title,
                incident.id,
                found,
                self.warnings.acknowledged(incident.id),
                take_focus=take_focus,
            )

    def show_schemes(self) -> None:
        """Ctrl+Shift+J: the schemes dock shown, the keyboard in its table."""
        if self.schemes_dock is not None and self.schemes_view is not None:
            self.schemes_dock.show()
            self.schemes_dock.raise_()
            self.schemes_view.focus_table()

    def _warnings_shown(self, incident_id: int | None, refs: list[WarningRef]) -> None:
        if incident_id is None:
            return  # the new-incident form audits its own once the incident exists
        for ref in refs:
            self._commands.warning_shown(incident_id, ref)

    def _warning_acknowledged(self, incident_id: int | None, ref: WarningRef) -> None:
        if incident_id is not None:
            self._commands.acknowledge_warning(incident_id, ref)
