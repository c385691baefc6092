"""The sync engine: keeps the cache and the screen in step with the server, and sends commands.

It runs on the asyncio loop (the GUI thread under qasync) and never blocks it: the cache works
on its own thread (:class:`~dispatchdesk.cache.CacheWorker`), the network is async.

:class:`SyncEngine` is a small facade over the parts, each in its own module:

- :mod:`~dispatchdesk.sync.feed`: snapshot, catch-up, stream, apply (and the connection state);
- :mod:`~dispatchdesk.sync.outbox`: enqueue, flush, retry, confirm, hold stale;
- :mod:`~dispatchdesk.sync.clocks`: scheme expiry and the day's turn, on server time;
- :mod:`~dispatchdesk.sync.commands`: per-feature command builders (incidents, units and
  divert reviews, schemes, warning audits);
- :mod:`~dispatchdesk.sync.listeners`: typed calls to the :class:`DeskListener`;
- :mod:`~dispatchdesk.sync.context`: what they share.

At start the cache is shown at once (``show_cache``: queue, units, outbox, warnings; the desk
calls it before signing in, so an offline start shows all of it), then the feed connects and
the outbox sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from dispatchdesk.cache.entities import INCIDENT
from dispatchdesk.cache.store import CachedNotices, CachedState, CachedWarnings
from dispatchdesk.cache.worker import CacheWorker
from dispatchdesk.domain.clock import ServerClock
from dispatchdesk.domain.commands import ConnectionState, PendingCommand
from dispatchdesk.domain.drafts import FormDraft
from dispatchdesk.domain.grades import DEFAULT_POLICY
from dispatchdesk.domain.incident import Divert
from dispatchdesk.protocol.convert import divert_from_wire
from dispatchdesk.protocol.notices import NoticeReceipts
from dispatchdesk.protocol.schemas import IncidentOut
from dispatchdesk.sync.api import DeskCommands, DeskListener, HistorySource
from dispatchdesk.sync.client import ApiClient
from dispatchdesk.sync.clocks import DayTurnClock, ExpiryClock
from dispatchdesk.sync.commands.downgrades import DowngradeCommands
from dispatchdesk.sync.commands.incidents import IncidentCommands
from dispatchdesk.sync.commands.links import LinkCommands
from dispatchdesk.sync.commands.notices import NoticeCommands
from dispatchdesk.sync.commands.schemes import SchemeCommands
from dispatchdesk.sync.commands.units import UnitCommands
from dispatchdesk.sync.commands.warning_audits import WarningCommands
from dispatchdesk.sync.context import Backoff, Sleep, SyncContext
from dispatchdesk.sync.entities import build_index
from dispatchdesk.sync.feed import Feed
from dispatchdesk.sync.history import HistoryQueries
from dispatchdesk.sync.listeners import Listeners
from dispatchdesk.sync.memory import release_freed_memory
from dispatchdesk.sync.outbox import FollowUps, Outbox

log = logging.getLogger(__name__)

__all__ = ["Sleep", "SyncEngine"]


class SyncEngine(
    IncidentCommands,
    UnitCommands,
    SchemeCommands,
    WarningCommands,
    NoticeCommands,
    DowngradeCommands,
    LinkCommands,
    HistoryQueries,
):
    """Implements :class:`~dispatchdesk.sync.api.DeskCommands` (the command builders are its
    bases); reports to a ``DeskListener``.

    ``clock`` becomes ``client.clock`` (one clock for the whole client). ``sleep`` and ``rng``
    are injectable for tests; ``wall`` is the local wall clock that stamps commands and ages
    them.
    """

    def __init__(
        self,
        client: ApiClient,
        worker: CacheWorker,
        listener: DeskListener,
        clock: ServerClock,
        *,
        max_command_age: timedelta = timedelta(minutes=10),
        heartbeat_timeout: float = 30.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        backoff_factor: float = 2.0,
        page_limit: int = 1000,
        outbox_check_interval: float | None = None,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._client = client
        client.clock = clock
        self._worker = worker
        self._clock = clock
        backoff = Backoff(backoff_initial, backoff_max, backoff_factor, rng or random.Random())
        ctx = SyncContext(
            client, worker, Listeners(listener), clock, backoff=backoff, sleep=sleep, wall=wall
        )
        self._ctx = ctx
        #: How often QUEUED commands are checked for age, and the server's day for its turn.
        interval = outbox_check_interval or max(
            0.05, min(30.0, max_command_age.total_seconds() / 10)
        )
        self._outbox = Outbox(ctx, max_command_age=max_command_age, check_interval=interval)
        self._feed = Feed(
            ctx, self._outbox, heartbeat_timeout=heartbeat_timeout, page_limit=page_limit
        )
        self._expiry = ExpiryClock(ctx)
        self._day_turn = DayTurnClock(ctx, interval)
        self._enqueue = self._outbox.enqueue
        self._outbox.on_follow_ups = self._follow_ups
        self._cache_task: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False

    # --- properties ------------------------------------------------------------------------

    @property
    def cursor(self) -> int | None:
        return self._ctx.cursor

    @property
    def online(self) -> bool:
        return self._ctx.online

    @property
    def commands(self) -> list[PendingCommand]:
        return [e.command for e in self._outbox.entries]

    @property
    def max_command_age(self) -> timedelta:
        return self._outbox.max_command_age

    @property
    def heartbeat_timeout(self) -> float:
        return self._feed.heartbeat_timeout

    # --- life cycle ------------------------------------------------------------------------

    async def show_cache(self, state: CachedState | None = None) -> None:
        """Show everything the cache holds, with no server contact: the queue, the units and
        the outbox before returning; then, on a task (:meth:`cache_shown` waits for it), the
        warnings (index, flags, acknowledgements), and from then on schemes drop off as they
        expire. A desk started with the backend down calls this before any sign-in, so it
        shows all it knows at once; :meth:`start` calls it if nobody did. ``state``: the cache
        as already loaded (:meth:`CacheStore.load`), so it is read once."""
        if self._cache_task is not None:
            return
        ctx = self._ctx
        if state is None:
            state = await self._worker.call(ctx.store.load)
        self._restore_clock(state.clock_offset_seconds)
        ctx.policy = state.policy or DEFAULT_POLICY
        ctx.cursor = state.cursor
        ctx.last_synced_at = state.last_synced_at
        ctx.entities.versions[INCIDENT.name] = {i.id: i.version for i in state.incidents}
        ctx.shown_versions.reset()
        self._outbox.entries = list(state.outbox)
        ctx.listeners.on_state(state.incidents, ctx.policy)
        ctx.listeners.on_units(ctx.entities.reset_units(state.units), [], True)
        self._outbox.emit()
        # Perhaps 200,000 schemes and orders: not in the way of the sign-in window.
        self._cache_task = asyncio.create_task(
            self._show_cached_warnings(), name="dispatchdesk-cached-warnings"
        )

    async def _show_cached_warnings(self) -> None:
        await self._load_notices()
        await self._load_warnings()
        await self._outbox.confirm_sent(removed=())  # a crash may have left confirmed ones
        self._tasks.append(asyncio.create_task(self._expiry.run(), name="dispatchdesk-expiry"))

    async def cache_shown(self) -> None:
        """Until all of the cache is on screen, warnings included (after :meth:`show_cache`)."""
        if self._cache_task is None:
            raise RuntimeError("show_cache() was not called")
        await asyncio.shield(self._cache_task)

    async def start(self) -> None:
        """Show the cache at once (unless :meth:`show_cache` did), then connect and keep in
        sync until :meth:`stop`. The feed starts once the cached warnings are shown, so a
        fresh snapshot's are never replaced by older ones from the cache."""
        if self._started:
            raise RuntimeError("the sync engine was already started")
        self._started = True
        if self._cache_task is not None:
            self._outbox.emit()  # a window opened since (first sign-in) shows the outbox
        else:
            await self.show_cache()
        await self.cache_shown()
        self._ctx.set_connection(ConnectionState.CONNECTING)
        self._outbox.wake()
        for coro, name in (
            (self._feed.run(), "dispatchdesk-sync"),
            (self._outbox.flush_loop(), "dispatchdesk-outbox"),
            (self._day_turn.run(), "dispatchdesk-day-turn"),
        ):
            self._tasks.append(asyncio.create_task(coro, name=name))

    async def _load_notices(self) -> None:
        """Live notices and this operator's reads of them, from the cache."""
        ctx = self._ctx
        try:
            data: CachedNotices = await self._worker.call(ctx.store.load_notices, self._clock.now())
        except Exception as exc:
            log.exception("notices in the cache could not be read")
            ctx.problem(
                f"Operational notices in the local cache could not be read ({exc}); they are "
                "reloaded from the server when it answers."
            )
            ctx.cursor = None
            return
        ctx.entities.reset_notices(data.notices)
        ctx.entities.notice_reads.update(data.reads)
        ctx.emit_notices()

    async def _load_warnings(self) -> None:
        """Schemes and orders (perhaps 200,000) from the cache, after the queue is on screen.

        Rows the cache cannot read are not guessed at: the first contact then takes a fresh
        snapshot, which replaces them all.
        """
        ctx = self._ctx
        try:
            data: CachedWarnings = await self._worker.call(
                ctx.store.load_warning_data, self._clock.now()
            )
            index = await self._worker.call(
                build_index, data.schemes, data.orders, data.warning_policy
            )
        except Exception as exc:
            log.exception("warning data in the cache could not be read")
            ctx.problem(
                f"Special schemes and protective orders in the local cache could not "
                f"be read ({exc}); they are reloaded from the server when it answers."
            )
            ctx.cursor = None
            return
        ctx.entities.reset_index(index)
        ctx.entities.acknowledged = set(data.acknowledged)
        del data  # the index holds what it needs of it
        # What reading and filing them passed through goes back to the system now, before
        # the flags are computed on top of it (on the worker: it walks the heaps).
        await self._worker.call(release_freed_memory)
        ctx.emit_warnings()

    async def stop(self) -> None:
        """Close the stream and the client; pending cache writes finish first (also those of
        the tasks just cancelled: a cache call runs to its end on the worker's thread)."""
        self._ctx.stopping = True
        tasks = [t for t in (self._cache_task, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._ctx.drain()
        await self._client.aclose()
        with contextlib.suppress(RuntimeError):  # the worker was closed first
            await self._worker.call(_idle)  # one at a time, in order: every earlier one is done
        self._ctx.online = False
        self._ctx.set_connection(ConnectionState.OFFLINE, "Stopped.")

    def _restore_clock(self, offset: float | None) -> None:
        """Before any server contact, count on the offset measured at the last sync."""
        if offset is None or self._clock.synced:
            return
        delta = offset - self._clock.offset_seconds
        mono = self._clock.monotonic()
        server_now = datetime.fromtimestamp(self._clock.timestamp() + delta, UTC)
        self._clock.observe(server_now, mono, mono)
        self._clock.synced = False  # an estimate from the cache, not a measurement

    async def purge_expired(self) -> list[int]:
        """Drop schemes expired by server time from the screen, the index and the cache
        files (also offline). Runs at each expiry; tests call it after moving a fake clock."""
        return await self._expiry.purge_expired()

    def _follow_ups(self, incident: IncidentOut, follow_ups: FollowUps) -> None:
        """A new incident has its id: the links and warning audits its form left to queue."""
        self._audit_follow_ups(incident, self.link_follow_ups(incident, follow_ups))

    async def divert_history(self, state: str = "all") -> list[Divert]:
        """The DIVERT tag list from the server (older diverts than the cache holds)."""
        return [divert_from_wire(d) for d in await self._client.diverts(state)]

    async def notice_receipts(self, notice_id: int) -> NoticeReceipts:
        """Who has read a notice, and who of its roles has not (supervisors; from the server)."""
        return await self._client.notice_receipts(notice_id)

    # --- DeskCommands: the builders' methods (mixins), then the outbox's ------------------

    def save_form_draft(self, form: str, draft: FormDraft | None) -> None:
        ctx = self._ctx
        data = draft.to_json() if draft is not None and draft.has_input() else None
        ctx.spawn(self._save_draft(form, data))

    async def _save_draft(self, form: str, data: str | None) -> None:
        ctx = self._ctx
        try:
            await self._worker.call(ctx.store.save_draft, form, data, ctx.wall())
        except Exception as exc:
            log.exception("form draft not saved")
            ctx.problem(
                f"What you are typing could not be kept in the local cache ({exc}); it is "
                "still in the form: create the incident, or keep the form open."
            )

    async def form_draft(self, form: str) -> FormDraft | None:
        """The draft the cache kept for ``form`` (typed before the desk last stopped)."""
        kept = await self._worker.call(self._ctx.store.load_draft, form)
        if kept is None:
            return None
        try:
            return FormDraft.from_json(*kept)
        except (ValueError, TypeError) as exc:
            log.error("form draft %s unreadable: %s", form, exc)
            return None

    def retry(self, command_id: str) -> None:
        self._ctx.spawn(self._outbox.retry(command_id))

    def discard(self, command_id: str) -> None:
        self._ctx.spawn(self._outbox.discard(command_id))


def _idle() -> None:
    """Nothing, on the cache's thread: it has run every call queued before it."""


def _conforms(engine: SyncEngine) -> DeskCommands:
    """Checked by mypy: the engine (with its builders) is the GUI's ``DeskCommands``."""
    return engine


def _answers_history(engine: SyncEngine) -> HistorySource:
    """Checked by mypy: the engine is where the history panel asks."""
    return engine
