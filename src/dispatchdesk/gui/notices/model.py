"""The notices table: one row per live notice for this operator's role, newest first, its
texts computed when the notices or reads change (``data()`` reads memory only)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex
from PySide6.QtGui import QFont

from dispatchdesk.gui.common.tables import (
    ACCESSIBLE_ROLE,
    DISPLAY_ROLE,
    USER_ROLE,
    RowsTableModel,
)
from dispatchdesk.gui.common.timefmt import local
from dispatchdesk.gui.notices.texts import NoticeRow, state_text

FONT_ROLE = 6  # Qt.ItemDataRole.FontRole, as a plain int

#: The :class:`NoticeRow` of a row, from any column.
NOTICE_ROLE = USER_ROLE + 1


class NoticeColumn(IntEnum):
    STATE = 0
    TITLE = 1
    FROM = 2
    POSTED = 3


#: Who it is for and when it expires are in the reading pane: the title gets the width.
HEADERS = ("State", "Title", "From", "Posted")


class NoticesModel(RowsTableModel):
    headers = HEADERS

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[NoticeRow] = []
        self._cells: list[tuple[str, ...]] = []
        self._tz = "Europe/London"
        self._bold = QFont()
        self._bold.setBold(True)

    def set_rows(self, rows: Sequence[NoticeRow], tz: str) -> None:
        """Replace every row (a few dozen at most: a reset is cheap and keeps it simple)."""
        self.beginResetModel()
        self._tz = tz
        self._rows = list(rows)
        self._cells = [self._texts(r) for r in self._rows]
        self.endResetModel()

    def rows(self) -> list[NoticeRow]:
        return list(self._rows)

    def row_of(self, notice_id: int) -> int | None:
        return next((i for i, r in enumerate(self._rows) if r.notice.id == notice_id), None)

    def _texts(self, row: NoticeRow) -> tuple[str, ...]:
        n, tz = row.notice, self._tz
        return (
            state_text(row),
            n.title,
            n.created_by,
            local(n.created_at, tz, "%d %b %H:%M"),
        )

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = DISPLAY_ROLE) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row, column = index.row(), index.column()
        if role == DISPLAY_ROLE:
            return self._cells[row][column]
        if role == NOTICE_ROLE:
            return self._rows[row]
        if role == FONT_ROLE and self._rows[row].unread:
            return self._bold  # unread rows stand out by weight, and say so in words
        if role == ACCESSIBLE_ROLE:
            return f"{HEADERS[column]}: {self._cells[row][column]}"
        return None
