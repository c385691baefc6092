"""The units board's filter and sort: status, type, borough and callsign search."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)

from dispatchdesk.domain.unit import Unit, UnitStatus
from dispatchdesk.gui.common.tables import change_filter, row_in_proxy
from dispatchdesk.gui.dispatch.units_model import UNIT_SORT_ROLE, UnitColumn, UnitsTableModel


class UnitsFilterProxy(QSortFilterProxyModel):
    """Filter + static-key sort over a :class:`UnitsTableModel`."""

    def __init__(self, source: UnitsTableModel, parent: Any = None) -> None:
        super().__init__(parent)
        self._source = source
        self._words: tuple[str, ...] = ()
        self._kind: str | None = None
        self._borough: str | None = None
        self._statuses: frozenset[UnitStatus] = frozenset(UnitStatus)
        self.setSourceModel(source)
        self.setSortRole(UNIT_SORT_ROLE)
        self.setDynamicSortFilter(True)
        self.sort(UnitColumn.STATUS, Qt.SortOrder.AscendingOrder)

    def set_search(self, text: str) -> None:
        """Every word of ``text`` must appear in the callsign or the type."""
        change_filter(self, lambda: setattr(self, "_words", tuple(text.casefold().split())))

    def set_kind(self, kind: str | None) -> None:
        """Only units of type ``kind`` (case-insensitive); ``None`` or "" for all."""
        change_filter(self, lambda: setattr(self, "_kind", (kind or "").casefold() or None))

    def set_borough(self, borough: str | None) -> None:
        """Only units of ``borough`` (case-insensitive); ``None`` or "" for all."""
        change_filter(self, lambda: setattr(self, "_borough", (borough or "").casefold() or None))

    def set_statuses(self, statuses: Iterable[UnitStatus]) -> None:
        change_filter(self, lambda: setattr(self, "_statuses", frozenset(statuses)))

    def filterAcceptsRow(
        self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex
    ) -> bool:
        unit = self._source.unit_at(source_row)
        if unit.status not in self._statuses:
            return False
        if self._kind is not None and unit.kind.casefold() != self._kind:
            return False
        if self._borough is not None and unit.borough.casefold() != self._borough:
            return False
        if self._words:
            hay = f"{unit.callsign} {unit.kind}".casefold()
            return all(word in hay for word in self._words)
        return True

    def unit_at(self, proxy_row: int) -> Unit:
        """The unit shown at ``proxy_row``."""
        return self._source.unit_at(self.mapToSource(self.index(proxy_row, 0)).row())

    def proxy_row_of(self, unit_id: int) -> int | None:
        """The row showing unit ``unit_id``; ``None`` when it is filtered out or unknown."""
        return row_in_proxy(self, self._source.row_of(unit_id))
