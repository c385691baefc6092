"""One snapshot, built and encoded once, shared by every desk that asks while it is current.

After a server restart or at a shift change a whole room asks for ``/snapshot`` at once. Built
once per desk, 100 desks with 3,000 open incidents each cost the server 100 reads, 100 times
300,000 validated fields and 100 JSON encodings (measured: 26.5 s until all were live). Here
the requests share one build (*single flight*: the ones that arrive while it runs wait for
it), and its JSON and gzip bytes are kept and served to every later request while the build
is still current:

- **current** means its cursor is at or past the log head the request read on arrival, so it
  holds every change committed before the request came; a request that finds the build older
  than that waits for the next one (which starts once the one running ends, shared again by
  everyone waiting), so no desk is ever given less than a fresh build would give it;
- and the server's time is still before :attr:`SharedSnapshot.max_age` after the build, before
  the first live scheme in it expires (an expired scheme's text is never served), and in the
  same control-room day (the closed-today incidents).

The sweeps a snapshot runs first (owed escalations, scheme expiry) run once per build.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from dispatchdesk.protocol.schemas import Snapshot

#: gzip level of the shared body: 3 MB of JSON in about 20 ms to 10 % of its size.
GZIP_LEVEL = 6


@dataclass(frozen=True, slots=True)
class Encoded:
    """A built snapshot's bytes, and until when (server time) it may be served."""

    cursor: int
    body: bytes
    gzipped: bytes
    fresh_until: datetime

    def response(self, accept_encoding: str | None) -> Response:
        """The JSON body, gzip-compressed when the request's Accept-Encoding allows it."""
        headers = {"Vary": "Accept-Encoding", "Cache-Control": "no-store"}
        if accepts_gzip(accept_encoding):
            headers["Content-Encoding"] = "gzip"
            return Response(self.gzipped, media_type="application/json", headers=headers)
        return Response(self.body, media_type="application/json", headers=headers)


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an Accept-Encoding header allows gzip (``gzip``, ``x-gzip`` or ``*``, q > 0)."""
    if not accept_encoding:
        return False
    allowed: dict[str, bool] = {}
    for part in accept_encoding.lower().split(","):
        name, _sep, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _eq, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        allowed[name.strip()] = q > 0
    if "gzip" in allowed or "x-gzip" in allowed:
        return allowed.get("gzip", False) or allowed.get("x-gzip", False)
    return allowed.get("*", False)


class SharedSnapshot:
    """The current encoded snapshot of one app, and the single build in flight.

    ``build`` makes a snapshot (sweeps first; blocking, run on the thread pool), ``head``
    reads the log head's seq (blocking), ``now`` is the server's time and ``day_end`` the end
    of the control-room day of a time. Used from one event loop (the app's).
    """

    def __init__(
        self,
        build: Callable[[], Snapshot],
        head: Callable[[], int],
        now: Callable[[], datetime],
        day_end: Callable[[datetime], datetime],
        max_age: timedelta = timedelta(seconds=5),
    ) -> None:
        self._build = build
        self._head = head
        self._now = now
        self._day_end = day_end
        self.max_age = max_age
        self._current: Encoded | None = None
        self._building: asyncio.Task[Encoded] | None = None
        #: How many snapshots were built (for tests and benchmarks).
        self.builds = 0

    async def get(self) -> Encoded:
        """A snapshot holding every change committed before this call; shared when it can be."""
        head = await run_in_threadpool(self._head)
        while True:
            current = self._current
            if current is not None and current.cursor >= head and self._now() < current.fresh_until:
                return current
            building = self._building
            if building is None or building.get_loop() is not asyncio.get_running_loop():
                building = asyncio.get_running_loop().create_task(self._build_once())
                self._building = building
            encoded = await asyncio.shield(building)
            if encoded.cursor >= head:
                return encoded
            # built from a head read before the one this request saw: join the next build

    async def _build_once(self) -> Encoded:
        try:
            encoded = await run_in_threadpool(self._encode)
            self._current = encoded
            self.builds += 1
            return encoded
        finally:
            self._building = None

    def _encode(self) -> Encoded:
        started = self._now()
        snap = self._build()
        body = snap.model_dump_json().encode()
        fresh_until = min(
            [started + self.max_age, self._day_end(started)] + [s.expires_at for s in snap.schemes]
        )
        return Encoded(snap.cursor, body, gzip.compress(body, GZIP_LEVEL), fresh_until)
