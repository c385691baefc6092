from __future__ import annotations

import os
import sqlite3
import stat
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dispatchdesk.cache.store import _UPSERT, CacheStore, OutboxEntry, incident_row
from dispatchdesk.domain.commands import CommandKind, CommandState, PendingCommand
from dispatchdesk.domain.grades import DEFAULT_POLICY
from dispatchdesk.domain.incident import IncidentStatus
from dispatchdesk.domain.reference import LONDON_LISTS
from dispatchdesk.domain.tasks import TaskKind, TaskPolicy, TaskState
from dispatchdesk.protocol.convert import incident_from_wire
from dispatchdesk.protocol.schemas import CallerModel
from dispatchdesk.protocol.tasks import TaskModel

from .conftest import NOW, make_incident


@pytest.fixture
def store(tmp_path: Path) -> CacheStore:
    s = CacheStore(tmp_path / "private" / "cache.sqlite3")
    yield s
    s.close()


def _entry(desc: str = "Create") -> OutboxEntry:
    cid = str(uuid.uuid4())
    return OutboxEntry(
        command=PendingCommand(
            id=cid,
            kind=CommandKind.CREATE_INCIDENT,
            incident_id=None,
            description=desc,
            created_at=NOW,
            state=CommandState.QUEUED,
            body={"summary": desc},
        ),
        idempotency_key=cid,
    )


def test_empty_store_loads_nothing(store: CacheStore) -> None:
    state = store.load(now=NOW)
    assert state.incidents == [] and state.cursor is None and state.policy is None
    assert state.outbox == [] and state.last_synced_at is None


def test_round_trip(store: CacheStore, tmp_path: Path) -> None:
    incs = [make_incident(i) for i in range(1, 4)]
    store.replace_snapshot(incs, DEFAULT_POLICY, 10, NOW, clock_offset=3600.5)
    store.apply_changes([make_incident(2, version=2)], [3], 12, NOW + timedelta(seconds=5))
    store.close()
    again = CacheStore(tmp_path / "private" / "cache.sqlite3")
    state = again.load(now=NOW)
    assert {i.id: i.version for i in state.incidents} == {1: 1, 2: 2}
    assert state.incidents[0] == incident_from_wire(incs[0])
    assert state.cursor == 12
    assert state.last_synced_at == NOW + timedelta(seconds=5)
    assert state.clock_offset_seconds == 3600.5
    assert state.policy == DEFAULT_POLICY
    again.close()


def test_the_server_lists_survive_an_offline_restart(store: CacheStore, tmp_path: Path) -> None:
    # the desk checks a new incident against them before it can reach the server again
    policy = replace(DEFAULT_POLICY, reference=LONDON_LISTS)
    store.replace_snapshot([make_incident(1)], policy, 5, NOW)
    store.close()
    again = CacheStore(tmp_path / "private" / "cache.sqlite3")
    loaded = again.load(now=NOW).policy
    assert loaded is not None and loaded.reference == LONDON_LISTS
    again.close()


def test_tasks_anonymity_and_the_task_policy_survive_an_offline_restart(
    store: CacheStore, tmp_path: Path
) -> None:
    # offline, the close is still refused locally and overdue tasks still flagged
    caller = CallerModel(
        phone="07700 900123",
        anonymous=True,
        anonymity_requested=True,
        anonymity_recorded_by="cathy",
        anonymity_recorded_at=NOW,
    )
    task = TaskModel(id=7, kind=TaskKind.HOUSE_TO_HOUSE, state=TaskState.OPEN)
    incident = make_incident(1).model_copy(update={"caller": caller, "tasks": [task]})
    policy = replace(DEFAULT_POLICY, tasks=TaskPolicy(overdue_after=timedelta(hours=12)))
    store.replace_snapshot([incident], policy, 5, NOW)
    store.close()
    again = CacheStore(tmp_path / "private" / "cache.sqlite3")
    state = again.load(now=NOW)
    [loaded] = state.incidents
    assert loaded.tasks == (task.to_task(),)
    assert loaded.caller.anonymity_recorded_by == "cathy" and loaded.caller.anonymity_requested
    assert state.policy is not None
    assert state.policy.tasks.overdue_after == timedelta(hours=12)
    again.close()


def test_cursor_and_rows_in_one_transaction(store: CacheStore) -> None:
    store.replace_snapshot([make_incident(1)], DEFAULT_POLICY, 5, NOW)
    bad_rows = [incident_row(make_incident(1, version=2)), {"id": 2}]  # second row is broken
    with pytest.raises(Exception):  # noqa: B017 - any database error
        store.apply_rows(bad_rows, [], 6, NOW)
    state = store.load(now=NOW)
    assert state.cursor == 5
    assert [(i.id, i.version) for i in state.incidents] == [(1, 1)]


def test_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "d" / "cache.sqlite3"
    s = CacheStore(path)
    s.replace_snapshot([make_incident(1)], DEFAULT_POLICY, 1, NOW)
    s.add_command(_entry())
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    for suffix in ("", "-wal", "-shm"):
        p = Path(f"{path}{suffix}")
        assert p.exists(), p
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    s.close()


def test_closed_yesterday_dropped(store: CacheStore) -> None:
    yesterday = NOW - timedelta(days=1)
    closed_old = make_incident(1, status=IncidentStatus.CLOSED, closed_at=yesterday)
    closed_today = make_incident(
        2, status=IncidentStatus.CLOSED, closed_at=NOW - timedelta(hours=1)
    )
    incs = [closed_old, closed_today, make_incident(3)]
    kept = store.replace_snapshot(incs, DEFAULT_POLICY, 1, NOW)
    assert sorted(i.id for i in kept) == [2, 3]
    # Closed today, then the day turns: dropped at the next load.
    state = store.load(now=NOW + timedelta(days=1))
    assert [i.id for i in state.incidents] == [3]


def test_a_snapshot_is_written_a_chunk_at_a_time(
    store: CacheStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """50,000 incidents' rows are never all made before the first is written (their JSON
    would sit beside the wire and domain objects): each write follows at most a chunk of
    rows made. Closed-yesterday incidents across chunks are still dropped, every other kept in
    order, all in the one transaction."""
    from sqlalchemy import Connection

    from dispatchdesk.cache import store as store_module

    monkeypatch.setattr(store_module, "_WRITE_CHUNK", 4)
    made: list[int] = []
    writes: list[tuple[int, int]] = []  # (rows made until then, rows written)
    real_row, real_exec = store_module.incident_row, Connection.exec_driver_sql

    def row(inc: object) -> dict[str, object]:
        made.append(1)
        return real_row(inc)  # type: ignore[arg-type]

    def execute(self: Connection, sql: str, params: object = None, *a: object) -> object:
        if sql == store_module._UPSERT_SQL:
            writes.append((len(made), len(params)))  # type: ignore[arg-type]
        return real_exec(self, sql, params, *a)  # type: ignore[arg-type]

    monkeypatch.setattr(store_module, "incident_row", row)
    monkeypatch.setattr(Connection, "exec_driver_sql", execute)
    yesterday = NOW - timedelta(days=1)
    incs = [
        make_incident(i, status=IncidentStatus.CLOSED, closed_at=yesterday)
        if i % 3 == 0
        else make_incident(i)
        for i in range(1, 12)
    ]
    kept = store.replace_snapshot(iter(incs), DEFAULT_POLICY, 5, NOW)
    open_ids = [i for i in range(1, 12) if i % 3]
    assert [i.id for i in kept] == open_ids
    assert writes == [(4, 3), (8, 3), (11, 2)]
    state = store.load(now=NOW)
    assert sorted(i.id for i in state.incidents) == open_ids and state.cursor == 5


def test_ten_thousand_rows(store: CacheStore) -> None:
    incs = [make_incident(i) for i in range(1, 10_001)]
    store.apply_changes(incs, [], 10_000, NOW)
    store.apply_changes([make_incident(i, version=2) for i in range(1, 10_001)], [], 20_000, NOW)
    state = store.load(now=NOW)
    assert len(state.incidents) == 10_000
    assert all(i.version == 2 for i in state.incidents)
    assert state.cursor == 20_000


def test_upsert_speed_within_twice_raw_sqlite(store: CacheStore, tmp_path: Path) -> None:
    rows = [incident_row(make_incident(i)) for i in range(1, 10_001)]
    # Raw sqlite3 with the same pragmas, table and statement.
    raw = sqlite3.connect(tmp_path / "raw.sqlite3", isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=NORMAL")
    raw.execute("PRAGMA secure_delete=ON")
    raw.execute(
        "CREATE TABLE incidents (id INTEGER PRIMARY KEY, version INTEGER NOT NULL, "
        "status VARCHAR(16) NOT NULL, closed_ts FLOAT, data TEXT NOT NULL)"
    )
    raw.execute("CREATE INDEX ix ON incidents (closed_ts)")
    sql = (
        "INSERT INTO incidents (id, version, status, closed_ts, data) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET version=excluded.version, status=excluded.status, "
        "closed_ts=excluded.closed_ts, data=excluded.data"
    )
    tuples = [(r["id"], r["version"], r["status"], r["closed_ts"], r["data"]) for r in rows]

    def raw_apply() -> float:
        t = time.perf_counter()
        raw.execute("BEGIN")
        raw.executemany(sql, tuples)
        raw.execute("COMMIT")
        return time.perf_counter() - t

    def core_apply() -> float:
        t = time.perf_counter()
        store.apply_rows(rows, [], 1, NOW)
        return time.perf_counter() - t

    raw_apply(), core_apply()  # warm up: first inserts, later updates
    raw_best = min(raw_apply() for _ in range(3))
    core_best = min(core_apply() for _ in range(3))
    raw.close()
    print(f"core/raw {core_best / raw_best:.2f}")
    assert core_best < 2 * raw_best, (core_best, raw_best)
    assert _UPSERT is not None


def test_outbox_durable_and_ordered(store: CacheStore, tmp_path: Path) -> None:
    a, b, c = _entry("a"), _entry("b"), _entry("c")
    for e in (a, b, c):
        store.add_command(e)
    sent = b.with_state(CommandState.SENT, result_incident_id=7, result_version=1, reached=True)
    store.update_command(sent)
    store.remove_command(a.id)
    store.close()
    again = CacheStore(tmp_path / "private" / "cache.sqlite3")
    listed = again.list_commands()
    assert [e.id for e in listed] == [b.id, c.id]
    assert listed[0] == sent
    assert again.load(now=NOW).outbox == listed
    with pytest.raises(KeyError):
        again.update_command(a)
    again.close()


def test_load_default_now_uses_offset(store: CacheStore) -> None:
    closed = make_incident(
        1, status=IncidentStatus.CLOSED, closed_at=datetime.now(UTC) - timedelta(days=3)
    )
    store.apply_changes([closed, make_incident(2)], [], 2, datetime.now(UTC), clock_offset=0.0)
    assert [i.id for i in store.load().incidents] == [2]
