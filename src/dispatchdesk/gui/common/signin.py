"""The non-modal sign-in dialog: server URL, username, password.

``submitted(url, username, password)`` is emitted on "Sign in"; the app then calls
``set_busy(True)`` while it signs in and ``show_error(text)`` on failure, which keeps what was
typed. The dialog is shown with ``show()``, never ``exec()`` (qasync cannot nest modal loops).

The widgets come from ``ui/signin.ui`` (generated :mod:`dispatchdesk.gui.forms.ui_signin`);
the icons from the compiled resources.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLineEdit, QWidget

from dispatchdesk.gui.common import resources
from dispatchdesk.gui.forms.ui_signin import Ui_SignInDialog


class SignInDialog(QDialog):
    """Sign in to a Dispatch Desk server."""

    submitted = Signal(str, str, str)

    def __init__(self, url: str = "", username: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ui = Ui_SignInDialog()
        self.ui.setupUi(self)
        self.url = self.ui.url
        self.username = self.ui.username
        self.password = self.ui.password
        self.error = self.ui.error
        self.status = self.ui.status
        self.buttons = self.ui.buttons
        self.url.setText(url)
        self.username.setText(username)
        self.sign_in = self.buttons.addButton("&Sign in", QDialogButtonBox.ButtonRole.AcceptRole)
        self.sign_in.setDefault(True)
        self._add_icons()
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        (self.password if url and username else self.url if not url else self.username).setFocus()

    def _add_icons(self) -> None:
        colour = self.palette().color(QPalette.ColorRole.Text)
        self.setWindowIcon(resources.app_icon())
        self.sign_in.setIcon(
            resources.icon("log-in", self.palette().color(QPalette.ColorRole.ButtonText))
        )
        for field, name in (
            (self.url, "server"),
            (self.username, "user"),
            (self.password, "key-round"),
        ):
            field.addAction(
                resources.icon(name, colour, 16), QLineEdit.ActionPosition.LeadingPosition
            )

    def _submit(self) -> None:
        url, user = self.url.text().strip(), self.username.text().strip()
        missing = [
            n
            for n, v in (
                ("server URL", url),
                ("username", user),
                ("password", self.password.text()),
            )
            if not v
        ]
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
