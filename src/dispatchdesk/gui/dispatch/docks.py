"""Dispatch in the queue window: the units board, the DIVERT tag list, the supervisors'
escalation notifier, and the commands that send units.

:class:`Dispatch` builds those docks, takes units and incidents from the relay, and joins them
to the queue: assign from the keyboard (F2) or by dropping a unit on a row, mark the unit en
route at scene, open the incident a unit or a tag is on. The window keeps one ticker;
:meth:`Dispatch.on_tick` rides on it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QLabel, QPushButton

from dispatchdesk.domain.commands import PendingCommand
from dispatchdesk.domain.grades import GradePolicy
from dispatchdesk.domain.incident import Incident
from dispatchdesk.domain.roles import Right, Role, has_right
from dispatchdesk.domain.unit import Unit, UnitStatus
from dispatchdesk.gui.dispatch.assign_dialog import AssignDialog
from dispatchdesk.gui.dispatch.divert_list import DivertListView
from dispatchdesk.gui.dispatch.downgrades import DowngradeRequests
from dispatchdesk.gui.dispatch.escalations import EscalationNotifier
from dispatchdesk.gui.dispatch.unit_drop import install_unit_drop
from dispatchdesk.gui.dispatch.units_board import UnitsBoard
from dispatchdesk.gui.dispatch.units_model import UnitsTableModel
from dispatchdesk.gui.queue.model import INCIDENT_ROLE
from dispatchdesk.gui.warnings.flags import IncidentWarnings
from dispatchdesk.sync.api import DeskCommands

if TYPE_CHECKING:
    from dispatchdesk.gui.queue.window import QueueWindow


class Dispatch(QObject):
    """The units, diverts and escalations of one queue window."""

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
        self._policy_tz = "Europe/London"
        self.assign_dialog: AssignDialog | None = None
        self._build_units()
        self._build_diverts()
        self._build_escalations()
        #: Downgrade requests waiting for a supervisor (a dock for supervisors only).
        self.downgrades = DowngradeRequests(role, window.add_bottom_dock, self)
        self.downgrades.open_incident.connect(window.open_incident)
        install_unit_drop(window.table, self._unit_dropped)

    # -- construction ----------------------------------------------------------------------

    def _build_units(self) -> None:
        self.units_model = UnitsTableModel(self._now, self._incident_ref, self)
        can_dispatch = has_right(self._role, Right.DISPATCH_UNITS)
        self.units_board = UnitsBoard(self.units_model, self._commands if can_dispatch else None)
        self.units_board.unit_activated.connect(self._unit_activated)
        self.units_dock = self._window.add_bottom_dock("Units", "unitsDock", self.units_board)
        self._window.detail.watch_units(self.units_model)  # its list of units on the incident
        if not can_dispatch:
            self.units_dock.hide()  # call handlers open it from the View menu when needed

    def _build_diverts(self) -> None:
        # The sync engine can load the server's whole tag list; other DeskCommands (a test's
        # recorder) need not, and the list then shows what the incidents held carry.
        history = getattr(self._commands, "divert_history", None)
        self.divert_list = DivertListView(self._commands, self._role, load_history=history)
        self.divert_list.open_incident.connect(self._window.open_incident)
        self.divert_dock = self._window.add_bottom_dock(
            "DIVERT tags", "divertDock", self.divert_list
        )

    def _build_escalations(self) -> None:
        w = self._window
        self.escalations = EscalationNotifier(
            self._role,
            self._now,
            sounds=w.sounds,
            window_parent=w,
            parent=self,
            add_dock=w.add_bottom_dock,
        )
        self.escalations.open_incident.connect(w.open_incident)
        self.escalation_button = QPushButton()
        self.escalation_button.setFlat(True)
        self.escalation_button.setAccessibleName("Escalations waiting (F9)")
        self.escalation_button.clicked.connect(self.show_escalations)
        self.escalation_button.hide()
        w.statusBar().addPermanentWidget(self.escalation_button)
        self.escalations.escalations_changed.connect(self._escalations_changed)
        self.unit_count = QLabel()
        w.statusBar().addPermanentWidget(self.unit_count)

    def raise_default_dock(self) -> None:
        """The units board on top, or the DIVERT tags for a role that hides the board."""
        visible = self.units_dock.isVisibleTo(self._window)
        (self.units_dock if visible else self.divert_dock).raise_()

    def shortcut_actions(self) -> list[QAction]:
        """The docks' own actions, for the shortcuts window."""
        return [*self.units_board.all_actions, *self.divert_list.shortcut_actions()]

    def docks(self) -> list[QDockWidget]:
        extra = [self.downgrades.dock] if self.downgrades.dock is not None else []
        return [self.units_dock, self.divert_dock, *extra]

    def units(self) -> list[Unit]:
        """The fleet as the units board shows it."""
        return list(self.units_model.units())

    # -- fed by the relay (after the queue's model) ------------------------------------------

    def set_incidents(self, incidents: Sequence[Incident], policy: GradePolicy) -> None:
        self._policy_tz = policy.timezone
        self.divert_list.set_timezone(policy.timezone)
        self.divert_list.set_incidents(incidents)
        self.escalations.set_timezone(policy.timezone)
        self.escalations.set_incidents(incidents)
        self.downgrades.set_timezone(policy.timezone)
        self.downgrades.set_incidents(incidents)
        self.units_model.incidents_changed()

    def apply_changes(self, upserts: Sequence[Incident], removed: Sequence[int]) -> None:
        self.divert_list.apply_changes(upserts, removed)
        self.escalations.apply_changes(upserts, removed)
        self.downgrades.apply_changes(upserts, removed)
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

    def set_commands(self, commands: Sequence[PendingCommand]) -> None:
        self.units_model.set_pending(commands)
        self.divert_list.refusals.follow(commands)
        self.units_board.refusals.follow(commands)

    def set_theme(self, theme: str) -> None:
        self.units_model.set_theme(theme)
        self.units_board.size_columns()

    def on_tick(self) -> None:
        self.units_model.refresh_now()

    # -- assign ------------------------------------------------------------------------------

    def _may_dispatch(self) -> bool:
        if has_right(self._role, Right.DISPATCH_UNITS):
            return True
        self._window.show_problem(
            f"Your role ({self._role.label}) cannot dispatch units: ask a dispatcher."
        )
        return False

    def assign(self, incident: Incident | None = None, unit_id: int | None = None) -> None:
        """Open the assign window for the incident (default: the selected one)."""
        incident = incident or self._window.selection_keeper.selected_incident()
        if incident is None:
            self._window.show_problem(
                self._window.selection_keeper.no_selection("press F2 to assign")
            )
            return
        if not self._may_dispatch():
            return
        dialog = self.assign_dialog
        if dialog is None:
            dialog = AssignDialog(
                incident,
                self.units_model,
                self._commands,
                self._window.model.incident,
                self._policy_tz,
                self._window,
                warnings=self._warnings,
            )
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
        incident = incident or self._window.selection_keeper.selected_incident()
        if incident is None:
            self._window.show_problem(
                self._window.selection_keeper.no_selection("mark its unit at scene")
            )
            return
        if not self._may_dispatch():
            return
        going = [
            u
            for u in self.units_model.units()
            if u.incident_id == incident.id and u.status is UnitStatus.ASSIGNED
        ]
        if not going:
            self._window.show_problem(
                f"No unit is en route to {incident.ref}: assign one (F2); it is marked at "
                "scene when it arrives."
            )
            return
        if len(going) > 1:
            self.show_units()
            self.units_board.select_unit(going[0].id)
            names = ", ".join(u.callsign for u in going)
            self._window.show_problem(
                f"{len(going)} units are en route to {incident.ref} ({names}): on the units "
                "board, select the one that arrived and press Ctrl+Shift+R."
            )
            return
        self._commands.arrive_unit(going[0])
        self.units_board.show_message(
            f"Arrived at scene: {going[0].callsign} at {incident.ref} — sent, pending until the "
            "server confirms."
        )

    def _assign_closed(self, _result: int) -> None:
        if self.assign_dialog is not None:
            self.assign_dialog.deleteLater()
            self.assign_dialog = None

    def _unit_dropped(self, unit_id: int, index: QModelIndex) -> None:
        incident = index.data(INCIDENT_ROLE) if index.isValid() else None
        unit = self.units_model.unit(unit_id)
        if not isinstance(incident, Incident) or unit is None:
            return
        if not self._may_dispatch():
            return
        if unit.status is UnitStatus.AVAILABLE and not self._warnings.for_incident(incident):
            self._commands.assign_unit(unit, incident)
        else:
            # Busy: the window asks for a divert reason. Warnings: the window shows them, to be
            # read and passed to the unit, before Enter sends it.
            self.assign(incident, unit_id)

    def _unit_activated(self, unit_id: int) -> None:
        unit = self.units_model.unit(unit_id)
        if unit is not None and unit.incident_id is not None:
            self._window.open_incident(unit.incident_id)

    def _incident_ref(self, incident_id: int) -> str | None:
        incident = self._window.model.incident(incident_id)
        return None if incident is None else incident.ref

    # -- navigation ---------------------------------------------------------------------------

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

    def _escalations_changed(self, count: int) -> None:
        self.escalation_button.setVisible(count > 0)
        self.escalation_button.setText(
            f"⚠ {count} ESCALATED owed incident{'s' if count != 1 else ''} — F9"
        )
