"""Small icons: countdown states, banner and flags drawn in code; warning kinds, divert, unit
and "acknowledged" from the compiled Lucide SVGs (:mod:`dispatchdesk.gui.common.resources`).

Each state has its own *shape* (circle, triangle, octagon, flag), so the icon carries the state
even for a reader who cannot tell the colours apart; likewise each warning kind has its own
pictogram (a shield for a scheme, scales for a court order).
"""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPen, QPixmap, QPolygonF

from dispatchdesk.domain.countdown import CountdownState
from dispatchdesk.domain.warnings import Severity
from dispatchdesk.gui.common import resources

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


# --- Lucide pictograms (resources/icons; drawn in the colour asked, default black) ----------

#: Icon colour per theme and warning severity: the hues of the warning panel's frame in that
#: theme (resources/themes/*.qss). The severity is also written out wherever the icon appears.
SEVERITY_COLOURS = {
    "normal": {
        Severity.CRITICAL: "#b91c1c",
        Severity.HEIGHTENED: "#c2410c",
        Severity.INFO: "#1d4ed8",
    },
    "high-contrast": {
        Severity.CRITICAL: "#ff4d4d",
        Severity.HEIGHTENED: "#ff9900",
        Severity.INFO: "#ffffff",
    },
}


def scheme_warning(colour: QColor | str = "#000000") -> QIcon:
    """A special scheme (address risk marker): Lucide ``shield-alert``."""
    return resources.icon("shield-alert", colour)


def order_warning(colour: QColor | str = "#000000") -> QIcon:
    """A protective order (a court's order): Lucide ``scale``."""
    return resources.icon("scale", colour)


def warning_kind(kind: str, colour: QColor | str = "#000000") -> QIcon:
    """The icon of a warning kind: ``"scheme"`` or ``"order"``."""
    return scheme_warning(colour) if kind == "scheme" else order_warning(colour)


def severity_colour(severity: Severity, theme: str = "normal") -> QColor:
    """The colour of a severity in ``theme`` (the panel's frame, the queue's flags text)."""
    return QColor(SEVERITY_COLOURS[theme][severity])


def severity_icon(severity: Severity, kind: str, theme: str = "normal") -> QIcon:
    """The warning kind's pictogram in the severity's colour (the badge also carries text)."""
    return warning_kind(kind, SEVERITY_COLOURS[theme][severity])


def divert(colour: QColor | str = "#000000") -> QIcon:
    """A DIVERT tag (a unit moved off this incident): Lucide ``split``."""
    return resources.icon("split", colour)


def unit(colour: QColor | str = "#000000") -> QIcon:
    """A unit (vehicle): Lucide ``car``."""
    return resources.icon("car", colour)


def acknowledged(colour: QColor | str = "#15803d") -> QIcon:
    """Acknowledged (a warning the operator has confirmed reading): Lucide ``circle-check``."""
    return resources.icon("circle-check", colour)


#: The small mark of each severity on a queue row's warning pictogram: its own shape, so the
#: icon tells the severity even to a reader who cannot tell the colours apart.
_SEVERITY_MARKS = {
    Severity.CRITICAL: ("octagon", "!"),
    Severity.HEIGHTENED: ("triangle", "!"),
    Severity.INFO: ("circle", "i"),
}


@cache
def flags_icon(items: tuple[tuple[str, Severity | None], ...], theme: str = "normal") -> QIcon:
    """The pictograms of a queue row's flags side by side: ("divert", None), and
    ("scheme" | "order", severity) drawn in the severity's colour with the severity's mark
    (critical: octagon, heightened: triangle, info: circle) at its lower right."""
    pictograms = {"divert": divert, "scheme": scheme_warning, "order": order_warning}
    size = _SIZE
    pixmap = QPixmap(size * len(items) + 2 * (len(items) - 1), size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    for n, (kind, severity) in enumerate(items):
        x = n * (size + 2)
        if severity is None:
            pictograms[kind]("#b91c1c").paint(painter, x, 0, size, size)
            continue
        colour = SEVERITY_COLOURS[theme][severity]
        pictograms[kind](colour).paint(painter, x, 0, size - 4, size - 4)
        _severity_mark(painter, severity, colour, QRectF(x + size - 9, size - 9, 9, 9))
    painter.end()
    return QIcon(pixmap)


def _severity_mark(painter: QPainter, severity: Severity, colour: str, box: QRectF) -> None:
    shape, glyph = _SEVERITY_MARKS[severity]
    fill = QColor(colour)
    painter.setPen(QPen(QColor("#000000"), 0.8))
    painter.setBrush(fill)
    x, y, w, h = box.x(), box.y(), box.width(), box.height()
    if shape == "circle":
        painter.drawEllipse(box)
    elif shape == "triangle":
        painter.drawPolygon(
            QPolygonF([QPointF(x + w / 2, y), QPointF(x + w, y + h), QPointF(x, y + h)])
        )
    else:
        k = w * 0.3
        painter.drawPolygon(
            QPolygonF(
                [
                    QPointF(x + k, y),
                    QPointF(x + w - k, y),
                    QPointF(x + w, y + k),
                    QPointF(x + w, y + h - k),
                    QPointF(x + w - k, y + h),
                    QPointF(x + k, y + h),
                    QPointF(x, y + h - k),
                    QPointF(x, y + k),
                ]
            )
        )
    font = QFont()
    font.setBold(True)
    font.setPixelSize(7)
    painter.setFont(font)
    light = fill.lightness() > 150  # white (the high-contrast info colour) takes black text
    painter.setPen(QColor("#000000" if light else "#ffffff"))
    painter.drawText(
        box.adjusted(0, 1 if shape == "triangle" else 0, 0, 0), Qt.AlignmentFlag.AlignCenter, glyph
    )
