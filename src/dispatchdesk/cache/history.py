"""The last history answer for each incident this desk holds (five years of what happened at
its location and to its people), so that offline the panel still shows it, "as of" the time
the server gave it.

Only answers for open incidents in the cache are kept: an answer goes when its incident closes
or leaves the cache (removed, or not in a new snapshot). The answer is stored as the
server sent it (wire JSON); the sync layer parses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Connection, Integer, Table, Text, delete, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from dispatchdesk.cache.entities import incidents_table, metadata

history_table = Table(
    "history_answers",
    metadata,
    Column("incident_id", Integer, primary_key=True, autoincrement=False),
    #: Server time of the answer (ISO 8601, with its offset).
    Column("fetched_at", Text, nullable=False),
    Column("data", Text, nullable=False),
)


@dataclass(frozen=True)
class CachedHistory:
    """An incident's last history answer: the server's JSON and when it was given."""

    incident_id: int
    fetched_at: datetime
    data: str


def save(conn: Connection, answer: CachedHistory) -> bool:
    """Keep ``answer`` in place of the incident's previous one; False (nothing kept) when the
    incident is not in the cache, or closed."""
    held = conn.execute(
        select(incidents_table.c.id).where(
            incidents_table.c.id == answer.incident_id, incidents_table.c.closed_ts.is_(None)
        )
    ).first()
    if held is None:
        return False
    ins = sqlite_insert(history_table).values(
        incident_id=answer.incident_id,
        fetched_at=answer.fetched_at.isoformat(),
        data=answer.data,
    )
    conn.execute(
        ins.on_conflict_do_update(
            index_elements=[history_table.c.incident_id],
            set_={"fetched_at": ins.excluded.fetched_at, "data": ins.excluded.data},
        )
    )
    return True


def load(conn: Connection, incident_id: int) -> CachedHistory | None:
    row = conn.execute(
        select(history_table.c.fetched_at, history_table.c.data).where(
            history_table.c.incident_id == incident_id
        )
    ).first()
    if row is None:
        return None
    return CachedHistory(incident_id, datetime.fromisoformat(row.fetched_at), row.data)


def purge_orphans(conn: Connection) -> None:
    """Drop the answers of incidents closed or no longer in the cache."""
    open_ids = select(incidents_table.c.id).where(incidents_table.c.closed_ts.is_(None))
    conn.execute(delete(history_table).where(history_table.c.incident_id.not_in(open_ids)))
