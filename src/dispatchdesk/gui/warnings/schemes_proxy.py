"""The special-schemes table's filters (all, expiring, review due, ...) and sort."""

from __future__ import annotations

from enum import StrEnum

from PySide6.QtCore import (
    QObject,
    QSortFilterProxyModel,
)

from dispatchdesk.domain.warnings import (
    ReviewState,
)
from dispatchdesk.gui.warnings.schemes_model import SORT_ROLE, ModelIndex, SchemesTableModel


class SchemeFilter(StrEnum):
    ALL = "All"
    #: Review due, or a review requested and awaiting a decision (either stage).
    DUE = "Due for review"
    ESCALATED = "Escalated"
    VICTIM_NOT_INFORMED = "Victim not informed"

    def accepts(self, state: ReviewState, victim_informed: bool) -> bool:
        if self is SchemeFilter.DUE:
            return state is not ReviewState.ACTIVE
        if self is SchemeFilter.ESCALATED:
            return state is ReviewState.SECOND_STAGE
        if self is SchemeFilter.VICTIM_NOT_INFORMED:
            return not victim_informed
        return True


class SchemesFilterProxy(QSortFilterProxyModel):
    """The schemes the filter bar lets through, sorted by the view."""

    def __init__(self, source: SchemesTableModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._source = source
        self._filter = SchemeFilter.ALL
        self.setSourceModel(source)
        self.setSortRole(SORT_ROLE)

    @property
    def filter(self) -> SchemeFilter:
        return self._filter

    def set_filter(self, which: SchemeFilter) -> None:
        self.beginFilterChange()
        self._filter = which
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def count(self, which: SchemeFilter) -> int:
        src = self._source
        return sum(
            which.accepts(src.review_state(n), src.victim_informed(n))
            for n in range(src.rowCount())
        )

    def filterAcceptsRow(self, source_row: int, source_parent: ModelIndex) -> bool:
        src = self._source
        return self._filter.accepts(src.review_state(source_row), src.victim_informed(source_row))
