"""Shared helpers for the benchmarks: synthetic incidents, timing and printing.

Benchmarks print figures beside the limit they are judged against, measured in the same run;
they are not pass/fail tests, so a slow machine never fails the suite.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from dispatchdesk.domain.grades import DEFAULT_POLICY, Grade
from dispatchdesk.domain.incident import Caller, Incident, IncidentStatus, Location
from dispatchdesk.server.simulation.london import random_address

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def incidents(n: int, seed: int = 1, now: datetime = NOW) -> list[Incident]:
    """``n`` open incidents created over the last six hours, grades in the London mix."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        grade = rng.choices(list(Grade), weights=[30, 40, 20, 10])[0]
        created = now - timedelta(seconds=rng.uniform(0, 6 * 3600))
        a = random_address(rng)
        out.append(
            Incident(
                id=i + 1,
                ref=f"CAD {i + 1}/23NOV26",
                version=1,
                grade=grade,
                status=IncidentStatus.OPEN,
                created_at=created,
                deadline=DEFAULT_POLICY.deadline(grade, created),
                type="Domestic",
                summary="Caller reports shouting next door.",
                location=Location(a.address, a.postcode, a.borough, a.uprn, a.parent_uprn, a.usrn),
                caller=Caller("J. Smith", "07700 900123"),
            )
        )
    return out


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    """Wall time of each of ``runs`` calls, in milliseconds."""
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def report(name: str, samples_ms: list[float], unit: str = "ms") -> float:
    med = statistics.median(samples_ms)
    print(
        f"  {name:<46} median {med:8.2f} {unit}   "
        f"(min {min(samples_ms):.2f}, max {max(samples_ms):.2f}, n={len(samples_ms)})"
    )
    return med


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]
