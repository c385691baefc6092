"""Benchmark (issue 14): the server's CPU per command below HTTP, in this process.

The services' command functions are called directly, in a loop over the mix
``bench_throughput`` sends (create an incident, edit its summary with If-Match, assign a unit
to it, edit, the unit arrives, the unit is cleared), on a database seeded with open incidents
and a fleet; each with a new Idempotency-Key and its request hash, as the routes make them.
One thread, so the figure is CPU per command (``time.process_time``), robust to a shared
machine; wall time beside it. ``--profile`` prints cProfile's top functions.

    uv run python -m tests.bench.bench_commands [--db sqlite pg] [--commands 3000]
        [--incidents 500] [--units 60] [--profile]
        [--pg postgresql+psycopg://postgres@127.0.0.1:55433/postgres]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from dispatchdesk.domain.roles import Role
from dispatchdesk.protocol.schemas import AssignRequest, ClearRequest, IncidentCreate, IncidentPatch
from dispatchdesk.server import ServerSettings
from dispatchdesk.server.auth import User
from dispatchdesk.server.db import make_engine
from dispatchdesk.server.runner import CommandResult, Idem, request_hash
from dispatchdesk.server.services import Services
from tests.bench.common import fresh_pg_database, seed_server

LOCATION = {"address": "1 High Street", "postcode": "SW1A 1AA", "borough": "Westminster"}
KINDS = ("create", "edit", "assign", "edit", "arrive", "clear")


def idem(method_path: str, data: Any) -> Idem:
    return Idem(uuid.uuid4().hex, method_path, request_hash(method_path, data))


class Mix:
    """The throughput bench's repeating mix of commands, on one fleet of units."""

    def __init__(self, services: Services, units: list[int]) -> None:
        self.s = services
        self.user = User("bench", Role.SUPERVISOR)
        self.units = units
        self.n = 0
        self.k = 0
        made = self.create()
        self.own, self.own_version = int(made.body["id"]), int(made.body["version"])
        self.created = self.own

    def create(self) -> CommandResult:
        body = IncidentCreate.model_validate(
            {
                "grade": "S",
                "type": "Burglary",
                "summary": f"Call {self.n}: caller reports a disturbance",
                "location": LOCATION,
            }
        )
        data = body.model_dump(mode="json", exclude_unset=True)
        return self.s.incidents.create_incident(self.user, body, idem("POST /incidents", data))

    def step(self) -> str:
        step = self.n % 6
        self.n += 1
        unit = self.units[self.k % len(self.units)]
        s, user = self.s, self.user
        if step == 0:
            self.created = int(self.create().body["id"])
        elif step in (1, 3):
            patch = IncidentPatch.model_validate({"summary": f"Edit {self.n}"})
            path = f"PATCH /incidents/{self.own}"
            out = s.incidents.patch_incident(
                user,
                self.own,
                patch,
                self.own_version,
                idem(path, patch.model_dump(mode="json", exclude_unset=True)),
            )
            self.own_version = int(out.body["version"])
        elif step == 2:
            assign = AssignRequest.model_validate({"incident_id": self.created})
            path = f"POST /units/{unit}/assign"
            s.units.assign(
                user,
                unit,
                assign,
                None,
                idem(path, assign.model_dump(mode="json", exclude_unset=True)),
            )
        elif step == 4:
            s.units.arrive(user, unit, None, idem(f"POST /units/{unit}/arrive", {}))
        else:
            clear = ClearRequest.model_validate({})
            s.units.clear(user, unit, clear, None, idem(f"POST /units/{unit}/clear", {}))
            self.k += 1
        return KINDS[step]


def measure(mix: Mix, commands: int) -> tuple[float, float, dict[str, float]]:
    """(CPU ms per command, wall ms per command, median CPU ms by kind)."""
    by_kind: dict[str, list[float]] = {}
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(commands):
        t = time.process_time()
        kind = mix.step()
        by_kind.setdefault(kind, []).append((time.process_time() - t) * 1000)
    cpu = (time.process_time() - cpu0) * 1000 / commands
    wall = (time.perf_counter() - wall0) * 1000 / commands
    return cpu, wall, {k: statistics.median(v) for k, v in sorted(by_kind.items())}


def run(db_url: str, args: argparse.Namespace) -> None:
    seed_server(db_url, args.incidents, args.units)
    services = Services.open(make_engine(db_url), ServerSettings(db_url=db_url), lambda: None)
    mix = Mix(services, list(range(1, args.units + 1)))
    measure(mix, 60)  # warm: caches, pools, first statements
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    cpu, wall, kinds = measure(mix, args.commands)
    if profiler is not None:
        profiler.disable()
    print(f"  CPU per command {cpu:6.2f} ms   wall {wall:6.2f} ms   (n={args.commands})")
    print("  median CPU by kind: " + ", ".join(f"{k} {v:.2f} ms" for k, v in kinds.items()))
    if profiler is not None:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)
    services.runner.engine.dispose()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--db", nargs="+", default=["sqlite"], choices=["sqlite", "pg"])
    p.add_argument("--commands", type=int, default=3000)
    p.add_argument("--incidents", type=int, default=500)
    p.add_argument("--units", type=int, default=60)
    p.add_argument("--profile", action="store_true")
    p.add_argument("--top", type=int, default=45)
    p.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:55433/postgres")
    args = p.parse_args(argv)
    for db in args.db:
        print(f"{db}:")
        if db == "pg":
            run(fresh_pg_database(args.pg, "bench_commands"), args)
            continue
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{Path(tmp) / 'bench.db'}", args)


if __name__ == "__main__":
    main()
