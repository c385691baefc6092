"""The supervisors' form to post an operational notice: non-modal, checked as typed against the
wire rules, every refusal shown beside what was typed (nothing typed is lost)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError
from PySide6.QtCore import QDateTime, QTimeZone, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from dispatchdesk.domain.roles import Role
from dispatchdesk.protocol.notices import NoticeCreate

#: How long a new notice runs unless the supervisor says otherwise.
DEFAULT_LIFETIME = timedelta(days=7)


class NoticeComposer(QDialog):
    """Title, body, the roles it is for, whether it must be acknowledged, and its expiry."""

    #: A valid notice, to post.
    submitted = Signal(object)

    def __init__(self, now: Callable[[], datetime], tz: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Post an operational notice")
        self.setModal(False)
        self._now = now
        self._zone = QTimeZone(tz.encode())
        self.title = QLineEdit()
        self.title.setMaxLength(200)
        self.title.setAccessibleName("Notice title")
        self.body = QPlainTextEdit()
        self.body.setAccessibleName("Notice text")
        self.body.setTabChangesFocus(True)
        self.roles = {role: QCheckBox(f"{role.label}s") for role in Role}
        for role in (Role.CALL_HANDLER, Role.DISPATCHER):
            self.roles[role].setChecked(True)
        self.requires_ack = QCheckBox("Operators must acknowledge it (a banner until they do)")
        self.requires_ack.setChecked(True)
        self.expires = QDateTimeEdit()
        self.expires.setTimeZone(self._zone)
        self.expires.setCalendarPopup(True)
        self.expires.setDisplayFormat("dd MMM yyyy HH:mm")
        self.expires.setDateTime(_qt(now() + DEFAULT_LIFETIME, self._zone))
        self.error = QLabel()
        self.error.setProperty("role", "error")
        self.error.setWordWrap(True)
        self.error.hide()
        self._build()

    def _build(self) -> None:
        roles = QWidget()
        row = QHBoxLayout(roles)
        row.setContentsMargins(0, 0, 0, 0)
        for box in self.roles.values():
            row.addWidget(box)
        form = QFormLayout()
        form.addRow("&Title", self.title)
        form.addRow("Te&xt", self.body)
        form.addRow("For", roles)
        form.addRow("", self.requires_ack)
        form.addRow("&Expires", self.expires)
        buttons = QDialogButtonBox()
        self.post_button = buttons.addButton("&Post notice", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.try_post)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.resize(560, 420)

    def notice(self) -> NoticeCreate:
        """The notice as typed; ValidationError says what is wrong."""
        # Seconds since the epoch: the same instant whatever zone the edit shows it in.
        when = datetime.fromtimestamp(self.expires.dateTime().toSecsSinceEpoch(), UTC)
        return NoticeCreate(
            title=self.title.text(),
            body=self.body.toPlainText(),
            roles=[r for r, box in self.roles.items() if box.isChecked()],
            requires_ack=self.requires_ack.isChecked(),
            expires_at=when,
        )

    def try_post(self) -> None:
        try:
            notice = self.notice()
        except ValidationError as exc:
            self._say(_problems(exc))
            return
        if notice.expires_at <= self._now():
            self._say("The expiry has passed: give a time in the future.")
            self.expires.setFocus()
            return
        self.submitted.emit(notice)
        self.title.clear()  # posted (queued in the outbox): the next notice starts blank
        self.body.clear()
        self.error.hide()
        self.close()

    def _say(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()


def _qt(when: datetime, zone: QTimeZone) -> QDateTime:
    return QDateTime.fromSecsSinceEpoch(int(when.timestamp()), zone)


_FIELD_WORDS = {"title": "Title", "body": "Text", "roles": "For", "expires_at": "Expires"}


def _problems(exc: ValidationError) -> str:
    """One line per field, in the form's words."""
    lines = []
    for e in exc.errors():
        field = str(e["loc"][0]) if e["loc"] else ""
        words = _FIELD_WORDS.get(field, field)
        message = str(e["msg"]).removeprefix("Value error, ")
        if field == "roles" and e["type"] == "too_short":
            message = "choose at least one role"
        elif field in ("title", "body") and e["type"] == "string_too_short":
            message = "write something"
        lines.append(f"{words}: {message}.")
    return " ".join(lines)
