"""A desk's sync engine in a process of its own, for fault suite 1 (kill -9).

``python -m tests.faults.desk_process URL CACHE PREFIX COUNT`` opens the cache, signs in as
alice, starts the engine (snapshot or catch-up, the event stream, the outbox) and creates
COUNT incidents summarised ``PREFIX-0``, ``PREFIX-1``, ... a few milliseconds apart. It tells
the parent, one line each, flushed at once:

- ``START <cursor> <id>,<id>,...``: the cursor and the outbox as the cache held them;
- ``ACK <id> <summary>``: the command is committed to the outbox (what the operator sees
  as queued: from here on it must never be lost);
- ``SEND`` right before a command goes out, ``SYNC`` right before the feed writes a batch:
  moments the parent kills it at;
- ``DRAINED <cursor>``: every command confirmed (then, with COUNT 0, it exits cleanly).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from dispatchdesk.cache import CacheStore, CacheWorker
from dispatchdesk.cache.warning_index import WarningIndex
from dispatchdesk.domain.clock import ServerClock
from dispatchdesk.domain.commands import ConnectionInfo, PendingCommand
from dispatchdesk.domain.grades import Grade, GradePolicy
from dispatchdesk.domain.incident import Incident, Location
from dispatchdesk.domain.unit import Unit
from dispatchdesk.sync.api import Acknowledgements, IncidentDraft
from dispatchdesk.sync.client import ApiClient
from dispatchdesk.sync.engine import SyncEngine

PASSWORD = "correct horse battery"


def say(*words: object) -> None:
    sys.stdout.write(" ".join(str(w) for w in words) + "\n")
    sys.stdout.flush()


class Listener:
    def __init__(self) -> None:
        self.told: set[str] = set()
        self.pending: list[PendingCommand] = []
        self.changed = asyncio.Event()

    def on_commands(self, commands: Sequence[PendingCommand]) -> None:
        self.pending = list(commands)
        for c in commands:
            if c.id not in self.told:
                self.told.add(c.id)
                say("ACK", c.id, (c.body or {}).get("summary"))
        self.changed.set()

    def on_state(self, incidents: Sequence[Incident], policy: GradePolicy) -> None:
        self.changed.set()

    def on_changes(self, upserts: Sequence[Incident], removed: Sequence[int]) -> None:
        self.changed.set()

    def on_connection(self, info: ConnectionInfo) -> None:
        self.changed.set()

    def on_problem(self, message: str) -> None:
        say("PROBLEM", message.replace("\n", " "))

    def on_signed_out(self, message: str) -> None:
        say("PROBLEM", message.replace("\n", " "))

    def on_units(self, units: Sequence[Unit], removed: Sequence[int], reset: bool) -> None:
        pass

    def on_warnings(self, index: WarningIndex, acknowledged: Acknowledgements) -> None:
        pass


def draft(summary: str, n: int) -> IncidentDraft:
    return IncidentDraft(
        grade=Grade.SIGNIFICANT,
        type="Burglary",
        summary=summary,
        location=Location(address=f"{n} Killing Way", postcode="SW1A 1AA", borough="Westminster"),
    )


def instrument(store: CacheStore, client: ApiClient) -> None:
    """Say SYNC before each feed write and SEND before each command."""
    for name in ("apply_changes", "replace_snapshot"):
        real_write = getattr(store, name)

        def write(*args: Any, _real: Any = real_write, **kwargs: Any) -> Any:
            say("SYNC")
            return _real(*args, **kwargs)

        setattr(store, name, write)
    real_command = client.command

    async def command(*args: Any, **kwargs: Any) -> Any:
        say("SEND")
        return await real_command(*args, **kwargs)

    client.command = command  # type: ignore[method-assign]


async def main(url: str, cache: Path, prefix: str, count: int) -> None:
    store = CacheStore(cache)
    state = store.load()
    say("START", state.cursor, ",".join(e.id for e in state.outbox) or "-")
    worker = CacheWorker(store)
    client = ApiClient(url, timeout=5.0)
    instrument(store, client)
    listener = Listener()
    engine = SyncEngine(
        client,
        worker,
        listener,
        ServerClock(),
        max_command_age=timedelta(days=1),
        heartbeat_timeout=5.0,
        backoff_initial=0.01,
        backoff_max=0.1,
    )
    await client.sign_in("alice", PASSWORD)
    await engine.show_cache(state)
    await engine.start()
    for n in range(count):
        engine.create_incident(draft(f"{prefix}-{n}", n))
        await asyncio.sleep(0.005)
    while True:
        listener.changed.clear()
        if count == 0 and not listener.pending and engine.online:
            break
        if count and not listener.pending and engine.online:
            say("DRAINED", engine.cursor)
        await listener.changed.wait()
    say("DRAINED", engine.cursor)
    await engine.stop()
    worker.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])))
