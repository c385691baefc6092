"""The engine's two clocks, both on server time and both running offline too.

Expiry: a special scheme leaves the screen, the index and the cache files the moment it
expires. Day turn: when the server's day turns, incidents closed before it leave the screen
and the disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from dispatchdesk.cache.store import start_of_day
from dispatchdesk.sync.context import SyncContext

log = logging.getLogger(__name__)


class ExpiryClock:
    """Drops each special scheme when it expires (woken when the warnings change)."""

    def __init__(self, ctx: SyncContext) -> None:
        self._ctx = ctx

    async def purge_expired(self) -> list[int]:
        """Drop schemes expired by server time from the screen, the index and the cache
        files (also offline)."""
        ctx = self._ctx
        now = ctx.clock.now()
        ids = ctx.entities.expired(now)
        if ids:
            ctx.emit_warnings()
            await ctx.worker.call(ctx.store.purge_schemes, now, ids)
        return ids

    async def run(self) -> None:
        ctx = self._ctx
        while not ctx.stopping:
            nxt = ctx.entities.index.next_scheme_expiry()
            wait = 60.0 if nxt is None else (nxt - ctx.clock.now()).total_seconds()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(max(wait, 0.0), 60.0)):
                    await ctx.expiry_wake.wait()
            ctx.expiry_wake.clear()
            try:
                if not await self.purge_expired() and wait <= 0:
                    await ctx.sleep(1.0)  # the index disagrees with itself: do not spin
            except Exception as exc:  # never stop expiring schemes
                log.exception("scheme purge failed")
                ctx.problem(f"Removing an expired special scheme failed: {exc}")
                await ctx.sleep(1.0)


class DayTurnClock:
    """Looks at the server's day every ``interval`` seconds; purges closed incidents when it
    turns."""

    def __init__(self, ctx: SyncContext, interval: float) -> None:
        self._ctx = ctx
        self._interval = interval
        #: Start of the server's day at the last look (None before the first).
        self.day: datetime | None = None

    async def purge_at_day_turn(self) -> None:
        """When the server's day turns, drop incidents closed before it (screen and disk)."""
        ctx = self._ctx
        now = ctx.clock.now()
        day = start_of_day(now, ctx.policy)
        if self.day is not None and day != self.day:
            removed: list[int] = await ctx.worker.call(ctx.store.purge_closed, now)
            for incident_id in removed:
                ctx.shown_versions.forget(incident_id)
            if removed:
                ctx.listeners.on_changes([], removed)
        self.day = day

    async def run(self) -> None:
        # A polling period in real time, like the outbox's check (the injected sleep is for
        # backoffs: a test's instant sleep must not make this spin).
        never = asyncio.Event()
        while not self._ctx.stopping:
            try:
                await self.purge_at_day_turn()
            except Exception as exc:  # never stop purging at the day's turn
                log.exception("day-turn purge failed")
                self._ctx.problem(f"Removing yesterday's closed incidents failed: {exc}")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await never.wait()
