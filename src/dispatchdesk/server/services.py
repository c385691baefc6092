"""Every feature's service over one :class:`~dispatchdesk.server.runner.CommandRunner`: what
:func:`~dispatchdesk.server.app.create_app` serves, and what code that runs commands without
HTTP (the demo's history, the fleet import, benchmarks) uses."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from dispatchdesk.protocol.schemas import Change
from dispatchdesk.server.features.audit.service import AuditLog
from dispatchdesk.server.features.downgrades.service import Downgrades
from dispatchdesk.server.features.history.service import History
from dispatchdesk.server.features.incidents.service import Incidents
from dispatchdesk.server.features.notices.service import Notices
from dispatchdesk.server.features.sync.service import Sync
from dispatchdesk.server.features.tasks.service import Tasks
from dispatchdesk.server.features.units.service import Units
from dispatchdesk.server.features.warnings.service import WarningsDesk
from dispatchdesk.server.runner import CommandRunner
from dispatchdesk.server.settings import ServerSettings


@dataclass(frozen=True, slots=True)
class Services:
    runner: CommandRunner
    incidents: Incidents
    units: Units
    warnings: WarningsDesk
    sync: Sync
    audit: AuditLog
    notices: Notices
    downgrades: Downgrades
    tasks: Tasks
    history: History

    @classmethod
    def open(
        cls,
        engine: Engine,
        settings: ServerSettings,
        on_commit: Callable[[], None],
        on_changes: Callable[[Sequence[Change]], None] | None = None,
    ) -> Services:
        """The services over ``engine``; ``on_commit`` wakes the event streams, and
        ``on_changes`` (if given) is handed a command's committed change rows instead."""
        runner = CommandRunner(engine, settings, on_commit, on_changes)
        incidents = Incidents(runner)
        return cls(
            runner,
            incidents,
            Units(runner),
            WarningsDesk(runner),
            Sync(runner),
            AuditLog(runner),
            Notices(runner),
            Downgrades(runner, incidents),
            Tasks(runner, incidents),
            History(runner, incidents),
        )
