"""The change log: one row per changed entity, with a strictly increasing ``seq``.

Every write transaction locks the single ``log_head`` row (:func:`lock_head`, or the
``UPDATE`` of :func:`append`) before its first change row and holds it to its commit (most
take it first; the commands run with ``locks_rows`` take it at their first change or audit
row, see :mod:`dispatchdesk.server.runner`), so commit order equals ``seq`` order: a reader
that has seen seq N never later sees a newly committed seq below N. A rolled-back command
gives its seq back, so the log has no gaps. Rows beyond the retention are pruned; ``floor``
remembers where.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dispatchdesk.protocol.schemas import Change
from dispatchdesk.server.db import UTCDateTime, changes, log_head, log_locked, mark_log_locked

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
    instead of four while every other writer waits on the lock)."""
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
        _prune(conn, seq - retention, head_floor)
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
    _prune(conn, seq - retention, int(head.floor))
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


def _prune(conn: Connection, floor: int, head_floor: int) -> None:
    """Drop the rows at or below ``floor`` (the retention) if not done already."""
    if floor > 0 and floor > head_floor:
        conn.execute(changes.delete().where(changes.c.seq <= floor))
        conn.execute(log_head.update().where(log_head.c.id == 1).values(floor=floor))


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
