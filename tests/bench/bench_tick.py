"""Benchmark (a): the 1 Hz countdown tick with 10,000 open incidents, offscreen.

One tick = the ticker's repaint of the visible countdown cells, processed until painted.
Beside it in the same run, the same tick over a bare model (constant text, no countdown logic)
in the same view. Target: <= 4 ms and <= 1.5x the bare model.

    uv run python -m tests.bench.bench_tick
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QTableView

from dispatchdesk.domain.grades import DEFAULT_POLICY
from dispatchdesk.gui.common.ticker import Ticker
from dispatchdesk.gui.queue import countdown_delegate
from dispatchdesk.gui.queue.model import Column, IncidentTableModel
from dispatchdesk.gui.queue.proxy import IncidentFilterProxy
from tests.bench.common import NOW, incidents, report, timed

N = 10_000
RUNS = 200
_DISPLAY = Qt.ItemDataRole.DisplayRole.value
_DECORATION = Qt.ItemDataRole.DecorationRole.value
_FOREGROUND = Qt.ItemDataRole.ForegroundRole.value
_BACKGROUND = Qt.ItemDataRole.BackgroundRole.value


class BareModel(QAbstractTableModel):
    """The cheapest model Qt can paint: constant text in every cell."""

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return N

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return len(Column)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = _DISPLAY) -> Any:
        return "14:05" if role == _DISPLAY else None


class BareStyledModel(BareModel):
    """Constant text, plus the countdown column's constant icon and colours: what Qt costs
    to paint a cell that looks like ours, with none of our logic."""

    def __init__(self) -> None:
        super().__init__()
        from dispatchdesk.domain.countdown import CountdownState
        from dispatchdesk.gui.common import icons

        self._icon = icons.countdown_icon(CountdownState.AT_RISK)
        self._fg = QColor("#000000")
        self._bg = QColor("#fff3a0")

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = _DISPLAY) -> Any:
        if role == _DISPLAY:
            return "14:05"
        if index.column() == Column.COUNTDOWN.value:
            if role == _DECORATION:
                return self._icon
            if role == _FOREGROUND:
                return self._fg
            if role == _BACKGROUND:
                return self._bg
        return None


def _view(app: QApplication, model: QAbstractTableModel) -> tuple[QTableView, Ticker]:
    view = QTableView()
    view.setModel(model)
    view.resize(1600, 1000)
    view.show()
    app.processEvents()
    ticker = Ticker(view, Column.COUNTDOWN.value)
    return view, ticker


def main() -> None:
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    moments = iter(range(10**9))

    def now() -> Any:
        from datetime import timedelta

        return NOW + timedelta(seconds=next(moments))

    model = IncidentTableModel(now)
    model.set_incidents(incidents(N), DEFAULT_POLICY)
    proxy = IncidentFilterProxy(model)
    real_view, real_ticker = _view(app, proxy)
    countdown_delegate.install(real_view, model, proxy)  # as QueueWindow sets it up
    real_ticker.about_to_repaint.connect(model.refresh_now)  # as QueueWindow wires it
    bare_view, bare_ticker = _view(app, BareModel())
    styled_view, styled_ticker = _view(app, BareStyledModel())

    def tick(ticker: Ticker) -> None:
        ticker.tick()
        app.processEvents()

    print(f"(a) countdown tick, {N:,} open incidents, 1600x1000 offscreen, {RUNS} ticks each")
    for _ in range(5):
        tick(real_ticker), tick(bare_ticker), tick(styled_ticker)
    # Interleaved, so that a busy machine slows all three alike. Wall time, and the CPU time
    # of this thread (the painting is on it): on a shared machine a longer tick is more often
    # preempted, which the wall time counts and the CPU time does not.
    samples: dict[str, list[float]] = {"bare": [], "styled": [], "real": []}
    cpu: dict[str, list[float]] = {"bare": [], "styled": [], "real": []}
    # The order turns each round: the scheduler preempts a busy process after a few
    # milliseconds, so whichever tick came last in a fixed order took most of the
    # preemptions (the queue's wall time was 4-7 ms against 1.8 ms of CPU).
    order = [("bare", bare_ticker), ("styled", styled_ticker), ("real", real_ticker)]
    for round_ in range(RUNS):
        for name, ticker in order[round_ % 3 :] + order[: round_ % 3]:
            start = time.thread_time()
            samples[name] += timed(lambda t=ticker: tick(t), 1)
            cpu[name].append((time.thread_time() - start) * 1000)
    bare = report("bare model tick, text only (reference)", samples["bare"])
    styled = report("bare model, same icon+colours (reference)", samples["styled"])
    real = report("incident queue tick", samples["real"])
    print(
        f"  queue / bare text = {real / bare:.2f}x, queue / bare styled = {real / styled:.2f}x "
        "(target <= 1.5x); absolute target <= 4 ms"
    )
    cpu_styled = report("CPU: bare model, same icon+colours (ref.)", cpu["styled"])
    cpu_real = report("CPU: incident queue tick", cpu["real"])
    print(f"  CPU time: queue / bare styled = {cpu_real / cpu_styled:.2f}x")
    for view in (real_view, bare_view, styled_view):
        view.close()


if __name__ == "__main__":
    main()
