"""``QtDeskListener``: the sync engine's :class:`~dispatchdesk.sync.api.DeskListener`,
updating the queue window. Every call arrives on the GUI thread (qasync runs the engine's
loop there), so it touches the widgets directly. It also sounds the alerts: a new grade I
incident, and the connection lost (the window's :class:`~dispatchdesk.gui.sounds.AlertSounds`,
which the operator can turn off)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QObject

from dispatchdesk.domain.commands import ConnectionInfo, ConnectionState, PendingCommand
from dispatchdesk.domain.grades import Grade, GradePolicy
from dispatchdesk.domain.incident import Incident
from dispatchdesk.domain.unit import Unit
from dispatchdesk.gui.queue_window import QueueWindow
from dispatchdesk.sync.api import Acknowledgements, DeskListener, WarningIndex

log = logging.getLogger(__name__)


class QtDeskListener(QObject):
    """Feeds engine state into a :class:`QueueWindow`."""

    def __init__(self, window: QueueWindow, parent: Any = None) -> None:
        super().__init__(parent)
        self._window = window
        self._connection: ConnectionState | None = None

    def on_state(self, incidents: Sequence[Incident], policy: GradePolicy) -> None:
        self._window.set_incidents(incidents, policy)

    def on_changes(self, upserts: Sequence[Incident], removed: Sequence[int]) -> None:
        model = self._window.model
        new_immediate = any(i.grade is Grade.IMMEDIATE and i.is_open
                            and model.incident(i.id) is None for i in upserts)
        self._window.apply_changes(upserts, removed)
        if new_immediate:
            self._window.sounds.play("new-immediate")

    def on_connection(self, info: ConnectionInfo) -> None:
        if info.state is ConnectionState.OFFLINE and self._connection is ConnectionState.ONLINE:
            self._window.sounds.play("offline")
        self._connection = info.state
        self._window.set_connection(info)

    def on_commands(self, commands: Sequence[PendingCommand]) -> None:
        self._window.set_commands(commands)

    def on_problem(self, message: str) -> None:
        log.warning("problem shown to operator: %s", message)
        self._window.show_problem(message)

    def on_signed_out(self, message: str) -> None:  # until r10-gui implements it
        self.on_problem(message)

    def on_units(self, units: Sequence[Unit], removed: Sequence[int], reset: bool) -> None:
        self._window.ops.set_units(units, removed, reset)

    def on_warnings(self, index: WarningIndex, acknowledged: Acknowledgements) -> None:
        self._window.ops.set_warnings(index, acknowledged)


def _conforms(listener: QtDeskListener) -> DeskListener:
    """Checked by mypy: ``QtDeskListener`` satisfies the engine's ``DeskListener``."""
    return listener
