"""Small icons drawn in code (no resource files to ship): countdown states, banner, flags.

Each state has its own *shape* (circle, triangle, octagon, flag), so the icon carries the state
even for a reader who cannot tell the colours apart.
"""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPen, QPixmap, QPolygonF

from dispatchdesk.domain.countdown import CountdownState

_SIZE = 16


def _canvas() -> tuple[QPixmap, QPainter]:
    pixmap = QPixmap(_SIZE, _SIZE)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    return pixmap, painter


def _glyph(painter: QPainter, text: str, colour: str) -> None:
    font = QFont()
    font.setBold(True)
    font.setPixelSize(11)
    painter.setFont(font)
    painter.setPen(QColor(colour))
    painter.drawText(QRectF(0, 1, _SIZE, _SIZE), Qt.AlignmentFlag.AlignCenter, text)


def _shape(kind: str, fill: str, glyph: str, glyph_colour: str = "#ffffff") -> QIcon:
    pixmap, painter = _canvas()
    painter.setPen(QPen(QColor("#000000"), 1))
    painter.setBrush(QColor(fill))
    if kind == "circle":
        painter.drawEllipse(QRectF(1, 1, 14, 14))
    elif kind == "triangle":
        painter.drawPolygon(QPolygonF([QPointF(8, 1), QPointF(15, 15), QPointF(1, 15)]))
    elif kind == "octagon":
        pts = [(5, 1), (11, 1), (15, 5), (15, 11), (11, 15), (5, 15), (1, 11), (1, 5)]
        painter.drawPolygon(QPolygonF([QPointF(x, y) for x, y in pts]))
    else:  # square
        painter.drawRect(QRectF(1, 1, 14, 14))
    _glyph(painter, glyph, glyph_colour)
    painter.end()
    return QIcon(pixmap)


@cache
def countdown_icon(state: CountdownState) -> QIcon:
    """On track ✓ circle, at risk ! triangle, breached ✕ octagon, attended ⚑ square."""
    if state is CountdownState.ON_TRACK:
        return _shape("circle", "#15803d", "✓")
    if state is CountdownState.AT_RISK:
        return _shape("triangle", "#eab308", "!", "#000000")
    if state is CountdownState.BREACHED:
        return _shape("octagon", "#b91c1c", "✕")
    if state is CountdownState.ATTENDED:
        return _shape("square", "#1d4ed8", "⚑")
    return QIcon()


@cache
def offline_icon() -> QIcon:
    return _shape("octagon", "#ffffff", "!", "#b91c1c")


@cache
def connecting_icon() -> QIcon:
    return _shape("circle", "#eab308", "…", "#000000")


@cache
def problem_icon() -> QIcon:
    return _shape("triangle", "#c2410c", "!")
