"""The queue window's layout: the queue's column widths, the docks' arrangement, and the
geometry remembered per screen set-up.

Columns are sized once by hand from the font (``resizeColumnsToContents`` costs ~260 ms at 10k
rows) and fitted to the queue's width on each resize: on a narrow window the type and flags
columns give way, never the countdown or status. Geometry and dock layout persist in the
window's ``QSettings`` per screen set-up (the sorted screen geometries: a laptop docked to two
monitors keeps its own layout), header state and theme for all. On a screen set-up seen for the
first time the window fills the screen, and on a narrow one (1366×768) the incident panel goes
under the queue, beside the units board, so every column fits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QEvent, QObject, QRect, QSettings, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QDockWidget, QWidget

from dispatchdesk.gui.common.theme import current_theme
from dispatchdesk.gui.queue.model import Column

if TYPE_CHECKING:
    from dispatchdesk.gui.queue.window import QueueWindow

#: Each column is sized once, by hand, to fit this text in the current font (never
#: ``resizeColumnsToContents``). The last column (flags) stretches.
COLUMN_SAMPLES = {
    Column.REF: "CAD 12345/23NOV26",
    Column.GRADE: "Grade",
    Column.TYPE: "Concern for welfare",
    Column.LOCATION: "Flat 12, 123 Long Street Name, NW10 7AA",
    Column.CREATED: "23/11 06:40",
    Column.DEADLINE: "23/11 06:40",
    Column.COUNTDOWN: "Arrived 1:02:03 late",
    Column.STATUS: "Unit en route",
    Column.FLAGS: "DIVERT: NO UNIT · ⚠ ORDER CRITICAL",
}
#: On a narrow window the type and flags columns give way down to these texts (the cell's
#: tooltip has it all; the flags' pictograms always show), and the location keeps this much.
#: The other columns never shrink: a countdown or status is never cut.
COLUMN_MINIMUM_SAMPLES = {
    Column.TYPE: "Concern for w",
    Column.FLAGS: "DIVERT: NO UNIT",
    Column.LOCATION: "Flat 12, 123 Long Street",
}
#: The units board shows at least this many rows under the queue on a tall screen (1080p).
UNIT_ROWS = 12
_CELL_PADDING = 18
_ICON_ROOM = 24
ROW_HEIGHT = 22


class LayoutKeeper(QObject):
    """Column fitting, dock arrangement and remembered geometry for one queue window. It
    watches the queue's resizes (as the table's event filter) to fit the columns."""

    def __init__(self, window: QueueWindow, settings: QSettings) -> None:
        super().__init__(window)
        self._window = window
        self._settings = settings
        self._natural: dict[Column, int] = {}
        self._minimum: dict[Column, int] = {}
        #: The docks under the queue, the first one (the units board) first.
        self.bottom_docks: list[QDockWidget] = []
        #: Whether :meth:`arrange_for` put the incident panel under the queue.
        self.compact = False

    # -- columns ---------------------------------------------------------------------------

    def size_columns(self) -> None:
        """Set column widths and row height from the font (cheap: no data is measured)."""
        table = self._window.table
        table.ensurePolished()
        metrics = table.fontMetrics()

        def width(column: Column, sample: str) -> int:
            extra = {Column.COUNTDOWN: _ICON_ROOM, Column.FLAGS: 3 * _ICON_ROOM}.get(column, 0)
            return metrics.horizontalAdvance(sample) + _CELL_PADDING + extra

        self._natural = {c: width(c, sample) for c, sample in COLUMN_SAMPLES.items()}
        self._minimum = {
            **self._natural,
            **{c: width(c, sample) for c, sample in COLUMN_MINIMUM_SAMPLES.items()},
        }
        table.horizontalHeader().setMinimumSectionSize(min(40, self._minimum[Column.LOCATION]))
        table.verticalHeader().setDefaultSectionSize(max(ROW_HEIGHT, metrics.height() + 6))
        self.fit_columns()

    def queue_minimum_width(self) -> int:
        """The narrowest the queue can be with every column readable (the type and flags
        shrunk to their minimum, the location at its minimum)."""
        table = self._window.table
        frame = 2 * table.frameWidth()
        return sum(self._minimum.values()) + table.verticalScrollBar().sizeHint().width() + frame

    def fit_columns(self) -> None:
        """Give each column its natural width when the queue is wide enough; otherwise shrink
        the type and flags columns (in that order) so the location keeps its minimum and no
        column is pushed off the right edge. Called on each resize of the queue: no data is
        measured."""
        table = self._window.table
        available = table.viewport().width()
        if available <= 0:
            available = table.width() - table.verticalScrollBar().sizeHint().width()
        widths = {c: w for c, w in self._natural.items() if c is not Column.LOCATION}
        excess = sum(widths.values()) + self._minimum[Column.LOCATION] - available
        for column in (Column.TYPE, Column.FLAGS):
            if excess <= 0:
                break
            give = min(excess, widths[column] - self._minimum[column])
            widths[column] -= give
            excess -= give
        for column, width in widths.items():
            if table.columnWidth(column) != width:
                table.setColumnWidth(column, width)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._window.table and event.type() == QEvent.Type.Resize:
            self.fit_columns()
        return super().eventFilter(watched, event)

    # -- docks -----------------------------------------------------------------------------

    def fit_detail_width(self) -> None:
        """The incident panel never narrower than its widest row (no "Apply gr" cut off: it has
        no sideways scrolling)."""
        detail = self._window.detail
        body = detail.widget()
        widest = 0
        if body is not None:
            body.ensurePolished()
            widest = body.minimumSizeHint().width()
        scrollbar = detail.verticalScrollBar().sizeHint().width()
        detail.setMinimumWidth(max(320, widest + scrollbar + 4))

    def detail_dock_width(self) -> int:
        """The incident panel's width beside the queue."""
        return max(360, self._window.detail.minimumWidth())

    def wide_layout_width(self) -> int:
        """The narrowest window in which the incident panel fits beside the queue."""
        return self.queue_minimum_width() + self.detail_dock_width() + 16

    def arrange_for(self, area: QRect) -> None:
        """The first layout on a screen set-up: the window fills most of ``area`` (all of a
        small screen). When the incident panel does not fit beside the queue (1366 px), it goes
        under the queue, beside the units board. On a tall screen the units board shows at
        least :data:`UNIT_ROWS` rows."""
        window = self._window
        width = area.width() if area.width() < 1600 else int(area.width() * 0.9)
        height = area.height() if area.height() < 900 else int(area.height() * 0.9)
        self._place_detail(below=width < self.wide_layout_width())
        window.setGeometry(
            area.x() + (area.width() - width) // 2,
            area.y() + (area.height() - height) // 2,
            width,
            height,
        )
        if self.bottom_docks:
            rows = window.dispatch.units_board.table.verticalHeader().defaultSectionSize()
            wanted = UNIT_ROWS * rows + 160 if height >= 900 else int(height * 0.42)
            window.resizeDocks([self.bottom_docks[0]], [wanted], Qt.Orientation.Vertical)
        if self.compact:
            window.resizeDocks(
                [window.detail_dock], [self.detail_dock_width()], Qt.Orientation.Horizontal
            )
        window.dispatch.raise_default_dock()

    def _place_detail(self, *, below: bool) -> None:
        """The incident panel right of the queue, or under it right of the units board (added
        beside, not split from, the board: splitting a tabbed dock would tab the panel)."""
        below = below and bool(self.bottom_docks)
        if below != self.compact:
            area, orientation = (
                (Qt.DockWidgetArea.BottomDockWidgetArea, Qt.Orientation.Horizontal)
                if below
                else (Qt.DockWidgetArea.RightDockWidgetArea, Qt.Orientation.Vertical)
            )
            self._window.addDockWidget(area, self._window.detail_dock, orientation)
        self.compact = below

    def add_bottom_dock(self, title: str, name: str, widget: QWidget) -> QDockWidget:
        """A dock under the queue, tabbed with the first one (the incident and commands
        panels keep the right-hand column at full height)."""
        window = self._window
        dock = QDockWidget(title, window)
        dock.setObjectName(name)
        dock.setWidget(widget)
        window.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        if self.bottom_docks:
            window.tabifyDockWidget(self.bottom_docks[0], dock)
        else:
            window.resizeDocks([dock], [260], Qt.Orientation.Vertical)
            # The unsent commands with the units board: full width, no sideways scrolling.
            window.tabifyDockWidget(dock, window.commands_dock)
        self.bottom_docks.append(dock)
        return dock

    # -- remembered per screen set-up ------------------------------------------------------

    def save(self) -> None:
        """Geometry and docks for this screen set-up, the queue's header for all."""
        window, settings = self._window, self._settings
        group = layout_group(screen_setup())
        settings.setValue(f"{group}/geometry", window.saveGeometry())
        settings.setValue(f"{group}/state", window.saveState())
        settings.setValue("queue/header", window.table.horizontalHeader().saveState())
        settings.sync()

    def restore(self) -> None:
        """Theme, then geometry and docks as last saved on this screen set-up, and the columns;
        a screen set-up seen for the first time gets :meth:`arrange_for` its primary screen
        (the theme first: its font sets the widths)."""
        window, settings = self._window, self._settings
        app = QApplication.instance()
        theme = settings.value("ui/theme") or (
            current_theme(app) if isinstance(app, QApplication) else "normal"
        )
        if theme == "high-contrast":
            window.set_theme("high-contrast")
        group = layout_group(screen_setup())
        geometry, state = settings.value(f"{group}/geometry"), settings.value(f"{group}/state")
        screen = window.screen() or QApplication.primaryScreen()
        if not isinstance(geometry, QByteArray | bytes) and screen is not None:
            self.arrange_for(screen.availableGeometry())
        for value, restore in (
            (geometry, window.restoreGeometry),
            (state, window.restoreState),
            (settings.value("queue/header"), window.table.horizontalHeader().restoreState),
        ):
            if isinstance(value, QByteArray | bytes):
                restore(QByteArray(value))
        self.compact = (
            window.dockWidgetArea(window.detail_dock) == Qt.DockWidgetArea.BottomDockWidgetArea
        )


def screen_setup() -> str:
    """The screen set-up the desk runs on: the sorted geometries of all screens, e.g.
    ``1366x768+0+0`` or ``1920x1080+0+0,1920x1080+1920+0``."""
    rects = sorted(
        (r.x(), r.y(), r.width(), r.height())
        for r in (s.geometry() for s in QGuiApplication.screens())
    )
    return ",".join(f"{w}x{h}{x:+d}{y:+d}" for x, y, w, h in rects) or "none"


def layout_group(setup: str) -> str:
    """The settings group of one screen set-up's window geometry and docks."""
    return "layout/" + setup.replace("/", "_").replace(",", ";")
