"""``DeskRelay``: the sync engine's :class:`~dispatchdesk.sync.api.DeskListener` as typed Qt
signals, the one hop from the engine to the widgets that care.

The app owns one relay for the whole run (the engine lives on when the window is rebuilt for
another role); each window connects its models and widgets to the signals and disconnects
them when it closes. Every call arrives on the GUI thread (qasync runs the engine's loop there),
so the signals are delivered directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from PySide6.QtCore import QObject, Signal

from dispatchdesk.domain.commands import ConnectionInfo, PendingCommand
from dispatchdesk.domain.grades import GradePolicy
from dispatchdesk.domain.incident import Incident
from dispatchdesk.domain.unit import Unit
from dispatchdesk.protocol.notices import NoticeOut
from dispatchdesk.sync.api import Acknowledgements, DeskListener, WarningIndex


class DeskRelay(QObject):
    """Emits one signal per :class:`DeskListener` call, with the call's arguments (sequences
    as lists; ``object`` signal types, so a 10k-incident snapshot is passed, not converted)."""

    #: ``on_state``: (incidents, policy): everything shown is replaced.
    state = Signal(object, object)
    #: ``on_changes``: (upserts, removed ids).
    changes = Signal(object, object)
    #: ``on_connection``: online / connecting / offline.
    connection = Signal(object)
    #: ``on_commands``: every command not yet confirmed, oldest first.
    commands = Signal(object)
    #: ``on_problem``: a sentence for the operator to read now.
    problem = Signal(str)
    #: ``on_units``: (units, removed ids, reset).
    units = Signal(object, object, bool)
    #: ``on_warnings``: (the engine's live index, acknowledgements).
    warnings = Signal(object, object)
    #: ``on_signed_out``: the server no longer accepts the session (the message says why).
    signed_out = Signal(str)
    #: ``on_notices``: (every live notice, {notice id: when this operator read it}).
    notices = Signal(object, object)

    def on_state(self, incidents: Sequence[Incident], policy: GradePolicy) -> None:
        self.state.emit(list(incidents), policy)

    def on_changes(self, upserts: Sequence[Incident], removed: Sequence[int]) -> None:
        self.changes.emit(list(upserts), list(removed))

    def on_connection(self, info: ConnectionInfo) -> None:
        self.connection.emit(info)

    def on_commands(self, commands: Sequence[PendingCommand]) -> None:
        self.commands.emit(list(commands))

    def on_problem(self, message: str) -> None:
        self.problem.emit(message)

    def on_units(self, units: Sequence[Unit], removed: Sequence[int], reset: bool) -> None:
        self.units.emit(list(units), list(removed), reset)

    def on_warnings(self, index: WarningIndex, acknowledged: Acknowledgements) -> None:
        self.warnings.emit(index, frozenset(acknowledged))

    def on_signed_out(self, message: str) -> None:
        self.signed_out.emit(message)

    def on_notices(self, notices: Sequence[NoticeOut], reads: Mapping[int, datetime]) -> None:
        self.notices.emit(list(notices), dict(reads))


def _conforms(relay: DeskRelay) -> DeskListener:
    """Checked by mypy: ``DeskRelay`` satisfies the engine's ``DeskListener``."""
    return relay
