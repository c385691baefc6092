"""The notice banner: while a notice that must be acknowledged is unread, a strip above the
queue names it. It never takes the keyboard and never blocks a call: the operator reads it
when the call allows (its button or Ctrl+Shift+N)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget


class NoticeBanner(QFrame):
    """Hidden when nothing waits for acknowledgement."""

    #: The operator asked to read the notices.
    read_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noticeBanner")
        self.setAutoFillBackground(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        self._text = QLabel()
        self._text.setWordWrap(True)
        font = self._text.font()
        font.setBold(True)
        self._text.setFont(font)
        self._button = QPushButton("Read notice")
        # Off the Tab path: an operator tabbing through a call never lands on it.
        self._button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._button.clicked.connect(self.read_requested)
        layout.addWidget(self._text, 1)
        layout.addWidget(self._button)
        self.hide()

    def text(self) -> str:
        return self._text.text()

    def show_text(self, text: str) -> None:
        self._text.setText(text)
        self.setAccessibleName(text or "No notices to acknowledge")
        self.setVisible(bool(text))
