"""A bulk write chosen by PostgreSQL as a deadlock's victim applied nothing: it is run again,
like every command (the incidents import and a fleet made in one transaction take the log lock
first, so no command of the server deadlocks with them, but another client of the database
may).

On PostgreSQL a real deadlock: another connection holds the day's reference counter the import
moves last, and then asks for the log lock the import holds. On both databases, a fleet whose
first run is aborted as a deadlock's victim is made once, not twice and not refused."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from dispatchdesk.domain.clock import FakeClock
from dispatchdesk.domain.roles import Role
from dispatchdesk.protocol.schemas import UnitCreate
from dispatchdesk.server import ServerSettings
from dispatchdesk.server.auth import User
from dispatchdesk.server.db import audit, incidents, make_engine, ref_counters, units
from dispatchdesk.server.features.audit.verify import verify_chain
from dispatchdesk.server.features.history.imports import import_incidents
from dispatchdesk.server.features.units.service import Units
from dispatchdesk.server.runner import CommandRunner

from .helpers import blocks_someone
from .test_history import past, write_jsonl

DAY = "2026-11-20"


class Deadlock(Exception):
    sqlstate = "40P01"


def count(db_url: str, table: sa.Table, *where: Any) -> int:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar()
    engine.dispose()
    return int(n or 0)


@pytest.mark.postgres
def test_an_import_chosen_as_a_deadlocks_victim_is_run_again(
    settings: ServerSettings, clock: FakeClock, tmp_path: Path
) -> None:
    if not settings.db_url.startswith("postgresql"):
        pytest.skip("a real deadlock needs PostgreSQL's row locks")
    engine = make_engine(settings.db_url)
    with engine.begin() as conn:
        conn.execute(ref_counters.insert().values(day=DAY, n=1))
    line = past("CAD 0007/20NOV26", timedelta(days=3), persons=[])
    path = write_jsonl(tmp_path / "one.jsonl", [line])
    other = engine.connect()
    other.exec_driver_sql("SET deadlock_timeout = '30s'")  # so the import is the one to see it
    other.execute(ref_counters.update().where(ref_counters.c.day == DAY).values(n=2))
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["report"] = import_incidents(
                settings.db_url, path, clock=clock, settings=settings
            )
        except Exception as exc:  # handed to the test's thread
            result["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    try:
        # the import holds the log lock and waits for the day's counter this connection holds
        assert blocks_someone(other, worker), (
            result or "the import never waited for the day's counter"
        )
        # ... and this connection asks for the log lock: PostgreSQL aborts the import
        other.exec_driver_sql("SELECT seq FROM log_head WHERE id = 1 FOR UPDATE")
        other.commit()
    finally:
        other.close()
        worker.join(60)
    assert "error" not in result, result.get("error")
    report = result["report"]
    assert report.ok and report.applied == 1
    assert count(settings.db_url, incidents, incidents.c.ref == "CAD 0007/20NOV26") == 1
    assert count(settings.db_url, audit, audit.c.action == "import_incident") == 1
    with engine.connect() as conn:
        n = conn.execute(sa.select(ref_counters.c.n).where(ref_counters.c.day == DAY)).scalar()
    assert n == 7
    assert verify_chain(engine).ok
    engine.dispose()


def test_a_fleet_aborted_as_a_deadlocks_victim_is_made_once(
    settings: ServerSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(settings.db_url)
    made = Units(CommandRunner(engine, settings, on_commit=lambda: None))
    real = Units._insert
    aborted: list[str] = []

    def insert_once_aborted(self: Units, conn: Any, now: Any, user: User, body: UnitCreate) -> Any:
        out = real(self, conn, now, user, body)
        if not aborted:  # the first run dies after writing a row: it is all rolled back
            aborted.append(body.callsign)
            raise OperationalError("INSERT INTO units ...", {}, Deadlock("deadlock detected"))
        return out

    monkeypatch.setattr(Units, "_insert", insert_once_aborted)
    bodies = [
        UnitCreate(callsign="LX21", kind="IRV", borough="Camden"),
        UnitCreate(callsign="LX22", kind="IRV", borough="Camden"),
    ]
    out = made.create_units(User("setup", Role.SUPERVISOR), bodies)
    assert aborted == ["LX21"]
    assert [u.callsign for u in out] == ["LX21", "LX22"]
    assert count(settings.db_url, units) == 2
    assert count(settings.db_url, audit, audit.c.action == "create_unit") == 2
    assert verify_chain(engine).ok
    engine.dispose()
