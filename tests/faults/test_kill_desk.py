"""Fault suite 1: kill -9 of a desk process mid-sync and mid-outbox-flush, again and again.

A real process (``desk_process``) runs the sync engine against the real server on loopback and
creates incidents, while another desk's incidents flow down its feed. Each round it is killed
(SIGKILL) either right as a command goes out or right as the feed writes a batch, then
restarted on the same cache. After every kill: ``PRAGMA integrity_check`` is ok, and every
command the desk had acknowledged (committed to its outbox) is either on the server or in the
outbox the restarted desk starts with. At the end (``--fault-rounds`` rounds): nothing
acknowledged is lost, nothing applied twice, and the desk restarts into exactly the server's
state with an empty outbox.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dispatchdesk.cache import CacheStore
from dispatchdesk.server import EmbeddedServer
from dispatchdesk.sync.client import ApiClient
from tests.sync.conftest import other_desk_creates

from .conftest import server_incidents

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
PER_ROUND = 30


@dataclass
class Round:
    prefix: str
    moment: str  # "SEND" or "SYNC"
    start: tuple[int | None, list[str]] = (None, [])
    acked: dict[str, str] = field(default_factory=dict)
    killed: bool = False


async def run_desk(
    url: str,
    cache: Path,
    prefix: str,
    count: int,
    kill_at: tuple[str, int] | None,
    rng: random.Random,
) -> Round:
    """Run the desk process; kill it at the n-th ``kill_at`` moment (or let it finish)."""
    moment, nth = kill_at or ("", 0)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.faults.desk_process",
        url,
        str(cache),
        prefix,
        str(count),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    result = Round(prefix, moment)
    seen = 0
    try:
        async with asyncio.timeout(60):
            while line := (await proc.stdout.readline()).decode():
                word, *rest = line.split()
                if word == "START":
                    ids = [] if rest[1] == "-" else rest[1].split(",")
                    result.start = (None if rest[0] == "None" else int(rest[0]), ids)
                elif word == "ACK":
                    result.acked[rest[0]] = rest[1]
                elif word == "PROBLEM":
                    print(line.strip())
                elif word == moment:
                    seen += 1
                    if seen == nth:
                        await asyncio.sleep(rng.uniform(0, 0.01))
                        proc.send_signal(signal.SIGKILL)
                        result.killed = True
                        break
                elif word == "DRAINED" and kill_at is not None:
                    # Drained before the chosen moment: kill it idle, all the same.
                    proc.send_signal(signal.SIGKILL)
                    result.killed = True
                    break
        await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    if kill_at is None:
        assert proc.returncode == 0
    return result


def integrity(cache: Path) -> str:
    db = sqlite3.connect(cache)
    try:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        db.close()


async def test_kill_9_mid_sync_and_mid_flush_loses_nothing_and_doubles_nothing(
    server: EmbeddedServer, other: ApiClient, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    rounds = int(request.config.getoption("--fault-rounds"))
    rng = random.Random(9)
    cache = tmp_path / "desk" / "cache.sqlite3"
    stop = asyncio.Event()

    async def another_desk() -> None:
        n = 0
        while not stop.is_set():
            await other_desk_creates(other, 30_000 + n)
            n += 1
            await asyncio.sleep(0.1)

    background = asyncio.create_task(another_desk())
    acked: dict[str, str] = {}
    kills: Counter[str] = Counter()
    started = time.monotonic()
    try:
        for r in range(rounds):
            moment, nth = (
                ("SEND", rng.randint(2, 25)) if r % 2 == 0 else ("SYNC", rng.randint(1, 6))
            )
            done = await run_desk(server.url, cache, f"K{r}", PER_ROUND, (moment, nth), rng)
            assert done.killed
            print(f"round {r}: killed at {moment} {nth}, {time.monotonic() - started:.1f} s")
            kills[moment] += 1
            acked.update(done.acked)
            assert integrity(cache) == "ok", f"round {r}"
            # What a restart starts from: every acknowledged command is on the server or in
            # the outbox (never neither).
            store = CacheStore(cache)
            try:
                outbox = {e.id for e in store.load().outbox}
            finally:
                store.close()
            _, now = await server_incidents(server.url)
            on_server = {i.summary for i in now.values()}
            lost = [s for cid, s in acked.items() if cid not in outbox and s not in on_server]
            assert not lost, f"round {r}: acknowledged, then lost: {lost}"
    finally:
        stop.set()
        await background
    final = await run_desk(server.url, cache, "final", 0, None, rng)
    assert integrity(cache) == "ok"
    cursor, on_server = await server_incidents(server.url)
    summaries = Counter(i.summary for i in on_server.values())
    assert not [s for s in acked.values() if summaries[s] != 1], "lost or applied twice"
    assert not [s for s, n in summaries.items() if n > 1], "applied twice"
    store = CacheStore(cache)
    try:
        state = store.load()
    finally:
        store.close()
    assert state.outbox == [] and state.cursor == cursor
    assert {i.id: i.version for i in state.incidents} == {
        i: x.version for i, x in on_server.items()
    }, "the restarted desk holds exactly the server's state"
    ours = sum(1 for s in summaries if s.startswith("K"))
    print(
        f"\n{rounds} kill -9 rounds ({dict(kills)}) in {time.monotonic() - started:.1f} s: "
        f"{len(acked)} commands acknowledged, {ours} on the server once each, 0 lost, "
        f"0 twice; integrity ok after every kill; restart = server ({len(on_server)} "
        f"incidents, cursor {cursor}); last start's outbox {len(final.start[1])}"
    )
