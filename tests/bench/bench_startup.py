"""Benchmark (d): cold start to a shown queue from the cache, backend down.

Each run is a fresh process (the real entry point's composition: Qt, qasync, the cache on
its worker thread, the sync engine, the queue window) started against a cache of 10,000 open
incidents with its server unreachable; it reports the time from being spawned until the
window has painted the queue, and its peak RSS. Beside it, in the same run: a bare PySide6
process that shows an empty table. Targets: <= 1.5 s and <= 250 MB peak RSS.

    uv run python -m tests.bench.bench_startup
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

RUNS = 5
N = 10_000
UNREACHABLE = "http://127.0.0.1:9"


def _preload_non_qt() -> None:
    import dispatchdesk.cache.store
    import dispatchdesk.sync.engine  # noqa: F401


def child_desk(base: str, spawned: float) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _preload_non_qt()  # as the entry point does, before Qt
    import asyncio
    import resource

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
        assert desk.window is not None
        desk.window.table.viewport().repaint()
        shown = time.time() - spawned
        rows = desk.window.proxy.rowCount()
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"seconds": shown, "rows": rows, "rss_mb": rss_mb}), flush=True)
        desk.window.close()
        await desk.shutdown()

    with loop:
        loop.run_until_complete(run())


def child_bare(spawned: float) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import resource

    from PySide6.QtGui import QStandardItemModel
    from PySide6.QtWidgets import QApplication, QTableView

    app = QApplication([])
    view = QTableView()
    view.setModel(QStandardItemModel(0, 9))
    view.show()
    view.viewport().repaint()
    app.processEvents()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": time.time() - spawned, "rows": 0, "rss_mb": rss_mb}))


def prefill(base: Path) -> None:
    from dispatchdesk.app.paths import cache_file
    from dispatchdesk.cache.store import CacheStore
    from dispatchdesk.domain.grades import DEFAULT_POLICY
    from tests.bench.common import incidents

    now = datetime.now(UTC)
    store = CacheStore(cache_file(base, UNREACHABLE))
    store.replace_snapshot(incidents(N, now=now), DEFAULT_POLICY, 1, now)
    store.close()


def spawn(kind: str, base: Path) -> dict[str, float]:
    spawned = time.time()
    out = subprocess.run(
        [sys.executable, "-m", "tests.bench.bench_startup", kind, str(base), str(spawned)],
        capture_output=True,
        text=True,
        check=False,
        env={
            **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
            "QT_QPA_PLATFORM": "offscreen",
        },
    )
    if not out.stdout.strip():
        raise RuntimeError(out.stderr)
    line = [x for x in out.stdout.splitlines() if x.startswith("{")][-1]
    result: dict[str, float] = json.loads(line)
    return result


def precompile() -> None:
    """An installed desk starts from compiled bytecode; make sure this environment has it too
    (a shell with PYTHONDONTWRITEBYTECODE=1 would otherwise compile every module each start)."""
    import compileall
    import sysconfig

    for path in (sysconfig.get_paths()["purelib"], str(Path(__file__).parents[2] / "src")):
        compileall.compile_dir(path, quiet=1, workers=2)


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="dd-bench-"))
    precompile()
    prefill(base)
    print(
        f"(d) cold start to a shown queue from a cache of {N:,} incidents, backend down, "
        f"{RUNS} fresh processes each"
    )
    for kind, label in (
        ("bare", "bare PySide6 empty table (reference)"),
        ("desk", "Dispatch Desk, queue painted"),
    ):
        runs = [spawn(kind, base) for _ in range(RUNS)]
        secs = statistics.median(r["seconds"] for r in runs)
        rss = max(r["rss_mb"] for r in runs)
        rows = runs[-1]["rows"]
        print(f"  {label:<40} median {secs:5.2f} s   peak RSS {rss:5.0f} MB   rows {rows:,.0f}")
    print("  targets: <= 1.5 s, <= 250 MB")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "desk":
        child_desk(sys.argv[2], float(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "bare":
        child_bare(float(sys.argv[3]))
    else:
        main()
