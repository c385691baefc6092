"""Benchmark: an incident's history (its location and three people) over N closed incidents,
beside a raw indexed query in the same run.

N closed incidents (default 200,000) created over the last six and a half years at made-up
London addresses (the warnings benchmark's streets: houses, blocks and their flats with UPRNs,
parent UPRNs and USRNs; one address in five typed without UPRN or USRN, some with a typo in
the street), about twelve incidents per address; each with a caller and up to three people
named, drawn from a population of 0.4·N (so a person appears some six times), with roles.
They are written straight into the server's tables (PostgreSQL: COPY; SQLite: executemany in
one transaction) with their search keys, the secondary indexes built after the load (the time
is printed), then ANALYZE.

Each run asks the server's own service (``History.incident_history``: candidates by index,
the warnings' matchers, the entries built, the audit row written, the answer serialised to
JSON) for the history of ``--lookups`` incidents that have three people (caller and two
named), three in ten at an address typed without UPRN. Beside it, in the same run, the raw
query: one SQL statement of the same index reads (UPRN, parent UPRN, USRN + house, each
person's name + date of birth; ids only, no free text, no near names, nothing built).
Target: p99 <= 50 ms (PostgreSQL at 5,000,000, SQLite at 500,000).

    uv run python -m tests.bench.bench_history [--rows N] [--runs R] [--lookups L]
        [--pg URL]            # PostgreSQL: a database bench_history is (re)made there
        [--reuse]             # keep the database of an earlier run with the same --rows
        [--copy-rows M]       # PostgreSQL: COPY M generated incidents, grow to N in SQL

Without ``--pg`` it runs on SQLite in the temporary directory.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from dispatchdesk.domain.clock import FakeClock
from dispatchdesk.domain.history import years_before
from dispatchdesk.domain.roles import Role
from dispatchdesk.server.auth import User
from dispatchdesk.server.db import incidents, is_postgres, make_engine, metadata
from dispatchdesk.server.features.history.keys import place_row
from dispatchdesk.server.features.history.tables import (
    history_keys_state,
    incident_people,
    incident_places,
)
from dispatchdesk.server.services import Services
from dispatchdesk.server.settings import ServerSettings
from dispatchdesk.server.simulation.london import BOROUGHS
from tests.bench.bench_warnings import _FIRST, _SURNAMES, _is_block, _place, _streets, _typo
from tests.bench.common import NOW, percentile

ROLES = ("VICTIM", "SUSPECT", "WITNESS", "OTHER")
TYPES = ("Domestic", "Assault", "ASB", "Burglary", "Concern for welfare", "Theft", "Harassment")
SPAN = timedelta(days=int(6.5 * 365))
TABLES = (incidents, incident_places, incident_people)
BOROUGH_NAMES = tuple(BOROUGHS)


@dataclass
class Population:
    """Addresses (location JSON and key columns) and people (name, dob, key name)."""

    places: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    people: list[tuple[str, date | None, str]] = field(default_factory=list)


def population(rows: int, rng: random.Random) -> Population:
    from dispatchdesk.domain.warnings import normalise_name

    streets = _streets(rng)
    pop = Population()
    for _ in range(max(rows // 12, 1000)):
        street = rng.choice(streets)
        number = rng.randint(1, 200)
        flat = rng.randint(1, 24) if _is_block(street, number) else None
        m = _place(street, number, flat)
        loc: dict[str, Any] = {
            "address": m.address,
            "postcode": m.postcode,
            "borough": rng.choice(BOROUGH_NAMES),
            "uprn": m.uprn,
            "parent_uprn": m.parent_uprn,
            "usrn": m.usrn,
            "lat": None,
            "lon": None,
        }
        if rng.random() < 0.2:  # typed by the call handler: no UPRN, now and then a typo
            loc.update(uprn=None, parent_uprn=None, usrn=None)
            if m.address[0].isdigit() and rng.random() < 0.2:
                number_part, _, rest = m.address.partition(" ")
                loc["address"] = f"{number_part} {_typo(rng, rest)}"
        keys = place_row(0, NOW, loc)
        del keys["incident_id"], keys["created_at"]
        pop.places.append((json.dumps(loc), keys))
    for _ in range(max(rows * 2 // 5, 1000)):
        middle = f" {rng.choice(_FIRST)}" if rng.random() < 0.9 else ""
        name = f"{rng.choice(_FIRST)}{middle} {rng.choice(_SURNAMES)}"
        dob = (
            None
            if rng.random() < 0.05
            else date(1950, 1, 1) + timedelta(days=rng.randrange(58 * 365))
        )
        pop.people.append((name, dob, normalise_name(name)))
    return pop


@dataclass
class Generated:
    incidents: list[tuple[Any, ...]]
    places: list[tuple[Any, ...]]
    people: list[tuple[Any, ...]]


def generate(
    pop: Population, first: int, count: int, rng: random.Random, queryable: list[int]
) -> Generated:
    """Incidents ``first`` .. ``first + count - 1`` as rows of the three tables."""
    inc, places, people = [], [], []
    for i in range(first, first + count):
        created = NOW - timedelta(seconds=rng.uniform(0, SPAN.total_seconds()))
        closed = created + timedelta(minutes=rng.uniform(30, 360))
        loc, keys = rng.choice(pop.places)
        chosen = [rng.choice(pop.people) for _ in range(1 + rng.choice((0, 1, 2, 2, 3)))]
        caller_name, caller_dob, caller_norm = chosen[0]
        caller_role = rng.choice(("INFORMANT", "VICTIM"))
        caller = {
            "name": caller_name,
            "phone": "07700 900123",
            "anonymous": False,
            "dob": caller_dob and caller_dob.isoformat(),
            "role": caller_role,
        }
        named = [(p, rng.choice(ROLES)) for p in chosen[1:]]
        persons = [{"name": n, "dob": d and d.isoformat(), "role": r} for (n, d, _), r in named]
        grade = rng.choice("ISER")
        inc.append(
            (
                i,
                f"HIST {i:07d}",
                1,
                grade,
                grade,
                "CLOSED",
                created,
                created + timedelta(hours=1),
                rng.choice(TYPES),
                "Caller reports an argument next door, shouting and banging",
                loc,
                json.dumps(caller),
                json.dumps(persons),
                created + timedelta(minutes=20),
                closed,
                closed,
                f"Attended, parties spoken to, report {i} raised",
                rng.random() < 0.1,
            )
        )
        places.append((i, created, *keys.values()))
        people.append((i, created, caller_norm, caller_dob, caller_role, True))
        people += [(i, created, norm, d, r, False) for (_, d, norm), r in named]
        if len(named) == 2:
            queryable.append(i)
    return Generated(inc, places, people)


INCIDENT_COLS = (
    "id",
    "ref",
    "version",
    "grade",
    "original_grade",
    "status",
    "created_at",
    "deadline",
    "type",
    "summary",
    "location",
    "caller",
    "persons",
    "attended_at",
    "closed_at",
    "updated_at",
    "rationale",
    "weapons",
)
PLACE_COLS = (
    "incident_id",
    "created_at",
    "uprn",
    "parent_uprn",
    "usrn",
    "house",
    "street",
    "street_rev",
    "postcode",
)
PEOPLE_COLS = ("incident_id", "created_at", "name_norm", "dob", "role", "caller")


def _naive(v: Any) -> Any:
    return v.astimezone(UTC).replace(tzinfo=None) if isinstance(v, datetime) else v


def _drop_indexes(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        for table in TABLES:
            for ix in table.indexes:
                conn.exec_driver_sql(f"DROP INDEX IF EXISTS {ix.name}")


def _create_indexes(engine: sa.Engine) -> float:
    start = time.perf_counter()
    with engine.begin() as conn:
        if is_postgres(engine):  # sort in memory, as a one-off build would be given
            conn.exec_driver_sql("SET maintenance_work_mem = '512MB'")
        for table in TABLES:
            for ix in table.indexes:
                ix.create(conn, checkfirst=True)
        conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - start


_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(v: Any) -> str:
    """One value in COPY's text format."""
    if v is None:
        return "\\N"
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, datetime):
        return v.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    if isinstance(v, str):
        return v.translate(_ESCAPE)
    return str(v)


def _load_pg(engine: sa.Engine, chunks: Iterator[Generated]) -> None:
    """COPY in text format, a block of lines at a time."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for g in chunks:
            for table, cols, rows in (
                ("incidents", INCIDENT_COLS, g.incidents),
                ("incident_places", PLACE_COLS, g.places),
                ("incident_people", PEOPLE_COLS, g.people),
            ):
                text = "".join(
                    "\t".join([_copy_text(v) for v in row]) + "\n" for row in rows
                ).encode()
                with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                    copy.write(text)
            raw.commit()
        cur.execute("SELECT setval('incidents_id_seq', (SELECT max(id) FROM incidents))")
        raw.commit()
    finally:
        raw.close()


def _sqlite_value(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, date):
        return v.isoformat()
    return v


def _load_sqlite(path: str, chunks: Iterator[Generated]) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    for g in chunks:
        for table, cols, rows in (
            ("incidents", INCIDENT_COLS, g.incidents),
            ("incident_places", PLACE_COLS, g.places),
            ("incident_people", PEOPLE_COLS, g.people),
        ):
            marks = ", ".join("?" for _ in cols)
            db.executemany(
                f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})",
                ([_sqlite_value(v) for v in row] for row in rows),
            )
        db.commit()
    db.close()


def replicate(engine: sa.Engine, loaded: int, rows: int) -> None:
    """PostgreSQL: grow ``loaded`` incidents to ``rows`` by copying them in SQL, each copy's
    search keys made another place's and other people's (UPRN, USRN and postcode changed,
    house and names marked), so the tables and indexes hold ``rows`` incidents while every
    answer stays the size the COPY-loaded population gives (about 30 incidents)."""
    cols = ", ".join(INCIDENT_COLS[2:])
    with engine.begin() as conn:
        for k in range(1, -(-rows // loaded)):
            off = k * loaded
            top = min(loaded, rows - off)
            conn.exec_driver_sql(
                f"INSERT INTO incidents (id, ref, {cols}) SELECT id + {off}, "
                f"'HIST ' || lpad((id + {off})::text, 7, '0'), {cols} FROM incidents "
                f"WHERE id <= {top}"
            )
            conn.exec_driver_sql(
                f"INSERT INTO incident_places ({', '.join(PLACE_COLS)}) SELECT "
                f"incident_id + {off}, created_at, {k + 1} || substr(uprn, 2), "
                f"{k + 1} || substr(parent_uprn, 2), {k + 4} || substr(usrn, 2), "
                f"house || '-{k}', street, street_rev, postcode || '{k}' "
                f"FROM incident_places WHERE incident_id <= {top}"
            )
            conn.exec_driver_sql(
                f"INSERT INTO incident_people ({', '.join(PEOPLE_COLS)}) SELECT "
                f"incident_id + {off}, created_at, name_norm || ' x{k}', dob, role, caller "
                f"FROM incident_people WHERE incident_id <= {top}"
            )
            print(f"    {off + top:,} incidents (copy {k} in SQL)", flush=True)
        conn.exec_driver_sql("SELECT setval('incidents_id_seq', (SELECT max(id) FROM incidents))")


def finish(engine: sa.Engine, rows: int) -> float:
    """Indexes, ANALYZE, the keys marked complete; the build's seconds."""
    built = _create_indexes(engine)
    with engine.begin() as conn:
        conn.execute(history_keys_state.delete())
        conn.execute(history_keys_state.insert().values(id=1, checked_through=rows))
    return built


def build(url: str, rows: int, copy_rows: int, seed: int) -> tuple[list[int], float, float]:
    """(incidents to ask about, load seconds, index build seconds). ``copy_rows`` are
    generated and loaded (COPY on PostgreSQL); on PostgreSQL the rest up to ``rows`` are
    copies made in SQL (:func:`replicate`)."""
    engine = make_engine(url)
    metadata.create_all(engine)
    _drop_indexes(engine)
    rng = random.Random(seed)
    generated = min(copy_rows, rows) if is_postgres(engine) else rows
    pop = population(generated, rng)
    queryable: list[int] = []

    def chunks() -> Iterator[Generated]:
        step = 50_000
        for first in range(1, generated + 1, step):
            yield generate(pop, first, min(step, generated + 1 - first), rng, queryable)
            print(f"    {min(first + step - 1, generated):,} incidents written", flush=True)

    start = time.perf_counter()
    if is_postgres(engine):
        _load_pg(engine, chunks())
        if rows > generated:
            replicate(engine, generated, rows)
    else:
        _load_sqlite(str(engine.url.database), chunks())
    loaded = time.perf_counter() - start
    built = finish(engine, rows)
    engine.dispose()
    return queryable, loaded, built


def size_text(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        if is_postgres(engine):
            total = conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar()
            parts = []
            for t in ("incidents", "incident_places", "incident_people"):
                tab = conn.exec_driver_sql(f"SELECT pg_table_size('{t}')").scalar()
                idx = conn.exec_driver_sql(f"SELECT pg_indexes_size('{t}')").scalar()
                parts.append(f"{t} {tab / 2**20:,.0f} MB + indexes {idx / 2**20:,.0f} MB")
            return f"database {int(total or 0) / 2**20:,.0f} MB ({'; '.join(parts)})"
    path = str(engine.url.database)
    return f"database file {os.path.getsize(path) / 2**20:,.0f} MB"


def raw_reference(engine: sa.Engine, since: datetime) -> Callable[[int], int]:
    """The same index reads as one SQL statement, ids only."""
    pg = is_postgres(engine)
    raw = engine.raw_connection()
    if pg:
        raw.driver_connection.autocommit = True  # type: ignore[union-attr]
    cur = raw.cursor()
    mark = "%s" if pg else "?"
    since_v: Any = _naive(since) if pg else _sqlite_value(since)
    sub = (
        f"SELECT * FROM (SELECT incident_id FROM incident_places WHERE {{}} AND created_at >= "
        f"{mark} ORDER BY created_at DESC LIMIT 201) s{{}}"
    )
    people = (
        f"SELECT * FROM (SELECT incident_id FROM incident_people WHERE name_norm = {mark} AND "
        f"(dob = {mark} OR dob IS NULL) AND created_at >= {mark} ORDER BY created_at DESC "
        f"LIMIT 201) p{{}}"
    )

    def lookup(incident_id: int) -> int:
        cur.execute(
            "SELECT uprn, parent_uprn, usrn, house FROM incident_places "
            f"WHERE incident_id = {mark}",
            (incident_id,),
        )
        uprn, parent, usrn, house = cur.fetchone()
        cur.execute(
            f"SELECT name_norm, dob FROM incident_people WHERE incident_id = {mark}", (incident_id,)
        )
        persons = cur.fetchall()
        parts: list[str] = []
        args: list[Any] = []
        for where, values in (
            (f"uprn = {mark}", (uprn,)),
            (f"parent_uprn = {mark}", (uprn,)),
            (f"uprn = {mark}", (parent,)),
            (f"parent_uprn = {mark}", (parent,)),
            (f"usrn = {mark} AND house = {mark}", (usrn, house)),
        ):
            if all(values):
                parts.append(sub.format(where, len(parts)))
                args += [*values, since_v]
        for norm, dob in persons:
            parts.append(people.format(len(parts)))
            args += [norm, dob, since_v]
        cur.execute(" UNION ".join(parts), args)
        return len(cur.fetchall())

    return lookup


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--lookups", type=int, default=200)
    ap.add_argument("--pg", metavar="URL", help="a PostgreSQL server (its postgres database)")
    ap.add_argument("--reuse", action="store_true", help="keep an earlier run's database")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--copy-rows",
        type=int,
        default=None,
        help="PostgreSQL: generate and COPY this many, then grow to --rows by copies in SQL",
    )
    args = ap.parse_args()

    if args.pg:
        admin = sa.create_engine(args.pg, isolation_level="AUTOCOMMIT")
        name = f"bench_history_{args.rows}"
        with admin.connect() as conn:
            exists = conn.exec_driver_sql(
                f"SELECT 1 FROM pg_database WHERE datname = '{name}'"
            ).scalar()
            if exists and not args.reuse:
                conn.exec_driver_sql(f"DROP DATABASE {name}")
            if not exists or not args.reuse:
                conn.exec_driver_sql(f"CREATE DATABASE {name}")
        admin.dispose()
        url = sa.make_url(args.pg).set(database=name).render_as_string(hide_password=False)
        where = f"PostgreSQL ({name})"
    else:
        path = Path(tempfile.gettempdir()) / f"bench_history_{args.rows}.db"
        if path.exists() and not args.reuse:
            path.unlink()
        url = f"sqlite:///{path}"
        where = f"SQLite ({path})"
    engine = make_engine(url)
    fresh = not sa.inspect(engine).has_table("incident_places")
    if not fresh:
        with engine.connect() as conn:
            fresh = not conn.execute(
                sa.select(sa.func.count()).select_from(history_keys_state)
            ).scalar()
    print(f"History of an incident over {args.rows:,} closed incidents, {where}")
    if fresh:
        queryable, loaded, built = build(url, args.rows, args.copy_rows or args.rows, args.seed)
        print(f"  load {loaded:,.1f} s; secondary indexes built in {built:,.1f} s (+ ANALYZE)")
    else:
        with engine.connect() as conn:
            queryable = [
                int(r[0])
                for r in conn.exec_driver_sql(
                    "SELECT incident_id FROM incident_people WHERE caller = false "
                    "AND incident_id <= 200000 "
                    "GROUP BY incident_id HAVING count(*) = 2 LIMIT 100000"
                    if is_postgres(engine)
                    else "SELECT incident_id FROM incident_people WHERE caller = 0 "
                    "AND incident_id <= 200000 "
                    "GROUP BY incident_id HAVING count(*) = 2 LIMIT 100000"
                ).all()
            ]
        print("  (database reused from an earlier run)")
    print(f"  {size_text(engine)}")

    clock = FakeClock(NOW)
    settings = ServerSettings(db_url=url, clock=clock)
    services = Services.open(engine, settings, lambda: None)
    history = services.history
    user = User("bench", Role.CALL_HANDLER)
    since = years_before(NOW, settings.history_years)
    raw = raw_reference(make_engine(url), since)  # its own connection, outside the pool
    rng = random.Random(args.seed + 1)
    # three in ten at an address typed without UPRN
    with engine.connect() as conn:
        typed = set(
            conn.execute(
                sa.select(incident_places.c.incident_id).where(
                    incident_places.c.uprn.is_(None),
                    incident_places.c.incident_id.in_(queryable[:20_000]),
                )
            ).scalars()
        )
    with_uprn = [i for i in queryable[:20_000] if i not in typed]
    typed_l = sorted(typed)

    p99s, raw_p99s, sizes = [], [], []
    for run in range(1, args.runs + 1):
        asked = [
            rng.choice(typed_l) if typed_l and rng.random() < 0.3 else rng.choice(with_uprn)
            for _ in range(args.lookups)
        ]
        times, raw_times, cpu = [], [], []
        for incident_id in asked:
            start, start_cpu = time.perf_counter(), time.process_time()
            page = history.incident_history(user, incident_id)
            page.model_dump_json()
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
            sizes.append(len(page.incidents))
            start = time.perf_counter()
            raw(incident_id)
            raw_times.append((time.perf_counter() - start) * 1000)
        p99s.append(percentile(times, 99))
        raw_p99s.append(percentile(raw_times, 99))
        print(
            f"  run {run}: history p50 {percentile(times, 50):6.2f} ms, p99 {p99s[-1]:6.2f} ms, "
            f"max {max(times):6.2f} ms (this process's CPU p50 {percentile(cpu, 50):5.2f} ms)"
            f"   | raw indexed query p50 "
            f"{percentile(raw_times, 50):5.2f} ms, p99 {raw_p99s[-1]:5.2f} ms"
        )
    print(f"  load average during the runs: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(
        f"  median of runs: history p99 {statistics.median(p99s):.2f} ms (target <= 50 ms), "
        f"raw indexed query p99 {statistics.median(raw_p99s):.2f} ms; "
        f"{statistics.mean(sizes):.1f} incidents per answer (max {max(sizes)})"
    )
    engine.dispose()


if __name__ == "__main__":
    main()
