"""The history entries as a list model: one row per past incident, its line as text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from dispatchdesk.gui.history.entries import HistoryEntry, entry_line, parties_callout

Index = QModelIndex | QPersistentModelIndex

#: The :class:`HistoryEntry` of a row.
ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1


class HistoryModel(QAbstractListModel):
    """Past incidents, most recent first (as :func:`entries.merge` orders them)."""

    def __init__(self, tz: str = "Europe/London", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._entries: list[HistoryEntry] = []
        self._lines: list[str] = []
        self._tz = tz

    def set_entries(self, entries: Sequence[HistoryEntry], tz: str | None = None) -> None:
        self.beginResetModel()
        if tz is not None:
            self._tz = tz
        self._entries = list(entries)
        self._lines = [entry_line(e, self._tz) for e in self._entries]
        self.endResetModel()

    def entries(self) -> list[HistoryEntry]:
        return list(self._entries)

    def entry(self, row: int) -> HistoryEntry | None:
        return self._entries[row] if 0 <= row < len(self._entries) else None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._entries)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.parent().isValid():
            return None
        row = index.row()
        if not 0 <= row < len(self._entries):
            return None
        entry = self._entries[row]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._lines[row]
        if role == Qt.ItemDataRole.ToolTipRole:
            callout = parties_callout(entry)
            return f"{self._lines[row]}\n{callout}\nEnter: open it (read-only) · Ctrl+L: link it"
        if role == Qt.ItemDataRole.FontRole and entry.incident.weapons:
            from PySide6.QtGui import QFont

            font = QFont()
            font.setBold(True)
            return font
        if role == ENTRY_ROLE:
            return entry
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemNeverHasChildren
        )
