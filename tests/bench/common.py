"""Shared helpers for the benchmarks: synthetic incidents, timing and printing.

Benchmarks print figures beside the limit they are judged against, measured in the same run;
they are not pass/fail tests, so a slow machine never fails the suite.
"""

from __future__ import annotations

import random
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from dispatchdesk.domain.grades import DEFAULT_POLICY, Grade
from dispatchdesk.domain.incident import Caller, Incident, IncidentStatus, Location
from dispatchdesk.server.simulation.london import random_address

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def incidents(n: int, seed: int = 1, now: datetime = NOW) -> list[Incident]:
    """``n`` open incidents created over the last six hours, grades in the London mix."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        grade = rng.choices(list(Grade), weights=[30, 40, 20, 10])[0]
        created = now - timedelta(seconds=rng.uniform(0, 6 * 3600))
        a = random_address(rng)
        out.append(
            Incident(
                id=i + 1,
                ref=f"CAD {i + 1}/23NOV26",
                version=1,
                grade=grade,
                status=IncidentStatus.OPEN,
                created_at=created,
                deadline=DEFAULT_POLICY.deadline(grade, created),
                type="Domestic",
                summary="Caller reports shouting next door.",
                location=Location(a.address, a.postcode, a.borough, a.uprn, a.parent_uprn, a.usrn),
                caller=Caller("J. Smith", "07700 900123"),
            )
        )
    return out


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    """Wall time of each of ``runs`` calls, in milliseconds."""
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def report(name: str, samples_ms: list[float], unit: str = "ms") -> float:
    med = statistics.median(samples_ms)
    print(
        f"  {name:<46} median {med:8.2f} {unit}   "
        f"(min {min(samples_ms):.2f}, max {max(samples_ms):.2f}, n={len(samples_ms)})"
    )
    return med


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def seed_server(db_url: str, n_incidents: int, n_units: int = 0) -> None:
    """A server database with ``n_incidents`` open incidents (the simulator's mix) and a
    fleet of ``n_units``, made through the services as commands would make them."""
    from dispatchdesk.domain.roles import Role
    from dispatchdesk.protocol.schemas import IncidentCreate, UnitCreate
    from dispatchdesk.server import ServerSettings
    from dispatchdesk.server.auth import User
    from dispatchdesk.server.db import create_schema, make_engine
    from dispatchdesk.server.runner import Idem
    from dispatchdesk.server.services import Services
    from dispatchdesk.server.simulation.scenario import Scenario

    create_schema(make_engine(db_url))
    service = Services.open(
        make_engine(db_url), ServerSettings(db_url=db_url), on_commit=lambda: None
    )
    user = User("bench", Role.SUPERVISOR)
    scenario = Scenario(seed=1)
    for _ in range(n_incidents):
        body = IncidentCreate.model_validate(scenario.new_incident())
        service.incidents.create_incident(user, body, Idem(None, "seed", ""))
    if n_units:
        fleet = [UnitCreate.model_validate(b) for b in scenario.fleet(n_units)]
        service.units.create_units(user, fleet)
    service.runner.engine.dispose()


def fresh_pg_database(base_url: str, name: str) -> str:
    """Drop and create database ``name`` on the PostgreSQL server of ``base_url``; its URL."""
    import sqlalchemy as sa

    admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return sa.make_url(base_url).set(database=name).render_as_string(hide_password=False)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServeProcess:
    """``dispatchdesk serve`` in a process of its own (as deployed), on a free port.

    ``with ServeProcess(db_url) as srv: ... srv.url``; stopped with SIGTERM on exit.
    """

    def __init__(self, db_url: str, *, workers: int = 1, port: int | None = None) -> None:
        self.db_url = db_url
        self.workers = workers
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        self.launch()
        self.wait_ready(timeout)

    def launch(self) -> None:
        """Start the process (several nodes may start at once; then :meth:`wait_ready`)."""
        cmd = [sys.executable, "-m", "dispatchdesk.app", "serve", "--db", self.db_url]
        cmd += ["--port", str(self.port)]
        if self.workers != 1:
            cmd += ["--workers", str(self.workers)]
        self.proc = subprocess.Popen(cmd)

    def wait_ready(self, timeout: float = 60.0) -> None:
        import httpx

        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dispatchdesk serve exited with {self.proc.returncode}")
            try:
                httpx.get(self.url + "/openapi.json", timeout=1.0)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("dispatchdesk serve did not answer in time")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> ServeProcess:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
