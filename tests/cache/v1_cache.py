"""A cache as a version 1 desk wrote it (schema 1: incidents, meta, outbox; no units, schemes,
orders or acknowledgements), from that version's DDL, to test the migration."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from dispatchdesk.cache.store import OutboxEntry, incident_row
from dispatchdesk.protocol.schemas import IncidentOut

V1_DDL = """
CREATE TABLE incidents (
    id INTEGER NOT NULL, version INTEGER NOT NULL, status VARCHAR(16) NOT NULL,
    closed_ts FLOAT, data TEXT NOT NULL, PRIMARY KEY (id));
CREATE INDEX ix_incidents_closed_ts ON incidents (closed_ts);
CREATE TABLE meta (key VARCHAR(64) NOT NULL, value TEXT NOT NULL, PRIMARY KEY (key));
CREATE TABLE outbox (
    seq INTEGER NOT NULL, id VARCHAR(64) NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (seq), UNIQUE (id));
"""

#: Outbox JSON keys a version 1 desk did not write.
V2_ONLY_KEYS = ("unit_id", "result_entity", "follow_ups", "path_args")


def v1_outbox_json(entry: OutboxEntry) -> str:
    data = json.loads(entry.to_json())
    for key in V2_ONLY_KEYS:
        del data[key]
    return json.dumps(data)


def write_v1_cache(
    path: Path,
    *,
    cursor: int,
    incidents: Sequence[IncidentOut] = (),
    commands: Sequence[OutboxEntry] = (),
    schema_version: str = "1",
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    try:
        db.executescript(V1_DDL)
        db.executemany(
            "INSERT INTO incidents VALUES (:id, :version, :status, :closed_ts, :data)",
            [incident_row(i) for i in incidents],
        )
        db.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [
                ("schema_version", schema_version),
                ("cursor", str(cursor)),
                ("last_synced_at", "2026-11-23T11:59:00+00:00"),
            ],
        )
        db.executemany(
            "INSERT INTO outbox (id, data) VALUES (?, ?)",
            [(c.id, v1_outbox_json(c)) for c in commands],
        )
        db.commit()
    finally:
        db.close()
