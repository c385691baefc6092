"""Cache schema versions: an older cache is brought up to date in place, never set aside.

The ``meta`` table records the ``schema_version`` a cache was written with. On opening,
:func:`migrate` runs each step from that version to :data:`SCHEMA_VERSION`, every step in its
own transaction together with the new version number, so a crash leaves the cache at one
version or the next. A step keeps the outbox (unsent commands are the one thing only this file
holds) and the cursor. A cache written by a newer desk than this one is refused with
:class:`NewerCache` (the desk sets it aside for IT, since this desk cannot know its tables).

A new version: raise :data:`SCHEMA_VERSION` and add the step that brings the previous one to
it (``ALTER TABLE ... ADD COLUMN`` for a nullable column; otherwise rebuild the table: create
the new one, copy the rows across, drop the old, rename), plus a test that opens a cache
written with the previous version's DDL.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import Connection, Engine, MetaData, Table, inspect, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

log = logging.getLogger(__name__)

#: The version this desk writes (and the newest it can read).
SCHEMA_VERSION = 5


class NewerCache(ValueError):
    """The cache was written by a newer version of the desk than this one."""


def _v1_to_v2(conn: Connection, metadata: MetaData) -> None:
    """Units, special schemes, protective orders and warning acknowledgements: new tables.

    The cursor stays: a version 1 desk applied only incident changes, and stopped at the
    first change of another kind, so every unit, scheme and order change is after it.
    """
    metadata.create_all(
        conn,
        tables=[metadata.tables[name] for name in ("units", "schemes", "orders", "warning_acks")],
    )


def _v2_to_v3(conn: Connection, metadata: MetaData) -> None:
    """Operational notices and this operator's reads of them: new tables.

    The cursor stays: a version 2 desk stopped at the first change of a kind it did not know
    (a notice), so every notice change is after it.
    """
    metadata.create_all(
        conn, tables=[metadata.tables[name] for name in ("notices", "notice_reads")]
    )


def _v3_to_v4(conn: Connection, metadata: MetaData) -> None:
    """The last history answer of each incident held (shown offline "as of"): a new table."""
    metadata.create_all(conn, tables=[metadata.tables["history_answers"]])


def _v4_to_v5(conn: Connection, metadata: MetaData) -> None:
    """Form drafts (a half-typed new incident kept through a crash): a new table."""
    metadata.create_all(conn, tables=[metadata.tables["drafts"]])


#: Step from version ``v`` to ``v + 1``, keyed by ``v``.
STEPS: dict[int, Callable[[Connection, MetaData], None]] = {
    1: _v1_to_v2,
    2: _v2_to_v3,
    3: _v3_to_v4,
    4: _v4_to_v5,
}


def migrate(engine: Engine, metadata: MetaData, meta_table: Table) -> int:
    """Bring the cache to :data:`SCHEMA_VERSION` (creating it when empty); returns the
    version it was at (0: new)."""
    with engine.begin() as conn:
        found = _version(conn, meta_table)
        if found == 0:
            metadata.create_all(conn)
            _set_version(conn, meta_table, SCHEMA_VERSION)
            return 0
    if found > SCHEMA_VERSION:
        raise NewerCache(
            f"The local cache was written by a newer version of Dispatch Desk (cache schema "
            f"{found}; this desk knows up to {SCHEMA_VERSION}). It cannot be read safely by "
            "this version: update the desk, or have IT examine the file set aside."
        )
    for version in range(found, SCHEMA_VERSION):
        with engine.begin() as conn:
            STEPS[version](conn, metadata)
            _set_version(conn, meta_table, version + 1)
        log.info("cache schema migrated from version %d to %d", version, version + 1)
    with engine.begin() as conn:
        metadata.create_all(conn)  # indexes a step left out, and anything else missing
    return found


def _version(conn: Connection, meta_table: Table) -> int:
    """The cache's schema version; 0 for an empty database; 1 for a cache that has a
    ``meta`` table but no version (none was written without one, but count on the oldest)."""
    if not inspect(conn).has_table(meta_table.name):
        return 0
    value = conn.execute(
        select(meta_table.c.value).where(meta_table.c.key == "schema_version")
    ).scalar()
    try:
        return int(value) if value is not None else 1
    except ValueError as exc:
        raise ValueError(f"the cache's schema version {value!r} is not a number") from exc


def _set_version(conn: Connection, meta_table: Table, version: int) -> None:
    ins = sqlite_insert(meta_table)
    conn.execute(
        ins.on_conflict_do_update(index_elements=["key"], set_={"value": ins.excluded.value}),
        [{"key": "schema_version", "value": str(version)}],
    )
