"""The history part of the incident panel: its :class:`HistoryPanel` and loader, shown for
the incident on display (asked for once the selection rests on it, so moving through the
queue does not ask the server at every row)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import cast

from PySide6.QtGui import QAction

from dispatchdesk.domain.incident import Incident
from dispatchdesk.gui.history.loader import HistoryLoader
from dispatchdesk.gui.history.panel import HistoryPanel
from dispatchdesk.sync.api import DeskCommands, HistorySource

#: The selection must rest this long on an incident before its history is asked for.
INCIDENT_SETTLE_MS = 400


def history_source(commands: object) -> HistorySource | None:
    """``commands`` when it can answer history questions (the sync engine), else None."""
    if callable(getattr(commands, "incident_history", None)) and callable(
        getattr(commands, "history", None)
    ):
        return cast(HistorySource, commands)
    return None


class IncidentHistory:
    """History and links of the incident shown in the incident panel."""

    def __init__(
        self,
        commands: DeskCommands,
        tz: Callable[[], str],
        now: Callable[[], datetime],
        *,
        can_unlink: bool = False,
    ) -> None:
        self.panel = HistoryPanel(commands, tz=tz(), can_unlink=can_unlink)
        self.loader = HistoryLoader(
            self.panel, history_source(commands), tz, settle_ms=INCIDENT_SETTLE_MS, now=now
        )
        self.panel.show_idle("Select an incident to see its history.")

    def show_incident(self, incident: Incident | None) -> None:
        """Another incident (or none) on display: its links now, its history once the
        selection rests."""
        self.panel.set_incident(incident)
        self.loader.ask_incident(incident)

    def update_incident(self, incident: Incident) -> None:
        """The incident changed on the server: its links follow, and a link made or removed
        asks again (the history lists linked incidents too)."""
        before = self.panel.incident
        self.panel.set_incident(incident)
        if before is not None and before.id == incident.id and before.links != incident.links:
            self.loader.ask_again()

    def shortcut_actions(self) -> list[QAction]:
        """Link (Ctrl+L) and remove a link (Del), for Help ▸ Keyboard shortcuts (the removal
        hidden from those who may not)."""
        return [self.panel.link_action, self.panel.linked.remove_action]
