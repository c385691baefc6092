"""Help ▸ Shortcuts: a non-modal window listing every action and its keys, built from the
window's own actions so it can never disagree with them."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


def shortcut_rows(actions: Iterable[QAction]) -> list[tuple[str, str]]:
    """(action, keys) for every visible action that has keys."""
    rows = []
    for action in actions:
        keys = ", ".join(
            k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()
        )
        if keys and action.isVisible():
            rows.append((action.text().replace("&", ""), keys))
    return rows


class ShortcutsWindow(QDialog):
    """The keyboard shortcuts of the queue window."""

    def __init__(self, actions: Iterable[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Dispatch Desk — keyboard shortcuts")
        self.setModal(False)
        self.rows = shortcut_rows(actions)
        table = QTableWidget(len(self.rows), 2)
        table.setHorizontalHeaderLabels(("Action", "Keys"))
        table.verticalHeader().hide()
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        table.setColumnWidth(1, 160)
        for row, (text, keys) in enumerate(self.rows):
            table.setItem(row, 0, QTableWidgetItem(text))
            table.setItem(row, 1, QTableWidgetItem(keys))
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        self.resize(460, 480)
