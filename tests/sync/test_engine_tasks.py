"""Anonymity and the attending officers' tasks through the sync engine, against the real
reference server on loopback: an anonymous caller's domestic arrives with its tasks, a close
with tasks open is refused with the server's words, tasks recorded done and not done go
through the outbox, and a supervisor's override closes what is left."""

from __future__ import annotations

import pytest

from dispatchdesk.cache import CacheWorker
from dispatchdesk.domain.commands import CommandState
from dispatchdesk.domain.incident import Caller, IncidentStatus
from dispatchdesk.domain.tasks import TaskKind, TaskState
from dispatchdesk.server import EmbeddedServer
from dispatchdesk.sync.api import IncidentDraft

from .conftest import draft
from .test_engine_other_entities import open_desk

pytestmark = pytest.mark.anyio


async def test_tasks_and_anonymity_through_the_outbox(
    server: EmbeddedServer, worker: CacheWorker
) -> None:
    desk = await open_desk(server, worker)
    rec, engine = desk.rec, desk.engine
    caller = Caller(phone="07700 900123", anonymous=True, anonymity_requested=True)
    new = IncidentDraft(**{**draft(1).__dict__, "type": "Domestic", "caller": caller})
    try:
        engine.create_incident(new)
        await rec.wait_for(lambda: len(rec.incidents) == 1 and not rec.commands)
        [inc] = rec.incidents.values()
        assert inc.caller.anonymity_recorded_by == "alice"
        assert inc.tasks[0].kind is TaskKind.CONTACT_INFORMANT
        assert inc.tasks[0].detail == "Anon, 07700 900123"
        why = "Caller's flat found empty at 10:20, neighbours say the couple left by car"
        engine.close(inc, why)
        await rec.wait_for(lambda: rec.commands and rec.commands[0].state is CommandState.FAILED)
        assert "5 tasks" in (rec.commands[0].message or "")
        engine.discard(rec.commands[0].id)
        engine.task_done(inc, inc.tasks[0], "Rang the informant back, no answer, left voicemail")
        await rec.wait_for(lambda: rec.incidents[inc.id].tasks[0].state is TaskState.DONE)
        await rec.wait_for(lambda: not rec.commands)
        inc = rec.incidents[inc.id]
        h2h = inc.tasks[3]
        engine.task_not_done(inc, h2h, "Block has no other occupied flats, checked with caretaker")
        await rec.wait_for(lambda: rec.incidents[inc.id].tasks[3].state is TaskState.NOT_DONE)
        await rec.wait_for(lambda: not rec.commands)
        engine.close(rec.incidents[inc.id], why, override_open_tasks=True)
        await rec.wait_for(lambda: rec.incidents[inc.id].status is IncidentStatus.CLOSED)
        assert {t.state for t in rec.incidents[inc.id].tasks} == {
            TaskState.DONE,
            TaskState.NOT_DONE,
        }
    finally:
        await engine.stop()
    [cached] = [i for i in worker.store.load().incidents if i.id == inc.id]
    assert cached.tasks[3].reason == "Block has no other occupied flats, checked with caretaker"
