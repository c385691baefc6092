"""A cache as a version 2 desk wrote it, to test the upgrade to version 3 (form drafts).

The tables come from ``v2_schema.sql``: the DDL a version 2 desk created, dumped from its
``sqlite_master`` and checked in (never regenerated from the current code, which would
describe version 3). Rows go in as version 2 wrote them: incidents and units as wire JSON,
the outbox entries as :meth:`OutboxEntry.to_json` (its shape has not changed since version 2).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from dispatchdesk.cache.store import OutboxEntry, incident_row
from dispatchdesk.protocol.schemas import IncidentOut

V2_SCHEMA = Path(__file__).with_name("v2_schema.sql")


def write_v2_cache(
    path: Path,
    *,
    cursor: int,
    incidents: Sequence[IncidentOut] = (),
    commands: Sequence[OutboxEntry] = (),
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    try:
        db.executescript(V2_SCHEMA.read_text())
        db.executemany(
            "INSERT INTO incidents VALUES (:id, :version, :status, :closed_ts, :data)",
            [incident_row(i) for i in incidents],
        )
        db.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [
                ("schema_version", "2"),
                ("cursor", str(cursor)),
                ("last_synced_at", "2026-11-23T11:59:00+00:00"),
            ],
        )
        db.executemany(
            "INSERT INTO outbox (id, data) VALUES (?, ?)",
            [(c.id, c.to_json()) for c in commands],
        )
        db.commit()
    finally:
        db.close()
