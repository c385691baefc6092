"""A fault-injecting TCP proxy (asyncio) between a desk's sync engine and the real server.

Every connection is one HTTP exchange: the proxy adds ``Connection: close`` to the request, so
the server closes after its reply, and the fault drawn for the connection hits exactly one
request. Faults (each drawn with its weight among the faulted share ``rate``):

- ``drop``: the connection is closed before the request is read (the server never sees it);
- ``reset``: the request is read, then the connection is reset (RST; the server never sees it);
- ``delay``: the request is forwarded after a pause (and the reply after another);
- ``lost_reply``: the request is forwarded and the server's whole reply read (it has
  committed), then the client's connection is reset: the reply never arrives;
- ``half_open``: on an event stream only: once the stream has started (its first comment
  passed on) and perhaps a little more,
  nothing more goes either way and nothing is closed, as when a NAT or a firewall forgets the
  connection. The proxy records how long the client took to give up on it.

A healthy event stream is reset after a few seconds (``stream_life``), so that a long run
opens many streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from collections import Counter
from dataclasses import dataclass, field

FAULTS = ("drop", "reset", "delay", "lost_reply")


@dataclass
class HalfOpen:
    """One half-open stream: when the proxy last passed a byte to the client, and when the
    client closed the connection (``None`` while it has not)."""

    frozen_at: float
    noticed_at: float | None = None

    @property
    def silence(self) -> float | None:
        return None if self.noticed_at is None else self.noticed_at - self.frozen_at


@dataclass
class FaultProxy:
    upstream_port: int
    rng: random.Random
    #: Share of exchanges faulted (0..1).
    rate: float = 0.3
    #: Share of event streams made half-open (0..1), apart from ``rate``.
    stream_rate: float = 0.3
    delay: float = 0.05
    #: Seconds a healthy event stream lives before the proxy resets it (drawn uniformly).
    stream_life: tuple[float, float] = (0.5, 3.0)
    host: str = "127.0.0.1"
    counts: Counter[str] = field(default_factory=Counter)
    half_open: list[HalfOpen] = field(default_factory=list)
    enabled: bool = True
    #: Every connection dropped: the desk is offline.
    blackout: bool = False
    #: Event streams opened through the proxy.
    streams: int = 0
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, self.host, 0)
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://{self.host}:{self._server.sockets[0].getsockname()[1]}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.get_running_loop().create_task(self._handle(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _draw(self, stream: bool) -> str:
        if self.blackout:
            return "drop"
        if not self.enabled:
            return "none"
        if stream and self.rng.random() < self.stream_rate:
            return "half_open"
        if self.rng.random() >= self.rate:
            return "none"
        return self.rng.choice(FAULTS)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: asyncio.StreamWriter | None = None
        try:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            stream = b" /api/v1/events" in head.split(b"\r\n", 1)[0]
            fault = self._draw(stream)
            self.counts[fault] += 1
            self.streams += stream
            if fault == "drop":
                return
            if fault == "reset":
                _reset(writer)
                return
            if fault == "delay":
                await asyncio.sleep(self.rng.uniform(0, self.delay))
            up_reader, upstream = await asyncio.open_connection(self.host, self.upstream_port)
            upstream.write(_close_after(head))
            pump_up = asyncio.create_task(_pump(reader, upstream))
            try:
                if fault == "lost_reply":
                    await up_reader.read()  # the whole reply: the server has committed
                    _reset(writer)
                elif fault == "half_open":
                    await self._half_open(up_reader, writer, pump_up)
                else:
                    if fault == "delay":
                        await asyncio.sleep(self.rng.uniform(0, self.delay))
                    if stream:
                        # Streams die now and then (a server restart, a network change),
                        # and each new one is another chance of a fault.
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(self.rng.uniform(*self.stream_life)):
                                await _pump(up_reader, writer)
                        _reset(writer)
                    else:
                        await _pump(up_reader, writer)
            finally:
                pump_up.cancel()
                await asyncio.gather(pump_up, return_exceptions=True)
        except (ConnectionError, OSError):
            pass
        finally:
            for w in (writer, upstream):
                if w is not None:
                    with contextlib.suppress(Exception):
                        w.close()

    async def _half_open(
        self,
        up_reader: asyncio.StreamReader,
        client: asyncio.StreamWriter,
        client_gone: asyncio.Task[None],
    ) -> None:
        """Pass on the reply's head and a few more reads, then go silent both ways, and wait
        for the client to hang up (``client_gone``: its side read to the end)."""
        loop = asyncio.get_running_loop()
        # The reply's head and the stream's first comment (": connected ..."), then a few
        # more reads (heartbeats, changes).
        try:
            first = await up_reader.readuntil(b"\r\n\r\n")
            first += await up_reader.readuntil(b"\n\n")
        except asyncio.IncompleteReadError:
            return
        client.write(first)
        for _ in range(self.rng.randint(0, 3)):
            data = await up_reader.read(65536)
            if not data:
                return
            client.write(data)
        await client.drain()
        record = HalfOpen(frozen_at=loop.time())
        self.half_open.append(record)
        # The server keeps beating into the proxy, which passes nothing on.
        drain = asyncio.create_task(_discard(up_reader))
        try:
            await asyncio.shield(client_gone)
            record.noticed_at = loop.time()
        finally:
            drain.cancel()
            await asyncio.gather(drain, return_exceptions=True)


def _close_after(head: bytes) -> bytes:
    """The request head with ``Connection: close`` (the server then ends each exchange)."""
    lines = [
        line for line in head[:-4].split(b"\r\n") if not line.lower().startswith(b"connection:")
    ]
    return b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n"


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()


async def _discard(reader: asyncio.StreamReader) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while await reader.read(65536):
            pass
