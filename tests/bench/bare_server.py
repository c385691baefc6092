"""A bare server on Dispatch Desk's stack: the ceiling the stack allows, beside ``serve``.

Issue 14 asks for 500 commands/s with fifty desks listening. ``bench_throughput --server bare``
points the same writers and desks at this server instead of ``dispatchdesk serve``, so the run
shows what this machine and this stack can do at all, doing the least a command could do.

The same stack, run the same way: uvicorn (same configuration, same worker count; the workers
share one listening socket made with ``IPPROTO_TCP`` as ``serve`` makes it), FastAPI routes
declared as plain functions (so a command runs on the thread pool), a pydantic body, SQLAlchemy
Core with the same drivers (sqlite3 in WAL; psycopg), and Server-Sent Events in the format the
desks read (``id: SEQ / event: change / data: CHANGE``, chunked). The same paths and shapes the
writers send: ``POST /incidents``, ``PATCH /incidents/{id}``, ``POST /units/{id}/{action}``,
``GET /snapshot`` (the cursor only), ``GET /events``, ``POST /auth/token``.

What one command does here, and nothing more:

- the bearer token is checked against a dict in memory (a FastAPI dependency);
- the body is validated by a small pydantic model;
- the change's JSON is encoded once (``json.dumps``); the reply is that JSON, and the event
  every desk receives is that JSON wrapped in its SSE frame, made once per command;
- one INSERT into a change-log table and COMMIT:

  * SQLite (one process): ``BEGIN IMMEDIATE``, ``INSERT ... RETURNING seq``, ``COMMIT``, under a
    lock of this process so the event reaches the streams in commit order, handed to the
    event loop with one ``call_soon_threadsafe``;
  * PostgreSQL: one statement bumps a one-row head (the row lock that makes commit order the
    ``seq`` order, as the real server's log lock does), inserts the row and ``pg_notify``-s
    the whole SSE frame; a LISTEN thread in each worker (as the real server's watcher) hands
    each notification to its event loop. So a commit in one worker reaches the desks of every
    worker, and nothing is read back from the database per commit.

- every open stream gets the frame appended to its buffer and is woken; a stream writes all
  the frames it has in one chunk.

No idempotency record, no entity row, no rule, no audit, no ``If-Match`` check, no version
read from the database: a version is a number unique to the worker process. No connection
pre-ping (``serve`` pings PostgreSQL at each checkout). A stream connecting with ``since``
behind the head reads the log once before it goes live, so none is missed.

    uv run python -m tests.bench.bare_server --db sqlite:///bare.db [--port 8765] [--workers 1]

Where its CPU goes: ``DD_BARE_PROFILE=DIR uv run --with yappi python -m
tests.bench.bench_throughput --server bare ...`` saves each worker's CPU profile (yappi, every
thread) as ``DIR/bare-PID.pstat`` when the server stops.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated, Any, Literal, Protocol

import psycopg
import sqlalchemy as sa
import uvicorn
from fastapi import Depends, FastAPI, Header, HTTPException, Query
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.engine import Connection, Engine
from starlette.concurrency import run_in_threadpool
from uvicorn.supervisors import Multiprocess

from dispatchdesk.protocol import API_PREFIX
from dispatchdesk.server.db import PG_POOL_CONNECTIONS
from tests.bench.common import ServeProcess

PASSWORD = "bench-password"
#: The users and their tokens, in memory: the same in every worker.
USERS = {"desk": PASSWORD, "sup": PASSWORD}
TOKENS = {f"bare-token-{name}": name for name in USERS}
CHANNEL = "bare_changes"
#: The environment variable that tells the app factory (in each worker) its database.
DB_ENV = "DD_BARE_DB"
#: A directory: profile each worker's CPU by function (see :func:`_profiled`).
PROFILE_ENV = "DD_BARE_PROFILE"
#: Between a frame's seq and the rest of it.
_MID = '\nevent: change\ndata: {"seq":'

metadata = sa.MetaData()
changes = sa.Table(
    "bare_changes",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("entity", sa.String(40), nullable=False),
    sa.Column("entity_id", sa.BigInteger, nullable=False),
    sa.Column("op", sa.String(10), nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("committed_at", sa.Float, nullable=False),
)
#: PostgreSQL only: the head, whose row lock orders the commits.
head = sa.Table(
    "bare_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.Integer, nullable=False),
)

#: Bump the head (its row lock is held to the commit), insert the row, notify the whole frame.
_PG_APPEND = sa.text(
    "WITH h AS (UPDATE bare_head SET seq = seq + 1 WHERE id = 1 RETURNING seq), "
    "added AS (INSERT INTO bare_changes (seq, entity, entity_id, op, data, committed_at) "
    "SELECT h.seq, :entity, :entity_id, 'upsert', :data, :at FROM h) "
    "SELECT pg_notify(:channel, 'id: ' || h.seq || CAST(:mid AS text) || h.seq "
    "|| CAST(:tail AS text)) FROM h"
)


def frame_tail(entity: str, data_json: str) -> str:
    """The SSE frame after its seq: the change's JSON (``Change``'s shape) and the blank line."""
    return f',"entity":"{entity}","op":"upsert","data":{data_json}}}\n\n'


def frame(seq: int, entity: str, data_json: str) -> bytes:
    return f"id: {seq}{_MID}{seq}{frame_tail(entity, data_json)}".encode()


# --- fan-out ----------------------------------------------------------------------------------


class Stream:
    """One open event stream: the frames not yet written, and its wake-up."""

    __slots__ = ("frames", "wake")

    def __init__(self) -> None:
        self.frames: list[tuple[int, bytes]] = []
        self.wake = asyncio.Event()


class Fanout:
    """The open streams of this worker; :meth:`push` runs on the event loop."""

    def __init__(self) -> None:
        self.streams: set[Stream] = set()
        self.loop: asyncio.AbstractEventLoop | None = None

    def push(self, seq: int, data: bytes) -> None:
        for stream in self.streams:
            stream.frames.append((seq, data))
            stream.wake.set()

    def push_threadsafe(self, seq: int, data: bytes) -> None:
        assert self.loop is not None
        self.loop.call_soon_threadsafe(self.push, seq, data)


# --- the database -----------------------------------------------------------------------------


class Store(Protocol):
    def append(self, entity: str, entity_id: int, data_json: str) -> None: ...

    def head(self) -> int: ...

    def after(self, since: int) -> list[tuple[int, bytes]]: ...


def _read_after(engine: Engine, since: int) -> list[tuple[int, bytes]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(changes.c.seq, changes.c.entity, changes.c.data)
            .where(changes.c.seq > since)
            .order_by(changes.c.seq)
        ).all()
    return [(int(r.seq), frame(int(r.seq), r.entity, r.data)) for r in rows]


class SqliteStore:
    """One process: commits take turns on a lock, and each pushes its frame before the next."""

    def __init__(self, engine: Engine, fanout: Fanout) -> None:
        self.engine = engine
        self.fanout = fanout
        self.lock = threading.Lock()
        self.insert = changes.insert().returning(changes.c.seq)

    def append(self, entity: str, entity_id: int, data_json: str) -> None:
        row = {"entity": entity, "entity_id": entity_id, "op": "upsert", "data": data_json}
        with self.lock:
            with self.engine.begin() as conn:
                seq = int(
                    conn.execute(self.insert, {**row, "committed_at": time.time()}).scalar_one()
                )
            self.fanout.push_threadsafe(seq, frame(seq, entity, data_json))

    def head(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.coalesce(sa.func.max(changes.c.seq), 0))
                ).scalar_one()
            )

    def after(self, since: int) -> list[tuple[int, bytes]]:
        return _read_after(self.engine, since)


class PgStore:
    """One statement per command; the frames come back through LISTEN (:class:`Listener`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def append(self, entity: str, entity_id: int, data_json: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                _PG_APPEND,
                {
                    "entity": entity,
                    "entity_id": entity_id,
                    "data": data_json,
                    "at": time.time(),
                    "channel": CHANNEL,
                    "mid": _MID,
                    "tail": frame_tail(entity, data_json),
                },
            )

    def head(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(head.c.seq).where(head.c.id == 1)).scalar_one())

    def after(self, since: int) -> list[tuple[int, bytes]]:
        return _read_after(self.engine, since)


class Listener:
    """A daemon thread LISTENing on :data:`CHANNEL`: each notification is a frame for every
    stream of this worker, in commit order."""

    def __init__(self, engine: Engine, fanout: Fanout) -> None:
        self.dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.fanout = fanout
        self.stop = threading.Event()
        self.listening = threading.Event()
        self.thread = threading.Thread(target=self.run, name="bare-listen", daemon=True)

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute("LISTEN " + CHANNEL)
            self.listening.set()
            while not self.stop.is_set():
                for note in conn.notifies(timeout=1.0):
                    payload = note.payload
                    self.fanout.push_threadsafe(
                        int(payload[4 : payload.index("\n")]), payload.encode()
                    )
                    if self.stop.is_set():
                        break


def make_engine(db_url: str) -> Engine:
    """The server's engine settings (pool sizes; on SQLite WAL and ``BEGIN IMMEDIATE`` for a
    transaction that writes), without its pre-ping."""
    url = sa.make_url(db_url)
    if url.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_size=PG_POOL_CONNECTIONS, max_overflow=0)
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=20,
        max_overflow=20,
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        for pragma in ("journal_mode=WAL", "busy_timeout=30000", "synchronous=NORMAL"):
            cur.execute("PRAGMA " + pragma)
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def prepare(db_url: str) -> None:
    """The tables (and the head's row), made once before the workers start."""
    engine = make_engine(db_url)
    metadata.create_all(engine)
    with engine.begin() as conn:
        if conn.execute(sa.select(head.c.id)).first() is None:
            conn.execute(head.insert().values(id=1, seq=0))
    engine.dispose()


# --- the app ----------------------------------------------------------------------------------


class Login(BaseModel):
    username: str = Field(max_length=80)
    password: str = Field(max_length=200)


class Location(BaseModel):
    address: str = Field(max_length=200)
    postcode: str = Field(max_length=10)
    borough: str = Field(max_length=60)


class NewIncident(BaseModel):
    grade: str = Field(max_length=2)
    type: str = Field(max_length=60)
    summary: str = Field(max_length=500)
    location: Location


class IncidentEdit(BaseModel):
    summary: str = Field(max_length=500)


class UnitMove(BaseModel):
    incident_id: int | None = None


def user(authorization: Annotated[str | None, Header()] = None) -> str:
    """The user of a bearer token, from the dict in memory (401 otherwise)."""
    name = TOKENS.get((authorization or "").removeprefix("Bearer "))
    if name is None:
        raise HTTPException(401, "Sign in again: the token is not known.")
    return name


User = Annotated[str, Depends(user)]


def create_app(db_url: str) -> FastAPI:
    engine = make_engine(db_url)
    fanout = Fanout()
    store: Store
    listener: Listener | None = None
    if engine.dialect.name == "sqlite":
        store = SqliteStore(engine, fanout)
    else:
        store = PgStore(engine)
        listener = Listener(engine, fanout)
    # A version (and a new incident's id) unique to this worker: nothing is read per command.
    numbers = itertools.count(os.getpid() * 10_000_000 + 1)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        fanout.loop = asyncio.get_running_loop()
        if listener is not None:
            listener.thread.start()
            await asyncio.to_thread(listener.listening.wait, 30)
        with _profiled(os.environ.get(PROFILE_ENV)):
            yield
        if listener is not None:
            listener.stop.set()
        engine.dispose()

    app = FastAPI(lifespan=lifespan)

    def command(entity: str, data: dict[str, Any], status: int = 200) -> Response:
        data_json = json.dumps(data, separators=(",", ":"))
        store.append(entity, int(data["id"]), data_json)
        return Response(data_json, status_code=status, media_type="application/json")

    @app.post(API_PREFIX + "/auth/token")
    def token(body: Login) -> dict[str, str]:
        if USERS.get(body.username) != body.password:
            raise HTTPException(401, "The user name or password is not right.")
        return {"access_token": f"bare-token-{body.username}", "token_type": "bearer"}

    @app.get(API_PREFIX + "/snapshot")
    def snapshot(_user: User) -> dict[str, int]:
        return {"cursor": store.head()}

    @app.post(API_PREFIX + "/incidents", status_code=201)
    def create_incident(body: NewIncident, _user: User) -> Response:
        number = next(numbers)
        return command("incident", {"id": number, "version": 1, **body.model_dump()}, 201)

    @app.patch(API_PREFIX + "/incidents/{incident_id}")
    def edit_incident(
        incident_id: int,
        body: IncidentEdit,
        _user: User,
        _if_match: Annotated[str | None, Header(alias="If-Match")] = None,
    ) -> Response:
        return command(
            "incident", {"id": incident_id, "version": next(numbers), **body.model_dump()}
        )

    @app.post(API_PREFIX + "/units/{unit_id}/{action}")
    def move_unit(
        unit_id: int,
        action: Literal["assign", "arrive", "clear"],
        _user: User,
        body: UnitMove | None = None,
    ) -> Response:
        incident = body.incident_id if body is not None else None
        data = {"id": unit_id, "version": next(numbers), "status": action, "incident_id": incident}
        return command("unit", data)

    @app.get(API_PREFIX + "/events")
    async def events(_user: User, since: Annotated[int, Query(ge=0)] = 0) -> StreamingResponse:
        return StreamingResponse(
            _stream(store, fanout, since),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return app


async def _stream(store: Store, fanout: Fanout, since: int) -> AsyncIterator[bytes]:
    """The log after ``since`` once, then every frame pushed, each written once."""
    stream = Stream()
    fanout.streams.add(stream)  # before reading the log, so nothing falls between
    try:
        yield b": connected\n\n"
        last = since
        behind = await run_in_threadpool(store.after, since)
        if behind:
            yield b"".join(data for _seq, data in behind)
            last = behind[-1][0]
        while True:
            await stream.wake.wait()
            stream.wake.clear()
            frames, stream.frames = stream.frames, []
            chunk = b"".join(data for seq, data in frames if seq > last)
            if frames:
                last = max(last, frames[-1][0])
            if chunk:
                yield chunk
    finally:
        fanout.streams.discard(stream)


@contextmanager
def _profiled(directory: str | None) -> Iterator[None]:
    """With ``DD_BARE_PROFILE=DIR`` (and yappi: ``uv run --with yappi``), the CPU time of every
    thread of the worker, by function, saved at shutdown as ``DIR/bare-PID.pstat``."""
    if not directory:
        yield
        return
    import yappi  # type: ignore[import-not-found, unused-ignore]

    yappi.set_clock_type("cpu")
    yappi.start(builtins=False, profile_threads=True)
    try:
        yield
    finally:
        yappi.stop()
        yappi.get_func_stats().save(f"{directory}/bare-{os.getpid()}.pstat", type="pstat")


def app_from_env() -> FastAPI:
    """The app factory uvicorn calls in each worker."""
    return create_app(os.environ[DB_ENV])


# --- running it -------------------------------------------------------------------------------


def serve(db_url: str, host: str, port: int, workers: int) -> None:
    """As ``dispatchdesk serve`` runs: one uvicorn server, or ``workers`` processes on one
    socket made with ``IPPROTO_TCP`` (so accepted connections get TCP_NODELAY)."""
    prepare(db_url)
    os.environ[DB_ENV] = db_url
    config = uvicorn.Config(
        "tests.bench.bare_server:app_from_env",
        factory=True,
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=2,
        lifespan="on",
        workers=workers,
        timeout_worker_healthcheck=60,
    )
    if workers == 1:
        uvicorn.Server(config).run()
        return
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    Multiprocess(config, sockets=[sock]).run()


class BareServeProcess(ServeProcess):
    """This server in a process of its own, as :class:`ServeProcess` runs ``serve``."""

    def launch(self) -> None:
        import subprocess

        cmd = [sys.executable, "-m", "tests.bench.bare_server", "--db", self.db_url]
        cmd += ["--port", str(self.port), "--workers", str(self.workers)]
        self.proc = subprocess.Popen(cmd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--db", required=True, metavar="URL")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if args.workers > 1 and not args.db.startswith("postgresql"):
        parser.error("several workers need PostgreSQL (the fan-out crosses them by NOTIFY)")
    serve(args.db, args.host, args.port, args.workers)


if __name__ == "__main__":
    main()
