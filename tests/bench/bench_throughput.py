"""Benchmark (issue 14): commands per second sustained, with a room of desks listening.

``dispatchdesk serve`` runs in its own process (``--workers`` on PostgreSQL) over a database of
2,000 open incidents and 400 units. Twenty writers (asyncio in this process, one keep-alive
HTTP connection each) each send commands on a fixed schedule, 25/s each for 500/s in all, in a
repeating mix: create an incident, edit the summary of the writer's own incident (If-Match),
assign one of the writer's units to the incident it created, edit again, the unit arrives, the
unit is cleared (half of the commands are unit commands, a sixth are creates). Fifty desks
(another process: raw HTTP event streams on asyncio, so 25,000 events/s of parsing do not hide
the server) stamp the arrival of every change by its seq.

For every (command, desk): the time from the writer having the command's reply (the commit is
done by then, so this is at most the commit-to-desk time) to the desk having its change; and
from the request being sent (at least the commit-to-desk time). A change missing at a desk, or
out of order, is counted. Achieved rate is commands answered per second of the run.

Beside it, in the same run: a bare insert loop on the same database server (one connection,
one INSERT and COMMIT per row; and 20 connections at once), the floor the database imposes.

And beside the real server, with ``--server bare`` (or ``--server real bare``, both in one
run): the same writers and desks against :mod:`tests.bench.bare_server`, the same stack
(uvicorn, FastAPI, pydantic, SQLAlchemy Core, SSE fan-out; LISTEN/NOTIFY across workers) doing
the least a command could do (a token looked up, a body validated, one INSERT and COMMIT, the
change's JSON encoded once and written to every stream): the ceiling of this machine and this
stack. The CPU a command costs is counted apart for the server (all its processes), the writers
(this process), the desks and the PostgreSQL backends: CPU per command holds when the shared
machine is busy, and their sum says how many commands/s the machine's cores could carry at all.

Target: 500 commands/s sustained on PostgreSQL, commit -> every desk p99 <= 100 ms, nothing
missed; the same figures on SQLite. The machine is shared: compare with the floor of the same
run.

    uv run python -m tests.bench.bench_throughput [--db sqlite pg] [--rate 500 [1000 ...]]
        [--seconds 20] [--writers 20] [--desks 50] [--runs 3] [--workers 2 [1 ...]]
        [--sqlite-workers 1 [2 ...]]
        [--server real [bare]] [--floor-seconds 3]
        [--pg postgresql+psycopg://postgres@127.0.0.1:55433/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import multiprocessing
import os
import shutil
import sqlite3
import statistics
import tempfile
import threading
import time
import uuid
from array import array
from dataclasses import dataclass, field
from multiprocessing.queues import Queue
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import httpx

from dispatchdesk.domain.roles import Role
from dispatchdesk.protocol import API_PREFIX
from dispatchdesk.server import add_user
from tests.bench import bare_server
from tests.bench.common import ServeProcess, fresh_pg_database, percentile, seed_server

PASSWORD = "bench-password"
TARGET_RATE = 500.0
TARGET_P99_MS = 100.0
GRACE = 15.0
INCIDENTS = 2000
UNITS = 400
LOCATION = {"address": "1 High Street", "postcode": "SW1A 1AA", "borough": "Westminster"}

# --- desks (their own process) ----------------------------------------------------------------


async def raw_desk(
    host: str, port: int, token: str, since: int, target: Synchronized[int], parse: bool
) -> tuple[array[int], array[float], dict[int, str]]:
    """One desk's event stream over a plain socket: (seqs, arrival times, seq -> key)."""
    seqs, times, keys = array("q"), array("d"), {}
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        f"GET {API_PREFIX}/events?since={since} HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    if b" 200 " not in head.split(b"\r\n", 1)[0]:
        raise RuntimeError(head.decode(errors="replace"))
    buf = b""
    deadline: float | None = None
    while True:
        if target.value and (seqs and seqs[-1] >= target.value):
            break
        if target.value and deadline is None:
            deadline = time.monotonic() + GRACE
        if deadline is not None and time.monotonic() > deadline:
            break
        try:
            size_line = await asyncio.wait_for(reader.readuntil(b"\r\n"), 1.0)
        except TimeoutError:
            continue
        size = int(size_line.strip(), 16)
        if size == 0:
            break
        buf += (await reader.readexactly(size + 2))[:-2]
        now = time.time()
        while (end := buf.find(b"\n\n")) >= 0:
            event, buf = buf[:end], buf[end + 2 :]
            if event.startswith(b"id: "):
                nl = event.index(b"\n")
                seq = int(event[4:nl])
                seqs.append(seq)
                times.append(now)
                if parse:
                    change = json.loads(event[event.index(b"data: ") + 6 :])
                    data = change["data"]
                    keys[seq] = f"{change['entity']}/{data.get('id')}/{data.get('version')}"
    writer.close()
    return seqs, times, keys


def desks_process(
    url: str,
    token: str,
    since: int,
    n: int,
    target: Synchronized[int],
    ready: Event,
    out: Queue[Any],
) -> None:
    host, port = url.removeprefix("http://").split(":")

    async def run() -> list[Any]:
        tasks = [
            asyncio.create_task(raw_desk(host, int(port), token, since, target, i == 0))
            for i in range(n)
        ]
        await asyncio.sleep(1.0)  # all connected (each stream answers ": connected" at once)
        ready.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    cpu = time.process_time()
    results = asyncio.run(run())
    out.put(
        (
            [
                r if isinstance(r, BaseException) else (r[0].tobytes(), r[1].tobytes(), r[2])
                for r in results
            ],
            time.process_time() - cpu,
        )
    )


# --- writers (this process) -------------------------------------------------------------------


class RawHttp:
    """One writer's keep-alive HTTP/1.1 connection on plain asyncio streams.

    The writers share the machine's two cores with the server, like the desks: httpx cost them
    ~2 ms of CPU a request (a fifth of all the CPU a command took), this a small part of it, so
    the rate measured is the server's and not the load generator's. Requests are sent as a
    client would (JSON body, Content-Length, the bearer token); the replies are read whole
    (Content-Length or chunked)."""

    def __init__(self, url: str, token: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        self.head = f"Host: {host}\r\nAuthorization: Bearer {token}\r\n"
        self._conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """(status, body) of one request to ``API_PREFIX + path``."""
        payload = b"" if body is None else json.dumps(body).encode()
        head = f"{method} {API_PREFIX}{path} HTTP/1.1\r\n{self.head}"
        head += f"Content-Length: {len(payload)}\r\n"
        if body is not None:
            head += "Content-Type: application/json\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        async with asyncio.timeout(60):
            if self._conn is None:
                self._conn = await asyncio.open_connection(self.host, self.port)
            reader, writer = self._conn
            writer.write(head.encode() + b"\r\n" + payload)
            return await self._reply(reader)

    async def _reply(self, reader: asyncio.StreamReader) -> tuple[int, bytes]:
        lines = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            fields[name.strip().lower()] = value.strip().lower()
        if fields.get(b"transfer-encoding") == b"chunked":
            data = b""
            while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
                data += (await reader.readexactly(size + 2))[:-2]
            await reader.readuntil(b"\r\n")
        else:
            data = await reader.readexactly(int(fields.get(b"content-length", b"0")))
        if fields.get(b"connection") == b"close":
            await self.aclose()
        return status, data

    async def aclose(self) -> None:
        if self._conn is not None:
            self._conn[1].close()
            self._conn = None


@dataclass
class Sent:
    key: str  # entity/id/version of the change that shows the command
    sent: float  # time.time()
    replied: float
    kind: str  # create, edit, assign, arrive, clear


@dataclass
class Writer:
    http: RawHttp
    units: list[int]
    own: int = 0  # the incident this writer edits
    own_version: int = 1
    busy: int | None = None  # a unit assigned and not yet cleared
    done: list[Sent] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: Every request sent (the run's commands, the setup's and the clean-up's): CPU a command
    #: is counted over all of them.
    requests: int = 0

    async def command(self, method: str, path: str, body: Any, **headers: str) -> Any:
        self.requests += 1
        sent = time.time()
        status, reply = await self.http.request(
            method, path, body, {"Idempotency-Key": uuid.uuid4().hex, **headers}
        )
        replied = time.time()
        if status not in (200, 201):
            self.errors.append(f"{method} {path}: {status} {reply[:200].decode(errors='replace')}")
            return None
        out = json.loads(reply)
        entity = "unit" if path.startswith("/units") else "incident"
        kind = path.rsplit("/", 1)[1] if entity == "unit" else method.lower()
        self.done.append(Sent(f"{entity}/{out['id']}/{out['version']}", sent, replied, kind))
        return out

    async def run(self, rate: float, seconds: float, start: float, index: int) -> None:
        n, k = 0, 0
        created = self.own
        while True:
            at = start + n / rate
            if at - start >= seconds or time.monotonic() - start >= seconds:
                return  # the schedule is over, or the run's time is (a slow server: fewer)
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            unit = self.units[k % len(self.units)]
            step = n % 6
            n += 1
            if step == 0:
                summary = f"Writer {index} call {n}: caller reports a disturbance"
                made = await self.command("POST", "/incidents", new_incident(summary))
                created = made["id"] if made else created
            elif step in (1, 3):
                edited = await self.command(
                    "PATCH",
                    f"/incidents/{self.own}",
                    {"summary": f"Writer {index} edit {n}"},
                    **{"If-Match": str(self.own_version)},
                )
                if edited:
                    self.own_version = edited["version"]
            elif step == 2:
                if await self.command("POST", f"/units/{unit}/assign", {"incident_id": created}):
                    self.busy = unit
            elif step == 4:
                await self.command("POST", f"/units/{unit}/arrive", None)
            else:
                await self.command("POST", f"/units/{unit}/clear", {})
                self.busy = None
                k += 1

    async def free_unit(self) -> None:
        """After the run (not counted): the unit of an unfinished cycle arrives and is cleared,
        so the next run finds every unit available."""
        if self.busy is not None:
            for action in ("arrive", "clear"):
                self.requests += 1
                await self.http.request(
                    "POST",
                    f"/units/{self.busy}/{action}",
                    {},
                    {"Idempotency-Key": uuid.uuid4().hex},
                )
            self.busy = None


def new_incident(summary: str) -> dict[str, Any]:
    return {"grade": "S", "type": "Burglary", "summary": summary, "location": LOCATION}


async def write(url: str, token: str, args: argparse.Namespace) -> tuple[list[Writer], float]:
    writers = []
    units = list(range(1, UNITS + 1))
    per = len(units) // args.writers
    for i in range(args.writers):
        w = Writer(RawHttp(url, token), units[i * per : (i + 1) * per])
        own = await w.command("POST", "/incidents", new_incident(f"Writer {i}'s own incident"))
        w.own, w.own_version, w.done = own["id"], own["version"], []
        writers.append(w)
    start = time.monotonic()
    rate = args.rate / args.writers
    await asyncio.gather(*(w.run(rate, args.seconds, start, i) for i, w in enumerate(writers)))
    elapsed = time.monotonic() - start
    for w in writers:
        await w.free_unit()
        await w.http.aclose()
    return writers, elapsed


# --- one run ----------------------------------------------------------------------------------


@dataclass
class RunResult:
    rate: float
    commands: int
    from_reply: list[float]
    from_send: list[float]
    missed: int
    disorder: int
    pairs: int
    errors: list[str]
    server_cores: float
    desk_cores: float
    #: Server CPU time (all its processes) per command sent in the run's window, in ms.
    server_cpu_ms: float
    #: CPU of the writers (this process) per command sent, in ms: the harness's own cost.
    writer_cpu_ms: float
    #: CPU of the desks' process per command sent (its changes delivered to all of them), ms.
    desk_cpu_ms: float
    #: CPU of the PostgreSQL backends serving the run per command, in ms (0 on SQLite).
    db_cpu_ms: float
    #: Median reply time per kind of command (ms).
    reply_ms: dict[str, float]
    #: The share of the machine's cores busy while the writers ran (every process on it).
    machine_busy: float = float("nan")
    #: PostgreSQL sessions started on the database while the writers ran (0 on SQLite).
    sessions_opened: int = 0


def cpu_seconds(pid: int, *, children: bool = True) -> float:
    """utime + stime of a process and its children (workers), from /proc."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    with contextlib.suppress(OSError):
        if children:
            pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def machine_cpu() -> tuple[int, int]:
    """(busy, all) jiffies of every core since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


def backend_cpu(db_url: str) -> tuple[dict[int, float], int]:
    """CPU seconds so far of each PostgreSQL backend on the database of ``db_url`` (read from
    /proc: the database server runs on this machine), and the sessions ever started on that
    database (this one included); empty and 0 on SQLite (it is in-process).

    A backend that ends within the run is not counted: the sessions started during the run say
    whether any did (a pool that closes and reopens connections)."""
    if not db_url.startswith("postgresql"):
        return {}, 0
    import sqlalchemy as sa

    engine = sa.create_engine(db_url, poolclass=sa.NullPool)
    with engine.connect() as conn:
        pids = conn.execute(
            sa.text(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalars()
        out = {pid: cpu_seconds(pid, children=False) for pid in pids}
        sessions = conn.execute(
            sa.text("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        ).scalar_one()
    engine.dispose()
    return out, int(sessions)


def one_run(srv: ServeProcess, args: argparse.Namespace, tokens: dict[str, str]) -> RunResult:
    headers = {"Authorization": f"Bearer {tokens['desk']}"}
    since = int(httpx.get(srv.url + API_PREFIX + "/snapshot", headers=headers).json()["cursor"])
    ctx = multiprocessing.get_context("spawn")
    target = ctx.Value("q", 0)
    ready = ctx.Event()
    out: Queue[Any] = ctx.Queue()
    proc = ctx.Process(
        target=desks_process, args=(srv.url, tokens["desk"], since, args.desks, target, ready, out)
    )
    proc.start()
    if not ready.wait(120):
        raise RuntimeError("the desks did not connect")
    assert srv.proc is not None
    db0, sessions0 = backend_cpu(srv.db_url)
    cpu0, wall0, own0 = cpu_seconds(srv.proc.pid), time.monotonic(), time.process_time()
    busy0, all0 = machine_cpu()
    writers, elapsed = asyncio.run(write(srv.url, tokens["sup"], args))
    busy1, all1 = machine_cpu()
    server_cpu = cpu_seconds(srv.proc.pid) - cpu0
    writer_cpu = time.process_time() - own0
    db1, sessions1 = backend_cpu(srv.db_url)
    db_cpu = sum(cpu - db0.get(pid, 0.0) for pid, cpu in db1.items())
    server_cores = server_cpu / (time.monotonic() - wall0)
    requests = max(1, sum(w.requests for w in writers))
    head = int(httpx.get(srv.url + API_PREFIX + "/snapshot", headers=headers).json()["cursor"])
    target.value = head
    results, desk_cpu = out.get(timeout=GRACE + 120)
    proc.join()
    errors = [e for w in writers for e in w.errors]
    stamps: list[tuple[array[int], array[float]]] = []
    keys: dict[str, int] = {}
    for r in results:
        if isinstance(r, BaseException):
            errors.append(f"desk: {r!r}")
            continue
        seqs, times = array("q"), array("d")
        seqs.frombytes(r[0])
        times.frombytes(r[1])
        stamps.append((seqs, times))
        keys.update({key: seq for seq, key in r[2].items()})
    expected = set(range(since + 1, head + 1))
    missed = sum(len(expected - set(seqs)) for seqs, _t in stamps) + len(expected) * (
        args.desks - len(stamps)
    )
    disorder = sum(1 for seqs, _t in stamps for a, b in itertools.pairwise(seqs) if b <= a)
    at = [dict(zip(seqs, times, strict=True)) for seqs, times in stamps]
    from_reply, from_send = [], []
    sent = [s for w in writers for s in w.done]
    for s in sent:
        seq = keys.get(s.key)
        for arrived in at:
            got = arrived.get(seq) if seq is not None else None
            if got is not None:
                from_reply.append((got - s.replied) * 1000)
                from_send.append((got - s.sent) * 1000)
    return RunResult(
        rate=len(sent) / elapsed,
        commands=len(sent),
        from_reply=from_reply,
        from_send=from_send,
        missed=missed,
        disorder=disorder,
        pairs=len(sent) * args.desks,
        errors=errors,
        server_cores=server_cores,
        desk_cores=desk_cpu / (time.monotonic() - wall0),
        server_cpu_ms=server_cpu * 1000 / requests,
        writer_cpu_ms=writer_cpu * 1000 / requests,
        desk_cpu_ms=desk_cpu * 1000 / requests,
        db_cpu_ms=db_cpu * 1000 / requests,
        machine_busy=(busy1 - busy0) / max(1, all1 - all0),
        # less this process's second look (its own session)
        sessions_opened=max(0, sessions1 - sessions0 - 1),
        reply_ms={
            kind: statistics.median((s.replied - s.sent) * 1000 for s in sent if s.kind == kind)
            for kind in sorted({s.kind for s in sent})
        },
    )


# --- the floor --------------------------------------------------------------------------------


def floor_pg(url: str, seconds: float, threads: int) -> float:
    """Rows/s of a bare INSERT + COMMIT loop on ``threads`` connections."""
    import psycopg
    import sqlalchemy as sa

    dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_floor")
        conn.execute("CREATE TABLE bench_floor (id serial PRIMARY KEY, body text, at timestamp)")
    counts = [0] * threads
    stop = time.monotonic() + seconds

    def loop(i: int) -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            while time.monotonic() < stop:
                conn.execute("INSERT INTO bench_floor (body, at) VALUES (%s, now())", ("x" * 200,))
                counts[i] += 1

    ts = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sum(counts) / seconds


def floor_sqlite(path: Path, seconds: float) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE IF NOT EXISTS bench_floor (id INTEGER PRIMARY KEY, body, at)")
    n, stop = 0, time.monotonic() + seconds
    while time.monotonic() < stop:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO bench_floor (body, at) VALUES (?, ?)", ("x" * 200, time.time()))
        conn.execute("COMMIT")
        n += 1
    conn.close()
    return n / seconds


# --- main -------------------------------------------------------------------------------------


def pct(samples: list[float], p: float) -> float:
    return percentile(samples, p) if samples else float("nan")


@dataclass
class Summary:
    """The medians of one (database, server, workers, rate)'s runs, for the closing table."""

    db: str
    server: str
    workers: int
    asked: float
    rate: float
    p50: float
    p99: float
    missed: int
    disorder: int
    server_cores: float
    server_cpu_ms: float
    writer_cpu_ms: float
    desk_cpu_ms: float
    db_cpu_ms: float
    machine_busy: float

    @property
    def total_cpu_ms(self) -> float:
        """All the machine's CPU a command costs in this bench (the run's own processes)."""
        return self.server_cpu_ms + self.writer_cpu_ms + self.desk_cpu_ms + self.db_cpu_ms


def prepare_db(kind: str, server: str, args: argparse.Namespace, tmp: Path) -> str:
    """A fresh database for ``server``: the real one seeded, the bare one empty."""
    if kind == "pg":
        name = "dd_bench_throughput" if server == "real" else "dd_bench_bare"
        db = fresh_pg_database(args.pg, name)
    else:
        path = tmp / ("server.db" if server == "real" else "bare.db")
        for old in tmp.glob(path.name + "*"):
            old.unlink()
        db = f"sqlite:///{path}"
    if server == "real":
        seed_server(db, args.incidents, UNITS)
        add_user(db, "desk", Role.DISPATCHER, PASSWORD)
        add_user(db, "sup", Role.SUPERVISOR, PASSWORD)
    return db


def bench_server(
    kind: str, server: str, workers: int, args: argparse.Namespace, tmp: Path
) -> list[Summary]:
    """Start ``server`` (``real``: ``dispatchdesk serve``; ``bare``: :mod:`bare_server`) once
    on a fresh database and run the writers and desks at each asked rate against it."""
    t = time.perf_counter()
    db = prepare_db(kind, server, args, tmp)
    name = "PostgreSQL" if kind == "pg" else "SQLite"
    if server == "real":
        what = (
            f"{args.incidents:,} open incidents, {UNITS} units (seeded in "
            f"{time.perf_counter() - t:.0f} s); serve --workers {workers}"
        )
        process: ServeProcess = ServeProcess(db, workers=workers)
        password = PASSWORD
    else:
        what = f"BARE server (tests/bench/bare_server.py), an empty log; --workers {workers}"
        process = bare_server.BareServeProcess(db, workers=workers)
        password = bare_server.PASSWORD
    rates = ", ".join(f"{rate:g}" for rate in args.rate)
    print(
        f"\n{name}: {what}; {args.writers} writers at {rates} commands/s in all for "
        f"{args.seconds:g} s; {args.desks} desks; {args.runs} runs",
        flush=True,
    )
    summaries = []
    with process as srv:
        tokens = {}
        for user in ("desk", "sup"):
            r = httpx.post(
                srv.url + API_PREFIX + "/auth/token",
                json={"username": user, "password": password},
            )
            tokens[user] = r.json()["access_token"]
        for rate in args.rate:
            at_rate = argparse.Namespace(**{**vars(args), "rate": rate})
            label = name if server == "real" else f"{name} BARE"
            summary = bench_rate(kind, label, db, srv, at_rate, tokens, tmp)
            summaries.append(Summary(name, server, workers, rate, *summary))
    return summaries


def bench_rate(
    kind: str,
    name: str,
    db: str,
    srv: ServeProcess,
    args: argparse.Namespace,
    tokens: dict[str, str],
    tmp: Path,
) -> tuple[float, float, float, int, int, float, float, float, float, float, float]:
    """``args.runs`` runs at ``args.rate``, each printed, then their medians (printed and
    returned: rate, p50, p99, missed, out of order, server cores, the CPU ms a command
    of the server, the writers, the desks and the PostgreSQL backends, and the share of the
    machine busy)."""
    runs: list[RunResult] = []
    floors: list[tuple[float, float]] = []
    for run in range(args.runs):
        result = one_run(srv, args, tokens)
        runs.append(result)
        if args.floor_seconds <= 0:
            floor = (float("nan"), float("nan"))
        elif kind == "pg":
            floor = (
                floor_pg(db, args.floor_seconds, 1),
                floor_pg(db, args.floor_seconds, args.writers),
            )
        else:
            floor = (floor_sqlite(tmp / "floor.db", args.floor_seconds), float("nan"))
        floors.append(floor)
        print(
            f"  run {run + 1}: {result.rate:6.0f} commands/s ({result.commands}); reply -> "
            f"desk p50 {pct(result.from_reply, 50):.0f} ms, p99 "
            f"{pct(result.from_reply, 99):.0f} ms; send -> desk p99 "
            f"{pct(result.from_send, 99):.0f} ms; missed {result.missed}, out of order "
            f"{result.disorder}, errors {len(result.errors)}; server "
            f"{result.server_cores:.2f} cores ({result.server_cpu_ms:.1f} ms CPU a command), "
            f"desks {result.desk_cores:.2f} cores ({result.desk_cpu_ms:.1f} ms), writers "
            f"{result.writer_cpu_ms:.1f} ms, database {result.db_cpu_ms:.1f} ms CPU a command"
            + (f" ({result.sessions_opened} sessions opened)" if kind == "pg" else "")
            + f"; machine {100 * result.machine_busy:.0f}% busy; "
            f"floor {floor[0]:.0f} rows/s (1 conn), {floor[1]:.0f} rows/s "
            f"({args.writers} conns)",
            flush=True,
        )
        replies = ", ".join(f"{k} {v:.0f}" for k, v in result.reply_ms.items())
        print(f"    median reply time by command (ms): {replies}", flush=True)
        for error in result.errors[:3]:
            print(f"    {error}")

    def med(values: list[float]) -> float:
        return statistics.median(values)

    rate = med([r.rate for r in runs])
    p50 = med([pct(r.from_reply, 50) for r in runs])
    p99 = med([pct(r.from_reply, 99) for r in runs])
    missed = sum(r.missed for r in runs)
    disorder = sum(r.disorder for r in runs)
    cores = med([r.server_cores for r in runs])
    cpu_ms = med([r.server_cpu_ms for r in runs])
    sustained = rate >= 0.98 * args.rate
    verdict = "meets" if sustained and p99 <= TARGET_P99_MS and missed == 0 else "MISSES"
    print(
        f"  {name} median of {len(runs)}: {rate:.0f} commands/s (asked {args.rate:g}), "
        f"reply -> desk p50 {p50:.0f} ms, p99 "
        f"{p99:.0f} ms (send -> desk p99 {med([pct(r.from_send, 99) for r in runs]):.0f} ms) "
        f"over {med([len(r.from_reply) for r in runs]):.0f} (command, desk) pairs a run; "
        f"missed {missed}, out of order {disorder}; server {cores:.2f} cores, "
        f"{cpu_ms:.1f} ms CPU a command; floor "
        f"{med([f[0] for f in floors]):.0f} rows/s on 1 connection"
        + (f", {med([f[1] for f in floors]):.0f} on {args.writers}" if kind == "pg" else "")
        + f"  [{verdict} {args.rate:g}/s, p99 <= {TARGET_P99_MS:g} ms, none missed]",
        flush=True,
    )
    writer_ms = med([r.writer_cpu_ms for r in runs])
    desk_ms = med([r.desk_cpu_ms for r in runs])
    db_ms = med([r.db_cpu_ms for r in runs])
    busy = med([r.machine_busy for r in runs])
    return rate, p50, p99, missed, disorder, cores, cpu_ms, writer_ms, desk_ms, db_ms, busy


def print_table(summaries: list[Summary], runs: int) -> None:
    print(
        f"\nAll (median of {runs} runs each; reply -> desk ms; server cores and CPU ms a "
        "command of the server (all its processes), the writers, the desks, the PostgreSQL "
        "backends and in all; the share of the whole machine busy, every process on it):"
    )
    print(
        "  database    server workers  asked  achieved  p50 ms  p99 ms  missed  disorder"
        "  cores  server  writers  desks     db  total  machine"
    )
    for s in summaries:
        print(
            f"  {s.db:<11} {s.server:<6} {s.workers:>7} {s.asked:>6g} {s.rate:>9.0f} "
            f"{s.p50:>7.0f} {s.p99:>7.0f} {s.missed:>7} {s.disorder:>9} {s.server_cores:>6.2f}"
            f" {s.server_cpu_ms:>7.2f} {s.writer_cpu_ms:>8.2f} {s.desk_cpu_ms:>6.2f}"
            f" {s.db_cpu_ms:>6.2f} {s.total_cpu_ms:>6.2f} {100 * s.machine_busy:>7.0f}%"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", nargs="+", choices=["sqlite", "pg"], default=["pg", "sqlite"])
    parser.add_argument("--pg", metavar="URL", default=os.environ.get("DISPATCHDESK_TEST_PG_URL"))
    parser.add_argument("--rate", type=float, nargs="+", default=[TARGET_RATE])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--writers", type=int, default=20)
    parser.add_argument("--desks", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[2], help="serve --workers on PostgreSQL"
    )
    parser.add_argument(
        "--sqlite-workers",
        type=int,
        nargs="+",
        default=[1],
        help="serve --workers on SQLite (one file, processes taking turns to write)",
    )
    parser.add_argument(
        "--server",
        nargs="+",
        choices=["real", "bare"],
        default=["real"],
        help="real: dispatchdesk serve; bare: tests/bench/bare_server.py, the stack's ceiling",
    )
    parser.add_argument(
        "--floor-seconds",
        type=float,
        default=3.0,
        help="length of each bare insert loop after a run (0: none)",
    )
    parser.add_argument("--incidents", type=int, default=INCIDENTS)
    args = parser.parse_args()
    if "pg" in args.db and not args.pg:
        parser.error("--pg URL (or DISPATCHDESK_TEST_PG_URL) is needed for --db pg")
    tmp = Path(tempfile.mkdtemp(prefix="dd-bench-throughput-"))
    summaries: list[Summary] = []
    try:
        for kind in args.db:
            for server in args.server:
                counts = args.workers if kind == "pg" else args.sqlite_workers
                if kind == "sqlite" and server == "bare":
                    counts = [1]  # the bare server fans out across workers by NOTIFY only
                for workers in dict.fromkeys(counts):
                    summaries += bench_server(kind, server, workers, args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print_table(summaries, args.runs)


if __name__ == "__main__":
    main()
