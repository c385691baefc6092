"""A create's incident id reaches the desk (its ref, issue 15 item 4) even when the change feed
brings the new incident before the server's reply to the create."""

from __future__ import annotations

import httpx
import pytest

from dispatchdesk.cache import CacheWorker
from dispatchdesk.domain.commands import CommandState, ConnectionState
from dispatchdesk.server import EmbeddedServer

from .conftest import PASSWORD, Recorder, draft
from .test_engine import make_engine

pytestmark = pytest.mark.anyio


class ReplyAfterFeed(httpx.AsyncBaseTransport):
    """Holds the reply to a create until the feed has shown the new incident."""

    def __init__(self, rec: Recorder) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.rec = rec

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and request.url.path.endswith("/incidents"):
            await response.aread()
            await self.rec.wait_for(
                lambda: any(i.summary == "Break-in number 7" for i in self.rec.incidents.values())
            )
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_create_confirmed_by_the_feed_first_still_shows_its_incident_id(
    server: EmbeddedServer, worker: CacheWorker
) -> None:
    rec = Recorder()
    engine = make_engine(server.url, worker, rec, transport=ReplyAfterFeed(rec))
    await engine._client.sign_in("alice", PASSWORD)
    await engine.start()
    try:
        await rec.wait_for(lambda: rec.connection is ConnectionState.ONLINE)
        command_id = engine.create_incident(draft(7))
        await rec.wait_for(lambda: any(c.id == command_id for c in rec.commands))
        await rec.wait_for(lambda: rec.commands == [])
        created = next(i for i in rec.incidents.values() if i.summary == "Break-in number 7")
        shown = [c for cs in rec.command_lists for c in cs if c.id == command_id]
        assert any(c.state is CommandState.SENT and c.incident_id == created.id for c in shown)
    finally:
        await engine.stop()
