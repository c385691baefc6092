"""The DIVERT tag list's filter (open / not reviewed / all) and sort, newest first by
default."""

from __future__ import annotations

from enum import Enum

from PySide6.QtCore import (
    QObject,
    QSortFilterProxyModel,
    Qt,
)

from dispatchdesk.domain.incident import Divert
from dispatchdesk.gui.dispatch.divert_model import COL_AT, SORT_ROLE, DivertTableModel, Index


class DivertFilter(Enum):
    """Which tags the list shows."""

    OPEN = "Open (not released or not reviewed)"
    NOT_REVIEWED = "Not reviewed"
    ALL = "All (history)"

    def accepts(self, divert: Divert) -> bool:
        if self is DivertFilter.OPEN:
            return divert.is_open
        if self is DivertFilter.NOT_REVIEWED:
            return divert.reviewed_at is None
        return True


class DivertFilterProxy(QSortFilterProxyModel):
    """The chosen :class:`DivertFilter`, sorted by :data:`SORT_ROLE` (newest first at start)."""

    def __init__(self, model: DivertTableModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._filter = DivertFilter.OPEN
        self.setSourceModel(model)
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)
        self.sort(COL_AT, Qt.SortOrder.DescendingOrder)

    @property
    def filter(self) -> DivertFilter:
        return self._filter

    def set_filter(self, which: DivertFilter) -> None:
        self.beginFilterChange()
        self._filter = which
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        return self._filter.accepts(self._model.divert_at(source_row))

    def divert_at(self, row: int) -> Divert:
        return self._model.divert_at(self.mapToSource(self.index(row, 0)).row())

    def shown(self) -> list[Divert]:
        """The tags shown, in the order shown."""
        return [self.divert_at(row) for row in range(self.rowCount())]
