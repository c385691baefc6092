"""The new-incident form's building blocks: a field with its inline message, a named person's
row, the scrolling rows area, the grade letters, and the editable list fields."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QDateTime, QEvent, QObject, QSize, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from dispatchdesk.domain.forms import GRADE_LETTERS, GradeTyping
from dispatchdesk.domain.grades import Grade
from dispatchdesk.domain.history import PersonRole

#: I, S, E, R as keys (Qt's key codes of the upper-case letters).
_GRADE_KEYS: dict[Qt.Key, Grade] = {
    Qt.Key(ord(letter)): grade for letter, grade in GRADE_LETTERS.items()
}


class FormField(QWidget):
    """An input with an inline error message below it."""

    def __init__(self, editor: QWidget) -> None:
        super().__init__()
        self.editor = editor
        self.error = QLabel()
        self.error.setProperty("role", "error")
        self.error.setWordWrap(True)
        self.error.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        layout.addWidget(editor)
        layout.addWidget(self.error)
        self.setFocusProxy(editor)

    def set_error(self, text: str | None) -> None:
        self.error.setText(f"⚠ {text}" if text else "")
        self.error.setVisible(bool(text))
        self.editor.setAccessibleDescription(text or "")


class PersonRow(QWidget):
    """One person named on the incident: name, optional date of birth, role (OTHER unless
    said: a letter picks one, V victim, S suspect, W witness ...), and Remove."""

    def __init__(self) -> None:
        super().__init__()
        self.name = QLineEdit()
        self.name.setPlaceholderText("Name")
        self.dob = QLineEdit()
        self.dob.setPlaceholderText("date of birth: dd/mm/yyyy")
        self.name_field = FormField(self.name)
        self.dob_field = FormField(self.dob)
        self.role = role_combo(PersonRole.OTHER, "Role")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setAutoDefault(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        # Top-aligned: a message under one field must not push its neighbours off the line.
        top = Qt.AlignmentFlag.AlignTop
        layout.addWidget(self.name_field, 3, top)
        layout.addWidget(self.dob_field, 2, top)
        layout.addWidget(self.role, 0, top)
        layout.addWidget(self.remove_button, 0, top)

    def number(self, n: int) -> None:
        """Accessible names carry the row's number: a screen reader hears which person."""
        self.name.setAccessibleName(f"Person {n} name")
        self.dob.setAccessibleName(f"Person {n} date of birth")
        self.role.setAccessibleName(f"Person {n} role")
        self.remove_button.setAccessibleName(f"Remove person {n}")

    def texts(self) -> tuple[str, str]:
        return self.name.text().strip(), self.dob.text().strip()

    def chosen_role(self) -> PersonRole:
        return PersonRole(self.role.currentData())


class RowsArea(QScrollArea):
    """The people named: as tall as its rows up to about six, then it scrolls, so that twenty
    people do not push Create off a laptop's screen."""

    #: Cap in text lines (a row is a line edit, about two lines; more with a message).
    MAX_LINES = 14

    def __init__(self) -> None:
        super().__init__()
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        self.rows = QVBoxLayout(body)
        self.rows.setContentsMargins(0, 0, 0, 0)
        self.setWidget(body)
        body.installEventFilter(self)

    def _height(self) -> int:
        body = self.widget()
        wanted = body.sizeHint().height() if body is not None and self.rows.count() else 0
        return min(wanted, self.fontMetrics().height() * self.MAX_LINES) + 2 * self.frameWidth()

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self._height())

    def minimumSizeHint(self) -> QSize:
        return QSize(super().minimumSizeHint().width(), self._height())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            # A row came or went, or a message appeared under a field: ask for a new height
            # (a scroll area does not follow its content's size by itself).
            self.updateGeometry()
        return super().eventFilter(watched, event)


class GradeKeys(QObject):
    """Picks the grade when I, S, E or R is pressed on its own in the grade combo; a word
    typed there (or any other character) leaves no grade and says why through ``refused``
    (``None`` once a grade is picked). ``clock``: seconds, monotonic (tests set a fake)."""

    def __init__(
        self,
        combo: QComboBox,
        refused: Callable[[str | None], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(combo)
        self._combo = combo
        self._refused = refused
        self.clock = clock
        self._typing = GradeTyping()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FocusOut:
            self._typing.pause()
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return False
        text = event.text()
        plain = not event.modifiers() & ~(
            Qt.KeyboardModifier.KeypadModifier | Qt.KeyboardModifier.ShiftModifier
        )
        if not plain or not text or not text.isprintable() or text.isspace():
            self._typing.pause()  # Tab, arrows, Alt+Down...: the combo's own keys
            return False
        letter = _GRADE_KEYS.get(Qt.Key(event.key()))  # the key, whatever the layout types
        grade, problem = self._typing.key(text, self.clock(), letter)
        self._combo.setCurrentIndex(self._combo.findData(grade.value) if grade else 0)
        self._refused(problem)
        return True  # never the combo's own search by first letters


def role_combo(default: PersonRole, name: str) -> QComboBox:
    """A person's role on the incident; typing its first letter picks it (C, I, V, S, W, O)."""
    combo = QComboBox()
    for role in PersonRole:
        combo.addItem(role.value, role.value)
    combo.setCurrentIndex(combo.findData(default.value))
    combo.setAccessibleName(name)
    return combo


def editable_combo(items: tuple[str, ...], name: str) -> QComboBox:
    combo = QComboBox()
    combo.setEditable(True)
    combo.addItems(items)
    combo.setCurrentIndex(-1)
    combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
    combo.setAccessibleName(name)
    completer = combo.completer()
    if completer is not None:
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
    return combo


def next_hour() -> QDateTime:
    base = QDateTime.currentDateTime().addSecs(25 * 3600)
    time = base.time()
    return base.addSecs(-(time.minute() * 60 + time.second())).addMSecs(-time.msec())
