"""Benchmark (c): server commit → row updated in the client's model, 50 changes/s sustained.

A real server on loopback (SQLite, 10,000 open incidents), a real desk client in this
process (cache, sync engine over SSE, the Qt table model, one qasync loop), and a writer
thread that edits incidents at 50/s through the API. Latency is measured from the moment the
writer has the server's reply (the commit is done by then) to the moment the model holds the
new version. Beside it, in the same run: a bare loopback round trip (GET) of the same client.
Target: p99 <= 50 ms.

    uv run python -m tests.bench.bench_latency [N_INCIDENTS] [SECONDS]
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

import asyncio
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import httpx
import qasync
from PySide6.QtWidgets import QApplication

from dispatchdesk.cache.store import CacheStore
from dispatchdesk.cache.worker import CacheWorker
from dispatchdesk.domain.clock import ServerClock
from dispatchdesk.domain.commands import ConnectionInfo, PendingCommand
from dispatchdesk.domain.grades import GradePolicy
from dispatchdesk.domain.incident import Incident
from dispatchdesk.domain.roles import Role
from dispatchdesk.gui.queue.model import IncidentTableModel
from dispatchdesk.protocol.schemas import IncidentCreate
from dispatchdesk.server import EmbeddedServer, ServerSettings, add_user
from dispatchdesk.server.auth import User
from dispatchdesk.server.db import create_schema, make_engine
from dispatchdesk.server.runner import Idem
from dispatchdesk.server.services import Services
from dispatchdesk.server.simulation.scenario import Scenario
from dispatchdesk.sync.client import ApiClient
from dispatchdesk.sync.engine import SyncEngine
from tests.bench.common import percentile

RATE = 50.0


class ModelListener:
    """Feeds the real table model and notes when each (id, version) arrived."""

    def __init__(self, model: IncidentTableModel) -> None:
        self.model = model
        self.seen: dict[tuple[int, int], float] = {}
        self.online = asyncio.Event()

    def on_state(self, incidents: Sequence[Incident], policy: GradePolicy) -> None:
        self.model.set_incidents(incidents, policy)

    def on_changes(self, upserts: Sequence[Incident], removed: Sequence[int]) -> None:
        self.model.apply_changes(upserts, removed)
        now = time.perf_counter()
        for incident in upserts:
            self.seen[(incident.id, incident.version)] = now

    def on_connection(self, info: ConnectionInfo) -> None:
        if info.state.value == "online":
            self.online.set()

    def on_commands(self, commands: Sequence[PendingCommand]) -> None:
        pass

    def on_problem(self, message: str) -> None:
        print("  problem:", message)

    def on_units(self, units: object, removed: object, reset: bool) -> None:
        pass

    def on_warnings(self, index: object, acknowledged: object) -> None:
        pass

    def on_notices(self, notices: object, reads: object) -> None:
        pass

    def on_signed_out(self, message: str) -> None:
        print("  signed out:", message)


def seed(db_url: str, n: int) -> None:
    create_schema(make_engine(db_url))
    service = Services.open(
        make_engine(db_url), ServerSettings(db_url=db_url), on_commit=lambda: None
    )
    user = User("bench", Role.SUPERVISOR)
    scenario = Scenario(seed=1)
    for _ in range(n):
        body = IncidentCreate.model_validate(scenario.new_incident())
        service.incidents.create_incident(user, body, Idem(None, "seed", ""))
    service.runner.engine.dispose()


def writer(
    url: str,
    token: str,
    ids: list[int],
    seconds: float,
    replied: dict[tuple[int, int], float],
    rtt: list[float],
) -> None:
    """Edit incidents at RATE per second; note when each reply (the commit) came back."""
    with httpx.Client(
        base_url=url + "/api/v1", headers={"Authorization": f"Bearer {token}"}
    ) as http:
        versions = {i: 1 for i in ids}
        start = time.perf_counter()
        n = 0
        while time.perf_counter() - start < seconds:
            due = start + n / RATE
            time.sleep(max(0.0, due - time.perf_counter()))
            incident_id = ids[n % len(ids)]
            reply = http.patch(
                f"/incidents/{incident_id}",
                json={"summary": f"edit {n}"},
                headers={
                    "If-Match": str(versions[incident_id]),
                    "Idempotency-Key": uuid.uuid4().hex,
                },
            )
            replied_at = time.perf_counter()
            reply.raise_for_status()
            versions[incident_id] = reply.json()["version"]
            replied[(incident_id, versions[incident_id])] = replied_at
            if n % 10 == 0:
                t1 = time.perf_counter()
                http.get("/incidents/1").raise_for_status()
                rtt.append((time.perf_counter() - t1) * 1000)
            n += 1


def main() -> None:
    n_incidents = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
    tmp = Path(tempfile.mkdtemp(prefix="dd-bench-"))
    db = f"sqlite:///{tmp / 'server.db'}"
    t = time.perf_counter()
    seed(db, n_incidents)
    print(
        f"(c) commit -> model, {n_incidents:,} open incidents (seeded in "
        f"{time.perf_counter() - t:.1f} s), {RATE:.0f} changes/s for {seconds:.0f} s"
    )
    add_user(db, "bench", Role.SUPERVISOR, "bench-password")
    server = EmbeddedServer(ServerSettings(db_url=db, port=0))
    server.start()

    app = QApplication.instance() or QApplication([])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    clock = ServerClock()
    model = IncidentTableModel(clock.now)
    listener = ModelListener(model)
    replied: dict[tuple[int, int], float] = {}
    rtt: list[float] = []

    async def run() -> None:
        client = ApiClient(server.url, clock=clock)
        token = (await client.sign_in("bench", "bench-password")).access_token
        worker = CacheWorker(CacheStore(tmp / "cache.sqlite3"))
        engine = SyncEngine(client, worker, listener, clock)
        await engine.start()
        await listener.online.wait()
        ids = [i.id for i in model.incidents()][:500]
        thread = threading.Thread(
            target=writer, args=(server.url, token, ids, seconds, replied, rtt)
        )
        thread.start()
        while thread.is_alive():
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        await engine.stop()
        worker.close()

    with loop:
        loop.run_until_complete(run())
    server.stop()
    latencies = [(listener.seen[k] - v) * 1000 for k, v in replied.items() if k in listener.seen]
    missing = len(replied) - len(latencies)
    print(
        f"  bare loopback GET round trip (reference)       median "
        f"{statistics.median(rtt):6.2f} ms   p99 {percentile(rtt, 99):6.2f} ms  (n={len(rtt)})"
    )
    print(
        f"  commit -> model row updated                    median "
        f"{statistics.median(latencies):6.2f} ms   p99 {percentile(latencies, 99):6.2f} ms  "
        f"(n={len(latencies)}, target p99 <= 50 ms)"
    )
    print(f"  changes never seen by the model: {missing}")


if __name__ == "__main__":
    main()
