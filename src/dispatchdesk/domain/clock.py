"""Clocks. Time is always injected, never read from the wall inside domain rules.

``ServerClock`` is what the client counts down with: the local *monotonic* clock plus an
anchor measured against the server's clock at sync time, so a workstation whose wall clock is
wrong still counts right, and a wall-clock jump (NTP step, DST) does not move a countdown.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The machine's wall clock, in UTC. The server's authority; the client never trusts it."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock for tests: stands still until told to move."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | float) -> datetime:
        self._now += delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when


class ServerClock:
    """The server's time as seen from this workstation.

    ``now()`` = last server time observed + monotonic time elapsed since. Until the first
    observation it falls back to the wall clock plus a stored offset (the offset measured at the
    last sync, kept in the cache), so a client restarted offline still counts right.
    """

    def __init__(
        self,
        *,
        offset_seconds: float = 0.0,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._monotonic = monotonic
        self._wall = wall
        self._anchor_server = wall() + offset_seconds
        self._anchor_mono = monotonic()
        self.synced = False

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def timestamp(self) -> float:
        return self._anchor_server + (self._monotonic() - self._anchor_mono)

    def observe(self, server_time: datetime, sent_mono: float, received_mono: float) -> None:
        """Anchor to a server timestamp taken between ``sent_mono`` and ``received_mono``.

        The server stamped its reply somewhere inside the round trip; the midpoint is the best
        estimate and is off by at most half the round trip (a few ms on a LAN).
        """
        self._anchor_server = server_time.timestamp()
        self._anchor_mono = (sent_mono + received_mono) / 2
        self.synced = True

    def monotonic(self) -> float:
        return self._monotonic()

    @property
    def offset_seconds(self) -> float:
        """Server time minus this workstation's wall time, to be persisted for offline starts."""
        return self.timestamp() - self._wall()
