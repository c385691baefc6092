"""A downgrade request and its decision through the desk's outbox, against the real server: the
202 reply confirmed by the feed like any edit, the supervisor's decision sent with the version
seen (a stale one refused), a refused reason's sentence kept for the form."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dispatchdesk.cache import CacheStore, CacheWorker
from dispatchdesk.domain.clock import ServerClock
from dispatchdesk.domain.commands import CommandState
from dispatchdesk.domain.downgrades import DowngradeOutcome
from dispatchdesk.domain.grades import Grade
from dispatchdesk.domain.roles import Role
from dispatchdesk.server import EmbeddedServer, add_user
from dispatchdesk.sync.client import ApiClient
from dispatchdesk.sync.engine import SyncEngine

from .conftest import PASSWORD, Recorder, other_desk_creates

pytestmark = pytest.mark.anyio

REASON = "Caller rang back: her brother has left for his own flat and she is not hurt"


@dataclass
class Desk:
    rec: Recorder
    engine: SyncEngine
    worker: CacheWorker


@pytest.fixture
async def desks(server: EmbeddedServer, tmp_path: Path) -> AsyncIterator[dict[str, Desk]]:
    """A call handler's desk (carl) and a supervisor's (alice), each with its own cache."""
    add_user(server.settings.db_url, "carl", Role.CALL_HANDLER, PASSWORD)
    made: dict[str, Desk] = {}
    workers = []
    try:
        for name in ("carl", "alice"):
            worker = CacheWorker(CacheStore(tmp_path / name / "cache.sqlite3"))
            workers.append(worker)
            client = ApiClient(server.url, timeout=5.0)
            await client.sign_in(name, PASSWORD)
            rec = Recorder()
            engine = SyncEngine(
                client, worker, rec, ServerClock(), heartbeat_timeout=3.0, backoff_initial=0.01
            )
            await engine.start()
            made[name] = Desk(rec, engine, worker)
        yield made
    finally:
        for desk in made.values():
            await desk.engine.stop()
        for worker in workers:
            worker.close()


async def test_a_request_then_its_approval_reach_both_desks(
    other: ApiClient, desks: dict[str, Desk]
) -> None:
    carl, alice = desks["carl"], desks["alice"]
    made = await other_desk_creates(other, 1)  # grade S
    await carl.rec.wait_for(lambda: made.id in carl.rec.incidents)
    seen = carl.rec.incidents[made.id]
    carl.engine.regrade(seen, Grade.EXTENDED, REASON)
    # the 202 is confirmed by the feed like any edit: the command leaves the outbox
    await carl.rec.wait_for(
        lambda: carl.rec.incidents[made.id].pending_downgrade is not None and not carl.rec.commands
    )
    waiting = carl.rec.incidents[made.id]
    assert (waiting.grade, waiting.deadline) == (Grade.SIGNIFICANT, seen.deadline)
    assert waiting.pending_downgrade is not None
    assert (waiting.pending_downgrade.to, waiting.pending_downgrade.by) == (Grade.EXTENDED, "carl")
    await alice.rec.wait_for(
        lambda: alice.rec.incidents.get(made.id, seen).version == waiting.version
    )
    note = "Agreed: I spoke to her; an appointment tomorrow morning suits her"
    alice.engine.approve_downgrade(alice.rec.incidents[made.id], note)
    await carl.rec.wait_for(lambda: carl.rec.incidents[made.id].downgrade_decision is not None)
    decided = carl.rec.incidents[made.id]
    assert decided.grade is Grade.EXTENDED and decided.pending_downgrade is None
    assert decided.downgrade_decision is not None
    assert decided.downgrade_decision.outcome is DowngradeOutcome.APPROVED
    assert decided.downgrade_decision.note == note
    await alice.rec.wait_for(lambda: not alice.rec.commands)
    cached = {i.id: i for i in carl.worker.store.load().incidents}
    assert cached[made.id].downgrade_decision == decided.downgrade_decision  # kept offline too


async def test_a_stale_decision_and_a_copied_reason_are_refused_with_a_sentence(
    other: ApiClient, desks: dict[str, Desk]
) -> None:
    carl, alice = desks["carl"], desks["alice"]
    made = await other_desk_creates(other, 2)
    await carl.rec.wait_for(lambda: made.id in carl.rec.incidents)
    carl.engine.regrade(carl.rec.incidents[made.id], Grade.EXTENDED, "No further action")
    await carl.rec.wait_for(
        lambda: carl.rec.commands and carl.rec.commands[0].state is CommandState.FAILED
    )
    message = carl.rec.commands[0].message or ""
    assert message.startswith("The downgrade reason reads like the stock phrase")  # no "reason:"
    carl.engine.discard(carl.rec.commands[0].id)
    carl.engine.regrade(carl.rec.incidents[made.id], Grade.EXTENDED, REASON)
    await alice.rec.wait_for(
        lambda: (
            made.id in alice.rec.incidents
            and alice.rec.incidents[made.id].pending_downgrade is not None
        )
    )
    seen = alice.rec.incidents[made.id]
    carl.engine.edit_summary(carl.rec.incidents[made.id], "She now says he took a knife with him")
    await alice.rec.wait_for(lambda: alice.rec.incidents[made.id].version > seen.version)
    alice.engine.reject_downgrade(seen, "Not agreed until officers have spoken to her in person")
    await alice.rec.wait_for(
        lambda: alice.rec.commands and alice.rec.commands[0].state is CommandState.FAILED
    )
    assert "has changed since you loaded it" in (alice.rec.commands[0].message or "")
    assert alice.rec.incidents[made.id].pending_downgrade is not None  # nothing applied
