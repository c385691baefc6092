"""A non-modal bar for problems the operator should read: it shows the newest, counts the
unread ones, and stays until dismissed (nothing is hidden that should show)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from dispatchdesk.gui.common import icons


class MessageBar(QFrame):
    """Newest problem + count; "Dismiss" clears them all."""

    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        icon = QLabel()
        icon.setPixmap(icons.problem_icon().pixmap(16, 16))
        self._text = QLabel()
        self._text.setWordWrap(True)
        self._dismiss = QPushButton("&Dismiss")
        self._dismiss.setToolTip("Dismiss these messages (Ctrl+D)")
        self._dismiss.clicked.connect(self.dismiss)
        layout.addWidget(icon)
        layout.addWidget(self._text, 1)
        layout.addWidget(self._dismiss)
        self._messages: list[str] = []
        self.hide()

    @property
    def messages(self) -> list[str]:
        return list(self._messages)

    def text(self) -> str:
        return self._text.text()

    def show_problem(self, message: str) -> None:
        self._messages.append(message)
        count = len(self._messages)
        prefix = f"({count} messages) " if count > 1 else ""
        self._text.setText(prefix + message)
        self.setToolTip("\n".join(self._messages[-20:]))
        self.show()

    def dismiss(self) -> None:
        self._messages.clear()
        self._text.clear()
        self.hide()
        self.dismissed.emit()
