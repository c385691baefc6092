"""The command runner every feature's service uses, pure of HTTP.

Each command runs in one write transaction that (1) takes the log lock, (2) looks up its
``Idempotency-Key`` and replays the stored result if there is one, (3) checks rights-free
preconditions and applies the change, (4) writes the idempotency record, and (5) flushes its
change-log and audit rows (:func:`dispatchdesk.server.changelog.flush`) right before the
commit: :meth:`CommandRunner.emit` and :meth:`CommandRunner.write_audit` keep their rows until
then, in order, and on PostgreSQL one statement takes the log lock, gives the changes
contiguous seqs in emit order, chains the audit rows and notifies.

A command reviewed for it runs with ``locks_rows=True``: it does not take the log lock first
but locks the rows its checks read (``SELECT ... FOR UPDATE`` on its unit and incidents, in
that order), and the lock is taken by the flush (or earlier by :meth:`CommandRunner.hold_log`
before a check that needs every writer stopped, such as a rationale's, or by a change written
at once with :func:`~dispatchdesk.server.changelog.append`), so on PostgreSQL twenty such
commands run their reads, checks and writes side by side and queue only for the flush and the
commit. The log lock is still held from the seq's allocation to the commit, so commit order is
seq order. Its ``Idempotency-Key`` is claimed first (a placeholder row: a second request with
the same key waits for the first to commit and then replays it). A command chosen as a
deadlock's victim by PostgreSQL applied nothing and is run again (:data:`RETRIES`). Only
successful results are stored for replay: a refused command applied nothing (its kept rows are
dropped with its transaction), so sending it again simply re-checks it. A command refused by a
rule (:data:`~dispatchdesk.server.errors.AUDITED`) is audited in a transaction of its own.
After a commit the runner notifies the event streams, and now and then prunes old idempotency
records in a transaction of its own.

A feature's service holds a :class:`CommandRunner` and calls :meth:`CommandRunner.run` with a
function ``apply(conn, now) -> (status, body)``; inside it uses :meth:`emit`,
:meth:`write_audit` and :meth:`check_rationale`, and raises the typed refusals of
:mod:`dispatchdesk.server.errors`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from dispatchdesk.protocol.schemas import Change
from dispatchdesk.server import changelog
from dispatchdesk.server.auth import User
from dispatchdesk.server.db import audit_row, idempotency, read_tx, write_tx
from dispatchdesk.server.errors import AUDITED, DomainError, Invalid
from dispatchdesk.server.rationales import Entity, RationaleRefused, RationaleStore
from dispatchdesk.server.reference import Problem, field_errors
from dispatchdesk.server.settings import ServerSettings

log = logging.getLogger(__name__)

#: Idempotency records past their retention are dropped at most this often (by each runner),
#: not by every command.
IDEM_PRUNE_EVERY = timedelta(minutes=1)

#: Runs of a command that PostgreSQL may abort as a deadlock's victim before it gives up.
RETRIES = 5

T = TypeVar("T")

#: SQLSTATEs of a transaction aborted so another could go on: it applied nothing, run it again.
_RETRYABLE = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure


def retryable(err: DBAPIError) -> bool:
    """Whether the database aborted the transaction to break a deadlock (nothing applied)."""
    return getattr(err.orig, "sqlstate", None) in _RETRYABLE


def retried(work: Callable[[], T]) -> T:
    """``work()`` (one write transaction), run again while the database aborts it as a
    deadlock's victim (it applied nothing), at most :data:`RETRIES` times in all."""
    for attempt in range(RETRIES):
        try:
            return work()
        except DBAPIError as err:
            if not retryable(err) or attempt == RETRIES - 1:
                raise
    raise AssertionError("unreachable")


#: The idempotency statements, built once: claim a key (nothing if it is taken), read what is
#: stored under it, write the result of the command that claimed it.
_IDEM_CLAIM_PG = (
    pg_insert(idempotency)
    .on_conflict_do_nothing(index_elements=[idempotency.c.key])
    .returning(idempotency.c.key)
)
_IDEM_CLAIM_SQLITE = (
    sqlite_insert(idempotency)
    .on_conflict_do_nothing(index_elements=[idempotency.c.key])
    .returning(idempotency.c.key)
)
_IDEM_STORED = sa.select(idempotency).where(idempotency.c.key == sa.bindparam("claimed"))
_IDEM_RESULT = idempotency.update().where(idempotency.c.key == sa.bindparam("claimed"))
#: PostgreSQL: this transaction is the one pruning idempotency records (else another is).
_IDEM_PRUNER = sa.text("SELECT pg_try_advisory_xact_lock(hashtext('dispatchdesk_idem_prune'))")

#: ``Connection.info`` key: the data of the last change row :meth:`CommandRunner.emit` wrote,
#: and its JSON.
_LAST_EMITTED = "dispatchdesk_last_emitted"

#: What a command's ``apply`` returns: the status of its success and the body to store.
Apply = Callable[[Connection, datetime], tuple[int, dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class CommandResult:
    status_code: int
    body: dict[str, Any]
    #: True when this is the stored result of an earlier request with the same key.
    replayed: bool = False
    #: ``body`` as compact JSON when the runner has it already (stored for replay, or the
    #: command's change row), so a reply need not encode it again; else None.
    body_json: str | None = None
    #: The change rows the command committed, with their seqs (empty for a replay).
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True, slots=True)
class Idem:
    """The idempotency facts of one request."""

    key: str | None
    method_path: str
    request_hash: str


def request_hash(method_path: str, body: Any) -> str:
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method_path}\n{canon}".encode()).hexdigest()


class CommandRunner:
    """One database, its settings and clock, and how every command is run on it."""

    def __init__(
        self,
        engine: Engine,
        settings: ServerSettings,
        on_commit: Callable[[], None],
        on_changes: Callable[[Sequence[Change]], None] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        #: Wakes the event streams; called after every commit that changed the log.
        self.on_commit = on_commit
        #: Given a command's committed change rows instead (the streams then need not read
        #: them from the log); None: :attr:`on_commit` is called.
        self.on_changes = on_changes
        #: This server node among those on one database, said in its commands' NOTIFYs (its
        #: own watcher passes over them when it hands their changes over itself).
        self.node = uuid.uuid4().hex[:16] if on_changes is not None else ""
        #: Every accepted rationale and reason of the lookback, and the check against them.
        self.rationales = RationaleStore(
            engine, settings.rationale_lookback, self.tz(), settings.rationale_templates
        )
        #: When this runner last dropped idempotency records past their retention.
        self._idem_pruned_at: datetime | None = None

    # --- time ------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.settings.clock.now().astimezone(UTC)

    def tz(self) -> ZoneInfo:
        """The control room's time zone."""
        return ZoneInfo(self.settings.policy.timezone)

    def local_today(self, now: datetime) -> date:
        """The control room's date: no date of birth may be later."""
        return now.astimezone(self.tz()).date()

    def start_of_local_day(self, now: datetime) -> datetime:
        local = now.astimezone(self.tz())
        return datetime.combine(local.date(), time(0), tzinfo=self.tz()).astimezone(UTC)

    # --- running commands ------------------------------------------------------------------

    def notify(self) -> None:
        """Tell the event streams the log has moved (after a commit outside :meth:`run`)."""
        self.on_commit()

    def committed(self, changes: Sequence[Change]) -> None:
        """Tell the event streams a command committed ``changes`` (and perhaps more)."""
        if self.on_changes is None or not changes:
            self.on_commit()
        else:
            self.on_changes(changes)

    @contextmanager
    def locked_write(self) -> Iterator[Connection]:
        """A write transaction holding the log lock, for the server's own work (sweeps, bulk
        loads); the caller calls :meth:`notify` after it commits."""
        with write_tx(self.engine) as conn:
            changelog.lock_head(conn)
            yield conn

    def head(self) -> changelog.Head:
        with read_tx(self.engine) as conn:
            return changelog.read_head(conn)

    def run(
        self,
        user: User,
        idem: Idem,
        apply: Apply,
        action: str,
        entity_id: int | None,
        entity: str = "incident",
        *,
        locks_rows: bool = False,
    ) -> CommandResult:
        """Run one command with idempotency; retried once if a concurrent duplicate won, and
        again if the database aborted it to break a deadlock.

        ``locks_rows``: the command locks the rows it checks itself, so the log lock is taken
        only by its first change-log or audit row (see the module's note).

        A command refused by a rule (409, 412, 422) is audited in a transaction of its own,
        so a supervisor can see refused closes and stale edits too.
        """
        duplicates = 0
        for attempt in range(RETRIES):
            try:
                result = self._run_once(user, idem, apply, locks_rows)
            except AUDITED as err:
                self._audit_refusal(user, action, entity, entity_id, err)
                raise
            except IntegrityError:
                duplicates += 1
                if duplicates > 1 or idem.key is None:
                    raise
                continue
            except DBAPIError as err:
                if not retryable(err) or attempt == RETRIES - 1:
                    # A connection lost at the COMMIT leaves it unknown whether it was made:
                    # the streams look at the log (this node's watcher passes over its own).
                    self.on_commit()
                    raise
                continue
            if not result.replayed:
                self.committed(result.changes)
                if idem.key is not None:
                    self._prune_idempotency()
            return result
        raise AssertionError("unreachable")

    @staticmethod
    def hold_log(conn: Connection) -> None:
        """Take the log lock now (a no-op if this transaction holds it): before a check that
        reads what any other command may be writing, such as the rationales of the lookback."""
        changelog.hold(conn)

    def _audit_refusal(
        self, user: User, action: str, entity: str, entity_id: int | None, err: DomainError
    ) -> None:
        detail = err.detail if isinstance(err.detail, str) else json.dumps(err.detail)
        with write_tx(self.engine) as conn:
            audit_row(
                conn,
                self.now(),
                user.username,
                f"refused_{action}",
                entity,
                entity_id,
                f"{err.status_code}: {detail}",
            )

    def _run_once(self, user: User, idem: Idem, apply: Apply, locks_rows: bool) -> CommandResult:
        with write_tx(self.engine) as conn:
            if not locks_rows:
                changelog.lock_head(conn)
            now = self.now()
            if idem.key is not None:
                replay = self._claim(conn, user, idem, now)
                if replay is not None:
                    return replay
            changelog.defer(conn, self.settings.change_retention)
            try:
                status_code, body = apply(conn, now)
                emitted = conn.info.pop(_LAST_EMITTED, None)
                # the body is most often the data of the command's last change row, encoded
                body_json = emitted[1] if emitted is not None and emitted[0] is body else None
                if idem.key is not None:  # its row is claimed: no log lock needed for it
                    body_json = body_json or changelog.encode(body)
                    conn.execute(
                        _IDEM_RESULT,
                        {
                            "claimed": idem.key,
                            "status_code": status_code,
                            "response_body": body_json,
                        },
                    )
                # the log lock from here (if not taken before) to the commit, sent with it
                flushed = changelog.flush_and_commit(conn, self.node)
            finally:
                changelog.end_deferral(conn)
        if flushed.prune_due:
            self._prune_log()
        return CommandResult(status_code, body, body_json=body_json, changes=flushed.changes)

    def _prune_log(self) -> None:
        """Drop the changes past the retention (a flush committed first found it due); best
        effort: the command has committed, and the next flush finds it due again."""
        try:
            with write_tx(self.engine) as conn:
                changelog.prune(conn, self.settings.change_retention)
        except DBAPIError:
            log.warning("the change log could not be pruned; trying again later", exc_info=True)

    def _prune_idempotency(self) -> None:
        """Drop the idempotency records past their retention, at most every
        :data:`IDEM_PRUNE_EVERY` (by each runner), in a transaction of its own after a
        command's commit: never under the log lock, which every writer queues on. One pruner
        at a time on PostgreSQL (another finds the advisory lock taken and skips). Best
        effort: the command has committed, and the next prune drops what this one did not."""
        now = self.now()
        if self._idem_pruned_at is not None and now - self._idem_pruned_at < IDEM_PRUNE_EVERY:
            return
        self._idem_pruned_at = now
        try:
            with write_tx(self.engine) as conn:
                if conn.dialect.name == "postgresql" and not conn.execute(_IDEM_PRUNER).scalar():
                    return
                conn.execute(
                    idempotency.delete().where(
                        idempotency.c.created_at < now - self.settings.idempotency_retention
                    )
                )
        except DBAPIError:
            log.warning(
                "idempotency records could not be pruned; trying again later", exc_info=True
            )

    @staticmethod
    def _claim(conn: Connection, user: User, idem: Idem, now: datetime) -> CommandResult | None:
        """Claim the request's key (a placeholder row, its result written at the end), or the
        stored result of the earlier request with it to replay.

        A concurrent request with the key waits at the claim for this one to commit, then
        finds its result and replays it (or, if it rolled back, claims the key itself)."""
        claim = _IDEM_CLAIM_PG if conn.dialect.name == "postgresql" else _IDEM_CLAIM_SQLITE
        record = {
            "key": idem.key,
            "username": user.username,
            "method_path": idem.method_path,
            "request_hash": idem.request_hash,
            "status_code": 0,
            "response_body": "",
            "created_at": now,
        }
        if conn.execute(claim, record).first() is not None:
            return None
        stored = conn.execute(_IDEM_STORED, {"claimed": idem.key}).one()
        if (
            stored.username != user.username
            or stored.method_path != idem.method_path
            or stored.request_hash != idem.request_hash
        ):
            raise Invalid(
                f"Idempotency-Key {idem.key!r} was already used for a different "
                "request. Send a new key for a new command.",
            )
        return CommandResult(
            stored.status_code,
            json.loads(stored.response_body),
            replayed=True,
            body_json=stored.response_body,
        )

    # --- inside a command ------------------------------------------------------------------

    @staticmethod
    def refuse_if(problems: list[Problem]) -> None:
        """422 naming every field of ``problems`` (FastAPI's shape), if there are any."""
        if problems:
            raise Invalid(field_errors(problems))

    def emit(
        self, conn: Connection, now: datetime, entity: str, entity_id: int, data: dict[str, Any]
    ) -> None:
        """One change-log row, in the caller's transaction (kept until the command flushes,
        see the module's note). ``data`` is not changed afterwards: when the command returns
        this very dict its JSON is reused for the stored result."""
        encoded = changelog.encode(data)
        changelog.add(
            conn,
            entity=entity,
            entity_id=entity_id,
            data=data,
            now=now,
            retention=self.settings.change_retention,
            encoded=encoded,
        )
        conn.info[_LAST_EMITTED] = (data, encoded)  # the reply is often this very dict

    def write_audit(
        self,
        conn: Connection,
        now: datetime,
        username: str,
        action: str,
        entity: str,
        entity_id: int | None,
        detail: str,
    ) -> None:
        """One audit row (kept until the command flushes, like :meth:`emit`'s)."""
        audit_row(conn, now, username, action, entity, entity_id, detail)

    def check_rationale(
        self,
        conn: Connection,
        now: datetime,
        text: str,
        *,
        kind: str,
        what: str,
        entity: Entity,
        by: str | None = None,
        field: str | None = None,
    ) -> None:
        """Refuse (422) a rationale or reason that is too short, near-identical to a stock
        phrase of the policy, or to any accepted in the lookback (all kinds); else record it in
        ``conn``'s transaction. ``kind`` is one of :data:`~dispatchdesk.server.rationales.KINDS`;
        ``field`` is the body field it came in (by default the kind's usual one).

        The refusal is FastAPI's field-error shape, so every client reads it the same way:
        ``{"loc": ["body", field], "msg": sentence, "type": "rationale_refused",
        "ctx": {"reason", "similarity", "template" | "copies": {kind, at, incident_id,
        incident_ref, ...}}}``."""
        self.hold_log(conn)  # the texts of the lookback stay as they are until this commits
        try:
            self.rationales.check_and_record(
                conn, now, text, kind=kind, what=what, entity=entity, by=by
            )
        except RationaleRefused as refused:
            raise Invalid(
                [
                    {
                        "loc": ["body", field or RATIONALE_FIELDS.get(kind, "reason")],
                        "msg": refused.message,
                        "type": RATIONALE_REFUSED,
                        "ctx": refused.refusal.details(),
                    }
                ]
            ) from None


#: The ``type`` of a refused rationale's field error.
RATIONALE_REFUSED = "rationale_refused"

#: The body field each kind of rationale usually comes in (else ``reason``).
RATIONALE_FIELDS = {
    "close": "rationale",
    "owed_close": "rationale",
    "divert_review": "note",
    "downgrade_review": "note",
}
