"""The change log: one row per changed entity, with a strictly increasing ``seq``.

Every write transaction locks the single ``log_head`` row (:func:`lock_head`, or the
``UPDATE`` of :func:`append` or :func:`flush`) before its first change row and holds it to its
commit, so commit order equals ``seq`` order: a reader that has seen seq N never later sees a
newly committed seq below N. A rolled-back command gives its seq back, so the log has no gaps.

A command run by :class:`~dispatchdesk.server.runner.CommandRunner` defers its change and audit
rows (:func:`defer`, :func:`add`, and :func:`~dispatchdesk.server.db.audit_row`) and
:func:`flush` writes them right before its commit: on PostgreSQL one statement bumps the head
by their number, inserts them with contiguous seqs in the order they were added, chains and
appends the audit rows and notifies, and the COMMIT is sent with it (:func:`flush_and_commit`),
so the lock every writer queues on is held for that statement and the commit only (unless the
command took it earlier: most take it first; those run with ``locks_rows`` at
:meth:`~dispatchdesk.server.runner.CommandRunner.hold_log` or the flush). A direct
:func:`append` flushes what is deferred first, so seq order stays write order.

Rows beyond the retention are pruned, :func:`prune_step` at a time (the log keeps at least
``retention`` changes, and at most 1% more); ``floor`` remembers where. After a flush sent with
its COMMIT the runner prunes in a short transaction of its own (:func:`prune`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dispatchdesk.protocol.schemas import Change
from dispatchdesk.server.db import (
    Deferred,
    UTCDateTime,
    changes,
    defer_writes,
    deferred,
    log_head,
    log_locked,
    mark_log_locked,
    pg_audit_ctes,
    pg_audit_params,
    stop_deferring,
    write_audits,
)

#: PostgreSQL NOTIFY channel: every appended change notifies it, delivered at commit.
CHANNEL = "dispatchdesk_changes"


class LogGone(Exception):
    """The changes after the asked-for seq have been pruned."""

    def __init__(self, since: int, floor: int) -> None:
        super().__init__(
            f"Changes after {since} are no longer kept (the log starts after {floor}). "
            "Take a new snapshot from /snapshot and resume from its cursor."
        )
        self.since = since
        self.floor = floor


@dataclass(frozen=True, slots=True)
class Head:
    seq: int
    floor: int


#: Statements built once (a statement built per call costs more than running it).
_READ_HEAD = sa.select(log_head.c.seq, log_head.c.floor).where(log_head.c.id == 1)
_LOCK_HEAD = _READ_HEAD.with_for_update()
_BUMP_HEAD = (
    log_head.update()
    .where(log_head.c.id == 1)
    .values(seq=log_head.c.seq + 1)
    .returning(log_head.c.seq, log_head.c.floor)
)
_BUMP_HEAD_BY = (
    log_head.update()
    .where(log_head.c.id == 1)
    .values(seq=log_head.c.seq + sa.bindparam("n"))
    .returning(log_head.c.seq, log_head.c.floor)
)
_INSERT_CHANGE = changes.insert()


def encode(data: dict[str, Any]) -> str:
    """A change's data as the log stores it (compact JSON)."""
    return json.dumps(data, separators=(",", ":"))


def lock_head(conn: Connection) -> Head:
    """Take the writers' lock (a row lock on PostgreSQL; SQLite's BEGIN IMMEDIATE already is)."""
    row = conn.execute(_LOCK_HEAD).one()
    mark_log_locked(conn)
    return Head(int(row.seq), int(row.floor))


def hold(conn: Connection) -> None:
    """Take the writers' lock unless this transaction holds it already (one statement less
    for each later ask)."""
    if not log_locked(conn):
        lock_head(conn)


def read_head(conn: Connection) -> Head:
    row = conn.execute(_READ_HEAD).one()
    return Head(int(row.seq), int(row.floor))


def append(
    conn: Connection,
    *,
    entity: str,
    entity_id: int,
    data: dict[str, Any],
    now: datetime,
    retention: int,
    op: str = "upsert",
    encoded: str | None = None,
) -> int:
    """Append one change in the caller's transaction (which holds :func:`lock_head`).
    ``encoded``: ``data`` as :func:`encode` gives it, if the caller has it already.

    On PostgreSQL the head's bump, the row and the NOTIFY are one statement (one round trip
    instead of four while every other writer waits on the lock).

    Rows this transaction defers (:func:`defer`) are flushed first, so they keep seqs below
    this one; the deferral goes on."""
    flush(conn)
    body = encode(data) if encoded is None else encoded
    if conn.dialect.name == "postgresql":
        row = conn.execute(
            _PG_APPEND,
            {
                "entity": entity,
                "entity_id": entity_id,
                "op": op,
                "data": body,
                "committed_at": now,
                "channel": CHANNEL,
            },
        ).one()
        seq, head_floor = int(row.seq), int(row.floor)
        mark_log_locked(conn)
        _prune(conn, seq, head_floor, retention)
        return seq
    head = conn.execute(_BUMP_HEAD).one()
    seq = int(head.seq)
    mark_log_locked(conn)
    conn.execute(
        _INSERT_CHANGE,
        {
            "seq": seq,
            "entity": entity,
            "entity_id": entity_id,
            "op": op,
            "data": body,
            "committed_at": now,
        },
    )
    _prune(conn, seq, int(head.floor), retention)
    return seq


#: :func:`append` on PostgreSQL: bump the head, insert the row, notify; returns the new seq and
#: the floor (unchanged by the bump).
_PG_APPEND = sa.text(
    "WITH head AS ("
    " UPDATE log_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, floor"
    "), added AS ("
    " INSERT INTO changes (seq, entity, entity_id, op, data, committed_at)"
    " SELECT head.seq, :entity, :entity_id, :op, :data, :committed_at FROM head"
    ") SELECT head.seq, head.floor, pg_notify(:channel, head.seq::text) FROM head"
).bindparams(sa.bindparam("committed_at", type_=UTCDateTime()))


def prune_step(retention: int) -> int:
    """How many changes beyond the retention the log gathers before they are pruned together
    (1% of it: one statement pair every so many changes, not one per change)."""
    return max(1, retention // 100)


def _prune_due(seq: int, head_floor: int, retention: int) -> bool:
    floor = seq - retention
    return floor > 0 and floor - head_floor >= prune_step(retention)


def _prune(conn: Connection, seq: int, head_floor: int, retention: int) -> None:
    """Drop the rows the retention no longer keeps once :func:`prune_step` of them gathered
    (the head is ``seq`` and the rows up to ``head_floor`` are gone)."""
    if _prune_due(seq, head_floor, retention):
        floor = seq - retention
        conn.execute(changes.delete().where(changes.c.seq <= floor))
        conn.execute(log_head.update().where(log_head.c.id == 1).values(floor=floor))


def prune(conn: Connection, retention: int) -> None:
    """Take the log lock and drop what the retention no longer keeps, if that is due (after
    :func:`flush_and_commit` said so)."""
    head = lock_head(conn)
    _prune(conn, head.seq, head.floor, retention)


# --- deferred writes (a command's) -----------------------------------------------------------


def defer(conn: Connection, retention: int) -> None:
    """Keep this transaction's change rows (:func:`add`) and audit rows
    (:func:`~dispatchdesk.server.db.audit_row`) for :func:`flush`, until it ends."""
    defer_writes(conn, retention)


def add(
    conn: Connection,
    *,
    entity: str,
    entity_id: int,
    data: dict[str, Any],
    now: datetime,
    retention: int,
    op: str = "upsert",
    encoded: str | None = None,
) -> None:
    """A change, kept for :func:`flush` when this transaction defers its writes, else
    :func:`append` at once. Its seq is not known until the flush."""
    later = deferred(conn)
    if later is None:
        append(
            conn,
            entity=entity,
            entity_id=entity_id,
            data=data,
            now=now,
            retention=retention,
            op=op,
            encoded=encoded,
        )
        return
    later.changes.append(
        {
            "entity": entity,
            "entity_id": entity_id,
            "op": op,
            "data": encode(data) if encoded is None else encoded,
            "committed_at": now,
        }
    )


def flush(conn: Connection) -> None:
    """Write the rows this transaction deferred (nothing if none): take the log lock (if not
    held), the changes with the next seqs in the order added, the audit rows chained in the
    order written, the NOTIFY; on PostgreSQL all in one statement. The deferral goes on."""
    _flush(conn, commit=False)


@dataclass(frozen=True, slots=True)
class Flushed:
    """What :func:`flush_and_commit` sent."""

    #: The log is due to be pruned and was not (it was committed first): the caller then
    #: calls :func:`prune` in a transaction of its own.
    prune_due: bool = False
    #: The change rows written, with their seqs, in order (empty when none were kept).
    changes: tuple[Change, ...] = ()


def flush_and_commit(conn: Connection, node: str = "") -> Flushed:
    """:func:`flush` as the transaction's last statement: on PostgreSQL the COMMIT is sent
    with it (psycopg's pipeline, one round trip), so the log lock is held for that statement
    and the commit only, never while this thread waits to run Python again; the caller's
    transaction then ends with nothing left to commit. On SQLite (or with nothing deferred)
    it is :func:`flush` and the caller commits as ever.

    The changes written are given back with their seqs, so that once committed they can be
    handed to the event streams without reading the log again. ``node``: the server node
    running the command, said in the NOTIFY (``"<seq> <node>"``) so that its own watcher
    passes over it (the node hands the changes to its streams itself)."""
    due, last, rows = _flush(conn, commit=True, node=node)
    first = last - len(rows) + 1
    return Flushed(
        due,
        tuple(
            Change.model_construct(
                seq=first + i, entity=r["entity"], op=r["op"], data=json.loads(r["data"])
            )
            for i, r in enumerate(rows)
        ),
    )


def _flush(
    conn: Connection, *, commit: bool, node: str = ""
) -> tuple[bool, int, list[dict[str, Any]]]:
    """Send the kept rows; whether the log is due to be pruned, the last seq written (0 when
    no change was kept) and the change rows sent (the kept lists start again empty)."""
    later = deferred(conn)
    if later is None or not (later.changes or later.audits):
        return False, 0, []
    if conn.dialect.name == "postgresql":
        due, last = _flush_pg(conn, later, commit=commit, node=node)
    else:
        due, last = False, _flush_sqlite(conn, later)
    sent = later.changes
    later.changes, later.audits = [], []
    return due, last, sent


def end_deferral(conn: Connection) -> None:
    """Stop deferring; rows not flushed are dropped (the transaction is rolling back)."""
    stop_deferring(conn)


def _flush_pg(
    conn: Connection, later: Deferred, *, commit: bool, node: str = ""
) -> tuple[bool, int]:
    """The rows in one statement (and the COMMIT with it, ``commit``); whether the log is due
    to be pruned after the commit, and the last seq written."""
    rows, audits = later.changes, later.audits
    params: dict[str, Any] = {
        "n": len(rows),
        "entities": [r["entity"] for r in rows],
        "entity_ids": [r["entity_id"] for r in rows],
        "ops": [r["op"] for r in rows],
        "datas": [r["data"] for r in rows],
        "committed": [r["committed_at"].astimezone(UTC).replace(tzinfo=None) for r in rows],
        "channel": CHANNEL,
        "note": f" {node}" if node else "",
        **pg_audit_params(audits),
    }
    statement = _pg_flush(len(audits), notify=bool(rows))
    if commit:
        seq, floor = _run_and_commit(conn, statement, params)
        return bool(rows) and _prune_due(seq, floor, later.retention), seq
    done = conn.execute(statement, params).one()
    mark_log_locked(conn)
    if rows:
        _prune(conn, int(done.seq), int(done.floor), later.retention)
    return False, int(done.seq)


def _run_and_commit(
    conn: Connection, statement: sa.TextClause, params: dict[str, Any]
) -> tuple[int, int]:
    """Run :func:`_pg_flush`'s ``statement`` and COMMIT in one round trip; its seq and
    floor. An error is raised as SQLAlchemy raises it (a deadlock's victim is retried, a unique
    violation is an IntegrityError) and nothing was committed."""
    raw = conn.connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    sql = _compiled(statement, conn.dialect)
    try:
        with raw.pipeline():
            cursor = raw.execute(sql, params)
            raw.commit()
            row = cursor.fetchone()
    except psycopg.Error as err:
        raise sa.exc.DBAPIError.instance(sql, params, err, psycopg.Error) from err
    assert row is not None
    return int(row[0]), int(row[1])


def _flush_sqlite(conn: Connection, later: Deferred) -> int:
    """The rows; the last seq written (0 when no change was kept)."""
    rows = later.changes
    last = 0
    if rows:
        head = conn.execute(_BUMP_HEAD_BY, {"n": len(rows)}).one()
        mark_log_locked(conn)
        first = int(head.seq) - len(rows) + 1
        conn.execute(_INSERT_CHANGE, [{"seq": first + i, **r} for i, r in enumerate(rows)])
        _prune(conn, int(head.seq), int(head.floor), later.retention)
        last = int(head.seq)
    write_audits(conn, later.audits)
    return last


#: :func:`_pg_flush`'s statements, by (audit rows, notify).
_PG_FLUSHES: dict[tuple[int, bool], sa.TextClause] = {}
#: The same as psycopg takes them (compiled once), by their text.
_PG_COMPILED: dict[str, str] = {}


def _compiled(statement: sa.TextClause, dialect: sa.Dialect) -> str:
    sql = _PG_COMPILED.get(statement.text)
    if sql is None:
        sql = _PG_COMPILED[statement.text] = str(statement.compile(dialect=dialect))
    return sql


def _pg_flush(audits: int, *, notify: bool) -> sa.TextClause:
    """The one statement of :func:`flush` on PostgreSQL: bump the head by ``:n`` (the log
    lock), insert the changes with the seqs after the old head in array order, chain and
    append ``audits`` audit rows (:func:`~dispatchdesk.server.db.pg_audit_ctes`, after the
    head's bump so the lock order is always the log's then the chain's), and notify the new
    head's seq. Returns the new seq and the floor."""
    key = (audits, notify)
    built = _PG_FLUSHES.get(key)
    if built is not None:
        return built
    sql = (
        "WITH head AS ("
        " UPDATE log_head SET seq = seq + :n WHERE id = 1 RETURNING seq, floor"
        "), added AS ("
        " INSERT INTO changes (seq, entity, entity_id, op, data, committed_at)"
        " SELECT head.seq - :n + v.ord, v.entity, v.entity_id, v.op, v.data, v.committed_at"
        " FROM head, unnest(CAST(:entities AS varchar[]), CAST(:entity_ids AS integer[]),"
        " CAST(:ops AS varchar[]), CAST(:datas AS text[]), CAST(:committed AS timestamp[]))"
        " WITH ORDINALITY AS v(entity, entity_id, op, data, committed_at, ord)"
        ")"
    )
    if audits:
        sql += ", " + pg_audit_ctes(audits)
    sql += " SELECT head.seq, head.floor"
    if notify:
        sql += ", pg_notify(:channel, head.seq::text || CAST(:note AS text))"
    sql += " FROM head"
    built = _PG_FLUSHES[key] = sa.text(sql)
    return built


def redact_expired(change: Change, now: datetime) -> Change:
    """A scheme's upsert read at or after its expiry reads as its delete: an expired scheme is
    never served, even before the sweep has rewritten the log."""
    if change.entity == "scheme" and change.op == "upsert":
        expires = change.data.get("expires_at")
        if not isinstance(expires, str) or datetime.fromisoformat(expires) <= now:
            return Change(
                seq=change.seq, entity="scheme", op="delete", data={"id": change.data.get("id")}
            )
    return change


def read_changes(
    conn: Connection, since: int, limit: int, *, now: datetime | None = None
) -> tuple[list[Change], Head, bool]:
    """Changes with ``seq > since``, oldest first, at most ``limit``; and whether more wait.

    With ``now`` (the server's time), expired schemes read as deletes (:func:`redact_expired`).

    Raises :class:`LogGone` when changes after ``since`` were pruned.
    """
    head = read_head(conn)
    if since < head.floor:
        raise LogGone(since, head.floor)
    rows = conn.execute(
        sa.select(changes.c.seq, changes.c.entity, changes.c.op, changes.c.data)
        .where(changes.c.seq > since)
        .order_by(changes.c.seq)
        .limit(limit + 1)
    ).all()
    more = len(rows) > limit
    out = [
        Change(seq=int(r.seq), entity=r.entity, op=r.op, data=json.loads(r.data))
        for r in rows[:limit]
    ]
    if now is not None:
        out = [redact_expired(c, now) for c in out]
    return out, head, more
