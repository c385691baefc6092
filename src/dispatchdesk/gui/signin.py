"""The non-modal sign-in dialog: server URL, username, password.

``submitted(url, username, password)`` is emitted on "Sign in"; the app then calls
``set_busy(True)`` while it signs in and ``show_error(text)`` on failure, which keeps what was
typed. The dialog is shown with ``show()``, never ``exec()`` (qasync cannot nest modal loops).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)


class SignInDialog(QDialog):
    """Sign in to a Dispatch Desk server."""

    submitted = Signal(str, str, str)

    def __init__(
        self, url: str = "", username: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Dispatch Desk — sign in")
        self.setModal(False)
        self.url = QLineEdit(url)
        self.url.setPlaceholderText("https://dispatch.example.police.uk")
        self.username = QLineEdit(username)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = QLabel()
        self.error.setProperty("role", "error")
        self.error.setWordWrap(True)
        self.error.hide()
        self.status = QLabel()
        self.buttons = QDialogButtonBox()
        self.sign_in = self.buttons.addButton("&Sign in", QDialogButtonBox.ButtonRole.AcceptRole)
        self.sign_in.setDefault(True)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        self._layout()
        (self.password if url and username else self.url if not url else self.username).setFocus()

    def _layout(self) -> None:
        form = QFormLayout()
        form.addRow("Server &URL", self.url)
        form.addRow("&Username", self.username)
        form.addRow("&Password", self.password)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)

    def _submit(self) -> None:
        url, user = self.url.text().strip(), self.username.text().strip()
        missing = [n for n, v in (("server URL", url), ("username", user),
                                  ("password", self.password.text())) if not v]
        if missing:
            self.show_error("Enter the " + " and ".join(missing) + ".")
            return
        self.error.hide()
        self.set_busy(True)
        self.submitted.emit(url, user, self.password.text())

    def set_busy(self, busy: bool) -> None:
        """Disable the fields and say so while signing in."""
        for widget in (self.url, self.username, self.password, self.sign_in):
            widget.setEnabled(not busy)
        self.status.setText("Signing in…" if busy else "")
        self.setCursor(Qt.CursorShape.BusyCursor if busy else Qt.CursorShape.ArrowCursor)

    def show_error(self, text: str) -> None:
        """Show why signing in failed; everything typed stays."""
        self.set_busy(False)
        self.error.setText(text)
        self.error.show()
        self.password.setFocus()
        self.password.selectAll()
