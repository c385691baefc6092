"""A kept-alive connection the server drops just as the desk reuses it (the server's idle
timeout, a restart): the request is sent again on a new connection, not reported lost.

A server that goes silent is another matter: nothing tells the desk, and the request waits for
its read timeout, then fails over (several nodes) or is reported (one).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest

from dispatchdesk.sync.client import ApiClient
from dispatchdesk.sync.errors import ConnectionLost

pytestmark = pytest.mark.anyio


@dataclass
class RawServer:
    """HTTP/1.1 on loopback, keep-alive; ``behave(connection, request)`` says what to do with
    each request: "answer", "drop" (read it, then close without a reply) or "silent"."""

    behave: Callable[[int, int], str]
    url: str = ""
    connections: int = 0
    requests: list[tuple[int, str]] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        conn, n = self.connections, 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                n += 1
                line = head.split(b"\r\n", 1)[0].decode()
                self.requests.append((conn, line))
                what = self.behave(conn, n)
                if what == "drop":
                    return
                if what == "silent":
                    await asyncio.Event().wait()
                body = json.dumps([]).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    + f"content-length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def _serve(behave: Callable[[int, int], str]) -> AsyncIterator[RawServer]:
    raw = RawServer(behave)
    server = await asyncio.start_server(raw.handle, "127.0.0.1", 0)
    raw.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield raw
    finally:
        server.close()


async def test_a_connection_dropped_as_it_is_reused_is_replaced_and_the_request_sent_again() -> (
    None
):
    # the first connection answers one request, then is dropped with the next one unanswered
    async with _serve(lambda conn, n: "drop" if (conn, n) == (1, 2) else "answer") as raw:
        client = ApiClient(raw.url, timeout=5.0)
        try:
            assert await client.my_notices() == []
            started = time.monotonic()
            assert await client.my_notices() == []  # no ConnectionLost
            assert time.monotonic() - started < 2.0
            assert raw.connections == 2
            assert [c for c, _ in raw.requests] == [1, 1, 2]
        finally:
            await client.aclose()


async def test_a_server_that_drops_every_connection_is_reported_lost_after_one_more_try() -> None:
    async with _serve(lambda conn, n: "drop") as raw:
        client = ApiClient(raw.url, timeout=5.0)
        try:
            with pytest.raises(ConnectionLost, match="broke"):
                await client.my_notices()
            assert raw.connections == 2  # once more on a new connection, not forever
        finally:
            await client.aclose()


async def test_a_silent_server_is_waited_for_only_until_the_read_timeout() -> None:
    async with _serve(lambda conn, n: "silent" if (conn, n) == (1, 2) else "answer") as raw:
        client = ApiClient(raw.url, timeout=0.5)
        try:
            assert await client.my_notices() == []
            started = time.monotonic()
            with pytest.raises(ConnectionLost, match="did not answer in time"):
                await client.my_notices()
            assert time.monotonic() - started < 2.0
            assert raw.connections == 1  # a silence is not a broken connection: not resent
        finally:
            await client.aclose()
