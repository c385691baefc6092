"""Dropping a unit from the units board on a queue row: the drag is highlighted on the row
under the cursor and the drop handed to a callback (which assigns, or opens the assign window
when a reason or warnings must come first)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QModelIndex, QObject, QRect, Qt
from PySide6.QtGui import (
    QDragMoveEvent,
    QDropEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
)

from dispatchdesk.gui.dispatch.units_model import unit_ids_from_mime


class UnitDropFilter(QObject):
    """Event filter on an item view's viewport: units dropped on a row call ``on_drop``."""

    def __init__(
        self, view: QAbstractItemView, on_drop: Callable[[int, QModelIndex], None]
    ) -> None:
        super().__init__(view)
        self._view = view
        self._on_drop = on_drop
        self.highlighted_row: int | None = None
        # A frame over the row under the cursor (the view's own drop indicator needs the model
        # to accept drops, which the incident model does not: it is not a drop target itself).
        self.highlight = QFrame(view.viewport())
        self.highlight.setObjectName("unitDropHighlight")
        self.highlight.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._colour = ""
        self.highlight.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove) and isinstance(
            event, QDragMoveEvent
        ):
            return self._drag_move(event, entering=kind == QEvent.Type.DragEnter)
        if kind == QEvent.Type.DragLeave:
            self._unhighlight()
            return True
        if kind == QEvent.Type.Drop and isinstance(event, QDropEvent):
            return self._drop(event)
        return False

    def _target(self, event: QDropEvent) -> tuple[int, QModelIndex] | None:
        ids = unit_ids_from_mime(event.mimeData())
        index = self._view.indexAt(event.position().toPoint())
        if not ids or not index.isValid():
            return None
        return ids[0], index

    def _drag_move(self, event: QDragMoveEvent, entering: bool) -> bool:
        if not unit_ids_from_mime(event.mimeData()):
            return False  # not a unit: whatever the view does with it
        target = self._target(event)
        if target is None:
            self._unhighlight()
        else:
            self._highlight(target[1])
        if target is None and not entering:
            event.ignore()  # the no-drop cursor between and below the rows
            return True
        # An enter is always accepted, even between rows: an ignored enter would stop the
        # moves that follow from reaching the viewport at all.
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        return True

    def _drop(self, event: QDropEvent) -> bool:
        if not unit_ids_from_mime(event.mimeData()):
            return False
        self._unhighlight()
        target = self._target(event)
        if target is None:
            event.ignore()
            return True
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        self._on_drop(*target)
        return True

    def _highlight(self, index: QModelIndex) -> None:
        colour = self._view.palette().highlight().color().name()
        if colour != self._colour:  # the theme may have changed since the last drag
            self._colour = colour
            self.highlight.setStyleSheet(
                "QFrame#unitDropHighlight { border: 3px solid "
                f"{colour}; background: transparent; }}"
            )
        rect = self._view.visualRect(index)
        self.highlight.setGeometry(
            QRect(0, rect.top(), self._view.viewport().width(), rect.height())
        )
        self.highlight.show()
        self.highlight.raise_()
        self.highlighted_row = index.row()

    def _unhighlight(self) -> None:
        self.highlight.hide()
        self.highlighted_row = None


def install_unit_drop(
    view: QAbstractItemView, on_drop: Callable[[int, QModelIndex], None]
) -> UnitDropFilter:
    """Let ``view`` take units dropped on its rows: ``on_drop(unit_id, index_under_cursor)``.

    The index is the view's own (a proxy index for the queue); the caller decides between
    assign and divert. Returns the filter (a child of ``view``): remove it with
    ``view.viewport().removeEventFilter(f)`` to stop taking drops.
    """
    drop_filter = UnitDropFilter(view, on_drop)
    view.setAcceptDrops(True)
    view.viewport().setAcceptDrops(True)
    view.viewport().installEventFilter(drop_filter)
    return drop_filter
