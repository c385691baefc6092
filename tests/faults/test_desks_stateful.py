"""Fault suite 3: a hypothesis state machine of several desks' sync engines on one server.

Three desks, each behind its own fault-injecting proxy, create incidents and edit the
summaries of incidents they see, while the rules also change a proxy's fault rate, black a
desk out (offline) and bring it back, let time pass, and restart a desk on its cache. After
each run (``--fault-examples`` runs) every desk is brought back online (faults still on) and
drained; then every create is on the server exactly once, no create was refused, and every
desk's cache holds exactly the server's state (incidents, versions, summaries, the cursor).
An edit may be refused (another desk edited first: 412): that is the rule working, and it
stays in that desk's outbox, FAILED, for the operator.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from dispatchdesk.cache import CacheStore, CacheWorker
from dispatchdesk.domain.commands import CommandKind, CommandState
from dispatchdesk.server import EmbeddedServer
from dispatchdesk.sync.engine import SyncEngine
from tests.sync.conftest import PASSWORD, Recorder, draft

from .conftest import server_incidents
from .proxy import FaultProxy
from .test_fault_proxy import engine_through

DESKS = 3
#: How long a run may take to drain once every desk is back (faults on).
DRAIN = 90.0


class Desk:
    """One desk: its proxy, cache, engine and what it has been told."""

    def __init__(self, name: str, path: Path, proxy: FaultProxy) -> None:
        self.name, self.path, self.proxy = name, path, proxy
        self.worker = CacheWorker(CacheStore(path))
        self.rec = Recorder()
        self.engine: SyncEngine = engine_through(proxy.url, self.worker, self.rec)

    async def start(self) -> None:
        was = self.proxy.enabled
        self.proxy.enabled, self.proxy.blackout = False, False
        await self.engine._client.sign_in("alice", PASSWORD)
        self.proxy.enabled = was
        await self.engine.start()

    async def stop(self) -> None:
        await self.engine.stop()
        await asyncio.to_thread(self.worker.close)


def test_several_desks_through_faults_converge_on_the_server(
    server: EmbeddedServer, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    examples = int(request.config.getoption("--fault-examples"))
    runs = itertools.count()
    report: list[str] = []
    numbers = itertools.count(1)

    class Desks(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.run = next(runs)
            self.began = time.monotonic()
            self.loop = asyncio.new_event_loop()
            self.desks: list[Desk] = []
            self.created: list[int] = []
            self.edits = 0
            self.restarts = 0
            self.counter = itertools.count()

        def do(self, coro):  # type: ignore[no-untyped-def]
            return self.loop.run_until_complete(coro)

        def on_loop(self, action: Callable[[], object]) -> None:
            """An operator's action, on the loop as the GUI's are (under qasync)."""

            async def act() -> None:
                action()

            self.do(act())

        @initialize(seed=st.integers(0, 2**32 - 1))
        def open_desks(self, seed: int) -> None:
            rng = random.Random(seed)

            async def open_all() -> None:
                for n in range(DESKS):
                    proxy = FaultProxy(server.port or 0, random.Random(rng.random()))
                    proxy.stream_rate = 0.1
                    await proxy.start()
                    desk = Desk(f"d{n}", tmp_path / f"run{self.run}" / f"d{n}" / "c.db", proxy)
                    await desk.start()
                    self.desks.append(desk)

            self.do(open_all())

        @rule(n=st.integers(0, DESKS - 1))
        def create(self, n: int) -> None:
            k = next(numbers)  # "k Acacia Avenue": one incident per create, whatever the run
            self.created.append(k)
            self.on_loop(lambda: self.desks[n].engine.create_incident(draft(k)))

        @rule(n=st.integers(0, DESKS - 1), count=st.integers(2, 12))
        def burst(self, n: int, count: int) -> None:
            """A busy minute on one desk: several calls in a row."""
            for _ in range(count):
                self.create(n)

        @rule(n=st.integers(0, DESKS - 1), pick=st.integers(0, 10_000))
        def edit(self, n: int, pick: int) -> None:
            shown = self.desks[n].rec.incidents
            if not shown:
                return
            incident = shown[sorted(shown)[pick % len(shown)]]
            summary = f"Run {self.run} edit {next(self.counter)}"
            self.edits += 1
            self.on_loop(lambda: self.desks[n].engine.edit_summary(incident, summary))

        @rule(n=st.integers(0, DESKS - 1), rate=st.sampled_from([0.0, 0.3, 0.6]))
        def faults(self, n: int, rate: float) -> None:
            self.desks[n].proxy.rate = rate

        @rule(n=st.integers(0, DESKS - 1), off=st.booleans())
        def blackout(self, n: int, off: bool) -> None:
            self.desks[n].proxy.blackout = off

        @rule(seconds=st.sampled_from([0.0, 0.05, 0.2, 0.5]))
        def time_passes(self, seconds: float) -> None:
            self.do(asyncio.sleep(seconds))

        @rule(n=st.integers(0, DESKS - 1))
        def restart(self, n: int) -> None:
            old = self.desks[n]
            self.restarts += 1
            self.do(old.stop())
            desk = Desk(old.name, old.path, old.proxy)
            self.do(desk.start())
            self.desks[n] = desk

        def teardown(self) -> None:
            try:
                if self.desks:
                    began = time.monotonic()
                    self.do(self.converge())
                    report.append(
                        f"{len(self.created)} creates, {self.edits} edits, {self.restarts} "
                        f"restarts, {time.monotonic() - self.began:.1f} s "
                        f"({time.monotonic() - began:.1f} s to converge)"
                    )
            finally:
                for desk in self.desks:
                    self.do(desk.stop())
                    self.do(desk.proxy.close())
                self.loop.close()

        async def converge(self) -> None:
            for desk in self.desks:
                desk.proxy.blackout = False
                desk.proxy.rate = 0.3
            async with asyncio.timeout(DRAIN):
                while True:
                    cursor, on_server = await server_incidents(server.url)
                    if all(
                        d.engine.cursor == cursor
                        and not [
                            c
                            for c in d.engine.commands
                            if c.state in (CommandState.QUEUED, CommandState.SENT)
                        ]
                        for d in self.desks
                    ):
                        break
                    await asyncio.sleep(0.1)
            # Edits change summaries, never the location: one incident per create.
            places = Counter(i.location.address for i in on_server.values())
            wrong = {k: places[f"{k} Acacia Avenue"] for k in self.created}
            assert set(wrong.values()) <= {1}, f"lost (0) or applied twice (2): {wrong}"
            for desk in self.desks:
                refused = [c for c in desk.engine.commands if c.kind is CommandKind.CREATE_INCIDENT]
                assert not refused, [(c.description, c.message) for c in refused]
                cached = await desk.worker.call(desk.worker.store.load)
                assert cached.cursor == cursor
                assert {i.id: (i.version, i.summary) for i in cached.incidents} == {
                    i: (x.version, x.summary) for i, x in on_server.items()
                }, f"{desk.name}'s cache is not the server's state"

    run_state_machine_as_test(
        Desks,
        settings=settings(
            max_examples=examples,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        ),
    )
    print(f"\n{len(report)} runs of {DESKS} desks: " + "; ".join(report))
