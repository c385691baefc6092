"""A command's change and audit rows are kept until its end and flushed right before the
commit (on PostgreSQL one statement, sent with the COMMIT), so the log lock is held for that
only. Walking around it: several changes and audit rows in one command, a command refused
after emitting, a change written at once between kept ones, a flush that fails, a deadlock's
victim at the flush, real threads committing side by side while a reader follows the log, and
the log's pruning a step at a time.

The commands here are the runner's own (``CommandRunner.run`` with an ``apply``), so each
test says exactly what was emitted and in which order.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from dispatchdesk.domain.roles import Role
from dispatchdesk.server import ServerSettings, changelog
from dispatchdesk.server.auth import User
from dispatchdesk.server.db import (
    AUDIT_GENESIS,
    audit,
    audit_hash,
    audit_head,
    audit_row,
    audit_tail,
    changes,
    idempotency,
    log_head,
    make_engine,
    read_tx,
    ref_counters,
)
from dispatchdesk.server.errors import Conflict
from dispatchdesk.server.features.audit.verify import verify_chain
from dispatchdesk.server.runner import CommandRunner, Idem

from .helpers import blocks_someone

SUE = User("sue", Role.SUPERVISOR)

#: Audit details a hand-written hash in SQL could get wrong: quotes, backslashes, a newline,
#: non-ASCII letters and an emoji (JSON leaves them unescaped), and a NUL-free control char.
TRICKY = ['He said "stop" \\ then left', "Zoë\nÅse 😀 café", "tab\there \u2028 line sep"]


@pytest.fixture
def engine(settings: ServerSettings) -> Iterator[Engine]:
    eng = make_engine(settings.db_url)
    yield eng
    eng.dispose()


def runner_for(engine: Engine, settings: ServerSettings) -> CommandRunner:
    return CommandRunner(engine, settings, on_commit=lambda: None)


def key() -> Idem:
    return Idem(uuid.uuid4().hex, "POST /test", uuid.uuid4().hex)


def head(engine: Engine) -> tuple[int, int]:
    with read_tx(engine) as conn:
        row = conn.execute(sa.select(log_head.c.seq, log_head.c.floor)).one()
    return int(row.seq), int(row.floor)


def log_rows(engine: Engine, since: int = 0) -> list[tuple[int, int]]:
    """(seq, entity_id) of the changes after ``since``, in seq order."""
    with read_tx(engine) as conn:
        rows = conn.execute(
            sa.select(changes.c.seq, changes.c.entity_id)
            .where(changes.c.seq > since)
            .order_by(changes.c.seq)
        ).all()
    return [(int(r.seq), int(r.entity_id)) for r in rows]


def audit_details(engine: Engine, after_id: int = 0) -> list[str]:
    with read_tx(engine) as conn:
        rows = conn.execute(
            sa.select(audit.c.detail).where(audit.c.id > after_id).order_by(audit.c.id)
        ).all()
    return [str(r.detail) for r in rows]


def last_audit_id(engine: Engine) -> int:
    with read_tx(engine) as conn:
        return int(conn.execute(sa.select(sa.func.max(audit.c.id))).scalar() or 0)


def emit(runner: CommandRunner, conn: Connection, now: datetime, entity_id: int) -> None:
    runner.emit(conn, now, "incident", entity_id, {"id": entity_id})


def assert_left_nothing(engine: Engine, day: str, idem: Idem) -> None:
    """No counter row of ``day`` and no idempotency record of ``idem``: rolled back."""
    with read_tx(engine) as conn:
        counter = sa.select(ref_counters).where(ref_counters.c.day == day)
        assert conn.execute(counter).first() is None
        record = sa.select(idempotency).where(idempotency.c.key == idem.key)
        assert conn.execute(record).first() is None


def test_a_commands_changes_get_contiguous_seqs_in_emit_order_and_audits_chain_in_order(
    settings: ServerSettings, engine: Engine
) -> None:
    runner = runner_for(engine, settings)
    start, _ = head(engine)
    first_audit = last_audit_id(engine)
    postgres = engine.dialect.name == "postgresql"
    seen: dict[str, Any] = {}

    def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
        emit(runner, conn, now, 31)
        runner.write_audit(conn, now, "sue", "test_one", "incident", 31, TRICKY[0])
        emit(runner, conn, now, 32)
        audit_row(conn, now, "sue", "test_two", "incident", None, TRICKY[1])  # a feature's
        emit(runner, conn, now, 33)
        runner.write_audit(conn, now, "sue", "test_three", "incident", 33, TRICKY[2])
        # nothing is written yet: not even this transaction sees a row ...
        seen["changes"] = conn.execute(sa.select(sa.func.count()).select_from(changes)).scalar()
        if postgres:  # ... and no other writer waits: the log lock is free until the flush
            with engine.connect() as other:
                other.execute(sa.text("SELECT seq FROM log_head WHERE id = 1 FOR UPDATE NOWAIT"))
                other.rollback()
        return 200, {"ok": True}

    result = runner.run(SUE, key(), apply, "test", None, locks_rows=True)
    assert result.status_code == 200
    assert seen["changes"] == len(log_rows(engine)) - 3
    assert log_rows(engine, start) == [(start + 1, 31), (start + 2, 32), (start + 3, 33)]
    assert head(engine)[0] == start + 3
    assert audit_details(engine, first_audit) == TRICKY
    report = verify_chain(engine)
    assert report.ok, report


def test_a_command_refused_after_emitting_leaves_nothing_behind(
    settings: ServerSettings, engine: Engine
) -> None:
    runner = runner_for(engine, settings)
    start, _ = head(engine)
    first_audit = last_audit_id(engine)
    idem = key()

    def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
        conn.execute(ref_counters.insert().values(day="refused", n=1))
        emit(runner, conn, now, 41)
        runner.write_audit(conn, now, "sue", "test", "incident", 41, "would have happened")
        emit(runner, conn, now, 42)
        raise Conflict("Refused after emitting.")

    with pytest.raises(Conflict):
        runner.run(SUE, idem, apply, "test", 41, locks_rows=True)
    assert head(engine)[0] == start
    assert log_rows(engine, start) == []
    assert audit_details(engine, first_audit) == ["409: Refused after emitting."]
    assert_left_nothing(engine, "refused", idem)
    assert verify_chain(engine).ok


def test_a_change_written_at_once_between_kept_ones_keeps_write_order(
    settings: ServerSettings, engine: Engine
) -> None:
    """A feature's direct ``changelog.append`` (a scheme's, an import's) flushes the kept
    changes first, so seqs stay in the order the command wrote them."""
    runner = runner_for(engine, settings)
    start, _ = head(engine)

    def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
        emit(runner, conn, now, 51)
        seq = changelog.append(
            conn, entity="incident", entity_id=52, data={"id": 52}, now=now, retention=100_000
        )
        assert seq == start + 2  # 51 went first
        emit(runner, conn, now, 53)
        return 200, {}

    runner.run(SUE, key(), apply, "test", None, locks_rows=True)
    assert log_rows(engine, start) == [(start + 1, 51), (start + 2, 52), (start + 3, 53)]


def test_a_command_failing_at_the_flush_rolls_back_everything(
    settings: ServerSettings, engine: Engine
) -> None:
    """A row already at a seq the flush hands out (a broken log) fails the flush with a unique
    violation: the command's own rows, audit rows and idempotency record are all gone, and
    the same key works once the log is repaired."""
    runner = runner_for(engine, settings)
    start, _ = head(engine)
    first_audit = last_audit_id(engine)
    idem = key()
    planted = {"seq": start + 2, "entity": "incident", "entity_id": 99, "op": "upsert"}
    with engine.begin() as conn:
        conn.execute(changes.insert().values(**planted, data="{}", committed_at=runner.now()))

    def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
        conn.execute(ref_counters.insert().values(day="flushed", n=1))
        emit(runner, conn, now, 61)
        emit(runner, conn, now, 62)
        runner.write_audit(conn, now, "sue", "test", "incident", 61, "flushed")
        return 200, {"done": True}

    with pytest.raises(IntegrityError):
        runner.run(SUE, idem, apply, "test", None, locks_rows=True)
    assert head(engine)[0] == start
    assert log_rows(engine, start) == [(start + 2, 99)]
    assert audit_details(engine, first_audit) == []
    assert_left_nothing(engine, "flushed", idem)
    with engine.begin() as conn:
        conn.execute(changes.delete().where(changes.c.seq == start + 2))
    result = runner.run(SUE, idem, apply, "test", None, locks_rows=True)
    assert result.body == {"done": True} and not result.replayed
    assert log_rows(engine, start) == [(start + 1, 61), (start + 2, 62)]
    assert runner.run(SUE, idem, apply, "test", None, locks_rows=True).replayed
    assert verify_chain(engine).ok


@pytest.mark.postgres
def test_a_deadlocks_victim_at_the_flush_is_run_again(
    settings: ServerSettings, engine: Engine
) -> None:
    """The command holds a row and waits at its flush for the log lock another connection
    holds, which then asks for the command's row: PostgreSQL aborts the command (its flush was
    sent with the COMMIT), and the runner runs it again, once."""
    if engine.dialect.name != "postgresql":
        pytest.skip("a real deadlock needs PostgreSQL's row locks")
    runner = runner_for(engine, settings)
    with engine.begin() as conn:
        conn.execute(ref_counters.insert().values(day="victim", n=1))
    start, _ = head(engine)
    first_audit = last_audit_id(engine)
    runs: list[int] = []
    result: dict[str, Any] = {}

    def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
        runs.append(1)
        conn.execute(
            ref_counters.update()
            .where(ref_counters.c.day == "victim")
            .values(n=ref_counters.c.n + 1)
        )
        emit(runner, conn, now, 71)
        runner.write_audit(conn, now, "sue", "test", "incident", 71, "victim")
        return 200, {}

    def run() -> None:
        try:
            result["out"] = runner.run(SUE, key(), apply, "test", None, locks_rows=True)
        except Exception as exc:  # handed to the test's thread
            result["error"] = exc

    other = engine.connect()
    other.exec_driver_sql("SET deadlock_timeout = '30s'")  # so the command is the one to see it
    other.exec_driver_sql("SELECT seq FROM log_head WHERE id = 1 FOR UPDATE")
    worker = threading.Thread(target=run)
    worker.start()
    try:
        waited = blocks_someone(other, worker)
        assert waited, result or "the command never waited for the log lock"
        other.execute(
            ref_counters.update()
            .where(ref_counters.c.day == "victim")
            .values(n=ref_counters.c.n + 10)
        )
        other.commit()
    finally:
        other.close()
        worker.join(60)
    assert "error" not in result, result.get("error")
    assert len(runs) == 2
    assert log_rows(engine, start) == [(start + 1, 71)]
    assert audit_details(engine, first_audit) == ["victim"]
    with read_tx(engine) as conn:
        n = conn.execute(sa.select(ref_counters.c.n).where(ref_counters.c.day == "victim")).scalar()
    assert n == 12
    assert verify_chain(engine).ok


def test_commands_on_real_threads_commit_in_seq_order(
    settings: ServerSettings, engine: Engine
) -> None:
    """Eight writers, each command emitting one to three changes and an audit row; a reader
    polling ``seq > last read`` (as every stream does) must always find exactly the next seqs,
    never a later one before an earlier one has committed."""
    runner = runner_for(engine, settings)
    start, _ = head(engine)
    first_audit = last_audit_id(engine)
    writers, each = 8, 12
    done = threading.Event()
    problems: list[str] = []

    def command(n: int) -> Callable[[Connection, datetime], tuple[int, dict[str, Any]]]:
        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            for i in range(1 + n % 3):
                emit(runner, conn, now, n * 10 + i)
            runner.write_audit(conn, now, "sue", "test", "incident", n, f"command {n}")
            return 200, {}

        return apply

    def write(w: int) -> None:
        try:
            for c in range(each):
                runner.run(SUE, key(), command(w * 100 + c), "test", None, locks_rows=True)
        except Exception as exc:  # handed to the test's thread
            problems.append(repr(exc))

    def read() -> None:
        last = start
        while True:
            finished = done.is_set()
            seqs = [seq for seq, _ in log_rows(engine, last)]
            if seqs != list(range(last + 1, last + 1 + len(seqs))):
                problems.append(f"after {last} the reader saw {seqs[:5]}")
                return
            last = seqs[-1] if seqs else last
            if finished:
                return

    reader = threading.Thread(target=read)
    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    reader.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    done.set()
    reader.join(60)
    assert problems == []
    emitted = sum(1 + (w * 100 + c) % 3 for w in range(writers) for c in range(each))
    assert len(log_rows(engine, start)) == emitted
    assert head(engine)[0] == start + emitted
    assert len(audit_details(engine, first_audit)) == writers * each
    assert verify_chain(engine).ok


def test_the_log_is_pruned_a_step_at_a_time_and_keeps_its_retention(
    settings: ServerSettings, engine: Engine
) -> None:
    """With a retention of 300 the log is pruned 3 changes at a time: never fewer than 300
    kept, never more than 302 beyond the floor."""
    runner = runner_for(engine, replace(settings, change_retention=300))
    assert changelog.prune_step(300) == 3 and changelog.prune_step(2) == 1
    start, _ = head(engine)
    assert start == 0

    def emitting(count: int) -> Callable[[Connection, datetime], tuple[int, dict[str, Any]]]:
        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            for i in range(count):
                emit(runner, conn, now, i)
            return 200, {}

        return apply

    runner.run(SUE, key(), emitting(305), "test", None, locks_rows=True)
    assert head(engine) == (305, 5)
    assert [s for s, _ in log_rows(engine)][:1] == [6] and len(log_rows(engine)) == 300
    runner.run(SUE, key(), emitting(1), "test", None, locks_rows=True)
    assert head(engine) == (306, 5) and len(log_rows(engine)) == 301  # 1 past: not yet
    runner.run(SUE, key(), emitting(2), "test", None, locks_rows=True)
    assert head(engine) == (308, 8) and len(log_rows(engine)) == 300
    assert [s for s, _ in log_rows(engine)][:1] == [9]


def test_a_flush_with_the_chains_head_row_gone_starts_it_again(
    settings: ServerSettings, engine: Engine
) -> None:
    """As a direct audit row does, a flush finding no chain head starts the chain again from
    its genesis (which the chain's check then names) instead of dropping its audit rows."""
    runner = runner_for(engine, settings)
    with engine.begin() as conn:
        conn.execute(audit_head.delete())
    first_audit = last_audit_id(engine)

    def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
        emit(runner, conn, now, 81)
        runner.write_audit(conn, now, "sue", "test", "incident", 81, "one")
        runner.write_audit(conn, now, "sue", "test", "incident", 81, "two")
        return 200, {}

    runner.run(SUE, key(), apply, "test", None, locks_rows=True)
    with read_tx(engine) as conn:
        rows = conn.execute(
            sa.select(audit).where(audit.c.id > first_audit).order_by(audit.c.id)
        ).all()
        chain_head = conn.execute(sa.select(audit_head)).one()
    assert [r.detail for r in rows] == ["one", "two"]
    assert rows[0].prev_hash == AUDIT_GENESIS and rows[1].prev_hash == rows[0].hash
    assert rows[1].hash == audit_hash(
        rows[0].hash, rows[1].at, "sue", "test", "incident", 81, "two"
    )
    assert (chain_head.last_id, chain_head.hash) == (rows[1].id, rows[1].hash)


@pytest.mark.parametrize("detail", [*TRICKY, "", "plain"])
def test_the_audit_tail_hashes_as_the_audit_hash(detail: str) -> None:
    """What a flush hashes in SQL ('["' + previous hash + '",' + tail, in UTF-8) is what
    ``audit_hash`` hashes, for every kind of text."""
    values: dict[str, Any] = {
        "at": datetime.fromisoformat("2026-11-23T09:00:00.000123+00:00"),
        "username": "zoë",
        "action": "update_incident",
        "entity": "incident",
        "entity_id": None if detail == "" else 7,
        "detail": detail,
    }
    prev = hashlib.sha256(detail.encode()).hexdigest()
    hashed = hashlib.sha256(('["' + prev + '",' + audit_tail(values)).encode()).hexdigest()
    assert hashed == audit_hash(prev, **values)
