"""The client's SQLite cache: incidents, the sync cursor, the grade policy and the outbox.

SQLAlchemy 2.0 *Core* only (the ORM's per-row ``merge`` is ~60x slower). One
:class:`CacheStore` is used from one thread only: the :class:`~dispatchdesk.cache.worker.
CacheWorker`'s. Every write is one transaction; the rows a sync batch brought and the cursor
that follows them are committed together, so a crash leaves either both old or both new.

It also holds the fleet (units), special schemes and protective orders (for warnings offline)
and the operator's warning acknowledgements. The synced entities' tables are described in
:mod:`dispatchdesk.cache.entities`; an older cache is migrated in place on opening
(:mod:`dispatchdesk.cache.migrations`).

Privacy: the directory is made 0700 and the database, WAL and shared-memory files 0600;
``secure_delete`` overwrites deleted content (closed incidents are purged from disk). An expired
scheme is deleted and the WAL checkpointed and truncated at once, so its text is left in no
file (:meth:`CacheStore.purge_schemes`).
"""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from itertools import islice
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import platformdirs
from sqlalchemy import (
    Column,
    Connection,
    Integer,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    select,
)
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

from dispatchdesk.cache import history
from dispatchdesk.cache.compact import share_equal_values
from dispatchdesk.cache.entities import (
    INCIDENT,
    NOTICE,
    ORDER,
    SCHEME,
    SIDE_ENTITIES,
    UNIT,
    EntityChanges,
    SyncedEntity,
    W,
    incident_row,
    incidents_table,
    metadata,
    notices_table,
    schemes_table,
)
from dispatchdesk.cache.history import CachedHistory
from dispatchdesk.cache.migrations import migrate
from dispatchdesk.cache.packed import Packed, pack
from dispatchdesk.domain.commands import CommandKind, CommandState, PendingCommand
from dispatchdesk.domain.grades import DEFAULT_POLICY, GradePolicy
from dispatchdesk.domain.incident import Incident
from dispatchdesk.domain.warnings import WarningPolicy, WarningRef
from dispatchdesk.protocol.convert import incident_from_wire, policy_from_wire, policy_to_wire
from dispatchdesk.protocol.notices import NoticeOut
from dispatchdesk.protocol.schemas import IncidentOut, PolicyModel, UnitOut
from dispatchdesk.protocol.warnings import WarningPolicyModel

log = logging.getLogger(__name__)

DB_FILENAME = "cache.sqlite3"

#: Warnings this operator acknowledged, per incident (the audit goes through the outbox).
acks_table = Table(
    "warning_acks",
    metadata,
    Column("incident_id", Integer, primary_key=True, autoincrement=False),
    Column("kind", String(8), primary_key=True),
    Column("entity_id", Integer, primary_key=True, autoincrement=False),
)

#: Notices this operator has read (the receipt goes through the outbox), with when.
notice_reads_table = Table(
    "notice_reads",
    metadata,
    Column("notice_id", Integer, primary_key=True, autoincrement=False),
    Column("read_at", String(40), nullable=False),
)

#: Key/value: cursor, last_synced_at, clock_offset, policy, warning_policy, schema_version.
meta_table = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

#: What the operator was typing in a form, saved as it is typed (a crash loses none of it):
#: one row per form (``key``), the form's fields as JSON, and when they were saved.
drafts_table = Table(
    "drafts",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("data", Text, nullable=False),
    Column("saved_at", Text, nullable=False),
)

outbox_table = Table(
    "outbox",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("data", Text, nullable=False),
)


@dataclass(frozen=True)
class OutboxEntry:
    """A command in the durable outbox, with what the sync engine needs to send it safely."""

    command: PendingCommand
    #: The ``Idempotency-Key`` to send; the command id until a refused command is retried.
    idempotency_key: str
    #: ``If-Match`` version for a PATCH (the version the operator saw).
    if_match: int | None = None
    #: A request with ``idempotency_key`` may have reached the server (sent, answer unknown).
    attempted: bool = False
    #: The server answered a request with ``idempotency_key`` (accepted or refused).
    reached: bool = False
    #: Entity id and version the server returned (SENT): confirmed when the feed gets there.
    result_incident_id: int | None = None
    result_version: int | None = None
    #: The operator said "send it" (a HELD command is then never held again for age).
    approved: bool = False
    #: Which entity ``result_incident_id`` names: "incident", "unit", "scheme", or "" when
    #: the reply confirms nothing the feed will bring (an audit record).
    result_entity: str = "incident"
    #: Warning audits to queue once a new incident has its id: ("shown" | "acknowledged",
    #: kind, entity id) for warnings handled in the new-incident form.
    follow_ups: tuple[tuple[str, str, int], ...] = ()
    #: Ids for the request path beyond the incident and unit (a scheme's, a divert's, a
    #: warning's kind and id).
    path_args: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.command.id

    @property
    def state(self) -> CommandState:
        return self.command.state

    def with_state(self, state: CommandState, message: str | None = None, **kw: Any) -> OutboxEntry:
        return replace(self, command=replace(self.command, state=state, message=message), **kw)

    def to_json(self) -> str:
        c = self.command
        return json.dumps(
            {
                "id": c.id,
                "kind": c.kind.value,
                "incident_id": c.incident_id,
                "description": c.description,
                "created_at": c.created_at.isoformat(),
                "state": c.state.value,
                "message": c.message,
                "body": c.body,
                "idempotency_key": self.idempotency_key,
                "if_match": self.if_match,
                "attempted": self.attempted,
                "reached": self.reached,
                "result_incident_id": self.result_incident_id,
                "result_version": self.result_version,
                "approved": self.approved,
                "unit_id": c.unit_id,
                "result_entity": self.result_entity,
                "follow_ups": [list(f) for f in self.follow_ups],
                "path_args": self.path_args,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> OutboxEntry:
        d = json.loads(text)
        command = PendingCommand(
            id=d["id"],
            kind=CommandKind(d["kind"]),
            incident_id=d["incident_id"],
            description=d["description"],
            created_at=datetime.fromisoformat(d["created_at"]),
            state=CommandState(d["state"]),
            message=d["message"],
            body=d["body"],
            unit_id=d.get("unit_id"),
        )
        return cls(
            command=command,
            idempotency_key=d["idempotency_key"],
            if_match=d["if_match"],
            attempted=d["attempted"],
            reached=d["reached"],
            result_incident_id=d["result_incident_id"],
            result_version=d["result_version"],
            approved=d.get("approved", False),
            result_entity=d.get("result_entity", "incident"),
            follow_ups=tuple((str(a), str(k), int(i)) for a, k, i in d.get("follow_ups", [])),
            path_args=d.get("path_args", {}),
        )


@dataclass(frozen=True)
class CachedState:
    """What :meth:`CacheStore.load` reads at start: the queue, the fleet, the outbox and the
    sync position."""

    incidents: list[Incident] = field(default_factory=list)
    #: None until the first snapshot.
    policy: GradePolicy | None = None
    #: Change-log position the rows are at; None means "take a snapshot".
    cursor: int | None = None
    #: Server time of the last successful sync.
    last_synced_at: datetime | None = None
    #: Server time minus local wall time at the last sync (for an offline start).
    clock_offset_seconds: float | None = None
    outbox: list[OutboxEntry] = field(default_factory=list)
    units: list[UnitOut] = field(default_factory=list)


@dataclass(frozen=True)
class CachedWarnings:
    """What :meth:`CacheStore.load_warning_data` reads once the queue is on screen."""

    #: Packed (``cache.packed``: the warning index holds them so; unpack for the models).
    schemes: list[Packed] = field(default_factory=list)
    orders: list[Packed] = field(default_factory=list)
    warning_policy: WarningPolicy | None = None
    acknowledged: frozenset[tuple[int, WarningRef]] = frozenset()


@dataclass(frozen=True)
class CachedNotices:
    """What :meth:`CacheStore.load_notices` reads: live notices and this operator's reads."""

    notices: list[NoticeOut] = field(default_factory=list)
    reads: dict[int, datetime] = field(default_factory=dict)


def default_cache_dir() -> Path:
    """The per-user data directory (``platformdirs.user_data_dir("dispatchdesk")``)."""
    return Path(platformdirs.user_data_dir("dispatchdesk", appauthor=False))


def start_of_day(server_time: datetime, policy: GradePolicy | None) -> datetime:
    """Midnight of ``server_time``'s day in the policy's time zone, as an aware datetime."""
    tz = ZoneInfo((policy or DEFAULT_POLICY).timezone)
    local = server_time.astimezone(tz)
    return datetime.combine(local.date(), time(0), tzinfo=tz)


class CacheStore:
    """The SQLite cache. Synchronous; use it from one thread (the cache worker's).

    ``path`` is the database file; ``None`` means ``default_cache_dir() / "cache.sqlite3"``.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_cache_dir() / DB_FILENAME
        self._prepare_files()
        self._engine: Engine = create_engine(
            f"sqlite:///{self.path}",
            connect_args={"check_same_thread": False},
            poolclass=StaticPool,
        )
        event.listen(self._engine, "connect", _on_connect)
        # SQLAlchemy's pysqlite driver issues its own BEGIN (see _on_begin) so that a
        # transaction really spans every statement in ``engine.begin()``.
        event.listen(self._engine, "begin", _on_begin)
        #: The schema version the file was at before opening (0: new); see cache.migrations.
        self.opened_at_version = migrate(self._engine, metadata, meta_table)
        self._protect_files()

    # --- files ----------------------------------------------------------------------------

    def _prepare_files(self) -> None:
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        st = directory.stat()
        if st.st_mode & stat.S_ISVTX or (hasattr(os, "getuid") and st.st_uid != os.getuid()):
            # A shared directory such as /tmp: never change its mode; the files stay 0600.
            log.warning("cache directory %s is shared; use a private one", directory)
        else:
            os.chmod(directory, 0o700)
        # Create the database file 0600 before SQLite opens it; SQLite gives the -wal and -shm
        # files the database file's mode, and _protect_files makes sure afterwards.
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        os.close(fd)
        os.chmod(self.path, 0o600)

    def _protect_files(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            p = Path(f"{self.path}{suffix}")
            if p.exists() and stat.S_IMODE(p.stat().st_mode) != 0o600:
                os.chmod(p, 0o600)

    def close(self) -> None:
        self._engine.dispose()

    # --- reading --------------------------------------------------------------------------

    def load(self, now: datetime | None = None) -> CachedState:
        """Read everything; first purge incidents closed before the start of today.

        ``now`` is the server time; by default the wall clock plus the stored clock offset.
        """
        with self._engine.begin() as conn:
            meta = {row.key: row.value for row in conn.execute(select(meta_table))}
            policy = (
                policy_from_wire(PolicyModel.model_validate_json(meta["policy"]))
                if "policy" in meta
                else None
            )
            offset = float(meta["clock_offset"]) if "clock_offset" in meta else None
            if now is None:
                now = datetime.now(UTC) + timedelta(seconds=offset or 0.0)
            self._purge_closed(conn, now, policy)
            # Row by row: each wire object becomes a domain one and is dropped at once (one
            # validation of the whole array held every wire incident at the same time, which
            # doubled the desk's peak memory and start time at 10,000 incidents).
            incidents = [
                INCIDENT.to_domain(INCIDENT.wire.model_validate_json(row.data))
                for row in conn.execute(select(INCIDENT.table.c.data))
            ]
            outbox = [
                OutboxEntry.from_json(row.data)
                for row in conn.execute(select(outbox_table.c.data).order_by(outbox_table.c.seq))
            ]
            units = _load_all(conn, UNIT)
        self._protect_files()
        return CachedState(
            units=units,
            incidents=incidents,
            policy=policy,
            cursor=int(meta["cursor"]) if "cursor" in meta else None,
            last_synced_at=(
                datetime.fromisoformat(meta["last_synced_at"]) if "last_synced_at" in meta else None
            ),
            clock_offset_seconds=offset,
            outbox=outbox,
        )

    def load_warning_data(self, now: datetime) -> CachedWarnings:
        """Schemes (expired ones purged first, by server time ``now``), orders, the warning
        policy and acknowledgements. Separate from :meth:`load` so the queue shows first."""
        self.purge_schemes(now)
        with self._engine.connect() as conn:
            policy_json = conn.execute(
                select(meta_table.c.value).where(meta_table.c.key == "warning_policy")
            ).scalar()
            acks = frozenset(
                (r.incident_id, WarningRef(r.kind, r.entity_id))
                for r in conn.execute(select(acks_table))
            )
            return CachedWarnings(
                schemes=_load_packed(conn, SCHEME),
                orders=_load_packed(conn, ORDER),
                warning_policy=(
                    WarningPolicyModel.model_validate_json(policy_json).to_policy()
                    if policy_json
                    else None
                ),
                acknowledged=acks,
            )

    def cursor(self) -> int | None:
        with self._engine.connect() as conn:
            value = conn.execute(
                select(meta_table.c.value).where(meta_table.c.key == "cursor")
            ).scalar()
        return None if value is None else int(value)

    # --- sync writes ----------------------------------------------------------------------

    def replace_snapshot(
        self,
        incidents: Iterable[Incident | IncidentOut],
        policy: GradePolicy,
        cursor: int,
        server_time: datetime,
        clock_offset: float | None = None,
        entities: EntityChanges | None = None,
        warning_policy: WarningPolicyModel | None = None,
    ) -> list[Incident]:
        """Replace every incident, unit, scheme and order, the policy and the cursor in one
        transaction (``entities`` holds the snapshot's units, schemes and orders).

        Incidents closed before the start of the server's day are not stored. Returns the
        incidents kept, as domain objects.

        The rows are written a chunk at a time as they are made: 50,000 incidents' JSON never
        sits in memory at once beside their wire and domain objects (some 55 MB of peak).
        """
        cutoff = start_of_day(server_time, policy).timestamp()
        kept: list[Incident] = []
        entities = entities or EntityChanges()
        with self._engine.begin() as conn:
            conn.execute(delete(incidents_table))
            chunks = iter(incidents)
            while chunk := list(islice(chunks, _WRITE_CHUNK)):
                params: list[tuple[Any, ...]] = []
                for inc in chunk:
                    row = incident_row(inc)
                    if row["closed_ts"] is not None and row["closed_ts"] < cutoff:
                        continue
                    params.append(tuple(row[k] for k in _UPSERT_KEYS))
                    kept.append(inc if isinstance(inc, Incident) else incident_from_wire(inc))
                if params:
                    conn.exec_driver_sql(_UPSERT_SQL, params)
            scrub = any(
                {r.id for r in conn.execute(select(e.table.c.id))}
                - {m.id for m in entities.upserts(e)}
                for e in SIDE_ENTITIES
                if e.scrub
            )
            for e in SIDE_ENTITIES:
                conn.execute(delete(e.table))
            history.purge_orphans(conn)
            _write_entities(conn, entities)
            self._set_meta(conn, "policy", policy_to_wire(policy).model_dump_json())
            if warning_policy is not None:
                self._set_meta(conn, "warning_policy", warning_policy.model_dump_json())
            self._set_sync_meta(conn, cursor, server_time, clock_offset)
        if scrub:
            self._scrub()
        self._protect_files()
        return kept

    def apply_changes(
        self,
        upserts: Sequence[Incident | IncidentOut],
        removed_ids: Iterable[int],
        cursor: int,
        server_time: datetime,
        clock_offset: float | None = None,
        entities: EntityChanges | None = None,
    ) -> None:
        """Upsert and delete rows and move the cursor, all in one transaction."""
        self.apply_rows(
            [incident_row(i) for i in upserts],
            removed_ids,
            cursor,
            server_time,
            clock_offset,
            entities,
        )

    def apply_rows(
        self,
        rows: Sequence[dict[str, Any]],
        removed_ids: Iterable[int],
        cursor: int,
        server_time: datetime,
        clock_offset: float | None = None,
        entities: EntityChanges | None = None,
    ) -> None:
        """:meth:`apply_changes` with rows already built by :func:`incident_row`."""
        removed = list(removed_ids)
        entities = entities or EntityChanges()
        with self._engine.begin() as conn:
            _write_entities(conn, entities)
            if rows:
                # The statement is built with Core; executemany goes to the driver with
                # positional tuples, skipping per-row parameter processing (2-3x faster).
                conn.exec_driver_sql(_UPSERT_SQL, [tuple(r[k] for k in _UPSERT_KEYS) for r in rows])
            if removed:
                conn.execute(delete(incidents_table).where(incidents_table.c.id.in_(removed)))
            if removed or any(r["closed_ts"] is not None for r in rows):
                history.purge_orphans(conn)
            self._set_sync_meta(conn, cursor, server_time, clock_offset)
        if any(entities.touches(e) for e in SIDE_ENTITIES if e.scrub):
            # A removed (expired, ended) scheme, or an old version of one whose location or
            # summary changed, may still be in the WAL: checkpoint and truncate it.
            self._scrub()

    def set_synced(self, server_time: datetime, clock_offset: float | None = None) -> None:
        """Record a successful contact that brought no rows."""
        with self._engine.begin() as conn:
            self._set_meta(conn, "last_synced_at", server_time.isoformat())
            if clock_offset is not None:
                self._set_meta(conn, "clock_offset", repr(clock_offset))

    def purge_closed(self, now: datetime) -> list[int]:
        """Delete incidents closed before the start of ``now``'s day; return their ids."""
        with self._engine.begin() as conn:
            policy_json = conn.execute(
                select(meta_table.c.value).where(meta_table.c.key == "policy")
            ).scalar()
            policy = (
                policy_from_wire(PolicyModel.model_validate_json(policy_json))
                if policy_json
                else None
            )
            return self._purge_closed(conn, now, policy)

    def purge_schemes(self, now: datetime, ids: Iterable[int] = ()) -> list[int]:
        """Delete schemes expired by ``now`` (server time) and those in ``ids``, then scrub
        the files so their text is in none of them. Returns the ids deleted."""
        cond = schemes_table.c.expires_ts <= now.timestamp()
        wanted = list(ids)
        if wanted:
            cond = cond | schemes_table.c.id.in_(wanted)
        with self._engine.begin() as conn:
            gone = [r.id for r in conn.execute(select(schemes_table.c.id).where(cond))]
            if gone:
                conn.execute(delete(schemes_table).where(schemes_table.c.id.in_(gone)))
        if gone:
            self._scrub()
        return gone

    def _scrub(self) -> None:
        """Copy the WAL into the database and truncate it to nothing.

        ``secure_delete`` has zeroed deleted content in the pages; without this the old
        page images (with the text) would stay in the ``-wal`` file until a later checkpoint
        happened to overwrite them.
        """
        with self._engine.connect() as conn:
            # On the driver connection: SQLAlchemy would wrap it in a transaction (our
            # BEGIN IMMEDIATE), and a checkpoint cannot run inside one.
            raw = conn.connection.driver_connection
            assert raw is not None
            busy = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy is not None and busy[0]:
            log.warning("cache checkpoint was blocked; retrying at the next change")

    def add_acknowledgement(self, incident_id: int, ref: WarningRef) -> None:
        """Remember that this operator acknowledged ``ref`` for the incident."""
        with self._engine.begin() as conn:
            stmt = sqlite_insert(acks_table).values(
                incident_id=incident_id, kind=ref.kind, entity_id=ref.entity_id
            )
            conn.execute(stmt.on_conflict_do_nothing())

    def load_notices(self, now: datetime) -> CachedNotices:
        """Notices not expired by ``now`` (server time; expired ones are purged first) and the
        notices this operator has read."""
        with self._engine.begin() as conn:
            conn.execute(delete(notices_table).where(notices_table.c.expires_ts <= now.timestamp()))
            reads = {
                int(r.notice_id): datetime.fromisoformat(r.read_at)
                for r in conn.execute(select(notice_reads_table))
            }
            return CachedNotices(_load_all(conn, NOTICE), reads)

    def add_notice_reads(self, reads: dict[int, datetime]) -> None:
        """Remember notices this operator has read (the first read kept)."""
        if not reads:
            return
        with self._engine.begin() as conn:
            stmt = sqlite_insert(notice_reads_table).on_conflict_do_nothing()
            conn.execute(
                stmt, [{"notice_id": k, "read_at": v.isoformat()} for k, v in reads.items()]
            )

    def _purge_closed(
        self, conn: Connection, now: datetime, policy: GradePolicy | None
    ) -> list[int]:
        cutoff = start_of_day(now, policy).timestamp()
        cond = incidents_table.c.closed_ts < cutoff
        ids = [r.id for r in conn.execute(select(incidents_table.c.id).where(cond))]
        if ids:
            conn.execute(delete(incidents_table).where(cond))
            history.purge_orphans(conn)
        return ids

    def _set_sync_meta(
        self, conn: Connection, cursor: int, server_time: datetime, clock_offset: float | None
    ) -> None:
        values = {"cursor": str(cursor), "last_synced_at": server_time.isoformat()}
        if clock_offset is not None:
            values["clock_offset"] = repr(clock_offset)
        self._set_metas(conn, values)

    @staticmethod
    def _set_meta(conn: Connection, key: str, value: str) -> None:
        CacheStore._set_metas(conn, {key: value})

    @staticmethod
    def _set_metas(conn: Connection, values: dict[str, str]) -> None:
        """Upsert several meta keys in one statement (one per sync batch, not three)."""
        ins = sqlite_insert(meta_table)
        stmt = ins.on_conflict_do_update(index_elements=["key"], set_={"value": ins.excluded.value})
        conn.execute(stmt, [{"key": k, "value": v} for k, v in values.items()])

    # --- history answers ------------------------------------------------------------------

    def save_history(self, answer: CachedHistory) -> bool:
        """Keep an incident's last history answer (see :mod:`dispatchdesk.cache.history`);
        False when the incident is not in the cache (nothing is kept for it)."""
        with self._engine.begin() as conn:
            return history.save(conn, answer)

    def load_history(self, incident_id: int) -> CachedHistory | None:
        """The incident's last history answer, or None when none is held."""
        with self._engine.connect() as conn:
            return history.load(conn, incident_id)

    # --- outbox ---------------------------------------------------------------------------

    def add_command(self, entry: OutboxEntry, *, drop_draft: str | None = None) -> None:
        """Store a new command durably (committed when this returns). ``drop_draft``: the
        form draft the command came from, deleted in the same transaction (a crash leaves
        either the draft or the command, never neither and never both)."""
        with self._engine.begin() as conn:
            conn.execute(outbox_table.insert().values(id=entry.id, data=entry.to_json()))
            if drop_draft is not None:
                conn.execute(delete(drafts_table).where(drafts_table.c.key == drop_draft))

    def update_command(self, entry: OutboxEntry) -> None:
        with self._engine.begin() as conn:
            result = conn.execute(
                outbox_table.update()
                .where(outbox_table.c.id == entry.id)
                .values(data=entry.to_json())
            )
            if result.rowcount != 1:
                raise KeyError(f"no command {entry.id} in the outbox")

    def remove_command(self, command_id: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(outbox_table).where(outbox_table.c.id == command_id))

    def list_commands(self) -> list[OutboxEntry]:
        with self._engine.connect() as conn:
            return [
                OutboxEntry.from_json(row.data)
                for row in conn.execute(select(outbox_table.c.data).order_by(outbox_table.c.seq))
            ]

    # --- form drafts ----------------------------------------------------------------------

    def save_draft(self, key: str, data: str | None, saved_at: datetime) -> None:
        """Keep what the form ``key`` holds (JSON text); ``None`` deletes it."""
        with self._engine.begin() as conn:
            if data is None:
                conn.execute(delete(drafts_table).where(drafts_table.c.key == key))
                return
            ins = sqlite_insert(drafts_table).values(
                key=key, data=data, saved_at=saved_at.isoformat()
            )
            conn.execute(
                ins.on_conflict_do_update(
                    index_elements=["key"],
                    set_={"data": ins.excluded.data, "saved_at": ins.excluded.saved_at},
                )
            )

    def load_draft(self, key: str) -> tuple[str, datetime] | None:
        """The draft kept for the form ``key`` and when it was saved, if there is one."""
        with self._engine.connect() as conn:
            row = conn.execute(
                select(drafts_table.c.data, drafts_table.c.saved_at).where(
                    drafts_table.c.key == key
                )
            ).first()
        return None if row is None else (row.data, datetime.fromisoformat(row.saved_at))


#: Incident rows made and written at a time when a snapshot replaces them all.
_WRITE_CHUNK = 1_000

#: Rows validated in one call when loading a table (pydantic-core parses an array of many at
#: once, several times faster than row by row).
_LOAD_CHUNK = 5_000


def _load_chunks(conn: Connection, entity: SyncedEntity[W, Any]) -> Iterator[list[W]]:
    """Every row of the entity's table, in id order, validated a chunk at a time (so a whole
    table never sits in memory as JSON text and as models at once)."""
    table = entity.table
    query = select(table.c.data).order_by(table.c.id).execution_options(yield_per=_LOAD_CHUNK)
    for chunk in conn.execute(query).partitions():
        yield entity.from_rows([r.data for r in chunk])


def _load_all(conn: Connection, entity: SyncedEntity[W, Any]) -> list[W]:
    """:func:`_load_chunks`, each chunk made to share equal values (``share_equal_values``)."""
    out: list[W] = []
    for models in _load_chunks(conn, entity):
        share_equal_values(models)
        out.extend(models)
    return out


def _load_packed(conn: Connection, entity: SyncedEntity[W, Any]) -> list[Packed]:
    """:func:`_load_chunks`, each chunk packed as it comes (``cache.packed``: some 300 bytes a
    scheme): 200,000 schemes and orders are never all held as models at once."""
    out: list[Packed] = []
    for models in _load_chunks(conn, entity):
        out.extend(map(pack, models))
    return out


def _write_entities(conn: Connection, changes: EntityChanges) -> None:
    """Upserts and deletes of the entities other than incidents, in the caller's transaction."""
    for e in SIDE_ENTITIES:
        table = e.table
        removed = changes.removed_ids(e)
        if removed:
            conn.execute(delete(table).where(table.c.id.in_(list(removed))))
        upserts = changes.upserts(e)
        if not upserts:
            continue
        rows = [e.row(m) for m in upserts]
        ins = sqlite_insert(table)
        stmt = ins.on_conflict_do_update(
            index_elements=[table.c.id],
            set_={k: ins.excluded[k] for k in rows[0] if k != "id"},
        )
        conn.execute(stmt, rows)


_ins = sqlite_insert(incidents_table)
_UPSERT = _ins.on_conflict_do_update(
    index_elements=[incidents_table.c.id],
    set_={
        "version": _ins.excluded.version,
        "status": _ins.excluded.status,
        "closed_ts": _ins.excluded.closed_ts,
        "data": _ins.excluded.data,
    },
)
_compiled = _UPSERT.compile(dialect=sqlite_dialect.dialect(paramstyle="qmark"))
_UPSERT_SQL = str(_compiled)
_UPSERT_KEYS: tuple[str, ...] = tuple(_compiled.positiontup or ())


def _on_connect(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own handling defers it).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA secure_delete=ON")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _on_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")
