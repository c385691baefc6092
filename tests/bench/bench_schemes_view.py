"""Benchmark: the supervisors' schemes view at a whole force's schemes, on the GUI thread.

N special schemes and N protective orders (``bench_warnings``' made-up London) in a
``WarningIndex`` built as the engine builds it; the ``SchemesView`` shown (offscreen,
1366x700) and fed the index as the queue window feeds it. Measured: its first fill (the
index read a slice at a time: the longest slice, the last with the sort, is what the desk
waits for), then one scheme changed (its summary; its expiry, which moves its row), one order
changed and a window tick, each the time on the GUI thread from the index's change to the
view painted. Medians of 20.

    QT_QPA_PLATFORM=offscreen uv run python -m tests.bench.bench_schemes_view [N]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from PySide6.QtWidgets import QApplication

from dispatchdesk.gui.warnings.schemes_model import SchemesTableModel
from dispatchdesk.gui.warnings.schemes_view import SchemesView
from dispatchdesk.sync.entities import build_index
from tests.bench.bench_warnings import _rss_kib, build_world
from tests.bench.common import NOW

RUNS = 20


class _NoCommands:
    """The view sends nothing here."""


def _timed_calls(model: SchemesTableModel, name: str, into: list[float]) -> None:
    """Record the duration of each call of ``model.<name>``."""
    original: Callable[..., Any] = getattr(model, name)

    def timed(*args: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args)
        finally:
            into.append((time.perf_counter() - start) * 1000)

    setattr(model, name, timed)


def _median_ms(app: QApplication, change: Callable[[int], None], view: SchemesView) -> float:
    samples = []
    for n in range(RUNS):
        start = time.perf_counter()
        change(n)
        app.processEvents()  # painted
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    world = build_world(n)
    index = build_index(world.schemes, world.orders)  # as the engine builds it (gc frozen)
    clock = [NOW]
    view = SchemesView(_NoCommands(), lambda: clock[0])  # type: ignore[arg-type]
    view.resize(1366, 700)
    view.show()
    app.processEvents()
    slices: list[float] = []
    _timed_calls(view.model, "_fill_slice", slices)
    rss = _rss_kib()
    start = time.perf_counter()
    view.show_index(index)
    while view.model.filling:
        app.processEvents()
    app.processEvents()
    fill_s = time.perf_counter() - start
    held_mib = (_rss_kib() - rss) / 1024
    print(f"schemes view, {n:,} schemes + {n:,} orders ({view.model.rowCount():,} live)")
    print(
        f"  first fill: {fill_s:.2f} s in {len(slices)} slices on the GUI thread, longest "
        f"{max(slices):.0f} ms (the last, with the sort: {slices[-1]:.0f} ms); rows held "
        f"~{held_mib:.0f} MiB (RSS)"
    )
    schemes = world.schemes

    def summary(k: int) -> None:
        s = schemes[100 + k]
        index.upsert_scheme(s.model_copy(update={"version": 2 + k, "summary": f"changed {k}"}))
        view.show_index(index)

    def expiry(k: int) -> None:
        s = schemes[200 + k]
        later = s.expires_at + timedelta(days=30)
        index.upsert_scheme(s.model_copy(update={"version": 2 + k, "expires_at": later}))
        view.show_index(index)

    def order(k: int) -> None:
        o = world.orders[100 + k]
        index.upsert_order(o.model_copy(update={"version": 2 + k, "conditions": f"c {k}"}))
        view.show_index(index)

    def tick(k: int) -> None:
        clock[0] = NOW + timedelta(seconds=k + 1)
        view.refresh_now()

    print(f"  one scheme's summary changed: {_median_ms(app, summary, view):.2f} ms")
    print(f"  one scheme's expiry changed (its row moves): {_median_ms(app, expiry, view):.2f} ms")
    print(f"  one order changed: {_median_ms(app, order, view):.2f} ms")
    print(f"  a tick, nothing due: {_median_ms(app, tick, view):.2f} ms")
    clock[0] = NOW + timedelta(minutes=2)
    start = time.perf_counter()
    view.refresh_now()
    app.processEvents()
    print(
        f"  a tick re-wording 'expires in' (each minute): "
        f"{(time.perf_counter() - start) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
