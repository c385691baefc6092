"""Benchmark (e): the desk's memory with a whole control room's data cached.

Each run is a fresh process (the real entry point's composition, as ``bench_startup``) started
against a cache of 50,000 open incidents, 100,000 special schemes and 100,000 protective
orders (the made-up London world of ``bench_warnings``) with its server unreachable: the
queue painted and every cached warning indexed and flagged. It reports the peak RSS (and the
RSS then) and how long it took. Beside it, in the same run: a bare PySide6 process showing an
empty table. Target: <= 400 MB peak RSS.

    uv run python -m tests.bench.bench_memory [INCIDENTS] [SCHEMES_AND_ORDERS_EACH] [RUNS]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.bench.bench_startup import UNREACHABLE, _preload_non_qt, precompile

INCIDENTS = 50_000
EACH = 100_000
RUNS = 3


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as f:
        kib = next(int(line.split()[1]) for line in f if line.startswith(key + ":"))
    return kib / 1024


def _rss_mb() -> float:
    return _status_mb("VmRSS")


def _peak_mb() -> float:
    """The process's peak RSS (VmHWM: this program's own, where ``ru_maxrss`` would keep the
    forking parent's across exec)."""
    return _status_mb("VmHWM")


def child_desk(base: str, spawned: float) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _preload_non_qt()  # as the entry point does, before Qt (qasync imports Qt)
    import asyncio

    import qasync
    from PySide6.QtWidgets import QApplication

    from dispatchdesk.app.config import Config
    from dispatchdesk.app.desk import Desk
    from dispatchdesk.domain.roles import Role

    app = QApplication([])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    desk = Desk(
        Config(),
        server_url=UNREACHABLE,
        demo_role=Role.DISPATCHER,
        demo_rate=1,
        base_dir=Path(base),
    )

    async def run() -> None:
        await desk.open()
        assert desk.window is not None and desk.engine is not None
        await desk.engine.cache_shown()  # every scheme and order indexed
        flags = desk.window.incident_warnings
        # The flags column works through every incident in slices on the event loop: measure
        # once it has finished (the index it holds is the engine's, with every marker in it).
        while flags.busy or flags.index is not desk.engine._ctx.entities.index:
            await asyncio.sleep(0.005)
        desk.window.table.viewport().repaint()
        app.processEvents()
        shown = time.time() - spawned
        result = {
            "seconds": shown,
            "rows": desk.window.proxy.rowCount(),
            "markers": len(desk.engine._ctx.entities.index),  # schemes + orders indexed
            "flagged": flags.flagged,  # incidents with at least one warning flag
            "rss_mb": _rss_mb(),
            "peak_mb": _peak_mb(),
        }
        print(json.dumps(result), flush=True)
        desk.window.close()
        await desk.shutdown()

    with loop:
        loop.run_until_complete(run())


def child_bare(spawned: float) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtGui import QStandardItemModel
    from PySide6.QtWidgets import QApplication, QTableView

    app = QApplication([])
    view = QTableView()
    view.setModel(QStandardItemModel(0, 9))
    view.show()
    view.viewport().repaint()
    app.processEvents()
    result = {
        "seconds": time.time() - spawned,
        "rows": 0,
        "rss_mb": _rss_mb(),
        "peak_mb": _peak_mb(),
    }
    print(json.dumps(result))


def prefill(base: Path, n_incidents: int, each: int) -> None:
    """The cache a desk holds after a snapshot of that much (schemes live at the real now)."""
    from dispatchdesk.app.paths import cache_file
    from dispatchdesk.cache.entities import ORDER, SCHEME, EntityChanges
    from dispatchdesk.cache.store import CacheStore
    from dispatchdesk.domain.grades import DEFAULT_POLICY
    from tests.bench.bench_warnings import build_world
    from tests.bench.common import NOW, incidents

    now = datetime.now(UTC)
    world = build_world(each)
    shift = now - NOW
    schemes = [s.model_copy(update={"expires_at": s.expires_at + shift}) for s in world.schemes]
    store = CacheStore(cache_file(base, UNREACHABLE))
    store.replace_snapshot(
        incidents(n_incidents, now=now),
        DEFAULT_POLICY,
        1,
        now,
        entities=EntityChanges.of([(SCHEME, schemes), (ORDER, world.orders)]),
    )
    store.close()


def spawn(kind: str, base: Path) -> dict[str, float]:
    spawned = time.time()
    out = subprocess.run(
        [sys.executable, "-m", "tests.bench.bench_memory", kind, str(base), str(spawned)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    lines = [x for x in out.stdout.splitlines() if x.startswith("{")]
    if not lines:
        raise RuntimeError(out.stderr)
    result: dict[str, float] = json.loads(lines[-1])
    return result


def main() -> None:
    args = [int(a) for a in sys.argv[1:]]
    n_incidents = args[0] if args else INCIDENTS
    each = args[1] if len(args) > 1 else EACH
    runs = args[2] if len(args) > 2 else RUNS
    base = Path(tempfile.mkdtemp(prefix="dd-bench-mem-"))
    precompile()
    start = time.perf_counter()
    prefill(base, n_incidents, each)
    print(
        f"(e) memory: a desk started from a cache of {n_incidents:,} open incidents, "
        f"{each:,} schemes and {each:,} orders, backend down, {runs} fresh processes each "
        f"(cache written in {time.perf_counter() - start:.0f} s)"
    )
    for kind, label in (
        ("bare", "bare PySide6 empty table (reference)"),
        ("desk", "Dispatch Desk, queue and warnings shown"),
    ):
        results = [spawn(kind, base) for _ in range(runs)]
        peak = statistics.median(r["peak_mb"] for r in results)
        rss = statistics.median(r["rss_mb"] for r in results)
        secs = statistics.median(r["seconds"] for r in results)
        worst = max(r["peak_mb"] for r in results)
        print(
            f"  {label:<40} peak RSS median {peak:5.0f} MB (max {worst:.0f})"
            f"   RSS then {rss:5.0f} MB   {secs:5.1f} s   rows {results[-1]['rows']:,.0f}"
            f"   schemes+orders {results[-1].get('markers', 0):,.0f}"
        )
    print("  target: <= 400 MB peak RSS")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "desk":
        child_desk(sys.argv[2], float(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "bare":
        child_bare(float(sys.argv[3]))
    else:
        main()
