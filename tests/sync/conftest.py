"""Fixtures for sync tests: the real reference server on loopback, a recording listener."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import anyio
import pytest

from dispatchdesk.cache import CacheStore, CacheWorker
from dispatchdesk.cache.warning_index import WarningIndex
from dispatchdesk.domain.commands import ConnectionInfo, ConnectionState, PendingCommand
from dispatchdesk.domain.grades import Grade, GradePolicy
from dispatchdesk.domain.incident import Incident, Location
from dispatchdesk.domain.roles import Role
from dispatchdesk.domain.unit import Unit
from dispatchdesk.domain.warnings import WarningRef
from dispatchdesk.protocol.notices import NoticeOut
from dispatchdesk.protocol.schemas import IncidentCreate, IncidentOut, LocationModel
from dispatchdesk.server import EmbeddedServer, ServerSettings, add_user
from dispatchdesk.sync.api import Acknowledgements, IncidentDraft
from dispatchdesk.sync.client import ApiClient

PASSWORD = "correct horse battery"
WAIT = 20.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Recorder:
    """A DeskListener that records every call and lets a test wait for a condition."""

    states: list[tuple[list[Incident], GradePolicy]] = field(default_factory=list)
    changes: list[tuple[list[Incident], list[int]]] = field(default_factory=list)
    connections: list[ConnectionInfo] = field(default_factory=list)
    command_lists: list[list[PendingCommand]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    signed_out: list[str] = field(default_factory=list)
    incidents: dict[int, Incident] = field(default_factory=dict)
    units: dict[int, Unit] = field(default_factory=dict)
    unit_batches: list[tuple[list[Unit], list[int], bool]] = field(default_factory=list)
    index: WarningIndex | None = None
    acknowledged: frozenset[tuple[int, WarningRef]] = frozenset()
    warning_calls: int = 0
    notices: dict[int, NoticeOut] = field(default_factory=dict)
    notice_reads: dict[int, datetime] = field(default_factory=dict)
    _event: asyncio.Event = field(default_factory=asyncio.Event)

    def _ping(self) -> None:
        self._event.set()

    def on_state(self, incidents: Sequence[Incident], policy: GradePolicy) -> None:
        self.states.append((list(incidents), policy))
        self.incidents = {i.id: i for i in incidents}
        self._ping()

    def on_changes(self, upserts: Sequence[Incident], removed: Sequence[int]) -> None:
        self.changes.append((list(upserts), list(removed)))
        for i in upserts:
            self.incidents[i.id] = i
        for r in removed:
            self.incidents.pop(r, None)
        self._ping()

    def on_connection(self, info: ConnectionInfo) -> None:
        self.connections.append(info)
        self._ping()

    def on_commands(self, commands: Sequence[PendingCommand]) -> None:
        self.command_lists.append(list(commands))
        self._ping()

    def on_problem(self, message: str) -> None:
        self.problems.append(message)
        self._ping()

    def on_signed_out(self, message: str) -> None:
        self.signed_out.append(message)
        self._ping()

    def on_units(self, units: Sequence[Unit], removed: Sequence[int], reset: bool) -> None:
        self.unit_batches.append((list(units), list(removed), reset))
        if reset:
            self.units = {}
        self.units.update({u.id: u for u in units})
        for r in removed:
            self.units.pop(r, None)
        self._ping()

    def on_notices(self, notices: Sequence[NoticeOut], reads: Mapping[int, datetime]) -> None:
        self.notices = {n.id: n for n in notices}
        self.notice_reads = dict(reads)
        self._ping()

    def on_warnings(self, index: WarningIndex, acknowledged: Acknowledgements) -> None:
        self.index = index
        self.acknowledged = acknowledged
        self.warning_calls += 1
        self._ping()

    @property
    def commands(self) -> list[PendingCommand]:
        return self.command_lists[-1] if self.command_lists else []

    @property
    def connection(self) -> ConnectionState | None:
        return self.connections[-1].state if self.connections else None

    async def wait_for(self, predicate: Callable[[], object], timeout: float = WAIT) -> None:
        with anyio.fail_after(timeout):
            while not predicate():
                self._event.clear()
                await self._event.wait()

    def upserts_seen(self) -> list[tuple[int, int]]:
        return [(i.id, i.version) for batch, _ in self.changes for i in batch]


def location(n: int = 1) -> Location:
    return Location(address=f"{n} Acacia Avenue", postcode="SW1A 1AA", borough="Westminster")


def draft(n: int = 1, grade: Grade = Grade.IMMEDIATE) -> IncidentDraft:
    return IncidentDraft(
        grade=grade, type="Burglary", summary=f"Break-in number {n}", location=location(n)
    )


def create_body(n: int) -> IncidentCreate:
    return IncidentCreate(
        grade=Grade.SIGNIFICANT,
        type="Theft",
        summary=f"Other desk {n}",
        location=LocationModel(
            address=f"{n} Other Road", postcode="E1 6AN", borough="Tower Hamlets"
        ),
    )


async def other_desk_creates(client: ApiClient, n: int) -> IncidentOut:
    return await client.create_incident(create_body(n), idempotency_key=str(uuid.uuid4()))


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    return url


@pytest.fixture
def server_settings(db_url: str) -> ServerSettings:
    return ServerSettings(db_url=db_url, port=0, heartbeat_seconds=0.2)


@pytest.fixture
def server(server_settings: ServerSettings) -> Iterator[EmbeddedServer]:
    srv = EmbeddedServer(server_settings)
    srv.start()
    add_user(server_settings.db_url, "alice", Role.SUPERVISOR, PASSWORD)
    add_user(server_settings.db_url, "bob", Role.SUPERVISOR, PASSWORD)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
async def other(server: EmbeddedServer) -> AsyncIterator[ApiClient]:
    """Another desk, signed in as bob, making changes through the server."""
    client = ApiClient(server.url)
    await client.sign_in("bob", PASSWORD)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[CacheWorker]:
    w = CacheWorker(CacheStore(tmp_path / "client" / "cache.sqlite3"))
    try:
        yield w
    finally:
        w.close()
