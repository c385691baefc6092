"""The embedded demo backend behind ``uv run dispatchdesk``.

The reference server on 127.0.0.1 (SQLite in the data directory), a demo sign-in per role,
and the simulator feeding it from its own thread. On the first start of a fresh database a
few hours of history are played in first (with the server's clock set back), so the queue opens
with incidents in every state, breaches included, rather than empty.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
import secrets
import socket
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dispatchdesk.app.paths import private_dir
from dispatchdesk.domain.clock import FakeClock
from dispatchdesk.domain.incident import IncidentStatus
from dispatchdesk.domain.roles import Role
from dispatchdesk.protocol.schemas import CloseRequest, IncidentCreate, IncidentPatch
from dispatchdesk.server import EmbeddedServer, ServerSettings, add_user
from dispatchdesk.server.auth import User
from dispatchdesk.server.db import make_engine
from dispatchdesk.server.service import Idem, Service, ServiceError
from dispatchdesk.server.simulator import Scenario, Simulator

log = logging.getLogger(__name__)

SIMULATOR_USER = "demo-simulator"


def demo_username(role: Role) -> str:
    return f"demo-{role.value.replace('_', '-')}"


@dataclass(frozen=True)
class DemoSignIn:
    url: str
    username: str
    password: str


class DemoBackend:
    """Start with :meth:`start`, stop with :meth:`stop`; both block briefly (never on the GUI's
    event loop: the desk calls them from a worker thread)."""

    def __init__(self, base_dir: Path, *, rate_per_minute: float = 4.0,
                 history_hours: float = 2.0, seed: int | None = None,
                 port: int | None = None) -> None:
        self._dir = private_dir(base_dir / "demo")
        self.db_url = f"sqlite:///{self._dir / 'demo-server.db'}"
        self._fresh = not (self._dir / "demo-server.db").exists()
        self._rate = rate_per_minute
        self._history = timedelta(hours=history_hours)
        self._seed = seed
        self._passwords = {role: secrets.token_urlsafe(18) for role in Role}
        self._sim_password = secrets.token_urlsafe(18)
        #: Chosen now, so that the desk can build its client before the server is up.
        self.port = port or _free_port()
        self._server: EmbeddedServer | None = None
        self._simulator: Simulator | None = None
        self._thread: threading.Thread | None = None

    @property
    def is_fresh(self) -> bool:
        """True when this start created the demo database (any old demo cache is stale)."""
        return self._fresh

    def start(self) -> str:
        """Start everything; returns the server's URL."""
        for role, password in self._passwords.items():
            add_user(self.db_url, demo_username(role), role, password)
        add_user(self.db_url, SIMULATOR_USER, Role.DISPATCHER, self._sim_password)
        leftovers: list[tuple[float, str, dict[str, Any]]] = []
        if self._fresh and self._history > timedelta(0):
            leftovers = play_history(self.db_url, SIMULATOR_USER, self._history, self._rate,
                                     self._seed)
        elif not self._fresh:
            leftovers = resume_lives(self.db_url, self._seed)
        self._server = EmbeddedServer(ServerSettings(db_url=self.db_url, port=self.port))
        self._server.start()
        self._simulator = Simulator(self._server.url, SIMULATOR_USER, self._sim_password,
                                    rate_per_minute=self._rate, seed=self._seed)
        self._simulator.schedule(leftovers)
        self._thread = threading.Thread(target=self._run_simulator, name="demo-simulator",
                                        daemon=True)
        self._thread.start()
        return self._server.url

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def sign_in_for(self, role: Role) -> DemoSignIn:
        return DemoSignIn(self.url, demo_username(role), self._passwords[role])

    def stop(self) -> None:
        if self._simulator is not None:
            self._simulator.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._server is not None:
            self._server.stop()

    def _run_simulator(self) -> None:
        assert self._simulator is not None
        sim = self._simulator

        async def run() -> None:
            try:
                await sim.run()
            finally:
                await sim.aclose()

        try:
            asyncio.run(run())
        except Exception:  # the desk must go on without its feed; say why in the log
            log.exception("demo simulator stopped")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def play_history(db_url: str, username: str, span: timedelta, rate: float,
                 seed: int | None, now: datetime | None = None
                 ) -> list[tuple[float, str, dict[str, Any]]]:
    """Play ``span`` of simulated calls into the database with the server's clock set back.

    Goes through the server's own command layer (the rules, change log and audit that the
    HTTP routes use), so every row is what the live server would have written; only HTTP is
    skipped, which makes a couple of hours of history take a second or two. Returns the
    incidents' steps still in the future, as (seconds from now, action, incident).
    """
    now = now or datetime.now(UTC)
    clock = FakeClock(now - span)
    service = Service(make_engine(db_url), ServerSettings(db_url=db_url, clock=clock),
                      on_commit=lambda: None)
    user = User(username, Role.DISPATCHER)
    scenario = Scenario(None if seed is None else seed + 1)
    due: list[tuple[datetime, int, str, dict[str, Any]]] = []
    order = itertools.count()
    next_call = clock.now()
    while True:
        step_at = min(next_call, due[0][0]) if due else next_call
        if step_at > now:
            break
        clock.set(step_at)
        if due and due[0][0] == step_at:
            _, _, action, incident = heapq.heappop(due)
            _play_step(service, user, scenario, action, incident)
            continue
        body = IncidentCreate.model_validate(scenario.new_incident())
        incident = service.create_incident(user, body, _NO_KEY).body
        delays = scenario.attendance_delays(incident["grade"])
        for action, delay in zip(("assign", "arrive", "close"), delays or (), strict=False):
            heapq.heappush(due, (step_at + timedelta(seconds=delay), next(order),
                                 action, incident))
        next_call = step_at + timedelta(seconds=scenario.next_gap(rate))
    service.engine.dispose()
    return [((at - now).total_seconds(), action, inc) for at, _, action, inc in sorted(due)]


def resume_lives(db_url: str, seed: int | None) -> list[tuple[float, str, dict[str, Any]]]:
    """On a restart, units go back to the incidents left open, as a new shift would: each
    open incident gets its remaining steps within the next half hour."""
    service = Service(make_engine(db_url), ServerSettings(db_url=db_url), on_commit=lambda: None)
    rng = random.Random(seed)
    steps: list[tuple[float, str, dict[str, Any]]] = []
    remaining = {
        IncidentStatus.OPEN: ("assign", "arrive", "close"),
        IncidentStatus.ASSIGNED: ("arrive", "close"),
        IncidentStatus.AT_SCENE: ("close",),
    }
    for incident in service.snapshot().incidents:
        if incident.grade.value == "R":
            continue
        at = 0.0
        for action in remaining.get(incident.status, ()):
            at += rng.uniform(60, 600)
            steps.append((at, action, incident.model_dump(mode="json")))
    service.engine.dispose()
    return steps


_NO_KEY = Idem(key=None, method_path="demo-history", request_hash="")


def _play_step(service: Service, user: User, scenario: Scenario, action: str,
               incident: dict[str, Any]) -> None:
    incident_id = int(incident["id"])
    try:
        if action == "close":
            body = CloseRequest(rationale=scenario.rationale(incident))
            service.close_incident(user, incident_id, body, None, _NO_KEY)
            return
        current = service.get_incident(incident_id)
        status = {"assign": IncidentStatus.ASSIGNED, "arrive": IncidentStatus.AT_SCENE}[action]
        if current.status in (status, IncidentStatus.CLOSED):
            return
        service.patch_incident(user, incident_id, IncidentPatch(status=status),
                               current.version, _NO_KEY)
    except ServiceError as refused:  # e.g. a rationale too like another: leave it open
        log.debug("demo history: %s %s refused: %s", action, incident_id, refused.detail)
