"""Small charts painted with QPainter (QtCharts is not in PySide6-Essentials): bars per hour and
a step line over the day. Each shows its values as text too (on the bars, and in the accessible
description), takes its colours from the theme, and only paints what it was given: the numbers
are computed elsewhere, off the paint path.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 10, 24, 22
#: Room above the tallest bar for its value.
_HEADROOM = 16


@dataclass(frozen=True)
class BarData:
    title: str
    labels: tuple[str, ...] = ()
    #: Bar heights (None: nothing to show in that slot, drawn as "–").
    values: tuple[float | None, ...] = ()
    #: The text written on each bar.
    texts: tuple[str, ...] = ()
    maximum: float = 1.0
    #: Axis text at the top of the y axis ("100%", "12").
    top_text: str = ""


@dataclass(frozen=True)
class StepData:
    title: str
    labels: tuple[str, ...] = ()
    #: (x from 0 to 1 across the labels' span, value) from the first step to the last.
    steps: tuple[tuple[float, int], ...] = ()
    #: Where "now" is on the x axis (0..1).
    end: float = 1.0
    maximum: int = 1


class _Chart(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(220, 140)
        self.bar_colour = QColor("#1d4ed8")
        self.edge_colour = QColor("#000000")

    def sizeHint(self) -> QSize:
        return QSize(360, 200)

    def set_colours(self, fill: QColor, edge: QColor) -> None:
        self.bar_colour, self.edge_colour = fill, edge
        self.update()

    def _frame(
        self, painter: QPainter, title: str, labels: tuple[str, ...], top_text: str
    ) -> QRectF:
        """Title, axes and hour labels; returns the plot area."""
        text = self.palette().color(QPalette.ColorRole.WindowText)
        painter.setPen(text)
        font = painter.font()
        font.setBold(True)
        painter.setFont(font)
        shown = painter.fontMetrics().elidedText(
            title, Qt.TextElideMode.ElideRight, max(10, self.width() - 8)
        )
        painter.drawText(
            QRectF(4, 0, self.width() - 8, _TOP - 4),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            shown,
        )
        font.setBold(False)
        painter.setFont(font)
        plot = QRectF(
            _LEFT,
            _TOP,
            max(1, self.width() - _LEFT - _RIGHT),
            max(1, self.height() - _TOP - _BOTTOM),
        )
        painter.drawLine(plot.bottomLeft(), plot.bottomRight())
        painter.drawLine(plot.bottomLeft(), plot.topLeft())
        painter.drawText(
            QRectF(0, plot.top() - 6, _LEFT - 4, 14),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            top_text,
        )
        painter.drawText(
            QRectF(0, plot.bottom() - 8, _LEFT - 4, 14),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            "0",
        )
        if labels:
            slot = plot.width() / len(labels)
            every = max(1, int(26 // max(slot, 1)) + (1 if slot < 26 else 0))
            for i, label in enumerate(labels):
                if i % every == 0 or i == len(labels) - 1:
                    painter.drawText(
                        QRectF(
                            plot.left() + i * slot - 10, plot.bottom() + 2, slot + 20, _BOTTOM - 2
                        ),
                        Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                        label,
                    )
        return plot


class BarChart(_Chart):
    """One bar per hour, its value written on it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data = BarData("")

    def set_data(self, data: BarData) -> None:
        if data == self.data:
            return
        self.data = data
        rows = [f"{label}: {text}" for label, text in zip(data.labels, data.texts, strict=True)]
        self.setAccessibleName(data.title)
        self.setAccessibleDescription("; ".join(rows))
        self.setToolTip(data.title + "\n" + "\n".join(rows[-12:]))
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        data = self.data
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        plot = self._frame(painter, data.title, data.labels, data.top_text)
        if not data.values:
            return
        text = self.palette().color(QPalette.ColorRole.WindowText)
        slot = plot.width() / len(data.values)
        gap = min(4.0, slot / 5)
        for i, (value, label) in enumerate(zip(data.values, data.texts, strict=True)):
            x = plot.left() + i * slot + gap / 2
            if value is None:
                painter.setPen(text)
                painter.drawText(
                    QRectF(x, plot.bottom() - 16, slot - gap, 14), Qt.AlignmentFlag.AlignCenter, "–"
                )
                continue
            room = max(1.0, plot.height() - _HEADROOM)
            height = room * min(1.0, value / data.maximum) if data.maximum else 0
            bar = QRectF(x, plot.bottom() - height, slot - gap, height)
            painter.setPen(QPen(self.edge_colour, 1))
            painter.setBrush(self.bar_colour)
            if height > 0:
                painter.drawRect(bar)
            painter.setPen(text)
            if slot >= 18:  # the value above the bar, when there is room for it
                painter.drawText(
                    QRectF(x - 6, bar.top() - 15, slot - gap + 12, 14),
                    Qt.AlignmentFlag.AlignCenter,
                    label,
                )


class StepChart(_Chart):
    """A count over the day, as steps (it changes at moments, it does not slope)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data = StepData("")

    def set_data(self, data: StepData) -> None:
        if data == self.data:
            return
        self.data = data
        self.setAccessibleName(data.title)
        now = data.steps[-1][1] if data.steps else 0
        self.setAccessibleDescription(f"{now} now; highest today {data.maximum}")
        self.setToolTip(f"{data.title}: {now} now, highest today {data.maximum}")
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        data = self.data
        painter = QPainter(self)
        plot = self._frame(painter, data.title, data.labels, str(data.maximum))
        if not data.steps:
            return
        top = max(1, data.maximum)

        def point(x: float, value: int) -> QPointF:
            return QPointF(
                plot.left() + x * plot.width(),
                plot.bottom() - (plot.height() - _HEADROOM) * value / top,
            )

        line = QPolygonF()
        for i, (x, value) in enumerate(data.steps):
            if i:
                line.append(point(x, data.steps[i - 1][1]))
            line.append(point(x, value))
        line.append(point(data.end, data.steps[-1][1]))
        area = QPolygonF(line)
        area.append(point(data.end, 0))
        area.append(point(data.steps[0][0], 0))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        fill = QColor(self.bar_colour)
        fill.setAlpha(110)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(fill)
        painter.drawPolygon(area)
        painter.setPen(QPen(self.edge_colour, 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPolyline(line)
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        end = point(data.end, data.steps[-1][1])
        painter.drawText(
            QRectF(end.x() - 60, end.y() - 18, 58, 14),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            f"now {data.steps[-1][1]}",
        )
