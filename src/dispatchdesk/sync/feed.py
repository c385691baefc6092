"""The feed: snapshot, catch-up, stream, apply; the cache and the screen follow the server.

No cursor → snapshot; else ``/changes`` pages from the cursor (410 → snapshot); then the SSE
stream from the cursor. Events that arrive together are coalesced into one cache transaction
(rows + cursor) and one ``on_changes``. Changes at or below the cursor are duplicates and
dropped; a malformed change is reported (``on_problem``), never applied and never skipped: the
feed resyncs with a fresh snapshot. Any failure goes OFFLINE and retries with exponential
backoff and jitter, resuming from the stored cursor; a 401 is reported with
``on_signed_out``. A watchdog reconnects when no event or heartbeat arrives for twice the
server's heartbeat interval (announced in the stream's first comment, ``: connected
heartbeat=10``; from a server that announces none, the longest of the last gaps between its
heartbeats), and never later than ``heartbeat_timeout`` (twice the
contract's longest interval, for a server that announces nothing and has not beaten yet). A
stream whose reply never starts is left after the client's request timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence

from dispatchdesk.cache.entities import ENTITIES, INCIDENT, SIDE_ENTITIES, EntityChanges
from dispatchdesk.domain.commands import ConnectionState
from dispatchdesk.domain.incident import Incident
from dispatchdesk.protocol.convert import incident_from_wire, policy_from_wire
from dispatchdesk.protocol.schemas import Change, IncidentOut
from dispatchdesk.sync.client import Heartbeat
from dispatchdesk.sync.context import SyncContext
from dispatchdesk.sync.entities import EntityBatch, build_index, decode_entity
from dispatchdesk.sync.errors import (
    ConnectionLost,
    DeskError,
    Gone,
    MalformedPayload,
    Unauthorized,
)
from dispatchdesk.sync.outbox import Outbox

log = logging.getLogger(__name__)

#: What the stream reader hands the applier.
StreamItem = Change | Heartbeat | BaseException


class _StreamEnded(Exception):
    """The server closed the event stream (it is shutting down, or pruned its log)."""


class BeatWatch:
    """The server's heartbeat interval: as announced (``connected heartbeat=N``), or as
    measured between its heartbeats (the last few gaps)."""

    def __init__(self) -> None:
        self.announced: float | None = None
        self._gaps: deque[float] = deque(maxlen=3)
        self._last: float | None = None

    def connecting(self) -> None:
        """A new stream: the next gap is measured from its first comment."""
        self._last = None

    def heard(self, text: str, now: float) -> None:
        word, _, rest = text.partition(" ")
        if word == "connected":
            for part in rest.split():
                key, _, value = part.partition("=")
                if key == "heartbeat":
                    with contextlib.suppress(ValueError):
                        seconds = float(value)
                        if 0 < seconds < 3600:
                            self.announced = seconds
            self._last = now
        elif word == "heartbeat":
            if self._last is not None:
                self._gaps.append(now - self._last)
            self._last = now

    def interval(self) -> float | None:
        """The server's promise when it made one (the contract: reconnect after twice it),
        else the longest recent gap heard."""
        if self.announced is not None:
            return self.announced
        return max(self._gaps) if self._gaps else None

    def limit(self, ceiling: float) -> float:
        interval = self.interval()
        return ceiling if interval is None else min(ceiling, 2 * interval)


class Feed:
    """Keeps the cache and the screen in step with the server until stopped."""

    def __init__(
        self, ctx: SyncContext, outbox: Outbox, *, heartbeat_timeout: float, page_limit: int
    ) -> None:
        self._ctx = ctx
        self._outbox = outbox
        self.heartbeat_timeout = heartbeat_timeout
        self._page_limit = page_limit
        self._beats = BeatWatch()

    async def run(self) -> None:
        ctx = self._ctx
        attempt = 0
        fresh_snapshot = False
        while not ctx.stopping:
            ctx.set_connection(ConnectionState.CONNECTING)
            try:
                if ctx.cursor is None or fresh_snapshot:
                    await self._take_snapshot()
                    fresh_snapshot = False
                else:
                    try:
                        await self._catch_up()
                    except Gone:
                        await self._take_snapshot()
                self._go_online()
                attempt = 0
                await self._stream()
                message = "The live feed ended; reconnecting."
            except Gone as exc:
                # The stream's resume point fell out of the log: a fresh snapshot next (after
                # the short first backoff, so a confused server cannot make us spin).
                fresh_snapshot = True
                message = str(exc)
            except MalformedPayload as exc:
                ctx.problem(f"{exc} Nothing from it was applied; reloading from the server.")
                fresh_snapshot = True
                message = str(exc)
            except Unauthorized as exc:
                ctx.signed_out(f"Not signed in to the server: {exc}")
                message = str(exc)
            except DeskError as exc:
                message = str(exc)
            except Exception as exc:  # a cache write failed, or a bug: never stop syncing
                log.exception("sync failed")
                message = f"Sync failed: {exc}"
                ctx.problem(message)
            self._go_offline(message)
            delay = ctx.backoff.delay(attempt)
            attempt += 1
            await ctx.sleep(delay)

    async def _take_snapshot(self) -> None:
        ctx = self._ctx
        snap = await ctx.client.snapshot()
        policy = policy_from_wire(snap.policy)
        kept: list[Incident] = await ctx.worker.call(
            ctx.store.replace_snapshot,
            snap.incidents,
            policy,
            snap.cursor,
            snap.server_time,
            ctx.clock.offset_seconds,
            EntityChanges.of((e, getattr(snap, e.plural)) for e in SIDE_ENTITIES),
            snap.policy.warnings,
        )
        warning_policy = snap.policy.warnings.to_policy() if snap.policy.warnings else None
        index = await ctx.worker.call(build_index, snap.schemes, snap.orders, warning_policy)
        ctx.policy = policy
        ctx.cursor = snap.cursor
        ctx.last_synced_at = snap.server_time
        ctx.entities.versions[INCIDENT.name] = {i.id: i.version for i in kept}
        ctx.shown_versions.reset()
        ctx.listeners.on_state(kept, policy)
        ctx.listeners.on_units(ctx.entities.reset_units(snap.units), [], True)
        ctx.entities.reset_index(index)
        ctx.emit_warnings()
        ctx.entities.reset_notices(snap.notices)
        ctx.emit_notices()
        ctx.expiry_wake.set()
        await self._outbox.confirm_sent(removed=(), after_snapshot=True)
        # In turn, not beside the stream: one request at a time on the connection.
        await self._learn_notice_reads()

    async def _catch_up(self) -> None:
        while True:
            assert self._ctx.cursor is not None
            before = self._ctx.cursor
            page = await self._ctx.client.changes(before, self._page_limit)
            await self.apply(page.changes, page.cursor)
            if not page.more or self._ctx.cursor == before:
                return

    async def _stream(self) -> None:
        queue: asyncio.Queue[StreamItem] = asyncio.Queue()
        reader = asyncio.create_task(self._read_stream(queue), name="dispatchdesk-sse")
        try:
            while True:
                batch = [await queue.get()]
                while not queue.empty():
                    batch.append(queue.get_nowait())
                changes: list[Change] = []
                error: BaseException | None = None
                for item in batch:
                    if isinstance(item, BaseException):
                        error = item
                        break
                    if isinstance(item, Change):
                        changes.append(item)
                self._ctx.last_synced_at = self._ctx.clock.now()
                if changes:
                    await self.apply(changes, None)
                if isinstance(error, _StreamEnded):
                    return
                if error is not None:
                    raise error
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)

    def stall_limit(self) -> float:
        """Seconds of silence after which the stream is taken for dead (half-open)."""
        return self._beats.limit(self.heartbeat_timeout)

    async def _read_stream(self, queue: asyncio.Queue[StreamItem]) -> None:
        loop = asyncio.get_running_loop()
        beats = self._beats
        client = self._ctx.client
        server = client.server
        # Until the reply's head comes, a request's own timeout (a stream that never answers
        # is left then, even before this desk knows the server's heartbeat).
        limit = min(self.stall_limit(), client.request_timeout)
        watchdog: asyncio.Timeout | None = None

        def opened() -> None:
            if watchdog is not None:
                watchdog.reschedule(loop.time() + self.stall_limit())

        try:
            events = client.events(
                self._ctx.cursor, read_timeout=self.heartbeat_timeout, on_open=opened
            )
            beats.connecting()
            async with contextlib.aclosing(events), asyncio.timeout(limit) as watchdog:
                async for item in events:
                    now = loop.time()
                    if isinstance(item, Heartbeat):
                        beats.heard(item.text, now)
                    limit = self.stall_limit()
                    watchdog.reschedule(now + limit)
                    queue.put_nowait(item)
            queue.put_nowait(_StreamEnded())
        except TimeoutError:
            client.fail_over(server)  # a node that stopped answering: the next one
            queue.put_nowait(
                ConnectionLost(f"Nothing from the server for {limit:.3g} s; reconnecting.")
            )
        except Exception as exc:
            queue.put_nowait(exc)

    async def apply(self, changes: Sequence[Change], end_cursor: int | None) -> None:
        """Apply changes after the cursor as one transaction; a malformed one stops the batch.

        The changes before a malformed one are applied (they are good and in order), the
        cursor stops just before it, and :class:`MalformedPayload` is raised.
        """
        ctx = self._ctx
        assert ctx.cursor is not None
        cursor = ctx.cursor
        batch = EntityBatch()
        error: MalformedPayload | None = None
        for change in changes:
            if change.seq <= cursor:
                continue  # already applied: a resumed stream may repeat the last one
            if change.entity not in ENTITIES:
                self._unknown_entity(change.entity)
                cursor = change.seq
                continue
            try:
                batch.add(decode_entity(change), change.entity)
            except MalformedPayload as exc:
                error = exc
                break
            cursor = change.seq
        if error is None and end_cursor is not None:
            cursor = max(cursor, end_cursor)
        upserts, removed = batch.upserts(INCIDENT), batch.removed(INCIDENT)
        if cursor != ctx.cursor or upserts or removed:
            await self._commit(cursor, upserts, removed, batch.changes())
        if error is not None:
            raise error

    async def _commit(
        self,
        cursor: int,
        upserts: list[IncidentOut],
        removed: list[int],
        entity_changes: EntityChanges,
    ) -> None:
        """Write a decoded batch and the cursor in one transaction, then show it."""
        ctx = self._ctx
        now = ctx.clock.now()
        await ctx.worker.call(
            ctx.store.apply_changes,
            upserts,
            sorted(removed),
            cursor,
            now,
            ctx.clock.offset_seconds,
            entity_changes,
        )
        ctx.cursor = cursor
        ctx.last_synced_at = now
        shown: list[Incident] = []
        for wire in upserts:
            if ctx.shown_versions.feed_brought(wire.id, wire.version):
                shown.append(incident_from_wire(wire))
        for incident_id in removed:
            ctx.shown_versions.forget(incident_id)
        if shown or removed:
            ctx.listeners.on_changes(shown, sorted(removed))
        if entity_changes:
            self._show_entities(entity_changes)
        await self._outbox.confirm_sent(removed=removed)

    def _show_entities(self, changes: EntityChanges) -> None:
        ctx = self._ctx
        units, gone, warnings = ctx.entities.apply(changes)
        if units or gone:
            ctx.listeners.on_units(units, gone, False)
        if warnings:
            ctx.emit_warnings()
            ctx.expiry_wake.set()
        if ctx.entities.apply_notices(changes):
            ctx.emit_notices()

    def _unknown_entity(self, name: str) -> None:
        """A kind of record a newer server sends that this desk cannot show: said once, not a
        reason to stop syncing everything else."""
        self._ctx.problem(
            f"The server sends records of a kind this version of Dispatch Desk cannot show "
            f"({name!r}). Everything else is up to date; ask IT to update this desk."
        )

    async def _learn_notice_reads(self) -> None:
        """Add the reads the server holds for this operator (made at another position, or
        before the cache was replaced), so a notice already read is not asked for again."""
        ctx = self._ctx
        try:
            mine = await ctx.client.my_notices()
        except Exception as exc:  # any failure: the banner stays until the next snapshot
            log.info("could not fetch this operator's notice reads: %s", exc)
            return
        known = ctx.entities.notice_reads
        learnt = {m.notice.id: m.read_at for m in mine if m.read_at and m.notice.id not in known}
        if learnt:
            known.update(learnt)
            ctx.emit_notices()
            await ctx.worker.call(ctx.store.add_notice_reads, learnt)

    # --- connection state ------------------------------------------------------------------

    def _go_online(self) -> None:
        ctx = self._ctx
        ctx.online = True
        ctx.clear_problem()
        ctx.set_connection(ConnectionState.ONLINE)
        self._outbox.wake()

    def _go_offline(self, message: str) -> None:
        ctx = self._ctx
        was_online = ctx.online
        ctx.online = False
        ctx.set_connection(ConnectionState.OFFLINE, message)
        if was_online and ctx.last_synced_at is not None:
            ctx.spawn(ctx.worker.call(ctx.store.set_synced, ctx.last_synced_at))
