"""Tables (SQLAlchemy 2.0 Core) and the engine factory for SQLite and PostgreSQL.

Time is stored as naive UTC and handed back as aware UTC on both databases.

On SQLite a read transaction is a plain (deferred) ``BEGIN``, which in WAL mode gives one
consistent snapshot for all reads in it; a write transaction is ``BEGIN IMMEDIATE`` so two
writers queue on ``busy_timeout`` instead of failing when a read lock cannot be upgraded.
Open a write transaction with :func:`write_tx`. The writers of one SQLite file first queue
on a lock of their own (:class:`SqliteWriters`): in this process on a thread lock, and across
the processes using the file (the workers of ``serve --workers N``, another ``serve``, a
command-line import) on an advisory lock of a file beside it. SQLite's busy handler polls with
sleeps of up to 100 ms, so twenty writers queueing on it left the database idle most of the
time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

try:
    import fcntl
except ImportError:  # Windows: processes queue on SQLite's busy handler (one process each)
    fcntl = None  # type: ignore[assignment]

_IMMEDIATE = "dispatchdesk_immediate"


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """An aware UTC datetime, stored as a naive UTC timestamp."""

    impl = sa.DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


metadata = sa.MetaData()

users = sa.Table(
    "users",
    metadata,
    sa.Column("username", sa.String(100), primary_key=True),
    sa.Column("role", sa.String(30), nullable=False),
    sa.Column("password_hash", sa.String(300), nullable=False),
    #: Set while the sign-in is disabled (``dispatchdesk users disable``): no sign-in, and its
    #: tokens are refused.
    sa.Column("disabled_at", UTCDateTime(), nullable=True),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column(
        "username",
        sa.String(100),
        sa.ForeignKey("users.username", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("expires_at", UTCDateTime(), nullable=False, index=True),
)

#: Failed sign-ins (and those under way) in the throttle's window, shared by every worker and
#: node: per user name and per client address, each key a sha256 of what it counts.
sign_in_failures = sa.Table(
    "sign_in_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(64), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False, index=True),
    sa.Index("ix_sign_in_failures_key_at", "key", "at"),
)

incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ref", sa.String(40), nullable=False, unique=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("grade", sa.String(1), nullable=False),
    sa.Column("original_grade", sa.String(1), nullable=False),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("deadline", UTCDateTime()),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("location", sa.JSON, nullable=False),
    sa.Column("caller", sa.JSON, nullable=False),
    #: People named on the incident (list of {name, dob}), matched against protective orders.
    sa.Column("persons", sa.JSON, nullable=True),
    sa.Column("appointment_at", UTCDateTime()),
    sa.Column("attended_at", UTCDateTime()),
    sa.Column("closed_at", UTCDateTime(), index=True),
    sa.Column("updated_at", UTCDateTime()),
    sa.Column("downgrade_reason", sa.Text),
    sa.Column("rationale", sa.Text),
    #: A downgrade awaiting a supervisor (``PendingDowngradeModel`` as JSON), else NULL.
    sa.Column("pending_downgrade", sa.JSON(none_as_null=True)),
    #: How the last downgrade request was decided (``DowngradeDecisionModel`` as JSON).
    sa.Column("downgrade_decision", sa.JSON(none_as_null=True)),
    #: Weapons mentioned or seen.
    sa.Column("weapons", sa.Boolean, nullable=False, server_default=sa.false()),
)

#: The fleet. A unit is on at most one incident (its ``incident_id``); the check constraint ties
#: that to its status, and every assign is a conditional UPDATE ... WHERE status='AVAILABLE'.
units = sa.Table(
    "units",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("callsign", sa.String(12), nullable=False, unique=True),
    sa.Column("kind", sa.String(60), nullable=False),
    sa.Column("borough", sa.String(60), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), index=True),
    sa.Column("status_since", UTCDateTime(), nullable=False),
    sa.Column("lat", sa.Float),
    sa.Column("lon", sa.Float),
    sa.Column("version", sa.Integer, nullable=False),
    sa.CheckConstraint(
        "(incident_id IS NULL AND status IN ('AVAILABLE', 'COMMITTED', 'OFF_DUTY')) OR "
        "(incident_id IS NOT NULL AND status IN ('ASSIGNED', 'AT_SCENE'))",
        name="unit_status_matches_incident",
    ),
)

#: DIVERT tag list: one row per unit moved off an incident to another.
diverts = sa.Table(
    "diverts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id"), nullable=False),
    sa.Column("callsign", sa.String(12), nullable=False),
    sa.Column(
        "from_incident_id",
        sa.Integer,
        sa.ForeignKey("incidents.id"),
        nullable=False,
        index=True,
    ),
    # Null for a withdrawal (kind WITHDRAWN: cleared before arriving, sent nowhere).
    sa.Column("to_incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=True),
    sa.Column("by", sa.String(100), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("released_at", UTCDateTime(), index=True),
    sa.Column("released_by", sa.String(100)),
    sa.Column("released_reason", sa.Text),
    sa.Column("reviewed_at", UTCDateTime()),
    sa.Column("reviewed_by", sa.String(100)),
    sa.Column("review_note", sa.Text),
    #: DIVERT (moved to another incident) or WITHDRAWN (cleared before arriving).
    sa.Column("kind", sa.String(10), nullable=False, server_default="DIVERT"),
)

#: Incidents that are owed attendance after a divert (a row exists exactly while owed).
#: ``unassigned_since``: since when no unit has been on it (null while one is);
#: ``escalated_at``: when that lasted longer than the escalation time.
owed = sa.Table(
    "owed",
    metadata,
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), primary_key=True),
    sa.Column("since", UTCDateTime(), nullable=False),
    sa.Column("unassigned_since", UTCDateTime(), index=True),
    sa.Column("escalated_at", UTCDateTime()),
)

#: Tasks for the attending officers on an incident (``server/features/tasks``): OPEN until
#: recorded DONE (``outcome``) or NOT_DONE (``reason``) ``by`` whom ``at`` when. ``key`` tells
#: an incident's tasks apart (one per informant, one per domestic action), so re-evaluating
#: the policy after an edit adds what is missing and never duplicates or removes a task.
incident_tasks = sa.Table(
    "incident_tasks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False, index=True),
    sa.Column("key", sa.String(300), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("state", sa.String(10), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("outcome", sa.Text),
    sa.Column("reason", sa.Text),
    sa.Column("by", sa.String(100)),
    sa.Column("at", UTCDateTime()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("incident_id", "key", name="incident_task_key"),
)

#: One counter per local day, for incident references (``CAD 0001/23NOV26``).
ref_counters = sa.Table(
    "ref_counters",
    metadata,
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("n", sa.Integer, nullable=False),
)

#: The single row that hands out change sequence numbers; its row lock serialises writers,
#: so commit order equals ``seq`` order. ``floor``: every change with ``seq <= floor`` is pruned.
log_head = sa.Table(
    "log_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("floor", sa.BigInteger, nullable=False),
)

changes = sa.Table(
    "changes",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("entity", sa.String(30), nullable=False),
    sa.Column("entity_id", sa.Integer, nullable=False),
    sa.Column("op", sa.String(10), nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("committed_at", UTCDateTime(), nullable=False),
)

audit = sa.Table(
    "audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("username", sa.String(100), nullable=False),
    sa.Column("action", sa.String(50), nullable=False),
    sa.Column("entity", sa.String(30), nullable=False),
    sa.Column("entity_id", sa.Integer),
    sa.Column("detail", sa.Text, nullable=False),
    #: The hash chain (:func:`audit_hash`): this row's hash, over its content and the hash of
    #: the row before it (``prev_hash``). Null only on rows an older server wrote before the
    #: chain existed, until :func:`create_schema` chains them.
    sa.Column("prev_hash", sa.String(64), nullable=True),
    sa.Column("hash", sa.String(64), nullable=True),
)

#: The audit chain's head: the last chained row and its hash (so deleting the newest rows shows
#: too). Written under the log lock (:func:`audit_row`), which serialises the chain.
audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("last_id", sa.Integer, nullable=True),
    sa.Column("hash", sa.String(64), nullable=False),
)

#: First successful result of each command, by ``Idempotency-Key``.
idempotency = sa.Table(
    "idempotency",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("username", sa.String(100), nullable=False),
    sa.Column("method_path", sa.String(300), nullable=False),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("response_body", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False, index=True),
)


#: The ``prev_hash`` of the first row of the chain.
AUDIT_GENESIS = "0" * 64


def audit_hash(
    prev_hash: str,
    at: datetime,
    username: str,
    action: str,
    entity: str,
    entity_id: int | None,
    detail: str,
) -> str:
    """sha256 over a row's content (canonical JSON, UTC time to the microsecond) and the hash
    of the row before it."""
    stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    canon = json.dumps(
        [prev_hash, stamp, username, action, entity, entity_id, detail],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canon.encode()).hexdigest()


#: ``Connection.info`` key: the transaction that holds the log lock (:func:`mark_log_locked`).
_LOG_LOCKED = "dispatchdesk_log_locked"


def log_locked(conn: Connection) -> bool:
    """Whether this transaction already holds the log lock (took ``log_head``'s row)."""
    return conn.info.get(_LOG_LOCKED) is conn.get_transaction()


def mark_log_locked(conn: Connection) -> None:
    """Note that this transaction holds the log lock (until it ends), so it is not asked for
    again by a statement of its own."""
    conn.info[_LOG_LOCKED] = conn.get_transaction()


#: Statements built once (a statement built per call costs more than running it).
_LOCK_LOG = sa.select(log_head.c.id).where(log_head.c.id == 1).with_for_update()
_LOCK_AUDIT_HEAD = (
    sa.select(audit_head.c.last_id, audit_head.c.hash).where(audit_head.c.id == 1).with_for_update()
)
_AUDIT_INSERT = audit.insert().returning(audit.c.id)
_AUDIT_HEAD_MOVE = audit_head.update().where(audit_head.c.id == 1)
#: On PostgreSQL the row and the chain head's move are one statement (one round trip).
_PG_AUDIT_APPEND = sa.text(
    "WITH added AS ("
    " INSERT INTO audit (at, username, action, entity, entity_id, detail, prev_hash, hash)"
    " VALUES (:at, :username, :action, :entity, :entity_id, :detail, :prev_hash, :hash)"
    " RETURNING id"
    ") UPDATE audit_head SET last_id = (SELECT id FROM added), hash = :hash WHERE id = 1"
).bindparams(sa.bindparam("at", type_=UTCDateTime()), sa.bindparam("entity_id", type_=sa.Integer()))


def lock_audit_head(conn: Connection) -> tuple[int | None, str]:
    """The chain head (last row id, its hash), locked for this transaction.

    The log head row is locked first (as every command does, so the lock order is always the
    same and two writers cannot deadlock); on SQLite ``BEGIN IMMEDIATE`` already serialises.
    """
    if not log_locked(conn):
        conn.execute(_LOCK_LOG).first()
        mark_log_locked(conn)
    row = conn.execute(_LOCK_AUDIT_HEAD).first()
    if row is None:
        conn.execute(audit_head.insert().values(id=1, last_id=None, hash=AUDIT_GENESIS))
        return None, AUDIT_GENESIS
    return row.last_id, row.hash


def audit_row(
    conn: Connection,
    now: datetime,
    username: str,
    action: str,
    entity: str,
    entity_id: int | None,
    detail: str,
) -> None:
    """One audit row, chained to the one before, in the caller's transaction (the user name
    cut to 100 characters and the detail to 4,000). Inside a command that defers its writes
    (:func:`defer_writes`) the row is kept and written, chained, when the command flushes."""
    values: dict[str, Any] = {
        "at": now,
        "username": username[:100],
        "action": action[:50],
        "entity": entity[:30],
        "entity_id": entity_id,
        "detail": detail[:4000],
    }
    later = deferred(conn)
    if later is not None:
        later.audits.append(values)
        return
    write_audits(conn, [values])


def write_audits(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Audit rows (each as :func:`audit_row` builds it), chained in order after the chain's
    head, in the caller's transaction: on PostgreSQL each row and the head's move are one
    statement; on SQLite the head moves once, after the last row."""
    if not rows:
        return
    _, prev = lock_audit_head(conn)
    postgres = conn.dialect.name == "postgresql"
    row_id = None
    for values in rows:
        digest = audit_hash(prev, **values)
        chained = {**values, "prev_hash": prev, "hash": digest}
        if postgres:
            conn.execute(_PG_AUDIT_APPEND, chained)
        else:
            row_id = conn.execute(_AUDIT_INSERT, chained).scalar_one()
        prev = digest
    if not postgres:
        conn.execute(_AUDIT_HEAD_MOVE, {"last_id": row_id, "hash": prev})


def audit_tail(values: dict[str, Any]) -> str:
    """The text a row's hash covers after its ``prev_hash`` (``values`` as :func:`audit_row`
    builds them): ``audit_hash(prev, **values)`` is the sha256 of ``'["' + prev + '",' +
    audit_tail(values)`` in UTF-8 for every hex ``prev``, so a statement can chain a row
    after a head it has only just locked."""
    stamp = values["at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    content = [
        stamp,
        values["username"],
        values["action"],
        values["entity"],
        values["entity_id"],
        values["detail"],
    ]
    return json.dumps(content, ensure_ascii=False, separators=(",", ":"))[1:]


def pg_audit_ctes(count: int) -> str:
    """CTEs chaining ``count`` deferred audit rows after the chain's head and appending
    them, for a PostgreSQL statement whose CTE ``head`` has taken the log lock: the head is
    locked after it (``FOR UPDATE``, which reads its latest version, not the statement's
    snapshot from before the wait), each hash is sha256 over the previous one and the row's
    :func:`audit_tail`, the rows get ids in chain order, and the head moves to the last (made,
    from the genesis, if it is missing, as :func:`lock_audit_head` does). Parameters:
    :func:`pg_audit_params`."""
    hashes = [
        "audit_locked AS (SELECT a.hash FROM audit_head a, head WHERE a.id = 1 FOR UPDATE OF a)",
        f"audit_h0 AS (SELECT coalesce((SELECT hash FROM audit_locked), '{AUDIT_GENESIS}')"
        " AS hash)",
    ]
    rows = []
    for i in range(1, count + 1):
        hashes.append(
            f"audit_h{i} AS (SELECT encode(sha256(convert_to("
            f"'[\"' || audit_h{i - 1}.hash || '\",' || CAST(:audit_tail_{i} AS text), 'UTF8')),"
            f" 'hex') AS hash FROM audit_h{i - 1})"
        )
        rows.append(
            f"SELECT {i} AS ord, CAST(:audit_at_{i} AS timestamp) AS at,"
            f" CAST(:audit_username_{i} AS varchar) AS username,"
            f" CAST(:audit_action_{i} AS varchar) AS action,"
            f" CAST(:audit_entity_{i} AS varchar) AS entity,"
            f" CAST(:audit_entity_id_{i} AS integer) AS entity_id,"
            f" CAST(:audit_detail_{i} AS text) AS detail,"
            f" audit_h{i - 1}.hash AS prev_hash, audit_h{i}.hash AS hash"
            f" FROM audit_h{i - 1}, audit_h{i}"
        )
    return (
        ", ".join(hashes) + ", audit_added AS (INSERT INTO audit"
        " (at, username, action, entity, entity_id, detail, prev_hash, hash)"
        " SELECT r.at, r.username, r.action, r.entity, r.entity_id, r.detail, r.prev_hash,"
        " r.hash FROM (" + " UNION ALL ".join(rows) + ") r ORDER BY r.ord RETURNING id)"
        ", audit_moved AS (INSERT INTO audit_head (id, last_id, hash)"
        f" SELECT 1, (SELECT max(id) FROM audit_added), hash FROM audit_h{count}"
        " ON CONFLICT (id) DO UPDATE SET last_id = EXCLUDED.last_id, hash = EXCLUDED.hash"
        " RETURNING id)"
    )


def pg_audit_params(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The parameters of :func:`pg_audit_ctes` for ``rows`` (times as naive UTC)."""
    params: dict[str, Any] = {}
    for i, values in enumerate(rows, 1):
        params[f"audit_tail_{i}"] = audit_tail(values)
        params[f"audit_at_{i}"] = values["at"].astimezone(UTC).replace(tzinfo=None)
        for name in ("username", "action", "entity", "entity_id", "detail"):
            params[f"audit_{name}_{i}"] = values[name]
    return params


#: ``Connection.info`` key: the rows of the transaction that defers its writes.
_DEFERRED = "dispatchdesk_deferred"


@dataclass(slots=True, eq=False)
class Deferred:
    """The change-log and audit rows a command's transaction has written but not yet sent,
    each list in the order written; :func:`dispatchdesk.server.changelog.flush` sends them
    (on PostgreSQL in one statement) right before the commit, so the log lock is held from
    that statement to the commit only."""

    transaction: object
    #: The change log's retention (:func:`dispatchdesk.server.changelog.append`'s).
    retention: int
    #: Each: entity, entity_id, op, data (its JSON), committed_at.
    changes: list[dict[str, Any]] = field(default_factory=list)
    #: Each as :func:`audit_row` builds it.
    audits: list[dict[str, Any]] = field(default_factory=list)


def defer_writes(conn: Connection, retention: int) -> Deferred:
    """From now to the end of this transaction, keep its change and audit rows for a flush."""
    later = Deferred(conn.get_transaction(), retention)
    conn.info[_DEFERRED] = later
    return later


def deferred(conn: Connection) -> Deferred | None:
    """The rows this transaction defers, or None when it writes at once."""
    later = conn.info.get(_DEFERRED)
    if later is None or later.transaction is not conn.get_transaction():
        return None
    return cast(Deferred, later)


def stop_deferring(conn: Connection) -> Deferred | None:
    """End the deferral (the rows not yet flushed are the caller's to write or drop)."""
    later = deferred(conn)
    conn.info.pop(_DEFERRED, None)
    return later


def chain_old_audit_rows(engine: Engine) -> int:
    """Chain the audit rows an older server wrote without hashes, in id order (once, at the
    upgrade that brings the chain); how many."""
    with write_tx(engine) as conn:
        last_id, prev = lock_audit_head(conn)
        if last_id is not None:
            return 0  # the chain exists: a row without a hash now is an insertion
        rows = conn.execute(
            sa.select(audit).where(audit.c.hash.is_(None)).order_by(audit.c.id)
        ).all()
        for row in rows:
            digest = audit_hash(
                prev, row.at, row.username, row.action, row.entity, row.entity_id, row.detail
            )
            conn.execute(
                audit.update().where(audit.c.id == row.id).values(prev_hash=prev, hash=digest)
            )
            prev, last_id = digest, row.id
        if rows:
            conn.execute(
                audit_head.update().where(audit_head.c.id == 1).values(last_id=last_id, hash=prev)
            )
        return len(rows)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


#: The PostgreSQL connections a process keeps, and the most it opens: one number, so the
#: connections a burst of commands opened are kept for the next burst. (With 10 kept and 20 more
#: allowed, each burst past 10 opened connections and closed them as it ended: under the
#: throughput benchmark PostgreSQL started ~15 new sessions a second, each a process fork and a
#: cold catalogue cache.) A worker process uses at most this many at once; the listener's
#: connection is its own (README: 31 a worker process).
PG_POOL_CONNECTIONS = 30


def make_engine(db_url: str) -> Engine:
    """An engine for ``sqlite:///...`` (WAL, busy_timeout, foreign keys) or PostgreSQL."""
    url = sa.make_url(db_url)
    if url.get_backend_name() == "sqlite":
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=20,
            max_overflow=20,
        )

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            immediate = conn.get_execution_options().get(_IMMEDIATE, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    if url.get_backend_name() == "postgresql":
        return sa.create_engine(
            url, pool_size=PG_POOL_CONNECTIONS, max_overflow=0, pool_pre_ping=True
        )
    raise ValueError(
        f"unsupported database URL {url.render_as_string()!r}: use sqlite or postgresql"
    )


@contextmanager
def write_tx(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: ``BEGIN IMMEDIATE`` on SQLite; commits on success.

    On SQLite the writers of the file take turns on a lock first (SQLite allows one writer at
    a time anyway), so the next one starts the moment the last commits."""
    path = sqlite_path(engine)
    writers = SqliteWriters.of(path) if path is not None else None
    with writers.turn() if writers else contextlib.nullcontext(), engine.connect() as conn:
        conn = conn.execution_options(**{_IMMEDIATE: True})
        with conn.begin():
            yield conn


def sqlite_path(engine: Engine) -> str | None:
    """The file of an SQLite file database; None on PostgreSQL and for an in-memory database
    (every connection a database of its own)."""
    return sqlite_file(engine.url)


def sqlite_file(db_url: str | sa.URL) -> str | None:
    """:func:`sqlite_path` of a database URL."""
    url = sa.make_url(db_url)
    if url.get_backend_name() != "sqlite":
        return None
    path = url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return path


class SqliteWriters:
    """The writers of one SQLite file, one at a time: this process's threads on a lock, and
    the processes using the file on an advisory lock (``flock``) of ``<file>-writer.lock``,
    taken by the thread whose turn it is. A process waiting for it sleeps in the kernel and
    wakes the moment the holder lets go, where SQLite's busy handler would poll."""

    _by_path: ClassVar[dict[str, SqliteWriters]] = {}
    _by_path_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, path: str) -> None:
        self.lock_file = path + "-writer.lock"
        self._threads = threading.RLock()
        self._depth = 0  # the holding thread's nested write transactions (under _threads)

    @classmethod
    def of(cls, path: str) -> SqliteWriters:
        """The writers of the file ``path`` in this process."""
        with cls._by_path_lock:
            writers = cls._by_path.get(path)
            if writers is None:
                writers = cls._by_path[path] = cls(path)
            return writers

    @contextmanager
    def turn(self) -> Iterator[None]:
        """This thread's turn to write (reentrant: a nested write transaction is in it)."""
        with self._threads:
            self._depth += 1
            try:
                if self._depth > 1:
                    yield
                else:
                    with self._file_locked():
                        yield
            finally:
                self._depth -= 1

    @contextmanager
    def _file_locked(self) -> Iterator[None]:
        if fcntl is None:
            yield
            return
        # Opened for each turn (a few microseconds): closing it lets go of the lock even if
        # this process dies, and no descriptor is kept per database file ever written.
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


@contextmanager
def read_tx(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction with one consistent snapshot for all its statements."""
    with engine.connect() as conn:
        if is_postgres(engine):
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


def create_schema(engine: Engine) -> None:
    """Create missing tables, bring existing ones up to date, and make the log head row.

    Safe to call again, and on a database written by an earlier version of the server.
    """
    metadata.create_all(engine, checkfirst=True)
    upgrade_tables(engine)
    with write_tx(engine) as conn:
        has_head = conn.execute(sa.select(log_head.c.id)).first() is not None
    if not has_head:
        try:
            with write_tx(engine) as conn:
                conn.execute(log_head.insert().values(id=1, seq=0, floor=0))
        except IntegrityError:
            pass  # another process made it first
    with contextlib.suppress(IntegrityError):  # another process made the audit head first
        chain_old_audit_rows(engine)


def upgrade_tables(engine: Engine, schema: sa.MetaData = metadata) -> list[str]:
    """Bring tables an earlier server version created up to this version's shape, in place.

    New columns are added (every column added since the first release is nullable or has a
    server default, so existing rows stay valid); a column that may now be null but was
    created NOT NULL is relaxed (on SQLite, which cannot alter a column, by rebuilding the
    table and copying its rows); missing indexes are created. Returns what was done, one
    line per step, for the log.
    """
    done: list[str] = []
    inspector = sa.inspect(engine)
    for table in schema.sorted_tables:
        if not inspector.has_table(table.name):
            continue
        existing = {c["name"]: c for c in inspector.get_columns(table.name)}
        missing = [c for c in table.columns if c.name not in existing]
        relax = [
            c
            for c in table.columns
            if c.name in existing
            and c.nullable
            and not c.primary_key
            and not existing[c.name]["nullable"]
        ]
        if missing:
            _add_columns(engine, table, missing)
            done += [f"{table.name}: added column {c.name}" for c in missing]
        if relax:
            _relax_not_null(engine, table, relax)
            done += [f"{table.name}: {c.name} may now be null" for c in relax]
        have = {ix["name"] for ix in sa.inspect(engine).get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in have:
                index.create(engine, checkfirst=True)
                done.append(f"{table.name}: added index {index.name}")
    return done


def _add_columns(engine: Engine, table: sa.Table, columns: list[sa.Column[Any]]) -> None:
    for column in columns:
        if not column.nullable and column.server_default is None:
            raise RuntimeError(
                f"cannot add NOT NULL column {table.name}.{column.name} without a server default"
            )
        spec = sa.schema.CreateColumn(column).compile(dialect=engine.dialect)
        with write_tx(engine) as conn:
            conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {spec}")


def _relax_not_null(engine: Engine, table: sa.Table, columns: list[sa.Column[Any]]) -> None:
    if is_postgres(engine):
        with write_tx(engine) as conn:
            for column in columns:
                conn.exec_driver_sql(
                    f"ALTER TABLE {table.name} ALTER COLUMN {column.name} DROP NOT NULL"
                )
        return
    _rebuild_sqlite_table(engine, table)


def _rebuild_sqlite_table(engine: Engine, table: sa.Table) -> None:
    """SQLite's documented way to change a column: new table, copy rows, drop the old one.

    Foreign keys are switched off around it (a rename must not rewrite other tables'
    references to point at the old copy), and checked again before the commit.
    """
    old = f"{table.name}__old"
    names = ", ".join(c.name for c in table.columns)
    with engine.connect() as conn:
        # Pragmas outside any transaction (inside one SQLite ignores foreign_keys), so on the
        # driver's connection, before SQLAlchemy begins one.
        raw = conn.connection.driver_connection
        assert raw is not None
        raw.execute("PRAGMA foreign_keys=OFF")
        raw.execute("PRAGMA legacy_alter_table=ON")
        try:
            with conn.begin():
                indexes = (
                    conn.exec_driver_sql(
                        "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name=? "
                        "AND sql IS NOT NULL",
                        (table.name,),
                    )
                    .scalars()
                    .all()
                )
                for index in indexes:
                    conn.exec_driver_sql(f'DROP INDEX "{index}"')
                conn.exec_driver_sql(f"ALTER TABLE {table.name} RENAME TO {old}")
                table.create(conn)
                conn.exec_driver_sql(
                    f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {old}"
                )
                conn.exec_driver_sql(f"DROP TABLE {old}")
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").first()
                if broken is not None:
                    raise RuntimeError(f"rebuilding {table.name} broke a reference: {broken}")
        finally:
            raw.execute("PRAGMA legacy_alter_table=OFF")
            raw.execute("PRAGMA foreign_keys=ON")
