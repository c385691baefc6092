"""The compiled Qt resources: the app icon, Lucide icons in the theme's colour, stylesheets.

Everything comes from :mod:`dispatchdesk.gui.common.resources_rc` (``resources/dispatchdesk.qrc``
through ``pyside6-rcc``), so neither a checkout nor a frozen bundle reads loose files at run
time. Importing this module registers the resources.
"""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QByteArray, QFile, QIODevice, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from dispatchdesk.gui.common import resources_rc

APP_ICON = ":/icons/dispatchdesk.svg"
ICON_NAMES = (
    "log-in",
    "server",
    "user",
    "key-round",
    "settings",
    "contrast",
    "volume-2",
    "shield-alert",
    "scale",
    "split",
    "car",
    "circle-check",
)
SOUND_NAMES = ("new-immediate", "breach", "offline")

assert resources_rc.qt_resource_data  # registered on import


def read(path: str) -> bytes:
    """The bytes of a resource such as ``":/themes/normal.qss"``; KeyError if absent."""
    f = QFile(path)
    if not f.open(QIODevice.OpenModeFlag.ReadOnly):
        raise KeyError(path)
    try:
        return bytes(f.readAll().data())
    finally:
        f.close()


def stylesheet(theme: str) -> str:
    """The Qt stylesheet of ``"normal"`` or ``"high-contrast"``."""
    return read(f":/themes/{theme}.qss").decode("utf-8")


@cache
def app_icon() -> QIcon:
    """The application icon (window title bar, taskbar, the ``.desktop`` entry's icon)."""
    icon = QIcon()
    for size in (16, 24, 32, 48, 64, 128, 256):
        icon.addPixmap(_render(read(APP_ICON), size))
    return icon


def icon(name: str, colour: QColor | str = "#000000", size: int = 24) -> QIcon:
    """A Lucide icon from ``ICON_NAMES`` drawn in ``colour`` (the SVGs use ``currentColor``)."""
    return _icon(name, QColor(colour).name(), size)


@cache
def _icon(name: str, colour: str, size: int) -> QIcon:
    if name not in ICON_NAMES:
        raise KeyError(f"no icon {name!r} in resources/dispatchdesk.qrc")
    svg = read(f":/icons/{name}.svg").replace(b"currentColor", colour.encode("ascii"))
    result = QIcon()
    for px in (size, size * 2):  # crisp on high-DPI screens too
        result.addPixmap(_render(svg, px))
    return result


def _render(svg: bytes, size: int) -> QPixmap:
    renderer = QSvgRenderer(QByteArray(svg))
    pixmap = QPixmap(QSize(size, size))
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return pixmap
