"""The outbox: every command committed to the cache before it is reported, then sent in order.

Enqueue: stored durably, then shown (``on_commands``). Flush: while online, QUEUED commands go
out oldest first with ``Idempotency-Key`` = the command id (a resend after a lost reply is
replayed by the server, never applied twice). Confirm: 2xx → SENT until the feed brings the
entity at the returned version or later; a refusal (4xx) → FAILED with the server's reason, the
body kept; no answer (transport error, 5xx, 401) → stays QUEUED, retried with backoff. Hold: a
QUEUED command older than ``max_command_age`` becomes HELD and is sent only after ``retry``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from pydantic import BaseModel

from dispatchdesk.cache.entities import INCIDENT
from dispatchdesk.cache.store import OutboxEntry
from dispatchdesk.domain.commands import CommandKind, CommandState, PendingCommand
from dispatchdesk.protocol.convert import incident_from_wire
from dispatchdesk.protocol.schemas import IncidentOut, UnitOut
from dispatchdesk.sync.context import SyncContext
from dispatchdesk.sync.errors import (
    ApiError,
    ConnectionLost,
    MalformedPayload,
    ServerError,
    Unauthorized,
)
from dispatchdesk.sync.routes import ROUTES

log = logging.getLogger(__name__)

#: Warning audits to queue once a new incident has its id (see :class:`OutboxEntry`).
FollowUps = tuple[tuple[str, str, int], ...]


@dataclass(frozen=True)
class Command:
    """A command as a feature's builder words it, before it is stored."""

    kind: CommandKind
    incident_id: int | None
    description: str
    body: dict[str, Any]
    if_match: int | None
    #: Why it is not valid: then it is stored FAILED and never sent.
    invalid: str | None = None
    unit_id: int | None = None
    path_args: dict[str, Any] = field(default_factory=dict)
    follow_ups: FollowUps = ()
    #: The form draft this command was typed in: dropped when the command is stored, in the
    #: same transaction (see :meth:`CacheStore.add_command`).
    drops_draft: str | None = None


#: How many of this desk's own version moves are remembered (a shift's worth of edits).
_OWN_MOVES_KEPT = 1024


class Outbox:
    """Durable commands: enqueue, flush, retry, confirm, hold stale."""

    def __init__(
        self, ctx: SyncContext, *, max_command_age: timedelta, check_interval: float
    ) -> None:
        self._ctx = ctx
        self.max_command_age = max_command_age
        #: How often QUEUED commands are checked for age while nothing else happens.
        self._check_interval = check_interval
        self.entries: list[OutboxEntry] = []
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        #: Called with a new incident's reply and the audits its form left to queue.
        self.on_follow_ups: Callable[[IncidentOut, FollowUps], None] = lambda i, f: None
        #: (incident id, m) -> m + 1: this desk's own commands that moved an incident on by
        #: exactly themselves (the last :data:`_OWN_MOVES_KEPT`), for :meth:`_past_own_moves`.
        self._own_moves: OrderedDict[tuple[int, int], int] = OrderedDict()

    def wake(self) -> None:
        """Look at the outbox now (a command was added, the feed went online ...)."""
        self._wake.set()

    def emit(self) -> None:
        self._ctx.listeners.on_commands([e.command for e in self.entries])

    # --- enqueue, retry, discard -------------------------------------------------------------

    def enqueue(self, c: Command) -> str:
        """Store the command durably, then report it; an invalid one is stored FAILED."""
        command_id = str(uuid.uuid4())
        entry = OutboxEntry(
            command=PendingCommand(
                id=command_id,
                kind=c.kind,
                incident_id=c.incident_id,
                description=c.description,
                created_at=self._ctx.wall(),
                state=CommandState.FAILED if c.invalid else CommandState.QUEUED,
                message=c.invalid,
                body=c.body,
                unit_id=c.unit_id,
            ),
            idempotency_key=command_id,
            if_match=c.if_match,
            path_args=c.path_args,
            follow_ups=c.follow_ups,
        )
        self._ctx.spawn(self._add(entry, c.drops_draft))
        return command_id

    async def _add(self, entry: OutboxEntry, drop_draft: str | None = None) -> None:
        async with self._lock:
            entry = self._past_own_moves(entry)
            try:
                await self._ctx.worker.call(
                    self._ctx.store.add_command, entry, drop_draft=drop_draft
                )
            except Exception as exc:
                log.exception("outbox write failed")
                self._ctx.listeners.on_problem(
                    f"Could not save “{entry.command.description}” ({exc}). It was NOT queued: "
                    "enter it again."
                )
                return
            self.entries.append(entry)
            self.emit()
        if entry.state is CommandState.FAILED:
            self._ctx.listeners.on_problem(
                f"{entry.command.description}: not sent. {entry.command.message}"
            )
        self._wake.set()

    async def _save(self, entry: OutboxEntry) -> None:
        """Persist a changed entry, then show it. Call with the lock held."""
        await self._ctx.worker.call(self._ctx.store.update_command, entry)
        self.entries = [entry if e.id == entry.id else e for e in self.entries]
        self.emit()

    async def _remove(self, ids: Iterable[str]) -> None:
        """Delete entries, then show the outbox. Call with the lock held."""
        gone = set(ids)
        if not gone:
            return
        for command_id in gone:
            await self._ctx.worker.call(self._ctx.store.remove_command, command_id)
        self.entries = [e for e in self.entries if e.id not in gone]
        self.emit()

    async def retry(self, command_id: str) -> None:
        async with self._lock:
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
                    if_match = self._ctx.shown_versions.get(incident_id, if_match)
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
        self._wake.set()

    async def discard(self, command_id: str) -> None:
        async with self._lock:
            entry = self._find(command_id)
            if entry is None or entry.state not in (CommandState.FAILED, CommandState.HELD):
                return
            await self._remove([command_id])

    def _find(self, command_id: str) -> OutboxEntry | None:
        return next((e for e in self.entries if e.id == command_id), None)

    # --- confirm ---------------------------------------------------------------------------

    async def confirm_sent(self, removed: Iterable[int], after_snapshot: bool = False) -> None:
        """Drop SENT commands the feed has confirmed (entity at ≥ the returned version)."""
        removed = set(removed)
        async with self._lock:
            done = []
            for e in self.entries:
                if e.state is not CommandState.SENT or e.result_incident_id is None:
                    continue
                iid = e.result_incident_id
                have = self._ctx.entities.versions[e.result_entity].get(iid)
                if (
                    (e.result_entity == INCIDENT.name and iid in removed)
                    or (have is not None and have >= (e.result_version or 0))
                    or (after_snapshot and have is None)
                ):
                    done.append(e.id)
            await self._remove(done)

    # --- flush -----------------------------------------------------------------------------

    async def flush_loop(self) -> None:
        attempt = 0
        while not self._ctx.stopping:
            # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancellation that
            # arrives as the event is set, and stop() then waits for this loop forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._check_interval):
                    await self._wake.wait()
            self._wake.clear()
            try:
                attempt = await self._flush(attempt)
            except Exception as exc:
                log.exception("outbox flush failed")
                self._ctx.problem(f"Sending commands failed: {exc}")
                await self._ctx.sleep(self._ctx.backoff.delay(attempt))
                attempt += 1
                self._wake.set()

    async def _flush(self, attempt: int) -> int:
        """Send QUEUED commands in order while online; returns the backoff attempt."""
        await self.hold_stale()
        while self._ctx.online:
            entry = next((e for e in self.entries if e.state is CommandState.QUEUED), None)
            if entry is None:
                break
            if await self._send(entry):
                attempt = 0
            else:
                await self._ctx.sleep(self._ctx.backoff.delay(attempt))
                attempt += 1
                await self.hold_stale()
        return attempt

    async def hold_stale(self) -> None:
        now = self._ctx.wall()
        async with self._lock:
            for e in list(self.entries):
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
            async with self._lock:
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
        await self._sent(entry, result)
        self._show_reply(result)
        if entry.follow_ups and isinstance(result, IncidentOut):
            self.on_follow_ups(result, entry.follow_ups)
        return True

    async def _sent(self, entry: OutboxEntry, result: BaseModel) -> None:
        """The server took it: SENT until the feed confirms it (or done, if nothing will)."""
        entity = ROUTES[entry.command.kind].entity_name
        async with self._lock:
            current = self._find(entry.id)
            if current is None:
                return
            if not entity:
                await self._remove([current.id])  # nothing for the feed to confirm
                return
            rid, version = int(getattr(result, "id")), int(getattr(result, "version"))  # noqa: B009
            command = replace(current.command, state=CommandState.SENT, message=None)
            if entity == INCIDENT.name:
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
            if entity == INCIDENT.name:
                self._remember_own_move(current, rid, version)
                await self._rebase_queued(current, rid, version)
            if self._ctx.entities.versions[entity].get(rid, -1) >= version:
                # The feed got there first. Shown SENT once all the same: a create's
                # incident id is how the desk learns the new incident's ref.
                self.entries = [sent if e.id == sent.id else e for e in self.entries]
                self.emit()
                await self._remove([sent.id])
            else:
                await self._save(sent)

    def _remember_own_move(self, done: OutboxEntry, incident_id: int, version: int) -> None:
        """Note that ``done`` (sent with ``If-Match: m``) left the incident at ``m + 1``."""
        m = done.if_match
        if m is None or version != m + 1:
            return
        self._own_moves[incident_id, m] = version
        self._own_moves.move_to_end((incident_id, m))
        while len(self._own_moves) > _OWN_MOVES_KEPT:
            self._own_moves.popitem(last=False)

    def _past_own_moves(self, entry: OutboxEntry) -> OutboxEntry:
        """``entry`` typed at version ``m`` of an incident that this desk's own commands
        have since moved on, each by exactly itself (``m`` to ``m + 1``, then on), goes with
        the version they left it at. The command may have been typed before the answer to
        the desk's last one came back, and added to the outbox after it (so
        :meth:`_rebase_queued` did not see it): the screen still showed ``m``. The only
        difference between ``m`` and that version is the operator's own doing; anybody
        else's change after it still makes the server refuse the command. Call with the
        lock held."""
        m, incident_id = entry.if_match, entry.command.incident_id
        if m is None or incident_id is None or entry.state is not CommandState.QUEUED:
            return entry
        if ROUTES[entry.command.kind].entity_name != INCIDENT.name:
            return entry
        version = m
        while (after := self._own_moves.get((incident_id, version))) is not None:
            version = after
        return entry if version == m else replace(entry, if_match=version)

    async def _rebase_queued(self, done: OutboxEntry, incident_id: int, version: int) -> None:
        """The server applied ``done`` (sent with ``If-Match: m``) and the incident is now at
        ``m + 1``: nothing but this command changed it. Later commands of this desk on that
        incident, typed while it showed ``m`` and not yet sent, are sent with ``m + 1``
        instead, so an operator's second edit (a summary after a regrade, perhaps queued
        offline) is not refused as stale because of their own first one. Any other change in
        between leaves them at ``m``, and the server refuses them as before. Call with the
        lock held."""
        m = done.if_match
        if m is None or version != m + 1:
            return
        for e in self.entries:
            if (
                e.id != done.id
                and e.state is CommandState.QUEUED
                and not e.attempted
                and e.if_match == m
                and e.command.incident_id == incident_id
                and ROUTES[e.command.kind].entity_name == INCIDENT.name
            ):
                await self._save(replace(e, if_match=version))

    def _show_reply(self, result: BaseModel) -> None:
        """Show a command's result at once when it is newer than the screen."""
        ctx = self._ctx
        if isinstance(result, IncidentOut):
            if result.version > ctx.shown_versions.get(result.id, -1):
                ctx.shown_versions[result.id] = result.version
                ctx.listeners.on_changes([incident_from_wire(result)], [])
        elif isinstance(result, UnitOut):
            unit = ctx.entities.show_unit(result)
            if unit is not None:
                ctx.listeners.on_units([unit], [], False)

    async def _fail(self, entry: OutboxEntry, message: str, *, reached: bool) -> None:
        async with self._lock:
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
        self._ctx.listeners.on_problem(f"{entry.command.description}: refused. {message}")

    async def _dispatch(self, entry: OutboxEntry) -> BaseModel:
        c = entry.command
        route = ROUTES[c.kind]
        args = {"incident_id": c.incident_id, "unit_id": c.unit_id, **entry.path_args}
        return await self._ctx.client.command(
            route.method,
            route.url(args),
            c.body or {},
            idempotency_key=entry.idempotency_key,
            if_match=entry.if_match,
            reply=route.reply,
            what=route.entity_name or "reply",
        )
