"""The sync engine: keeps the cache and the screen in step with the server, and sends commands.

It runs on the asyncio loop (the GUI thread under qasync) and never blocks it: the cache works
on its own thread (:class:`~dispatchdesk.cache.CacheWorker`), the network is async.

Feed. At start the cache is shown at once (``show_cache``: queue, units, outbox, warnings; the
desk calls it before signing in, so an offline start shows all of it), then: no cursor →
snapshot; else ``/changes`` pages from the cursor (410 → snapshot); then the SSE stream from
the cursor. Events that arrive together are coalesced into one cache transaction (rows +
cursor) and one ``on_changes``. Changes at or below the cursor are duplicates and dropped; a
malformed change is reported (``on_problem``), never applied and never skipped: the engine
resyncs with a fresh snapshot. Any failure goes OFFLINE and retries with exponential backoff
and jitter, resuming from the stored cursor. A watchdog reconnects when no event or heartbeat
arrives for ``heartbeat_timeout``.

Outbox. Every command is committed to the cache before it is reported (``on_commands``), then
sent in order while online, with ``Idempotency-Key`` = the command id (a resend after a lost
reply is replayed by the server, never applied twice). 2xx → SENT until the feed brings the
entity at the returned version or later; a refusal (4xx) → FAILED with the server's reason,
the body kept; no answer (transport error, 5xx, 401) → stays QUEUED and is retried with backoff.
A QUEUED command older than ``max_command_age`` becomes HELD and is sent only after ``retry``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python

from dispatchdesk.cache.store import CachedState, EntityChanges, OutboxEntry, start_of_day
from dispatchdesk.cache.worker import CacheWorker
from dispatchdesk.domain.clock import ServerClock
from dispatchdesk.domain.commands import (
    CommandKind,
    CommandState,
    ConnectionInfo,
    ConnectionState,
    PendingCommand,
)
from dispatchdesk.domain.grades import DEFAULT_POLICY, Grade, GradePolicy
from dispatchdesk.domain.incident import Divert, Incident, IncidentStatus
from dispatchdesk.domain.unit import Unit, UnitStatus
from dispatchdesk.domain.warnings import VictimContactOutcome, WarningRef
from dispatchdesk.protocol.base import StrictWire
from dispatchdesk.protocol.convert import divert_from_wire, incident_from_wire, policy_from_wire
from dispatchdesk.protocol.schemas import (
    AssignRequest,
    Change,
    ClearRequest,
    CloseRequest,
    DivertRequest,
    IncidentCreate,
    IncidentOut,
    IncidentPatch,
    ReviewRequest,
    UnitOut,
    UnitStatusRequest,
)
from dispatchdesk.protocol.warnings import (
    SchemeEnd,
    SchemeExtend,
    SchemeOut,
    SchemeReviewRequest,
    SchemeVictimContact,
    SchemeVictimInformed,
)
from dispatchdesk.sync.api import DeskListener, IncidentDraft
from dispatchdesk.sync.client import ApiClient, Heartbeat
from dispatchdesk.sync.entities import EntityBatch, EntityState, build_index, decode_entity
from dispatchdesk.sync.errors import (
    ApiError,
    ConnectionLost,
    DeskError,
    Gone,
    MalformedPayload,
    ServerError,
    Unauthorized,
)
from dispatchdesk.sync.routes import ROUTES

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class _StreamEnded(Exception):
    """The server closed the event stream (it is shutting down, or pruned its log)."""


class SyncEngine:
    """Implements :class:`~dispatchdesk.sync.api.DeskCommands`; reports to a ``DeskListener``.

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
        self._store = worker.store
        self._listener = listener
        self._clock = clock
        self.max_command_age = max_command_age
        self.heartbeat_timeout = heartbeat_timeout
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._backoff_factor = backoff_factor
        self._page_limit = page_limit
        #: How often QUEUED commands are checked for age while nothing else happens.
        self._check_interval = outbox_check_interval or max(
            0.05, min(30.0, max_command_age.total_seconds() / 10)
        )
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._wall = wall

        self._policy: GradePolicy = DEFAULT_POLICY
        self._cursor: int | None = None
        self._last_synced_at: datetime | None = None
        #: Versions as the cache holds them (the change feed's word).
        self._feed_versions: dict[int, int] = {}
        #: Versions last shown to the listener (feed, or a command's returned entity).
        self._shown_versions: dict[int, int] = {}
        #: Units, the warning index and acknowledgements.
        self._entities = EntityState()
        self._expiry_wake = asyncio.Event()
        self._expiry_task: asyncio.Task[None] | None = None
        self._outbox: list[OutboxEntry] = []
        self._outbox_lock = asyncio.Lock()
        self._flush_wake = asyncio.Event()
        self._online = False
        self._connection: ConnectionInfo | None = None
        self._last_problem: str | None = None
        self._run_task: asyncio.Task[None] | None = None
        self._flush_task: asyncio.Task[None] | None = None
        self._writes: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._day: datetime | None = None
        self._cache_task: asyncio.Task[None] | None = None

    # --- properties ------------------------------------------------------------------------

    @property
    def cursor(self) -> int | None:
        return self._cursor

    @property
    def online(self) -> bool:
        return self._online

    @property
    def commands(self) -> list[PendingCommand]:
        return [e.command for e in self._outbox]

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
        if state is None:
            state = await self._worker.call(self._store.load)
        self._restore_clock(state.clock_offset_seconds)
        self._policy = state.policy or DEFAULT_POLICY
        self._cursor = state.cursor
        self._last_synced_at = state.last_synced_at
        self._feed_versions = {i.id: i.version for i in state.incidents}
        self._shown_versions = dict(self._feed_versions)
        self._outbox = list(state.outbox)
        self._notify("on_state", state.incidents, self._policy)
        self._notify("on_units", self._entities.reset_units(state.units), [], True)
        self._emit_commands()
        # Perhaps 200,000 schemes and orders: not in the way of the sign-in window.
        self._cache_task = asyncio.create_task(self._show_cached_warnings(),
                                               name="dispatchdesk-cached-warnings")

    async def _show_cached_warnings(self) -> None:
        await self._load_warnings()
        await self._confirm_sent(removed=())  # a crash may have left confirmed ones behind
        self._expiry_task = asyncio.create_task(self._expiry_loop(), name="dispatchdesk-expiry")

    async def cache_shown(self) -> None:
        """Until all of the cache is on screen, warnings included (after :meth:`show_cache`)."""
        if self._cache_task is None:
            raise RuntimeError("show_cache() was not called")
        await asyncio.shield(self._cache_task)

    async def start(self) -> None:
        """Show the cache at once (unless :meth:`show_cache` did), then connect and keep in
        sync until :meth:`stop`. The feed starts once the cached warnings are shown, so a
        fresh snapshot's are never replaced by older ones from the cache."""
        if self._run_task is not None:
            raise RuntimeError("the sync engine was already started")
        if self._cache_task is not None:
            self._emit_commands()  # a window opened since (first sign-in) shows the outbox
        else:
            await self.show_cache()
        await self.cache_shown()
        self._set_connection(ConnectionState.CONNECTING)
        self._flush_wake.set()
        self._run_task = asyncio.create_task(self._run(), name="dispatchdesk-sync")
        self._flush_task = asyncio.create_task(self._flush_loop(), name="dispatchdesk-outbox")

    async def _load_warnings(self) -> None:
        """Schemes and orders (perhaps 200,000) from the cache, after the queue is on screen.

        Rows the cache cannot read are not guessed at: the first contact then takes a fresh
        snapshot, which replaces them all.
        """
        try:
            data: CachedState = await self._worker.call(
                self._store.load_warning_data, self._clock.now()
            )
            index = await self._worker.call(build_index, data)
        except Exception as exc:
            log.exception("warning data in the cache could not be read")
            self._problem(f"Special schemes and protective orders in the local cache could not "
                          f"be read ({exc}); they are reloaded from the server when it answers.")
            self._cursor = None
            return
        self._entities.reset_index(index, data.schemes)
        self._entities.acknowledged = set(data.acknowledged)
        self._emit_warnings()

    async def stop(self) -> None:
        """Close the stream and the client; pending cache writes finish first."""
        self._stopping = True
        tasks = [t for t in (self._cache_task, self._run_task, self._flush_task,
                             self._expiry_task) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._writes:
            await asyncio.gather(*list(self._writes), return_exceptions=True)
        await self._client.aclose()
        self._online = False
        self._set_connection(ConnectionState.OFFLINE, "Stopped.")

    def _restore_clock(self, offset: float | None) -> None:
        """Before any server contact, count on the offset measured at the last sync."""
        if offset is None or self._clock.synced:
            return
        delta = offset - self._clock.offset_seconds
        mono = self._clock.monotonic()
        server_now = datetime.fromtimestamp(self._clock.timestamp() + delta, UTC)
        self._clock.observe(server_now, mono, mono)
        self._clock.synced = False  # an estimate from the cache, not a measurement

    # --- the feed --------------------------------------------------------------------------

    async def _run(self) -> None:
        attempt = 0
        fresh_snapshot = False
        while not self._stopping:
            self._set_connection(ConnectionState.CONNECTING)
            try:
                if self._cursor is None or fresh_snapshot:
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
                self._problem(f"{exc} Nothing from it was applied; reloading from the server.")
                fresh_snapshot = True
                message = str(exc)
            except Unauthorized as exc:
                self._problem(f"Not signed in to the server: {exc}")
                message = str(exc)
            except DeskError as exc:
                message = str(exc)
            except Exception as exc:  # a cache write failed, or a bug: never stop syncing
                log.exception("sync failed")
                message = f"Sync failed: {exc}"
                self._problem(message)
            self._go_offline(message)
            delay = self._backoff(attempt)
            attempt += 1
            await self._sleep(delay)

    async def _take_snapshot(self) -> None:
        snap = await self._client.snapshot()
        policy = policy_from_wire(snap.policy)
        kept: list[Incident] = await self._worker.call(
            self._store.replace_snapshot,
            snap.incidents,
            policy,
            snap.cursor,
            snap.server_time,
            self._clock.offset_seconds,
            EntityChanges(units=snap.units, schemes=snap.schemes, orders=snap.orders),
            snap.policy.warnings,
        )
        warning_policy = snap.policy.warnings.to_policy() if snap.policy.warnings else None
        index = await self._worker.call(
            build_index, CachedState(schemes=snap.schemes, orders=snap.orders), warning_policy
        )
        self._policy = policy
        self._cursor = snap.cursor
        self._last_synced_at = snap.server_time
        self._feed_versions = {i.id: i.version for i in kept}
        self._shown_versions = dict(self._feed_versions)
        self._notify("on_state", kept, policy)
        self._notify("on_units", self._entities.reset_units(snap.units), [], True)
        self._entities.reset_index(index, snap.schemes)
        self._emit_warnings()
        self._expiry_wake.set()
        await self._confirm_sent(removed=(), after_snapshot=True)

    async def _catch_up(self) -> None:
        while True:
            assert self._cursor is not None
            before = self._cursor
            page = await self._client.changes(before, self._page_limit)
            await self._apply(page.changes, page.cursor)
            if not page.more or self._cursor == before:
                return

    async def _stream(self) -> None:
        queue: asyncio.Queue[Change | Heartbeat | BaseException] = asyncio.Queue()
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
                self._last_synced_at = self._clock.now()
                if changes:
                    await self._apply(changes, None)
                if isinstance(error, _StreamEnded):
                    return
                if error is not None:
                    raise error
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)

    async def _read_stream(self, queue: asyncio.Queue[Change | Heartbeat | BaseException]) -> None:
        loop = asyncio.get_running_loop()
        hb = self.heartbeat_timeout
        try:
            events = self._client.events(self._cursor, read_timeout=hb)
            async with contextlib.aclosing(events), asyncio.timeout(hb) as watchdog:
                async for item in events:
                    watchdog.reschedule(loop.time() + hb)
                    queue.put_nowait(item)
            queue.put_nowait(_StreamEnded())
        except TimeoutError:
            queue.put_nowait(
                ConnectionLost(f"Nothing from the server for {hb:g} s; reconnecting.")
            )
        except Exception as exc:
            queue.put_nowait(exc)

    async def _apply(self, changes: Sequence[Change], end_cursor: int | None) -> None:
        """Apply changes after the cursor as one transaction; a malformed one stops the batch.

        The changes before a malformed one are applied (they are good and in order), the
        cursor stops just before it, and :class:`MalformedPayload` is raised.
        """
        assert self._cursor is not None
        cursor = self._cursor
        upserts: dict[int, IncidentOut] = {}
        removed: set[int] = set()
        others = EntityBatch()
        error: MalformedPayload | None = None
        for change in changes:
            if change.seq <= cursor:
                continue  # already applied: a resumed stream may repeat the last one
            try:
                payload = decode_entity(change)
            except MalformedPayload as exc:
                error = exc
                break
            cursor = change.seq
            if change.entity != "incident":
                others.add(payload, change.entity)
            elif isinstance(payload, IncidentOut):
                upserts[payload.id] = payload
                removed.discard(payload.id)
            else:
                assert isinstance(payload, int)
                upserts.pop(payload, None)
                removed.add(payload)
        if error is None and end_cursor is not None:
            cursor = max(cursor, end_cursor)
        entity_changes = others.changes()
        if cursor != self._cursor or upserts or removed:
            now = self._clock.now()
            await self._worker.call(
                self._store.apply_changes,
                list(upserts.values()),
                sorted(removed),
                cursor,
                now,
                self._clock.offset_seconds,
                entity_changes,
            )
            self._cursor = cursor
            self._last_synced_at = now
            shown: list[Incident] = []
            for wire in upserts.values():
                self._feed_versions[wire.id] = wire.version
                if wire.version >= self._shown_versions.get(wire.id, -1):
                    self._shown_versions[wire.id] = wire.version
                    shown.append(incident_from_wire(wire))
            for incident_id in removed:
                self._feed_versions.pop(incident_id, None)
                self._shown_versions.pop(incident_id, None)
            if shown or removed:
                self._notify("on_changes", shown, sorted(removed))
            if entity_changes:
                self._show_entities(entity_changes)
            await self._confirm_sent(removed=removed)
        if error is not None:
            raise error

    # --- connection state ------------------------------------------------------------------

    def _go_online(self) -> None:
        self._online = True
        self._last_problem = None
        self._set_connection(ConnectionState.ONLINE)
        self._flush_wake.set()

    def _go_offline(self, message: str) -> None:
        was_online = self._online
        self._online = False
        self._set_connection(ConnectionState.OFFLINE, message)
        if was_online and self._last_synced_at is not None:
            self._spawn(self._worker.call(self._store.set_synced, self._last_synced_at))

    def _set_connection(self, state: ConnectionState, message: str | None = None) -> None:
        info = ConnectionInfo(state=state, last_synced_at=self._last_synced_at, message=message)
        if info != self._connection:
            self._connection = info
            self._notify("on_connection", info)

    def _backoff(self, attempt: int) -> float:
        delay = min(self._backoff_max, self._backoff_initial * self._backoff_factor**attempt)
        return delay / 2 + self._rng.random() * delay / 2

    # --- listener --------------------------------------------------------------------------

    def _notify(self, name: str, *args: Any) -> None:
        try:
            getattr(self._listener, name)(*args)
        except Exception:
            log.exception("listener %s failed", name)

    def _problem(self, message: str) -> None:
        if message != self._last_problem:
            self._last_problem = message
            self._notify("on_problem", message)

    def _emit_commands(self) -> None:
        self._notify("on_commands", [e.command for e in self._outbox])

    def _emit_warnings(self) -> None:
        self._notify("on_warnings", self._entities.index, frozenset(self._entities.acknowledged))

    def _show_entities(self, changes: EntityChanges) -> None:
        units, gone, warnings = self._entities.apply(changes)
        if units or gone:
            self._notify("on_units", units, gone, False)
        if warnings:
            self._emit_warnings()
            self._expiry_wake.set()

    # --- scheme expiry ---------------------------------------------------------------------

    async def purge_expired(self) -> list[int]:
        """Drop schemes expired by server time from the screen, the index and the cache
        files (also offline). Runs at each expiry; tests call it after moving a fake clock."""
        now = self._clock.now()
        ids = self._entities.expired(now)
        if ids:
            self._emit_warnings()
            await self._worker.call(self._store.purge_schemes, now, ids)
        return ids

    async def _expiry_loop(self) -> None:
        while not self._stopping:
            nxt = self._entities.index.next_scheme_expiry()
            wait = 60.0 if nxt is None else (nxt - self._clock.now()).total_seconds()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(max(wait, 0.0), 60.0)):
                    await self._expiry_wake.wait()
            self._expiry_wake.clear()
            try:
                if not await self.purge_expired() and wait <= 0:
                    await asyncio.sleep(1.0)  # the index disagrees with itself: do not spin
            except Exception as exc:  # never stop expiring schemes
                log.exception("scheme purge failed")
                self._problem(f"Removing an expired special scheme failed: {exc}")
                await self._sleep(1.0)

    # --- DeskCommands ----------------------------------------------------------------------

    def create_incident(self, draft: IncidentDraft) -> str:
        body, invalid = _validated(
            IncidentCreate,
            "incident",
            grade=draft.grade,
            type=draft.type,
            summary=draft.summary,
            location=asdict(draft.location),
            caller=asdict(draft.caller),
            appointment_at=draft.appointment_at,
            persons=[asdict(p) for p in draft.persons],
        )
        description = f"New {draft.grade.value} incident: {draft.type}, {draft.location.one_line}"
        acked = set(draft.acknowledged_warnings)
        follow_ups = tuple(
            ("shown", r.kind, r.entity_id) for r in draft.shown_warnings if r not in acked
        ) + tuple(("acknowledged", r.kind, r.entity_id) for r in draft.acknowledged_warnings)
        return self._enqueue(CommandKind.CREATE_INCIDENT, None, description, body, None, invalid,
                             follow_ups=follow_ups)

    def regrade(self, incident: Incident, grade: Grade, reason: str | None = None) -> str:
        fields: dict[str, Any] = {"grade": grade}
        if reason is not None:
            fields["reason"] = reason
        body, invalid = _validated(IncidentPatch, "regrade", **fields)
        description = f"Regrade {incident.ref} to {grade.value}"
        return self._enqueue(
            CommandKind.UPDATE_INCIDENT, incident.id, description, body, incident.version, invalid
        )

    def change_status(self, incident: Incident, status: IncidentStatus) -> str:
        body, invalid = _validated(IncidentPatch, "status change", status=status)
        description = f"{incident.ref}: {status.label}"
        return self._enqueue(
            CommandKind.UPDATE_INCIDENT, incident.id, description, body, incident.version, invalid
        )

    def edit_summary(self, incident: Incident, summary: str) -> str:
        body, invalid = _validated(IncidentPatch, "summary", summary=summary)
        description = f"Edit summary of {incident.ref}"
        return self._enqueue(
            CommandKind.UPDATE_INCIDENT, incident.id, description, body, incident.version, invalid
        )

    def close(self, incident: Incident, rationale: str) -> str:
        body, invalid = _validated(CloseRequest, "close", rationale=rationale)
        description = f"Close {incident.ref}"
        return self._enqueue(
            CommandKind.CLOSE_INCIDENT, incident.id, description, body, None, invalid
        )

    # units

    def assign_unit(self, unit: Unit, incident: Incident,
                    warnings_passed: Sequence[WarningRef] = ()) -> str:
        body, invalid = _validated(AssignRequest, "assignment", incident_id=incident.id,
                                   **_passed(warnings_passed))
        return self._unit_command(
            CommandKind.ASSIGN_UNIT, unit, incident.id,
            f"Assign {unit.callsign} to {incident.ref}{_passed_words(warnings_passed)}", body,
            invalid)

    def divert_unit(self, unit: Unit, incident: Incident, reason: str,
                    warnings_passed: Sequence[WarningRef] = ()) -> str:
        body, invalid = _validated(DivertRequest, "divert", incident_id=incident.id,
                                   reason=reason, **_passed(warnings_passed))
        return self._unit_command(
            CommandKind.DIVERT_UNIT, unit, incident.id,
            f"Divert {unit.callsign} to {incident.ref}{_passed_words(warnings_passed)}", body,
            invalid)

    def arrive_unit(self, unit: Unit) -> str:
        return self._unit_command(CommandKind.ARRIVE_UNIT, unit, unit.incident_id,
                                  f"{unit.callsign} at scene", {}, None)

    def clear_unit(self, unit: Unit, reason: str | None = None) -> str:
        body: dict[str, Any] = {}
        invalid = None
        if reason is not None:
            body, invalid = _validated(ClearRequest, "clear", reason=reason)
        what = f"Clear {unit.callsign}"
        if unit.status is UnitStatus.ASSIGNED:
            what += " before it arrived"
        return self._unit_command(CommandKind.CLEAR_UNIT, unit, unit.incident_id, what, body,
                                  invalid)

    def set_unit_status(self, unit: Unit, status: UnitStatus) -> str:
        body, invalid = _validated(UnitStatusRequest, "unit status", status=status)
        return self._unit_command(CommandKind.UNIT_STATUS, unit, None,
                                  f"{unit.callsign}: {status.label}", body, invalid)

    def _unit_command(self, kind: CommandKind, unit: Unit, incident_id: int | None,
                      description: str, body: dict[str, Any], invalid: str | None) -> str:
        # No If-Match: the server checks the unit's state itself, and a busy unit's 409 says
        # where it is and who sent it (more use to a dispatcher than "it changed").
        return self._enqueue(kind, incident_id, description, body, None, invalid,
                             unit_id=unit.id)

    def review_divert(self, divert: Divert, note: str) -> str:
        body, invalid = _validated(ReviewRequest, "review", note=note)
        return self._enqueue(
            CommandKind.REVIEW_DIVERT, divert.from_incident_id,
            f"Review divert of {divert.callsign} from {divert.from_ref}", body, None, invalid,
            path_args={"id": divert.id},
        )

    async def divert_history(self, state: str = "all") -> list[Divert]:
        """The DIVERT tag list from the server (older diverts than the cache holds)."""
        return [divert_from_wire(d) for d in await self._client.diverts(state)]

    # schemes; descriptions name the scheme by id only: an expired scheme's text must not
    # linger in the outbox.

    def extend_scheme(self, scheme: SchemeOut, expires_at: datetime, note: str | None) -> str:
        body, invalid = _validated(SchemeExtend, "extension", expires_at=expires_at, note=note)
        return self._scheme_command(CommandKind.EXTEND_SCHEME, scheme, "Extend", body, invalid)

    def end_scheme(self, scheme: SchemeOut, reason: str,
                   override_rationale: str | None = None) -> str:
        extra = {} if override_rationale is None else {"override_rationale": override_rationale}
        body, invalid = _validated(SchemeEnd, "end of scheme", reason=reason, **extra)
        return self._scheme_command(CommandKind.END_SCHEME, scheme, "End", body, invalid)

    def request_scheme_review(self, scheme: SchemeOut, note: str | None) -> str:
        body, invalid = _validated(SchemeReviewRequest, "review request", note=note)
        return self._scheme_command(CommandKind.REQUEST_SCHEME_REVIEW, scheme,
                                    "Request review of", body, invalid)

    def scheme_victim_informed(self, scheme: SchemeOut, at: datetime | None) -> str:
        body, invalid = _validated(SchemeVictimInformed, "victim informed", at=at)
        return self._scheme_command(CommandKind.SCHEME_VICTIM_INFORMED, scheme,
                                    "Victim informed for", body, invalid)

    def scheme_victim_contact(self, scheme: SchemeOut, outcome: VictimContactOutcome,
                              at: datetime | None, note: str | None) -> str:
        body, invalid = _validated(SchemeVictimContact, "victim contact", outcome=outcome,
                                   at=at, note=note)
        return self._scheme_command(CommandKind.SCHEME_VICTIM_CONTACT, scheme,
                                    "Victim contact for", body, invalid)

    def _scheme_command(self, kind: CommandKind, scheme: SchemeOut, verb: str,
                        body: dict[str, Any], invalid: str | None) -> str:
        return self._enqueue(kind, None, f"{verb} special scheme #{scheme.id}", body,
                             scheme.version, invalid, path_args={"id": scheme.id})

    # warnings

    def warning_shown(self, incident_id: int, ref: WarningRef, *,
                      incident_ref: str | None = None) -> None:
        self._audit_warning(CommandKind.WARNING_SHOWN, "shown", incident_id, ref, incident_ref)

    def acknowledge_warning(self, incident_id: int, ref: WarningRef, *,
                            incident_ref: str | None = None) -> None:
        key = (incident_id, ref)
        if key not in self._entities.acknowledged:
            self._entities.acknowledged.add(key)
            self._emit_warnings()
            self._spawn(self._worker.call(self._store.add_acknowledgement, incident_id, ref))
        self._audit_warning(CommandKind.WARNING_ACKNOWLEDGED, "acknowledged", incident_id, ref,
                            incident_ref)

    def _audit_warning(self, kind: CommandKind, verb: str, incident_id: int, ref: WarningRef,
                       incident_ref: str | None) -> None:
        where = incident_ref or f"incident {incident_id}"
        self._enqueue(kind, incident_id, f"Warning ({ref.kind} #{ref.entity_id}) {verb} for "
                      f"{where}", {"incident_id": incident_id}, None,
                      path_args={"kind": ref.kind, "id": ref.entity_id})

    def retry(self, command_id: str) -> None:
        self._spawn(self._retry(command_id))

    def discard(self, command_id: str) -> None:
        self._spawn(self._discard(command_id))

    # --- outbox ----------------------------------------------------------------------------

    def _enqueue(
        self,
        kind: CommandKind,
        incident_id: int | None,
        description: str,
        body: dict[str, Any],
        if_match: int | None,
        invalid: str | None = None,
        *,
        unit_id: int | None = None,
        path_args: dict[str, Any] | None = None,
        follow_ups: tuple[tuple[str, str, int], ...] = (),
    ) -> str:
        """Store the command durably, then report it; ``invalid``: store it FAILED, unsent."""
        command_id = str(uuid.uuid4())
        entry = OutboxEntry(
            command=PendingCommand(
                id=command_id,
                kind=kind,
                incident_id=incident_id,
                description=description,
                created_at=self._wall(),
                state=CommandState.FAILED if invalid else CommandState.QUEUED,
                message=invalid,
                body=body,
                unit_id=unit_id,
            ),
            idempotency_key=command_id,
            if_match=if_match,
            path_args=path_args or {},
            follow_ups=follow_ups,
        )
        self._spawn(self._add(entry))
        return command_id

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _add(self, entry: OutboxEntry) -> None:
        async with self._outbox_lock:
            try:
                await self._worker.call(self._store.add_command, entry)
            except Exception as exc:
                log.exception("outbox write failed")
                self._notify(
                    "on_problem",
                    f"Could not save “{entry.command.description}” ({exc}). It was NOT queued: "
                    "enter it again.",
                )
                return
            self._outbox.append(entry)
            self._emit_commands()
        if entry.state is CommandState.FAILED:
            self._notify("on_problem", f"{entry.command.description}: not sent. "
                         f"{entry.command.message}")
        self._flush_wake.set()

    async def _save(self, entry: OutboxEntry) -> None:
        """Persist a changed entry, then show it. Call with the outbox lock held."""
        await self._worker.call(self._store.update_command, entry)
        self._outbox = [entry if e.id == entry.id else e for e in self._outbox]
        self._emit_commands()

    async def _remove(self, ids: Iterable[str]) -> None:
        """Delete entries, then show the outbox. Call with the outbox lock held."""
        gone = set(ids)
        if not gone:
            return
        for command_id in gone:
            await self._worker.call(self._store.remove_command, command_id)
        self._outbox = [e for e in self._outbox if e.id not in gone]
        self._emit_commands()

    async def _retry(self, command_id: str) -> None:
        async with self._outbox_lock:
            entry = self._find(command_id)
            if entry is None or entry.state not in (CommandState.FAILED, CommandState.HELD):
                return
            if_match = entry.if_match
            if entry.reached:
                # The server answered this key: a resend needs a new key. A refused PATCH is
                # re-based on the version now shown (the operator has seen it and said "send").
                key = str(uuid.uuid4())
                incident_id = entry.command.incident_id
                if if_match is not None and incident_id is not None:
                    if_match = self._shown_versions.get(incident_id, if_match)
            else:
                key = entry.idempotency_key  # never answered: the same key, so no double apply
            again = replace(
                entry.with_state(CommandState.QUEUED),
                idempotency_key=key,
                if_match=if_match,
                reached=False,
                approved=True,
            )
            await self._save(again)
        self._flush_wake.set()

    async def _discard(self, command_id: str) -> None:
        async with self._outbox_lock:
            entry = self._find(command_id)
            if entry is None or entry.state not in (CommandState.FAILED, CommandState.HELD):
                return
            await self._remove([command_id])

    def _find(self, command_id: str) -> OutboxEntry | None:
        return next((e for e in self._outbox if e.id == command_id), None)

    async def _confirm_sent(self, removed: Iterable[int], after_snapshot: bool = False) -> None:
        """Drop SENT commands the feed has confirmed (entity at ≥ the returned version)."""
        removed = set(removed)
        async with self._outbox_lock:
            done = []
            for e in self._outbox:
                if e.state is not CommandState.SENT or e.result_incident_id is None:
                    continue
                iid = e.result_incident_id
                have = self._versions(e.result_entity).get(iid)
                if (
                    (e.result_entity == "incident" and iid in removed)
                    or (have is not None and have >= (e.result_version or 0))
                    or (after_snapshot and have is None)
                ):
                    done.append(e.id)
            await self._remove(done)

    async def _flush_loop(self) -> None:
        interval = self._check_interval
        attempt = 0
        while not self._stopping:
            # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancellation that
            # arrives as the event is set, and stop() then waits for this loop forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self._flush_wake.wait()
            self._flush_wake.clear()
            try:
                await self._purge_at_day_turn()
                await self._hold_stale()
                while self._online:
                    entry = next(
                        (e for e in self._outbox if e.state is CommandState.QUEUED), None
                    )
                    if entry is None:
                        break
                    if await self._send(entry):
                        attempt = 0
                    else:
                        await self._sleep(self._backoff(attempt))
                        attempt += 1
                        await self._hold_stale()
            except Exception as exc:
                log.exception("outbox flush failed")
                self._problem(f"Sending commands failed: {exc}")
                await self._sleep(self._backoff(attempt))
                attempt += 1
                self._flush_wake.set()

    async def _purge_at_day_turn(self) -> None:
        """When the server's day turns, drop incidents closed before it (screen and disk)."""
        now = self._clock.now()
        day = start_of_day(now, self._policy)
        if self._day is not None and day != self._day:
            removed: list[int] = await self._worker.call(self._store.purge_closed, now)
            for incident_id in removed:
                self._feed_versions.pop(incident_id, None)
                self._shown_versions.pop(incident_id, None)
            if removed:
                self._notify("on_changes", [], removed)
        self._day = day

    async def _hold_stale(self) -> None:
        now = self._wall()
        async with self._outbox_lock:
            for e in list(self._outbox):
                if (
                    e.state is CommandState.QUEUED
                    and not e.approved
                    and now - e.command.created_at > self.max_command_age
                ):
                    minutes = self.max_command_age.total_seconds() / 60
                    issued = e.command.created_at.astimezone().strftime("%H:%M:%S")
                    await self._save(
                        e.with_state(
                            CommandState.HELD,
                            f"Not sent within {minutes:g} min of being issued (at {issued}). "
                            "Check it still applies, then send it or discard it.",
                        )
                    )

    async def _send(self, entry: OutboxEntry) -> bool:
        """Send one QUEUED command. False: no answer, try again later."""
        try:
            result = await self._dispatch(entry)
        except (ConnectionLost, ServerError, Unauthorized) as exc:
            async with self._outbox_lock:
                current = self._find(entry.id)
                if current is not None and current.state is CommandState.QUEUED:
                    await self._save(
                        replace(
                            current.with_state(CommandState.QUEUED, f"Not sent yet: {exc}"),
                            attempted=True,
                        )
                    )
            return False
        except MalformedPayload as exc:
            # It may have been applied: keep the key (reached=False) so a retry replays safely.
            await self._fail(
                entry,
                f"The server's reply could not be read ({exc}). It may have been applied: "
                "check the queue before sending it again.",
                reached=False,
            )
            return True
        except ApiError as exc:
            await self._fail(entry, exc.message, reached=True)
            return True
        entity = ROUTES[entry.command.kind].entity
        async with self._outbox_lock:
            current = self._find(entry.id)
            if current is None:
                return True
            if not entity:
                await self._remove([current.id])  # nothing for the feed to confirm
                return True
            rid, version = int(getattr(result, "id")), int(getattr(result, "version"))  # noqa: B009
            command = replace(current.command, state=CommandState.SENT, message=None)
            if entity == "incident":
                command = replace(command, incident_id=rid)
            sent = replace(
                current.with_state(CommandState.SENT),
                command=command,
                reached=True,
                attempted=True,
                result_entity=entity,
                result_incident_id=rid,
                result_version=version,
            )
            if self._versions(entity).get(rid, -1) >= version:
                await self._remove([sent.id])  # the feed got there first
            else:
                await self._save(sent)
        self._show_reply(result)
        if entry.follow_ups and isinstance(result, IncidentOut):
            self._queue_follow_ups(result, entry.follow_ups)
        return True

    def _versions(self, entity: str) -> dict[int, int]:
        """Versions the feed has brought, per entity kind (to confirm SENT commands)."""
        return self._feed_versions if entity == "incident" else self._entities.versions[entity]

    def _show_reply(self, result: BaseModel) -> None:
        """Show a command's result at once when it is newer than the screen."""
        if isinstance(result, IncidentOut):
            if result.version > self._shown_versions.get(result.id, -1):
                self._shown_versions[result.id] = result.version
                self._notify("on_changes", [incident_from_wire(result)], [])
        elif isinstance(result, UnitOut):
            unit = self._entities.show_unit(result)
            if unit is not None:
                self._notify("on_units", [unit], [], False)

    def _queue_follow_ups(
        self, incident: IncidentOut, follow_ups: tuple[tuple[str, str, int], ...]
    ) -> None:
        """Warnings handled in the new-incident form, audited now the incident has an id."""
        for action, kind, entity_id in follow_ups:
            ref = WarningRef(kind, entity_id)
            if action == "acknowledged":
                self.acknowledge_warning(incident.id, ref, incident_ref=incident.ref)
            else:
                self.warning_shown(incident.id, ref, incident_ref=incident.ref)

    async def _fail(self, entry: OutboxEntry, message: str, *, reached: bool) -> None:
        async with self._outbox_lock:
            current = self._find(entry.id)
            if current is None:
                return
            await self._save(
                replace(
                    current.with_state(CommandState.FAILED, message),
                    reached=reached,
                    attempted=True,
                )
            )
        self._notify("on_problem", f"{entry.command.description}: refused. {message}")

    async def _dispatch(self, entry: OutboxEntry) -> BaseModel:
        c = entry.command
        route = ROUTES[c.kind]
        args = {"incident_id": c.incident_id, "unit_id": c.unit_id, **entry.path_args}
        return await self._client.command(
            route.method, route.url(args), c.body or {}, idempotency_key=entry.idempotency_key,
            if_match=entry.if_match, reply=route.reply, what=route.entity or "reply",
        )


def _passed(refs: Sequence[WarningRef]) -> dict[str, Any]:
    """The ``warnings_passed`` field of an assign or divert; left out when there are none, so
    a server older than the field still takes the command."""
    if not refs:
        return {}
    return {"warnings_passed": [{"kind": r.kind, "id": r.entity_id} for r in refs]}


def _passed_words(refs: Sequence[WarningRef]) -> str:
    """" (2 warnings passed)" for the outbox's description (ids only: no scheme text there)."""
    if not refs:
        return ""
    return f" ({len(refs)} warning{'s' if len(refs) != 1 else ''} passed)"


def _validated(
    model: type[StrictWire], what: str, **fields: Any
) -> tuple[dict[str, Any], str | None]:
    """The JSON body, and a readable reason when it is not valid (then the raw fields)."""
    try:
        body = model(**fields)
    except ValidationError as exc:
        messages = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" if e["loc"] else e["msg"]
            for e in exc.errors()
        )
        raw: dict[str, Any] = to_jsonable_python(
            {k: v for k, v in fields.items() if v is not None}
        )
        return raw, f"The {what} is not valid: {messages}."
    data: dict[str, Any] = body.model_dump(mode="json", exclude_unset=True)
    return data, None
