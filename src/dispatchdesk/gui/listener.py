"""``QtDeskListener``: the sync engine's :class:`~dispatchdesk.sync.api.DeskListener`,
updating the queue window. Every call arrives on the GUI thread (qasync runs the engine's
loop there), so it touches the widgets directly."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QObject

from dispatchdesk.domain.commands import ConnectionInfo, PendingCommand
from dispatchdesk.domain.grades import GradePolicy
from dispatchdesk.domain.incident import Incident
from dispatchdesk.gui.queue_window import QueueWindow
from dispatchdesk.sync.api import DeskListener

log = logging.getLogger(__name__)


class QtDeskListener(QObject):
    """Feeds engine state into a :class:`QueueWindow`."""

    def __init__(self, window: QueueWindow, parent: Any = None) -> None:
        super().__init__(parent)
        self._window = window

    def on_state(self, incidents: Sequence[Incident], policy: GradePolicy) -> None:
        self._window.set_incidents(incidents, policy)

    def on_changes(self, upserts: Sequence[Incident], removed: Sequence[int]) -> None:
        self._window.apply_changes(upserts, removed)

    def on_connection(self, info: ConnectionInfo) -> None:
        self._window.set_connection(info)

    def on_commands(self, commands: Sequence[PendingCommand]) -> None:
        self._window.set_commands(commands)

    def on_problem(self, message: str) -> None:
        log.warning("problem shown to operator: %s", message)
        self._window.show_problem(message)


def _conforms(listener: QtDeskListener) -> DeskListener:
    """Checked by mypy: ``QtDeskListener`` satisfies the engine's ``DeskListener``."""
    return listener
