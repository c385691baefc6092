"""The embedded demo backend behind ``uv run dispatchdesk``: wiring only.

The reference server on 127.0.0.1 (SQLite in the data directory), a demo sign-in per role,
and the simulator feeding it from its own thread. On the first start of a fresh database a
supervisor service user adds a London fleet and a few special schemes and protective orders,
and a couple of hours of history are played in (with the server's clock set back), so the desk
opens with incidents in every state, breaches included, units busy and free, a divert still
owed, and warnings on incidents in the queue, rather than empty. The live simulator then
drives the fleet and now and then takes a call from a marked address.

The seeding (fleet, history, schemes and orders) and the simulator live in
:mod:`dispatchdesk.server.simulation`; this module starts the embedded server, seeds it when
fresh, runs the simulator on its own thread and holds the demo sign-ins.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from dispatchdesk.app.paths import private_dir
from dispatchdesk.domain.roles import Role
from dispatchdesk.server import EmbeddedServer, ServerSettings, add_user
from dispatchdesk.server.simulation.seeding import play_history, resume_lives
from dispatchdesk.server.simulation.simulator import Simulator

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

    def __init__(
        self,
        base_dir: Path,
        *,
        rate_per_minute: float = 4.0,
        history_hours: float = 2.0,
        seed: int | None = None,
        port: int | None = None,
        units: int | None = None,
    ) -> None:
        self._dir = private_dir(base_dir / "demo")
        self.db_url = f"sqlite:///{self._dir / 'demo-server.db'}"
        self._fresh = not (self._dir / "demo-server.db").exists()
        self._rate = rate_per_minute
        self._history = timedelta(hours=history_hours)
        self._seed = seed
        #: Fleet size on a fresh database; None: sized for the rate
        #: (:func:`~dispatchdesk.server.simulation.seeding.demo_fleet_size`).
        self._units = units
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
        if self._fresh:
            playback = play_history(
                self.db_url,
                SIMULATOR_USER,
                self._history,
                self._rate,
                self._seed,
                units=self._units,
            )
        else:
            playback = resume_lives(self.db_url, self._seed)
        self._server = EmbeddedServer(ServerSettings(db_url=self.db_url, port=self.port))
        self._server.start()
        self._simulator = Simulator(
            self._server.url,
            SIMULATOR_USER,
            self._sim_password,
            rate_per_minute=self._rate,
            seed=self._seed,
            marked=playback.marked,
        )
        self._simulator.schedule(playback.steps, playback.sent)
        self._thread = threading.Thread(
            target=self._run_simulator, name="demo-simulator", daemon=True
        )
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
