"""An operator's own edits in a row on one incident, typed before the first was answered (or
queued offline): each carries ``If-Match`` of the version they saw, and the first one moves the
incident on. The desk's own change is not a reason to refuse the next as stale; anybody else's
change in between still is.

This was the cause of the intermittent ``test_downgrade_commands`` failure: the call handler's
summary edit was taken from his view before his own downgrade request's 202 had come back, so
it went with the version the request had just replaced, and was refused (412) as stale.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from dispatchdesk.cache import CacheWorker
from dispatchdesk.domain.clock import ServerClock
from dispatchdesk.domain.commands import CommandState
from dispatchdesk.domain.grades import Grade
from dispatchdesk.domain.roles import Role
from dispatchdesk.protocol.schemas import IncidentPatch
from dispatchdesk.server import EmbeddedServer, add_user
from dispatchdesk.sync.client import ApiClient
from dispatchdesk.sync.engine import SyncEngine

from .conftest import PASSWORD, Recorder, other_desk_creates

pytestmark = pytest.mark.anyio

REASON = "Caller rang back: her brother has left for his own flat and she is not hurt"


class AfterFirstPatch(httpx.AsyncBaseTransport):
    """Passes requests to the server; once the first PATCH has been answered, runs
    ``meanwhile`` (another desk's change) before the desk sees the answer."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.meanwhile: Any = None
        self.patches = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if request.method == "PATCH":
            self.patches += 1
            if self.patches == 1 and self.meanwhile is not None:
                await response.aread()
                await self.meanwhile()
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.fixture
async def carl(
    server: EmbeddedServer, worker: CacheWorker
) -> AsyncIterator[tuple[SyncEngine, Recorder, AfterFirstPatch]]:
    """A call handler's desk (his downgrades wait for a supervisor)."""
    add_user(server.settings.db_url, "carl", Role.CALL_HANDLER, PASSWORD)
    transport = AfterFirstPatch()
    client = ApiClient(server.url, transport=transport, timeout=5.0)
    await client.sign_in("carl", PASSWORD)
    rec = Recorder()
    engine = SyncEngine(
        client, worker, rec, ServerClock(), heartbeat_timeout=3.0, backoff_initial=0.01
    )
    await engine.start()
    try:
        yield engine, rec, transport
    finally:
        await engine.stop()


async def test_an_edit_typed_before_his_own_downgrade_request_was_answered_is_applied(
    other: ApiClient, carl: tuple[SyncEngine, Recorder, AfterFirstPatch]
) -> None:
    engine, rec, _ = carl
    made = await other_desk_creates(other, 1)
    await rec.wait_for(lambda: made.id in rec.incidents)
    seen = rec.incidents[made.id]
    # Both from the same view (version 1), the second before the first is even sent.
    engine.regrade(seen, Grade.EXTENDED, REASON)
    engine.edit_summary(seen, "She now says he took a knife with him")
    await rec.wait_for(
        lambda: (
            rec.incidents[made.id].summary == "She now says he took a knife with him"
            and not rec.commands
        )
    )
    now = await other.get_incident(made.id)
    assert now.version == seen.version + 2
    assert now.pending_downgrade is not None and now.pending_downgrade.to is Grade.EXTENDED
    assert now.summary == "She now says he took a knife with him"
    assert not any("refused" in p for p in rec.problems)


async def test_three_edits_in_a_row_from_one_view_all_apply_in_order(
    other: ApiClient, carl: tuple[SyncEngine, Recorder, AfterFirstPatch]
) -> None:
    engine, rec, _ = carl
    made = await other_desk_creates(other, 2)
    await rec.wait_for(lambda: made.id in rec.incidents)
    seen = rec.incidents[made.id]
    for text in ("First account", "Second account", "Third account"):
        engine.edit_summary(seen, text)
    await rec.wait_for(lambda: rec.incidents[made.id].summary == "Third account")
    await rec.wait_for(lambda: not rec.commands)
    assert (await other.get_incident(made.id)).version == seen.version + 3


async def test_someone_elses_change_between_his_edits_still_refuses_the_second(
    other: ApiClient, carl: tuple[SyncEngine, Recorder, AfterFirstPatch]
) -> None:
    engine, rec, transport = carl
    made = await other_desk_creates(other, 3)
    await rec.wait_for(lambda: made.id in rec.incidents)
    seen = rec.incidents[made.id]

    async def bob_edits() -> None:  # right after carl's first edit (version 2), before his next
        await other.patch_incident(
            made.id,
            IncidentPatch(summary="Bob's new fact: a child is in the house"),
            idempotency_key=str(uuid.uuid4()),
            if_match=seen.version + 1,
        )

    transport.meanwhile = bob_edits
    first = engine.edit_summary(seen, "Carl's first account")
    second = engine.edit_summary(seen, "Carl's second account")
    await rec.wait_for(
        lambda: any(c.id == second and c.state is CommandState.FAILED for c in rec.commands)
    )
    failed = next(c for c in rec.commands if c.id == second)
    assert "has changed since you loaded it" in (failed.message or "")
    assert not any(c.id == first and c.state is CommandState.FAILED for c in rec.commands)
    now = await other.get_incident(made.id)
    assert now.summary == "Bob's new fact: a child is in the house"  # nothing of carl's over it
    assert now.version == seen.version + 2


async def test_an_edit_after_a_refused_one_is_still_checked_against_what_he_saw(
    other: ApiClient, carl: tuple[SyncEngine, Recorder, AfterFirstPatch]
) -> None:
    engine, rec, _ = carl
    made = await other_desk_creates(other, 4)
    await rec.wait_for(lambda: made.id in rec.incidents)
    seen = rec.incidents[made.id]
    await other.patch_incident(
        made.id,
        IncidentPatch(summary="Bob changed it first"),
        idempotency_key=str(uuid.uuid4()),
        if_match=seen.version,
    )
    first = engine.edit_summary(seen, "Carl's first account")
    second = engine.edit_summary(seen, "Carl's second account")
    await rec.wait_for(
        lambda: {c.id for c in rec.commands if c.state is CommandState.FAILED} == {first, second}
    )
    assert (await other.get_incident(made.id)).summary == "Bob changed it first"


async def test_an_edit_from_the_view_before_his_answered_request_is_applied(
    other: ApiClient, carl: tuple[SyncEngine, Recorder, AfterFirstPatch]
) -> None:
    # Typed while the screen showed version 1, reaching the outbox only after his downgrade
    # request had been answered (version 2) and had left it: the intermittent failure's
    # other order.
    engine, rec, _ = carl
    made = await other_desk_creates(other, 5)
    await rec.wait_for(lambda: made.id in rec.incidents)
    seen = rec.incidents[made.id]
    engine.regrade(seen, Grade.EXTENDED, REASON)
    await rec.wait_for(lambda: rec.incidents[made.id].version == seen.version + 1)
    await rec.wait_for(lambda: not rec.commands)
    engine.edit_summary(seen, "She now says he took a knife with him")
    await rec.wait_for(
        lambda: rec.incidents[made.id].summary == "She now says he took a knife with him"
    )
    await rec.wait_for(lambda: not rec.commands)
    now = await other.get_incident(made.id)
    assert now.version == seen.version + 2 and now.pending_downgrade is not None
    assert not any("refused" in p for p in rec.problems)


async def test_someone_elses_change_after_his_answered_request_still_refuses_the_old_view(
    other: ApiClient, carl: tuple[SyncEngine, Recorder, AfterFirstPatch]
) -> None:
    engine, rec, _ = carl
    made = await other_desk_creates(other, 6)
    await rec.wait_for(lambda: made.id in rec.incidents)
    seen = rec.incidents[made.id]
    engine.edit_summary(seen, "Carl's first account")
    await rec.wait_for(lambda: rec.incidents[made.id].version == seen.version + 1)
    await other.patch_incident(
        made.id,
        IncidentPatch(summary="Bob's new fact: a child is in the house"),
        idempotency_key=str(uuid.uuid4()),
        if_match=seen.version + 1,
    )
    await rec.wait_for(lambda: rec.incidents[made.id].version == seen.version + 2)
    late = engine.edit_summary(seen, "Carl's second account, from the old view")
    await rec.wait_for(
        lambda: any(c.id == late and c.state is CommandState.FAILED for c in rec.commands)
    )
    assert "has changed since you loaded it" in (rec.commands[-1].message or "")
    assert (await other.get_incident(made.id)).summary == "Bob's new fact: a child is in the house"


async def test_someone_elses_change_before_his_own_leaves_the_older_view_refused(
    other: ApiClient, carl: tuple[SyncEngine, Recorder, AfterFirstPatch]
) -> None:
    # Bob moved it 1 -> 2, Carl (having seen 2) 2 -> 3: a command typed at 1 missed Bob's.
    engine, rec, _ = carl
    made = await other_desk_creates(other, 7)
    await rec.wait_for(lambda: made.id in rec.incidents)
    seen = rec.incidents[made.id]
    await other.patch_incident(
        made.id,
        IncidentPatch(summary="Bob's new fact: a child is in the house"),
        idempotency_key=str(uuid.uuid4()),
        if_match=seen.version,
    )
    await rec.wait_for(lambda: rec.incidents[made.id].version == seen.version + 1)
    engine.edit_summary(rec.incidents[made.id], "Carl's account, having read Bob's")
    await rec.wait_for(lambda: rec.incidents[made.id].version == seen.version + 2)
    await rec.wait_for(lambda: not rec.commands)
    late = engine.edit_summary(seen, "Carl's edit from before Bob's fact")
    await rec.wait_for(
        lambda: any(c.id == late and c.state is CommandState.FAILED for c in rec.commands)
    )
    assert (await other.get_incident(made.id)).summary == "Carl's account, having read Bob's"
