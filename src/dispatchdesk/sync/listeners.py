"""The engine's one way to the screen: typed calls to each :class:`DeskListener`.

Every call is a plain method call mypy checks against the Protocol; a listener that raises is
logged and never stops the engine (the cache is already committed, the feed goes on).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from dispatchdesk.cache.warning_index import WarningIndex
from dispatchdesk.domain.commands import ConnectionInfo, PendingCommand
from dispatchdesk.domain.grades import GradePolicy
from dispatchdesk.domain.incident import Incident
from dispatchdesk.domain.unit import Unit
from dispatchdesk.protocol.notices import NoticeOut
from dispatchdesk.sync.api import Acknowledgements, DeskListener

log = logging.getLogger(__name__)


class Listeners:
    """A :class:`DeskListener` that forwards each call to every listener given, in order."""

    def __init__(self, *listeners: DeskListener) -> None:
        self._listeners = listeners

    def _each(self, name: str, call: Callable[[DeskListener], None]) -> None:
        for listener in self._listeners:
            try:
                call(listener)
            except Exception:
                log.exception("listener %s failed", name)

    def on_state(self, incidents: Sequence[Incident], policy: GradePolicy) -> None:
        self._each("on_state", lambda x: x.on_state(incidents, policy))

    def on_changes(self, upserts: Sequence[Incident], removed: Sequence[int]) -> None:
        self._each("on_changes", lambda x: x.on_changes(upserts, removed))

    def on_connection(self, info: ConnectionInfo) -> None:
        self._each("on_connection", lambda x: x.on_connection(info))

    def on_commands(self, commands: Sequence[PendingCommand]) -> None:
        self._each("on_commands", lambda x: x.on_commands(commands))

    def on_problem(self, message: str) -> None:
        self._each("on_problem", lambda x: x.on_problem(message))

    def on_signed_out(self, message: str) -> None:
        self._each("on_signed_out", lambda x: x.on_signed_out(message))

    def on_units(self, units: Sequence[Unit], removed: Sequence[int], reset: bool) -> None:
        self._each("on_units", lambda x: x.on_units(units, removed, reset))

    def on_warnings(self, index: WarningIndex, acknowledged: Acknowledgements) -> None:
        self._each("on_warnings", lambda x: x.on_warnings(index, acknowledged))

    def on_notices(self, notices: Sequence[NoticeOut], reads: Mapping[int, datetime]) -> None:
        self._each("on_notices", lambda x: x.on_notices(notices, reads))


def _conforms(listeners: Listeners) -> DeskListener:
    """Checked by mypy: :class:`Listeners` is itself a ``DeskListener``."""
    return listeners
