"""Filtering and sorting of the incident queue.

Filters by grade set, status set (CLOSED hidden by default), borough and free text (ref, type,
address, postcode, summary). Sorting always uses :data:`SORT_ROLE`, the static per-column key,
so dynamic sorting never re-sorts on the changing countdown text. The default order, the
countdown column ascending (``Incident.urgency_key()``, most urgent first), is the source
model's own row order, so the proxy keeps it without sorting: no comparisons at a 10,000-row
reset, and none when a change arrives. Other columns are sorted by the proxy on request.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt

from dispatchdesk.domain.grades import Grade
from dispatchdesk.domain.incident import Incident, IncidentStatus
from dispatchdesk.gui.common.tables import change_filter, row_in_proxy
from dispatchdesk.gui.queue.model import SORT_ROLE, Column, IncidentTableModel

OPEN_STATUSES = frozenset(s for s in IncidentStatus if s is not IncidentStatus.CLOSED)


def _haystack(incident: Incident) -> str:
    loc = incident.location
    return " ".join(
        (
            incident.ref,
            incident.type,
            loc.address,
            loc.postcode,
            loc.postcode.replace(" ", ""),
            incident.summary,
        )
    ).casefold()


class IncidentFilterProxy(QSortFilterProxyModel):
    """Filter + static-key sort over an :class:`IncidentTableModel`."""

    def __init__(self, source: IncidentTableModel, parent: Any = None) -> None:
        super().__init__(parent)
        self._source = source
        self._grades: frozenset[Grade] = frozenset(Grade)
        self._statuses: frozenset[IncidentStatus] = OPEN_STATUSES
        self._borough: str | None = None
        self._words: tuple[str, ...] = ()
        self._default_order = True
        self.setSourceModel(source)
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)
        self.sort(Column.COUNTDOWN, Qt.SortOrder.AscendingOrder)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Countdown ascending is the source's order: no sort column, so none is done."""
        if column == Column.COUNTDOWN and order == Qt.SortOrder.AscendingOrder:
            self._default_order = True
            super().sort(-1)
        else:
            self._default_order = False
            super().sort(column, order)

    @property
    def default_order(self) -> bool:
        """True while the queue shows most urgent first (the source's own order)."""
        return self._default_order

    # -- filter settings -------------------------------------------------------------------

    @property
    def grades(self) -> frozenset[Grade]:
        return self._grades

    @property
    def statuses(self) -> frozenset[IncidentStatus]:
        return self._statuses

    @property
    def borough(self) -> str | None:
        return self._borough

    def is_narrowed(self) -> bool:
        """True when a filter hides some open incidents (anything beyond hiding CLOSED)."""
        return (
            self._grades != frozenset(Grade)
            or not self._statuses >= OPEN_STATUSES
            or self._borough is not None
            or bool(self._words)
        )

    def set_grades(self, grades: Iterable[Grade]) -> None:
        change_filter(self, lambda: setattr(self, "_grades", frozenset(grades)))

    def set_statuses(self, statuses: Iterable[IncidentStatus]) -> None:
        change_filter(self, lambda: setattr(self, "_statuses", frozenset(statuses)))

    def set_borough(self, borough: str | None) -> None:
        """Only incidents in ``borough`` (case-insensitive); ``None`` or "" for all."""
        change_filter(self, lambda: setattr(self, "_borough", (borough or "").casefold() or None))

    def set_search(self, text: str) -> None:
        """Every word of ``text`` must appear in ref, type, address, postcode or summary."""
        change_filter(self, lambda: setattr(self, "_words", tuple(text.casefold().split())))

    def reset_filters(self) -> None:
        def reset() -> None:
            self._grades, self._statuses = frozenset(Grade), OPEN_STATUSES
            self._borough, self._words = None, ()

        change_filter(self, reset)

    # -- Qt API ----------------------------------------------------------------------------

    def filterAcceptsRow(
        self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex
    ) -> bool:
        incident = self._source.incident_at(source_row)
        if incident.grade not in self._grades or incident.status not in self._statuses:
            return False
        if self._borough is not None and incident.location.borough.casefold() != self._borough:
            return False
        if self._words:
            hay = _haystack(incident)
            return all(word in hay for word in self._words)
        return True

    def incident_at(self, proxy_row: int) -> Incident:
        """The incident shown at ``proxy_row``."""
        source_row = self.mapToSource(self.index(proxy_row, 0)).row()
        return self._source.incident_at(source_row)

    def proxy_row_of(self, incident_id: int) -> int | None:
        """The row showing incident ``incident_id``; ``None`` when it is filtered out or
        unknown."""
        return row_in_proxy(self, self._source.row_of(incident_id))
