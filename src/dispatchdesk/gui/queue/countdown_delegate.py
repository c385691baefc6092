"""The countdown cell painted from one call.

Qt's own delegate asks the model for some seven roles per painted cell (font, alignment,
foreground, check state, decoration, display, background), each a call into Python through
the filter proxy; the countdown column is repainted every second. This delegate makes one
call, the model's ``countdown_cell`` for the row under the proxy (text, icon, colours and
state, as the model computes them once per row per tick: what ``COUNTDOWN_CELL_ROLE``
returns), fills the style option as Qt's ``initStyleOption`` would from those roles, and lets
the style paint it: the same look (text, icon and colour per state, the selection and the
stylesheet of either theme) as before."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractProxyModel, QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QPalette
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem, QTableView

from dispatchdesk.gui.queue.model import Column, IncidentTableModel

_TEXT = QPalette.ColorRole.Text
_HAS_DISPLAY = QStyleOptionViewItem.ViewItemFeature.HasDisplay
_HAS_DECORATION = QStyleOptionViewItem.ViewItemFeature.HasDecoration
_ALIGN = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


class CountdownDelegate(QStyledItemDelegate):
    """Paints the countdown column from the model's one tuple per cell.

    What depends on the cell's state only is worked out once and remembered (PySide6's flag
    arithmetic and palette copies cost microseconds each, and a tick paints every visible
    cell): the brushes of each colour, the palette with each text colour, the features and
    the icon's size for each incoming option state.
    """

    def __init__(self, model: IncidentTableModel, proxy: QAbstractProxyModel, parent: Any = None):
        super().__init__(parent)
        self._cell = model.countdown_cell
        self._source = proxy.mapToSource
        self._brushes: dict[int, tuple[QColor, QBrush]] = {}
        self._features: dict[tuple[Any, bool], Any] = {}
        self._sizes: dict[tuple[int, int, int], QSize] = {}

    def initStyleOption(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        row = self._source(index).row()
        if row < 0:  # not a row of the model (the proxy is kept in step with it)
            super().initStyleOption(option, index)
            return
        text, icon, foreground, background, _state = self._cell(row)
        option.index = index  # type: ignore[assignment]
        option.displayAlignment = _ALIGN
        palette = option.palette  # a copy: its colour group is the cell's (active or not)
        palette.setBrush(_TEXT, self._brush(foreground))
        option.palette = palette
        decorated = not icon.isNull()
        incoming = option.features
        features = self._features.get((incoming, decorated))
        if features is None:
            features = incoming | _HAS_DISPLAY
            if decorated:
                features |= _HAS_DECORATION
            self._features[incoming, decorated] = features
        option.features = features
        if decorated:
            option.icon = icon
            option.decorationSize = self._decoration_size(icon, option)
        option.text = text
        option.backgroundBrush = self._brush(background)

    def _brush(self, colour: QColor) -> QBrush:
        held = self._brushes.get(id(colour))
        if held is None or held[0] is not colour:
            held = self._brushes[id(colour)] = (colour, QBrush(colour))
        return held[1]

    def _decoration_size(self, icon: QIcon, option: QStyleOptionViewItem) -> QSize:
        """What Qt's ``initStyleOption`` computes: the icon's actual size, clamped to the
        wanted size. Each countdown icon is one pixmap for every mode (selected, disabled),
        so the size does not depend on the cell's state (not read: a PySide6 flag costs)."""
        wanted = option.decorationSize
        key = (icon.cacheKey(), wanted.width(), wanted.height())
        size = self._sizes.get(key)
        if size is None:
            actual = icon.actualSize(wanted, QIcon.Mode.Normal, QIcon.State.Off)
            size = QSize(min(wanted.width(), actual.width()), min(wanted.height(), actual.height()))
            self._sizes[key] = size
        return size


def install(
    view: QTableView, model: IncidentTableModel, proxy: QAbstractProxyModel
) -> CountdownDelegate:
    """Give ``view`` (showing ``model`` through ``proxy``) the countdown column's delegate
    (the view keeps it)."""
    delegate = CountdownDelegate(model, proxy, view)
    view.setItemDelegateForColumn(Column.COUNTDOWN.value, delegate)
    return delegate
