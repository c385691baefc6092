"""Benchmark (issue 14): a reconnect storm, N desks asking for a snapshot at the same moment.

``dispatchdesk serve`` runs in a process of its own (as deployed) over a database of 3,000
open incidents (SQLite by default; ``--pg URL`` makes a fresh database on that PostgreSQL
server). N desks, each its own HTTP client and connection in this process (asyncio + httpx),
start together: each takes ``/snapshot`` (asking for gzip, as the desk's httpx client does),
then opens ``/events`` from the snapshot's cursor; it is *live* when the stream has said
``: connected``. The storm's figure is the time from the start until the last desk is live.
Then one change is committed and every desk must receive it on its stream (seq = cursor + 1):
any desk that does not within 30 s is counted missed.

The reference, in the same run: one lone desk doing the same (after a commit, so its
snapshot is freshly built, not shared). Target: 100 desks live within 5 s and within 50 times
the lone desk; 400 desks measured too.

What the desks here do not do: decompress and parse each body (each real desk does that on its
own machine; here N desks share this machine's cores with the server). Each body's bytes are
hashed, and one body per distinct hash is decompressed and parsed (for its cursor and to check
it); that desk-side cost of one body is printed beside the figures.

    uv run python -m tests.bench.bench_storm [--desks 100 400] [--incidents 3000] [--runs 3]
        [--pg postgresql+psycopg://postgres@127.0.0.1:55433/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import json
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from dispatchdesk.domain.roles import Role
from dispatchdesk.protocol import API_PREFIX
from dispatchdesk.protocol.schemas import Snapshot
from dispatchdesk.server import add_user
from tests.bench.common import ServeProcess, fresh_pg_database, percentile, seed_server

PASSWORD = "bench-password"
TARGET_S = 5.0
TARGET_RATIO = 50.0
NEXT_CHANGE_WAIT = 30.0


@dataclass
class Bodies:
    """Cursor of each distinct snapshot body (by its hash), decoded once."""

    cursors: dict[bytes, int] = field(default_factory=dict)
    decode_ms: list[float] = field(default_factory=list)

    def cursor(self, raw: bytes, encoding: str | None) -> int:
        digest = hashlib.sha256(raw).digest()
        if digest not in self.cursors:
            t = time.perf_counter()
            body = gzip.decompress(raw) if encoding == "gzip" else raw
            snap = Snapshot.model_validate(json.loads(body))
            self.decode_ms.append((time.perf_counter() - t) * 1000)
            self.cursors[digest] = snap.cursor
        return self.cursors[digest]


@dataclass
class DeskRun:
    live_at: float | None = None
    snapshot_at: float | None = None
    cursor: int | None = None
    encoding: str | None = None
    size: int = 0
    next_seq: int | None = None
    error: str | None = None


async def one_desk(
    url: str, token: str, go: asyncio.Event, bodies: Bodies, out: DeskRun, live: asyncio.Queue[int]
) -> None:
    headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip"}
    try:
        async with httpx.AsyncClient(
            base_url=url + API_PREFIX, headers=headers, timeout=120.0
        ) as http:
            await go.wait()
            async with http.stream("GET", "/snapshot") as r:
                r.raise_for_status()
                raw = b"".join([chunk async for chunk in r.aiter_raw()])
                out.encoding = r.headers.get("content-encoding")
            out.snapshot_at = time.perf_counter()
            out.size = len(raw)
            out.cursor = bodies.cursor(raw, out.encoding)
            async with http.stream("GET", "/events", params={"since": out.cursor}) as events:
                events.raise_for_status()
                lines = events.aiter_lines()
                while not (await anext(lines)).startswith(": connected"):
                    pass
                out.live_at = time.perf_counter()
                live.put_nowait(1)
                async for line in lines:
                    if line.startswith("id: "):
                        out.next_seq = int(line.removeprefix("id: "))
                        return
    except Exception as exc:  # counted, printed, never hidden
        out.error = f"{type(exc).__name__}: {exc}"
        live.put_nowait(0)


@dataclass
class StormResult:
    n: int
    all_live_s: float
    live_s: list[float]
    missed: int
    errors: list[str]
    encodings: set[str | None]
    bodies: int
    size: int


async def storm(url: str, token: str, writer: httpx.AsyncClient, n: int) -> StormResult:
    """N desks at once; then the next change must reach them all."""
    await commit(writer, f"Before a storm of {n}")  # the storm's first request builds afresh
    bodies = Bodies()
    go, live = asyncio.Event(), asyncio.Queue[int]()
    runs = [DeskRun() for _ in range(n)]
    tasks = [asyncio.create_task(one_desk(url, token, go, bodies, r, live)) for r in runs]
    await asyncio.sleep(0.5)  # every client made, waiting on the start
    start = time.perf_counter()
    go.set()
    for _ in range(n):
        await asyncio.wait_for(live.get(), 300)
    all_live = max((r.live_at or start) for r in runs) - start
    await commit(writer, f"The next change after a storm of {n}")
    _done, pending = await asyncio.wait(tasks, timeout=NEXT_CHANGE_WAIT)
    for task in pending:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    missed = sum(
        1 for r in runs if r.cursor is None or r.next_seq is None or r.next_seq != r.cursor + 1
    )
    return StormResult(
        n=n,
        all_live_s=all_live,
        live_s=[r.live_at - start for r in runs if r.live_at is not None],
        missed=missed,
        errors=[r.error for r in runs if r.error],
        encodings={r.encoding for r in runs},
        bodies=len(bodies.cursors),
        size=max(r.size for r in runs),
    )


async def commit(writer: httpx.AsyncClient, summary: str) -> None:
    r = await writer.post(
        "/incidents",
        json={
            "grade": "S",
            "type": "Burglary",
            "summary": summary,
            "location": {
                "address": "1 High Street",
                "postcode": "SW1A 1AA",
                "borough": "Westminster",
            },
        },
        headers={"Idempotency-Key": hashlib.sha1(f"{summary}{time.time()}".encode()).hexdigest()},
    )
    r.raise_for_status()


async def sign_in(url: str, username: str) -> str:
    async with httpx.AsyncClient(base_url=url + API_PREFIX) as http:
        r = await http.post("/auth/token", json={"username": username, "password": PASSWORD})
        r.raise_for_status()
        return str(r.json()["access_token"])


async def bench(url: str, args: argparse.Namespace) -> None:
    token, sup = await sign_in(url, "desk"), await sign_in(url, "sup")
    lone: list[StormResult] = []
    storms: dict[int, list[StormResult]] = {n: [] for n in args.desks}
    decode = Bodies()
    async with httpx.AsyncClient(
        base_url=url + API_PREFIX, headers={"Authorization": f"Bearer {sup}"}, timeout=60
    ) as writer:
        for run in range(args.runs):
            for _ in range(3):
                lone.append(await storm(url, token, writer, 1))
            lone_ms = 1000 * statistics.median(s.all_live_s for s in lone[-3:])
            print(f"run {run + 1}: lone desk {lone_ms:.0f} ms", flush=True)
            for n in args.desks:
                result = await storm(url, token, writer, n)
                storms[n].append(result)
                print(
                    f"run {run + 1}: {n} desks all live in {result.all_live_s:.2f} s "
                    f"(median desk {statistics.median(result.live_s):.2f} s), missed "
                    f"{result.missed}, distinct bodies {result.bodies}, "
                    f"encodings {sorted(map(str, result.encodings))}, errors {len(result.errors)}",
                    flush=True,
                )
                for error in result.errors[:3]:
                    print(f"    {error}")
        r = await writer.get("/snapshot")
        decode.cursor(r.content, None)
    lone_s = statistics.median(s.all_live_s for s in lone)
    print()
    print(
        f"lone desk (snapshot + live stream), median of {len(lone)}: {1000 * lone_s:.0f} ms; "
        f"body {lone[-1].size:,} bytes {sorted(map(str, lone[-1].encodings))}; desk-side "
        f"parse of one body (not in the figures) {decode.decode_ms[-1]:.0f} ms"
    )
    for n, results in storms.items():
        med = statistics.median(r.all_live_s for r in results)
        p50 = statistics.median(statistics.median(r.live_s) for r in results)
        p99 = statistics.median(percentile(r.live_s, 99) for r in results if r.live_s)
        missed = sum(r.missed for r in results)
        verdict = "meets" if med <= TARGET_S and med <= TARGET_RATIO * lone_s else "MISSES"
        print(
            f"{n:>4} desks: all live in median {med:.2f} s over {len(results)} runs "
            f"({med / lone_s:.1f}x the lone desk; per desk p50 {p50:.2f} s, p99 {p99:.2f} s); "
            f"next change missed by {missed} of {n * len(results)}"
            + (f"  [{verdict} <= {TARGET_S:g} s and <= {TARGET_RATIO:g}x]" if n == 100 else "")
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--desks", type=int, nargs="+", default=[100, 400])
    parser.add_argument("--incidents", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1, help="serve --workers (PostgreSQL)")
    parser.add_argument("--pg", metavar="URL", help="a PostgreSQL server to make a database on")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="dd-bench-storm-"))
    try:
        db = (
            fresh_pg_database(args.pg, "dd_bench_storm")
            if args.pg
            else f"sqlite:///{tmp / 'server.db'}"
        )
        t = time.perf_counter()
        seed_server(db, args.incidents)
        add_user(db, "desk", Role.DISPATCHER, PASSWORD)
        add_user(db, "sup", Role.SUPERVISOR, PASSWORD)
        print(
            f"reconnect storm: {args.incidents:,} open incidents on "
            f"{'PostgreSQL' if args.pg else 'SQLite'} (seeded in {time.perf_counter() - t:.1f} s), "
            f"serve --workers {args.workers} in its own process; desks {args.desks}, "
            f"{args.runs} runs; the lone desk is measured in the same runs",
            flush=True,
        )
        with ServeProcess(db, workers=args.workers) as srv:
            asyncio.run(bench(srv.url, args))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
