"""Every feature's service over one :class:`~dispatchdesk.server.runner.CommandRunner`: what
:func:`~dispatchdesk.server.app.create_app` serves, and what code that runs commands without
HTTP (the demo's history, the fleet import, benchmarks) uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from dispatchdesk.server.features.audit.service import AuditLog
from dispatchdesk.server.features.history.service import History
from dispatchdesk.server.features.incidents.service import Incidents
from dispatchdesk.server.features.sync.service import Sync
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
    history: History

    @classmethod
    def open(
        cls, engine: Engine, settings: ServerSettings, on_commit: Callable[[], None]
    ) -> Services:
        """The services over ``engine``; ``on_commit`` wakes the event streams."""
        runner = CommandRunner(engine, settings, on_commit)
        incidents = Incidents(runner)
        return cls(
            runner,
            incidents,
            Units(runner),
            WarningsDesk(runner),
            Sync(runner),
            AuditLog(runner),
            History(runner, incidents),
        )
