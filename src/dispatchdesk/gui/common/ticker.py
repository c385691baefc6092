"""The once-a-second tick of one view.

One single-shot precise ``QTimer`` per view, re-armed each time to the next wall-clock second
+ 2 ms (a repeating timer drifts to an arbitrary phase). Each tick repaints only the visible part
of the countdown column (``viewport().update(rect)``: no model signal, so the proxy neither
re-filters nor re-sorts) and emits :attr:`Ticker.ticked` for the delay strip, banner and
detail panel. The wall-clock source is injectable so tests call :meth:`Ticker.tick` directly.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRect, Qt, QTimer, Signal
from PySide6.QtWidgets import QTableView

#: Land this long after the second so the countdown text has already rolled over.
LATE_BY_MS = 2


def ms_to_next_second(wall: float) -> int:
    """Milliseconds from ``wall`` (epoch seconds) to the next whole second + ``LATE_BY_MS``."""
    next_second = math.floor(wall) + 1
    return max(1, round((next_second - wall) * 1000) + LATE_BY_MS)


class Ticker(QObject):
    """Repaints the visible countdown cells of ``view`` once a second."""

    ticked = Signal()
    #: Just before the repaint: the model takes "now" once for all the cells it will paint.
    about_to_repaint = Signal()

    def __init__(
        self,
        view: QTableView,
        column: int,
        wall: Callable[[], float] = time.time,
        parent: Any = None,
    ) -> None:
        super().__init__(parent)
        self._view = view
        self._column = column
        self._wall = wall
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self.tick)
        self._running = False

    @property
    def timer(self) -> QTimer:
        return self._timer

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        self._running = True
        self._arm()

    def stop(self) -> None:
        self._running = False
        self._timer.stop()

    def tick(self) -> None:
        """Repaint the visible countdown cells, tell listeners, re-arm."""
        self.about_to_repaint.emit()
        self.repaint_countdowns()
        self.ticked.emit()
        if self._running:
            self._arm()

    def _arm(self) -> None:
        self._timer.start(ms_to_next_second(self._wall()))

    def countdown_rect(self) -> QRect | None:
        """The viewport rectangle of the countdown column, or ``None`` when scrolled away."""
        viewport = self._view.viewport()
        x = self._view.columnViewportPosition(self._column)
        width = self._view.columnWidth(self._column)
        if x < 0 or width <= 0 or self._view.isColumnHidden(self._column):
            return None
        if x >= viewport.width():
            return None
        return QRect(x, 0, width, viewport.height())

    def repaint_countdowns(self) -> None:
        rect = self.countdown_rect()
        if rect is not None:
            self._view.viewport().update(rect)
