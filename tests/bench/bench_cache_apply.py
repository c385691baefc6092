"""Benchmark (b): apply 10,000 changes to the client cache, beside raw sqlite3.executemany.

Target: the cache within 2x of raw ``sqlite3.executemany`` of the same rows (same pragmas,
same table and index), rows and cursor committed in one transaction.

    uv run python -m tests.bench.bench_cache_apply
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from dispatchdesk.cache.store import CacheStore, incident_row
from dispatchdesk.protocol.convert import incident_to_wire
from tests.bench.common import NOW, incidents, report, timed

N = 10_000
RUNS = 7


def main() -> None:
    batch = [incident_to_wire(i) for i in incidents(N)]  # as the engine holds them
    rows = [incident_row(i) for i in batch]
    tmp = Path(tempfile.mkdtemp(prefix="dd-bench-"))
    store = CacheStore(tmp / "cache.sqlite3")
    cursor = iter(range(1, 10_000_000))

    def cache_apply() -> None:
        store.apply_rows(rows, (), next(cursor), NOW)

    def cache_apply_with_serialisation() -> None:
        store.apply_changes(batch, (), next(cursor), NOW)

    raw = sqlite3.connect(tmp / "raw.sqlite3", isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=NORMAL")
    raw.execute("PRAGMA secure_delete=ON")  # the cache zeroes freed pages too
    raw.execute(
        "CREATE TABLE incidents (id INTEGER PRIMARY KEY, version INTEGER, status TEXT,"
        " closed_ts REAL, data TEXT)"
    )
    raw.execute("CREATE INDEX ix_closed ON incidents (closed_ts)")  # the cache's index
    raw.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    tuples = [(r["id"], r["version"], r["status"], r["closed_ts"], r["data"]) for r in rows]

    def raw_apply() -> None:
        raw.execute("BEGIN")
        raw.executemany(
            "INSERT INTO incidents VALUES (?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET "
            "version=excluded.version, status=excluded.status, closed_ts=excluded.closed_ts, "
            "data=excluded.data",
            tuples,
        )
        raw.execute("INSERT OR REPLACE INTO meta VALUES ('cursor', ?)", (str(next(cursor)),))
        raw.execute("COMMIT")

    print(f"(b) applying {N:,} changes, {RUNS} runs each")
    raw_ms = report("raw sqlite3.executemany (limit reference)", timed(raw_apply, RUNS))
    cache_ms = report("CacheStore.apply_rows", timed(cache_apply, RUNS))
    full_ms = report(
        "CacheStore.apply_changes (+ encoding each row)",
        timed(cache_apply_with_serialisation, RUNS),
    )
    print(
        f"  cache / raw = {cache_ms / raw_ms:.2f}x (target <= 2x); "
        f"with encoding {full_ms / raw_ms:.2f}x"
    )
    store.close()


if __name__ == "__main__":
    main()
