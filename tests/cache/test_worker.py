from __future__ import annotations

import threading
from pathlib import Path

import pytest

from dispatchdesk.cache import CacheStore, CacheWorker
from dispatchdesk.domain.grades import DEFAULT_POLICY

from .conftest import NOW, make_incident


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_worker_runs_calls_off_the_loop_thread(tmp_path: Path) -> None:
    worker = CacheWorker(CacheStore(tmp_path / "c.sqlite3"))
    try:
        loop_thread = threading.get_ident()
        ran_on = await worker.call(threading.get_ident)
        assert ran_on != loop_thread
        assert await worker.call(threading.get_ident) == ran_on  # always the same thread
        await worker.call(worker.store.replace_snapshot, [make_incident(1)], DEFAULT_POLICY, 3, NOW)
        state = await worker.call(worker.store.load, NOW)
        assert state.cursor == 3 and [i.id for i in state.incidents] == [1]
        with pytest.raises(KeyError):
            await worker.call(worker.store.update_command, _missing())
    finally:
        worker.close()
    with pytest.raises(RuntimeError):
        await worker.call(threading.get_ident)


def _missing():  # type: ignore[no-untyped-def]
    from dispatchdesk.cache.store import OutboxEntry
    from dispatchdesk.domain.commands import CommandKind, CommandState, PendingCommand

    return OutboxEntry(
        command=PendingCommand(
            id="x",
            kind=CommandKind.CLOSE_INCIDENT,
            incident_id=1,
            description="",
            created_at=NOW,
            state=CommandState.QUEUED,
        ),
        idempotency_key="x",
    )
