"""Units, diverts, escalations, warnings and schemes, wired into the queue window.

:class:`Operations` builds the docks and windows that issues 3 and 4 add to the queue (units
board, DIVERT tag list, supervisors' schemes view, escalation notifier, warning panel), feeds
them from the listener's calls, and joins them to the queue: assign from the keyboard (F2) or
by dropping a unit on a row, the warning panel when an incident is opened, the owed count in
the delay strip. The window keeps one ticker; :meth:`Operations.on_tick` rides on it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QLabel, QPushButton

from dispatchdesk.domain.commands import PendingCommand
from dispatchdesk.domain.grades import GradePolicy
from dispatchdesk.domain.incident import Incident
from dispatchdesk.domain.roles import Right, Role, has_right
from dispatchdesk.domain.unit import Unit, UnitStatus
from dispatchdesk.domain.warnings import DEFAULT_WARNING_POLICY, WarningRef
from dispatchdesk.gui.assign_dialog import AssignDialog, install_unit_drop
from dispatchdesk.gui.divert_list import DivertListView
from dispatchdesk.gui.escalations import EscalationNotifier
from dispatchdesk.gui.incident_model import INCIDENT_ROLE
from dispatchdesk.gui.schemes_view import SchemesView
from dispatchdesk.gui.units_board import UnitsBoard
from dispatchdesk.gui.units_model import UnitsTableModel
from dispatchdesk.gui.warning_flags import IncidentWarnings
from dispatchdesk.gui.warning_panel import WarningPanel
from dispatchdesk.sync.api import Acknowledgements, DeskCommands, WarningIndex

if TYPE_CHECKING:
    from dispatchdesk.gui.queue_window import QueueWindow

log = logging.getLogger(__name__)


class Operations(QObject):
    """The dispatch and warning parts of one queue window."""

    def __init__(self, window: QueueWindow, commands: DeskCommands, role: Role,
                 now: Callable[[], datetime]) -> None:
        super().__init__(window)
        self._window = window
        self._commands = commands
        self._role = role
        self._now = now
        self._policy_tz = "Europe/London"
        self.assign_dialog: AssignDialog | None = None
        self.warnings = IncidentWarnings(now, parent=self)
        window.model.set_warning_marks(self.warnings.marks)
        self.warnings.changed.connect(window.model.warnings_changed)
        self.warning_panel = WarningPanel(now, DEFAULT_WARNING_POLICY, window,
                                          play_sound=window.sounds.play)
        self.warning_panel.shown.connect(self._warnings_shown)
        self.warning_panel.acknowledged.connect(self._warning_acknowledged)
        self._build_units()
        self._build_diverts()
        self._build_schemes()
        self._build_escalations()
        (self.units_dock if self.units_dock.isVisibleTo(window) else self.divert_dock).raise_()
        install_unit_drop(window.table, self._unit_dropped)

    # -- construction ----------------------------------------------------------------------

    def _dock(self, title: str, name: str, widget: QObject) -> QDockWidget:
        """A dock under the queue, tabbed with the other dispatch docks (the incident and
        commands panels keep the right-hand column at full height)."""
        w = self._window
        dock = QDockWidget(title, w)
        dock.setObjectName(name)
        dock.setWidget(widget)  # type: ignore[arg-type]
        w.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        w.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        first = getattr(self, "units_dock", None)
        if first is not None:
            w.tabifyDockWidget(first, dock)
        else:
            w.resizeDocks([dock], [260], Qt.Orientation.Vertical)
        return dock

    def _build_units(self) -> None:
        self.units_model = UnitsTableModel(self._now, self._incident_ref, self)
        can_dispatch = has_right(self._role, Right.DISPATCH_UNITS)
        self.units_board = UnitsBoard(self.units_model, self._commands if can_dispatch else None)
        self.units_board.unit_activated.connect(self._unit_activated)
        self.units_dock = self._dock("Units", "unitsDock", self.units_board)
        self._window.detail.watch_units(self.units_model)  # its list of units on the incident
        if not can_dispatch:
            self.units_dock.hide()  # call handlers open it from the View menu when needed

    def _build_diverts(self) -> None:
        # The sync engine can load the server's whole tag list; other DeskCommands (a test's
        # recorder) need not, and the list then shows what the incidents held carry.
        history = getattr(self._commands, "divert_history", None)
        self.divert_list = DivertListView(self._commands, self._role, load_history=history)
        self.divert_list.open_incident.connect(self.open_incident)
        self.divert_dock = self._dock("DIVERT tags", "divertDock", self.divert_list)

    def _build_schemes(self) -> None:
        self.schemes_view: SchemesView | None = None
        self.schemes_dock: QDockWidget | None = None
        if not has_right(self._role, Right.MANAGE_SCHEMES):
            return
        self.schemes_view = SchemesView(self._commands, self._now, DEFAULT_WARNING_POLICY)
        self.schemes_dock = self._dock("Special schemes", "schemesDock", self.schemes_view)

    def _build_escalations(self) -> None:
        w = self._window
        self.escalations = EscalationNotifier(self._role, self._now, sounds=w.sounds,
                                              window_parent=w, parent=self)
        self.escalations.open_incident.connect(self.open_incident)
        self.escalation_button = QPushButton()
        self.escalation_button.setFlat(True)
        self.escalation_button.setAccessibleName("Escalations waiting (F9)")
        self.escalation_button.clicked.connect(self.show_escalations)
        self.escalation_button.hide()
        w.statusBar().addPermanentWidget(self.escalation_button)
        self.escalations.escalations_changed.connect(self._escalations_changed)
        self.unit_count = QLabel()
        w.statusBar().addPermanentWidget(self.unit_count)

    def shortcut_actions(self) -> list[QAction]:
        """The docks' own actions, for the shortcuts window."""
        return [*self.units_board.all_actions, *self.divert_list.shortcut_actions()]

    def docks(self) -> list[QDockWidget]:
        return [d for d in (self.units_dock, self.divert_dock, self.schemes_dock) if d]

    # -- fed by the listener ---------------------------------------------------------------

    def set_incidents(self, incidents: Sequence[Incident], policy: GradePolicy) -> None:
        self._policy_tz = policy.timezone
        self.warnings.set_incidents(self._window.model.incidents())  # most urgent first
        self.divert_list.set_timezone(policy.timezone)
        self.divert_list.set_incidents(incidents)
        self.escalations.set_timezone(policy.timezone)
        self.escalations.set_incidents(incidents)
        self.units_model.incidents_changed()

    def apply_changes(self, upserts: Sequence[Incident], removed: Sequence[int]) -> None:
        self.warnings.apply_changes(upserts, removed)
        self.divert_list.apply_changes(upserts, removed)
        self.escalations.apply_changes(upserts, removed)
        if self.assign_dialog is not None:
            for incident in upserts:
                if incident.id == self.assign_dialog.panel.incident.id:
                    self.assign_dialog.set_incident(incident)
        self.units_model.incidents_changed()

    def set_units(self, units: Sequence[Unit], removed: Sequence[int], reset: bool) -> None:
        if reset:
            self.units_model.set_units(units)
        else:
            self.units_model.apply_units(units, removed)
        available = sum(u.status is UnitStatus.AVAILABLE for u in self.units_model.units())
        self.unit_count.setText(f"Units available: {available} of {len(self.units_model.units())}")

    def set_warnings(self, index: WarningIndex, acknowledged: Acknowledgements) -> None:
        if not self.warnings.set_data(index, acknowledged):
            return  # acknowledgements only: the panel shows its own, the schemes are the same
        self.warning_panel.set_policy(index.policy)
        if self.schemes_view is not None:
            self.schemes_view.set_policy(index.policy)
            self.schemes_view.set_schemes(index.schemes(self._now()))
        self._refresh_panel()

    def _refresh_panel(self) -> None:
        """The panel on screen follows: warnings gone, new, or (the day turned) reworded."""
        panel = self.warning_panel
        if panel.isVisible() and panel.incident_id is not None:
            incident = self._window.model.incident(panel.incident_id)
            if incident is not None:
                panel.update_warnings(self.warnings.for_incident(incident),
                                      self.warnings.acknowledged(incident.id))

    def set_commands(self, commands: Sequence[PendingCommand]) -> None:
        self.units_model.set_pending(commands)

    def set_theme(self, theme: str) -> None:
        self.units_model.set_theme(theme)
        self.units_board.size_columns()
        if self.schemes_view is not None:
            self.schemes_view.set_theme(theme)

    def on_tick(self) -> None:
        if self.warnings.turn_of_day():
            self._refresh_panel()  # "expires in 2 days" is "expires TOMORROW" now
        self.units_model.refresh_now()
        if self.schemes_view is not None:
            self.schemes_view.refresh_now()

    # -- assign ------------------------------------------------------------------------------

    def assign(self, incident: Incident | None = None, unit_id: int | None = None) -> None:
        """Open the assign window for the incident (default: the selected one)."""
        incident = incident or self._window.selected_incident()
        if incident is None:
            self._window.show_problem("Select an incident first, then press F2 to assign.")
            return
        if not has_right(self._role, Right.DISPATCH_UNITS):
            self._window.show_problem(
                f"Your role ({self._role.label}) cannot dispatch units: ask a dispatcher.")
            return
        dialog = self.assign_dialog
        if dialog is None:
            dialog = AssignDialog(incident, self.units_model, self._commands,
                                  self._window.model.incident, self._policy_tz, self._window,
                                  warnings=self.warnings)
            dialog.finished.connect(self._assign_closed)
            self.assign_dialog = dialog
        else:
            dialog.set_incident(incident)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        if unit_id is not None:
            dialog.prefill(unit_id)

    def mark_at_scene(self, incident: Incident | None = None) -> None:
        """The unit en route to the incident (default: the selected one) has arrived: its
        arrive command, which sets the incident at scene. With several en route the operator
        picks the one on the units board."""
        incident = incident or self._window.selected_incident()
        if incident is None:
            self._window.show_problem("Select an incident first, then mark its unit at scene.")
            return
        if not has_right(self._role, Right.DISPATCH_UNITS):
            self._window.show_problem(
                f"Your role ({self._role.label}) cannot dispatch units: ask a dispatcher.")
            return
        going = [u for u in self.units_model.units()
                 if u.incident_id == incident.id and u.status is UnitStatus.ASSIGNED]
        if not going:
            self._window.show_problem(
                f"No unit is en route to {incident.ref}: assign one (F2); it is marked at "
                "scene when it arrives.")
            return
        if len(going) > 1:
            self.show_units()
            self.units_board.select_unit(going[0].id)
            names = ", ".join(u.callsign for u in going)
            self._window.show_problem(
                f"{len(going)} units are en route to {incident.ref} ({names}): on the units "
                "board, select the one that arrived and press Ctrl+Shift+R.")
            return
        self._commands.arrive_unit(going[0])
        self.units_board.show_message(
            f"Arrived at scene: {going[0].callsign} at {incident.ref} — sent, pending until the "
            "server confirms.")

    def _assign_closed(self, _result: int) -> None:
        if self.assign_dialog is not None:
            self.assign_dialog.deleteLater()
            self.assign_dialog = None

    def _unit_dropped(self, unit_id: int, index: QModelIndex) -> None:
        incident = index.data(INCIDENT_ROLE) if index.isValid() else None
        unit = self.units_model.unit(unit_id)
        if not isinstance(incident, Incident) or unit is None:
            return
        if not has_right(self._role, Right.DISPATCH_UNITS):
            self._window.show_problem(
                f"Your role ({self._role.label}) cannot dispatch units: ask a dispatcher.")
            return
        if unit.status is UnitStatus.AVAILABLE and not self.warnings.for_incident(incident):
            self._commands.assign_unit(unit, incident)
        else:
            # Busy: the window asks for a divert reason. Warnings: the window shows them, to be
            # read and passed to the unit, before Enter sends it.
            self.assign(incident, unit_id)

    def _unit_activated(self, unit_id: int) -> None:
        unit = self.units_model.unit(unit_id)
        if unit is not None and unit.incident_id is not None:
            self.open_incident(unit.incident_id)

    def _incident_ref(self, incident_id: int) -> str | None:
        incident = self._window.model.incident(incident_id)
        return None if incident is None else incident.ref

    # -- warnings ----------------------------------------------------------------------------

    def show_warnings(self, incident: Incident, *, take_focus: bool = False) -> None:
        """Pop the warning panel for an incident being opened, if it has any warnings; it
        takes the keyboard only with ``take_focus`` (the operator asked for it)."""
        found = self.warnings.for_incident(incident)
        if found:
            title = f"{incident.ref}, {incident.location.one_line}"
            self.warning_panel.show_for(title, incident.id, found,
                                        self.warnings.acknowledged(incident.id),
                                        take_focus=take_focus)

    def _warnings_shown(self, incident_id: int | None, refs: list[WarningRef]) -> None:
        if incident_id is None:
            return  # the new-incident form audits its own once the incident exists
        for ref in refs:
            self._commands.warning_shown(incident_id, ref)

    def _warning_acknowledged(self, incident_id: int | None, ref: WarningRef) -> None:
        if incident_id is not None:
            self._commands.acknowledge_warning(incident_id, ref)

    # -- navigation ---------------------------------------------------------------------------

    def open_incident(self, incident_id: int) -> None:
        if self._window.select_incident(incident_id):
            self._window.open_detail()
        else:
            self._window.show_problem(
                "That incident is not in the queue shown: clear the filters (F5), or it was "
                "closed before today.")

    def show_escalations(self) -> None:
        self.escalations.show_window()

    def show_units(self) -> None:
        self.units_dock.show()
        self.units_dock.raise_()
        self.units_board.focus_table()

    def show_diverts(self) -> None:
        self.divert_dock.show()
        self.divert_dock.raise_()
        self.divert_list.focus_table()

    def show_schemes(self) -> None:
        if self.schemes_dock is not None:
            self.schemes_dock.show()
            self.schemes_dock.raise_()

    def _escalations_changed(self, count: int) -> None:
        self.escalation_button.setVisible(count > 0)
        self.escalation_button.setText(
            f"⚠ {count} ESCALATED owed incident{'s' if count != 1 else ''} — F9")
