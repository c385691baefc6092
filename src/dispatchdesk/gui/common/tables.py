"""What the desk's tables share: Qt item roles as plain ints, the set-up of a read-only table
view, and the small helpers of the filter proxies in front of the models.

The roles are plain ints because models compare ``role`` with them on every ``data()`` call
and comparing with PySide6 enum members costs ~20x more. A model imports
them into its own module, so ``data()`` still looks them up as module-level ints.

:func:`configure_table` is the one set-up of the incident queue, the units board, the DIVERT
tag list and the schemes view: whole rows selected one at a time, nothing edited in place,
no word wrap, no row numbers, one column that stretches, and sorting by the header from a
given column and order. :func:`change_filter` and :func:`row_in_proxy` serve the proxies.
:class:`RowsTableModel` is the flat list-of-rows model under all four tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

DISPLAY_ROLE = int(Qt.ItemDataRole.DisplayRole)
DECORATION_ROLE = int(Qt.ItemDataRole.DecorationRole)
TOOLTIP_ROLE = int(Qt.ItemDataRole.ToolTipRole)
FOREGROUND_ROLE = int(Qt.ItemDataRole.ForegroundRole)
BACKGROUND_ROLE = int(Qt.ItemDataRole.BackgroundRole)
ALIGNMENT_ROLE = int(Qt.ItemDataRole.TextAlignmentRole)
ACCESSIBLE_ROLE = int(Qt.ItemDataRole.AccessibleTextRole)
#: The first role free for a model's own data (sort keys, the row's object, ...).
USER_ROLE = int(Qt.ItemDataRole.UserRole)

_HORIZONTAL = Qt.Orientation.Horizontal
Index = QModelIndex | QPersistentModelIndex


class RowsTableModel(QAbstractTableModel):
    """A flat table: one row per item of ``self._rows``, one column per header text.

    A subclass sets :attr:`headers` and keeps its rows in ``self._rows``; it writes ``data()``.
    """

    #: Column header texts, in column order.
    headers: Sequence[str] = ()
    _rows: Sequence[Any]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.headers)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = DISPLAY_ROLE
    ) -> Any:
        if (
            orientation == _HORIZONTAL
            and int(role) == DISPLAY_ROLE
            and 0 <= section < len(self.headers)
        ):
            return self.headers[section]
        return None


def configure_table(
    table: QTableView,
    *,
    sort_column: int,
    sort_order: Qt.SortOrder,
    stretch_column: int,
    alternating_rows: bool = True,
    row_height: int | None = None,
    column_widths: Iterable[tuple[int, int]] = (),
) -> QHeaderView:
    """Set up ``table`` (its model already set) as a read-only, sortable list of rows.

    ``row_height`` fixes the height of every row (rows are then never measured);
    ``column_widths`` gives (column, width) pairs. Sorting starts at ``sort_column`` in
    ``sort_order``. Returns the horizontal header, for what only one table needs.
    """
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(alternating_rows)
    table.setWordWrap(False)
    rows = table.verticalHeader()
    if row_height is not None:
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(row_height)
    rows.hide()
    header = table.horizontalHeader()
    header.setSectionResizeMode(stretch_column, QHeaderView.ResizeMode.Stretch)
    for column, width in column_widths:
        table.setColumnWidth(column, width)
    # The indicator first: enabling sorting then sorts once, by it.
    header.setSortIndicator(sort_column, sort_order)
    table.setSortingEnabled(True)
    return header


def change_filter(proxy: QSortFilterProxyModel, apply: Callable[[], None]) -> None:
    """Run ``apply`` (which changes what ``proxy`` lets through) and have the rows refiltered."""
    proxy.beginFilterChange()
    apply()
    proxy.endFilterChange(QSortFilterProxyModel.Direction.Rows)


def row_in_proxy(proxy: QSortFilterProxyModel, source_row: int | None) -> int | None:
    """The row at which ``proxy`` shows ``source_row`` of its source model; ``None`` when that
    row is filtered out, or when ``source_row`` is ``None`` (no such row)."""
    if source_row is None:
        return None
    index = proxy.mapFromSource(proxy.sourceModel().index(source_row, 0))
    return index.row() if index.isValid() else None
