"""Render resources/icons/dispatchdesk.svg to packaging/windows/dispatchdesk.ico (for the .exe).

    uv run python packaging/windows/make_ico.py

Run before the Windows build; the spec picks the .ico up when it exists.
"""

from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

HERE = Path(__file__).resolve().parent
SVG = HERE.parents[1] / "resources" / "icons" / "dispatchdesk.svg"

if __name__ == "__main__":
    app = QGuiApplication([])
    image = QImage(256, 256, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    QSvgRenderer(str(SVG)).render(painter, QRectF(0, 0, 256, 256))
    painter.end()
    out = HERE / "dispatchdesk.ico"
    if not image.save(str(out), "ICO"):
        raise SystemExit(f"could not write {out}")
    print(out)
