"""The PostgreSQL connection pool keeps what a burst opened: the next burst reuses those
connections instead of making PostgreSQL start new sessions (a fork and a cold catalogue cache
each); and it never opens more than the README's budget."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dispatchdesk.server.db import PG_POOL_CONNECTIONS, make_engine

pytestmark = pytest.mark.postgres

BURST = 20


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    if not db_url.startswith("postgresql"):
        pytest.skip("the pool of a PostgreSQL engine")
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def _burst(engine: Engine, size: int) -> set[int]:
    """``size`` connections in use at once (each holds its transaction until all have one);
    the PostgreSQL backends that served them."""
    barrier = threading.Barrier(size)
    pids: set[int] = set()
    lock = threading.Lock()

    def use() -> None:
        with engine.connect() as conn:
            pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
            with lock:
                pids.add(pid)
            barrier.wait(timeout=30)

    threads = [threading.Thread(target=use) for _ in range(size)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(pids) == size
    return pids


def test_a_second_burst_reuses_the_first_ones_connections(engine: Engine) -> None:
    first = _burst(engine, BURST)
    assert engine.pool.checkedin() == BURST  # kept, none closed as the burst ended
    assert _burst(engine, BURST) == first  # no new PostgreSQL session


def test_the_pool_opens_no_more_than_its_budget(engine: Engine) -> None:
    engine.pool._timeout = 0.2  # type: ignore[attr-defined]  # (it waits 30 s, not in a test)
    held = [engine.connect() for _ in range(PG_POOL_CONNECTIONS)]
    try:
        with pytest.raises(sa.exc.TimeoutError):
            engine.connect()
    finally:
        for conn in held:
            conn.close()
    assert engine.pool.checkedin() == PG_POOL_CONNECTIONS
