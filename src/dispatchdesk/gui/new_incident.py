"""The non-modal new-incident form, usable at call speed from the keyboard.

Tab order follows the call: location, type, grade, summary, caller. Ctrl+Enter submits; Esc
cancels (asking first, inline, when anything was typed: a second Esc discards). In the grade
field, pressing I, S, E or R picks the grade; E shows the appointment. Invalid fields get an
inline message and keep what was typed. Anonymity is never pre-ticked and is recorded only
when the caller asks for it.

Once the location is entered (focus leaves the address, postcode or UPRN fields, or typing in
them pauses), the form looks up warnings through the injected ``warnings_for`` and pops the
:class:`~dispatchdesk.gui.warning_panel.WarningPanel` for any it finds, before the incident
exists. What the panel showed and what the operator acknowledged travel in the draft
(``shown_warnings``, ``acknowledged_warnings``) to be audited once the incident has an id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from PySide6.QtCore import QDateTime, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from dispatchdesk.domain.grades import Grade
from dispatchdesk.domain.incident import Caller, Location
from dispatchdesk.domain.warnings import (
    DEFAULT_WARNING_POLICY,
    Person,
    Place,
    WarningPolicy,
    WarningRef,
)
from dispatchdesk.gui.warning_panel import WarningPanel, warning_ref
from dispatchdesk.protocol.warnings import WarningOut
from dispatchdesk.sync.api import IncidentDraft

#: Looks up the warnings for a place and the persons named (the engine's warning index).
WarningsFor = Callable[[Place, Sequence[Person]], list[WarningOut]]

LONDON_BOROUGHS = (
    "Barking and Dagenham", "Barnet", "Bexley", "Brent", "Bromley", "Camden", "City of London",
    "Croydon", "Ealing", "Enfield", "Greenwich", "Hackney", "Hammersmith and Fulham",
    "Haringey", "Harrow", "Havering", "Hillingdon", "Hounslow", "Islington",
    "Kensington and Chelsea", "Kingston upon Thames", "Lambeth", "Lewisham", "Merton",
    "Newham", "Redbridge", "Richmond upon Thames", "Southwark", "Sutton", "Tower Hamlets",
    "Waltham Forest", "Wandsworth", "Westminster",
)

INCIDENT_TYPES = (
    "Domestic", "ASB", "Burglary", "RTC", "Concern for welfare", "Theft", "Assault",
    "Robbery", "Suspicious person", "Missing person", "Criminal damage", "Sexual offence",
    "Harassment", "Breach of order", "Public order", "Drugs", "Weapons", "Fraud",
)

POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")
UPRN = re.compile(r"^[0-9]{1,12}$")
PHONE = re.compile(r"^\+?[0-9 ()-]{6,20}$")
_GRADE_KEYS = {Qt.Key.Key_I: Grade.IMMEDIATE, Qt.Key.Key_S: Grade.SIGNIFICANT,
               Qt.Key.Key_E: Grade.EXTENDED, Qt.Key.Key_R: Grade.REFERRED}
ANONYMITY_LABEL = "Caller asked for anonymity (tick only if the caller asks; never offer it)"


def normalise_postcode(text: str) -> str:
    """``nw17aa`` → ``NW1 7AA``; returns the text upper-cased when it is not a postcode."""
    compact = re.sub(r"\s+", "", text.upper())
    candidate = f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact
    return candidate if POSTCODE.match(candidate) else text.strip().upper()


class _Field(QWidget):
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


class _GradeKeys(QObject):
    """Picks the grade when I, S, E or R is pressed in the grade combo."""

    def __init__(self, combo: QComboBox) -> None:
        super().__init__(combo)
        self._combo = combo

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            grade = _GRADE_KEYS.get(Qt.Key(event.key()))
            if grade is not None and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
                self._combo.setCurrentIndex(self._combo.findData(grade.value))
                return True
        return False


class NewIncidentDialog(QDialog):
    """Create an incident; emits :attr:`submitted` with an :class:`IncidentDraft`.

    ``warnings_for`` (optional) looks up warnings for the location entered; ``now`` is server
    time and ``warning_policy`` the server's, both for the warning panel."""

    submitted = Signal(object)
    #: How long typing in the location must pause before warnings are looked up: long enough
    #: not to pop the panel at every word, short enough to warn while the caller is talking.
    LOCATION_SETTLE_MS = 1200

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        warnings_for: WarningsFor | None = None,
        now: Callable[[], datetime] | None = None,
        warning_policy: WarningPolicy = DEFAULT_WARNING_POLICY,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("New incident")
        self.setModal(False)
        self._confirming = False
        self._warnings_for = warnings_for
        self._now = now or (lambda: datetime.now(UTC))
        self._warning_policy = warning_policy
        self._warning_panel: WarningPanel | None = None
        self._last_lookup: tuple[Place, tuple[Person, ...]] | None = None
        self._shown_warnings: set[WarningRef] = set()
        self._acknowledged_warnings: set[WarningRef] = set()
        self._build_inputs()
        self._fields = {name: _Field(w) for name, w in self._inputs().items()}
        self._build_layout()
        self._connect()
        self._connect_warnings()
        self.address.setFocus()

    # -- construction ----------------------------------------------------------------------

    def _build_inputs(self) -> None:
        self.address = QLineEdit()
        self.postcode = QLineEdit()
        self.uprn = QLineEdit()
        self.parent_uprn = QLineEdit()
        self.parent_uprn.setPlaceholderText("optional: the block or building")
        self.borough = _editable_combo(LONDON_BOROUGHS, "Borough")
        self.type = _editable_combo(INCIDENT_TYPES, "Type of incident")
        self.grade = QComboBox()
        self.grade.addItem("Choose: press I, S, E or R", None)
        for grade in Grade:
            self.grade.addItem(f"{grade.value} — {grade.label}", grade.value)
        self.grade.installEventFilter(_GradeKeys(self.grade))
        self.appointment_agreed = QCheckBox("Appointment &agreed with the caller")
        self.appointment = QDateTimeEdit(_next_hour())
        self.appointment.setCalendarPopup(True)
        self.appointment.setDisplayFormat("dd/MM/yyyy HH:mm")
        self.appointment.setEnabled(False)
        self.summary = QPlainTextEdit()
        self.summary.setTabChangesFocus(True)
        self.summary.setFixedHeight(90)
        self.caller_name = QLineEdit()
        self.caller_phone = QLineEdit()
        self.anonymous = QCheckBox(ANONYMITY_LABEL)
        self.anonymous.setChecked(False)
        self.create_button = QPushButton("&Create incident (Ctrl+Enter)")
        self.cancel_button = QPushButton("Cancel (Esc)")
        self.create_button.setDefault(False)
        self.create_button.setAutoDefault(False)
        self.cancel_button.setAutoDefault(False)

    def _inputs(self) -> dict[str, QWidget]:
        return {
            "address": self.address, "postcode": self.postcode, "uprn": self.uprn,
            "parent_uprn": self.parent_uprn, "borough": self.borough, "type": self.type,
            "grade": self.grade, "summary": self.summary, "caller_name": self.caller_name,
            "caller_phone": self.caller_phone,
        }

    def _build_layout(self) -> None:
        form = QFormLayout()
        f = self._fields
        for label, name in (("&Address *", "address"), ("&Postcode *", "postcode"),
                            ("UP&RN", "uprn"), ("Parent UPR&N", "parent_uprn"),
                            ("&Borough *", "borough"), ("&Type *", "type"),
                            ("&Grade *", "grade")):
            form.addRow(label, f[name])
        self._appointment_row = QWidget()
        row = QHBoxLayout(self._appointment_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.appointment_agreed)
        row.addWidget(self.appointment)
        form.addRow("Appointment", self._appointment_row)
        form.setRowVisible(self._appointment_row, False)
        self._form = form
        form.addRow("&Summary *", f["summary"])
        form.addRow("Caller na&me", f["caller_name"])
        form.addRow("Caller p&hone", f["caller_phone"])
        form.addRow("", self.anonymous)
        self.confirm_label = QLabel(
            "Discard what you typed? Press Esc again to discard, or carry on typing."
        )
        self.confirm_label.setProperty("role", "error")
        self.confirm_label.hide()
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.create_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.confirm_label)
        layout.addLayout(buttons)

    def _connect(self) -> None:
        self.create_button.clicked.connect(self.submit)
        self.cancel_button.clicked.connect(self.reject)
        for seq in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(seq), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(self.submit)
        self.grade.currentIndexChanged.connect(self._grade_changed)
        self.appointment_agreed.toggled.connect(self.appointment.setEnabled)
        for edit in (self.address, self.postcode, self.uprn, self.parent_uprn,
                     self.caller_name, self.caller_phone):
            edit.textEdited.connect(self._edited)
        self.summary.textChanged.connect(self._edited)
        self.borough.editTextChanged.connect(self._edited)
        self.type.editTextChanged.connect(self._edited)

    def _connect_warnings(self) -> None:
        # One single-shot timer owned by the form, restarted by typing; leaving a location
        # field looks up at once. Lookups are in memory (the warning index), so running one on
        # the GUI thread is fine.
        self.location_timer = QTimer(self)
        self.location_timer.setSingleShot(True)
        self.location_timer.setInterval(self.LOCATION_SETTLE_MS)
        self.location_timer.timeout.connect(self.check_warnings)
        for edit in self._location_edits():
            edit.textEdited.connect(lambda _text: self.location_timer.start())
            edit.installEventFilter(self)
        self.caller_name.installEventFilter(self)  # the caller's name can match an order

    def _location_edits(self) -> tuple[QLineEdit, ...]:
        return (self.address, self.postcode, self.uprn, self.parent_uprn)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FocusOut and self._warnings_for is not None:
            # Right after the focus change, not inside it: popping a window there confuses
            # activation. (Not location_timer.start(0): that would also set its interval to 0.)
            self.location_timer.stop()
            QTimer.singleShot(0, self, self.check_warnings)
        return super().eventFilter(watched, event)

    # -- warnings --------------------------------------------------------------------------

    @property
    def warning_panel(self) -> WarningPanel:
        """The panel this form pops (made on first use; it belongs to the form)."""
        if self._warning_panel is None:
            panel = WarningPanel(self._now, self._warning_policy, parent=self)
            panel.shown.connect(lambda _iid, refs: self._shown_warnings.update(refs))
            panel.acknowledged.connect(lambda _iid, ref: self._acknowledged_warnings.add(ref))
            self._warning_panel = panel
        return self._warning_panel

    def entered_place(self) -> Place | None:
        """The location as typed so far, or None while there is nothing to match on."""
        address = self.address.text().strip() or None
        uprn, parent = (e.text().strip() for e in (self.uprn, self.parent_uprn))
        postcode = self.postcode.text().strip()
        place = Place(
            uprn=uprn if UPRN.match(uprn) else None,
            parent_uprn=parent if UPRN.match(parent) else None,
            address=address,
            postcode=normalise_postcode(postcode) if postcode else None,
        )
        return place if place.address or place.uprn or place.parent_uprn else None

    def entered_people(self) -> list[Person]:
        """The persons to match: the caller, by name (the lead decides on more fields)."""
        name = self.caller_name.text().strip()
        return [Person(name=name)] if name else []

    def check_warnings(self) -> None:
        """Look up warnings for what has been entered and pop the panel for any new ones."""
        self.location_timer.stop()
        place = self.entered_place()
        if self._warnings_for is None or place is None:
            return
        people = tuple(self.entered_people())
        if (place, people) == self._last_lookup:
            return  # nothing changed since the last lookup: do not pop again
        self._last_lookup = (place, people)
        self._show_warnings(self._warnings_for(place, people))

    def _show_warnings(self, found: Sequence[WarningOut]) -> None:
        if not found and self._warning_panel is None:
            return
        panel = self.warning_panel
        title = f"New incident, {self.address.text().strip() or 'UPRN ' + self.uprn.text()}"
        if {warning_ref(w) for w in found} - self._shown_warnings:
            panel.show_for(title, None, found, self._acknowledged_warnings)
        elif panel.isVisible():
            # Same warnings or fewer (the address was corrected): follow without popping.
            panel.set_title(title)
            panel.update_warnings(found, self._acknowledged_warnings)

    def done(self, result: int) -> None:
        self.location_timer.stop()
        super().done(result)
        if self._warning_panel is not None:
            self._warning_panel.hide()

    # -- behaviour -------------------------------------------------------------------------

    def selected_grade(self) -> Grade | None:
        value = self.grade.currentData()
        return Grade(value) if isinstance(value, str) else None

    def set_grade(self, grade: Grade) -> None:
        self.grade.setCurrentIndex(self.grade.findData(grade.value))

    def _grade_changed(self) -> None:
        self._form.setRowVisible(self._appointment_row, self.selected_grade() is Grade.EXTENDED)
        self._edited()

    def _edited(self) -> None:
        if self._confirming:
            self._confirming = False
            self.confirm_label.hide()

    def has_input(self) -> bool:
        texts = (self.address.text(), self.postcode.text(), self.uprn.text(),
                 self.parent_uprn.text(), self.borough.currentText(), self.type.currentText(),
                 self.summary.toPlainText(), self.caller_name.text(), self.caller_phone.text())
        return any(t.strip() for t in texts) or self.selected_grade() is not None

    def reject(self) -> None:
        """Esc / Cancel: ask (inline) before discarding anything typed."""
        if self.has_input() and not self._confirming:
            self._confirming = True
            self.confirm_label.show()
            return
        self._confirming = False
        self.confirm_label.hide()
        super().reject()

    def errors(self) -> dict[str, str]:
        """Field name → message, for every field that is not acceptable."""
        errors: dict[str, str] = {}
        required = {"address": self.address.text(), "borough": self.borough.currentText(),
                    "type": self.type.currentText(), "summary": self.summary.toPlainText(),
                    "postcode": self.postcode.text()}
        for name, text in required.items():
            if not text.strip():
                errors[name] = "Required."
        postcode = self.postcode.text().strip()
        if postcode and not POSTCODE.match(normalise_postcode(postcode)):
            errors["postcode"] = "Not a UK postcode (for example NW1 7AA)."
        for name, edit in (("uprn", self.uprn), ("parent_uprn", self.parent_uprn)):
            if edit.text().strip() and not UPRN.match(edit.text().strip()):
                errors[name] = "A UPRN is digits only, up to 12."
        phone = self.caller_phone.text().strip()
        if phone and not PHONE.match(phone):
            errors["caller_phone"] = "Digits, spaces and a leading + only."
        if self.selected_grade() is None:
            errors["grade"] = "Choose a grade: press I, S, E or R."
        return errors

    def submit(self) -> None:
        """Validate; on success emit :attr:`submitted` and hide, else show messages inline."""
        errors = self.errors()
        for name, field in self._fields.items():
            field.set_error(errors.get(name))
        if errors:
            first = next(n for n in self._fields if n in errors)
            self._fields[first].editor.setFocus()
            return
        self.submitted.emit(self.draft())
        self.accept()

    def draft(self) -> IncidentDraft:
        """The form's content as an :class:`IncidentDraft` (call after validation)."""
        grade = self.selected_grade()
        assert grade is not None
        location = Location(
            address=self.address.text().strip(),
            postcode=normalise_postcode(self.postcode.text()),
            borough=self.borough.currentText().strip(),
            uprn=self.uprn.text().strip() or None,
            parent_uprn=self.parent_uprn.text().strip() or None,
        )
        caller = Caller(
            name=self.caller_name.text().strip() or None,
            phone=self.caller_phone.text().strip() or None,
            anonymous=self.anonymous.isChecked(),
        )
        return IncidentDraft(
            grade=grade, type=self.type.currentText().strip(),
            summary=self.summary.toPlainText().strip(), location=location, caller=caller,
            appointment_at=self._appointment_at(grade),
            shown_warnings=tuple(sorted(self._shown_warnings)),
            acknowledged_warnings=tuple(sorted(self._acknowledged_warnings)),
        )

    def _appointment_at(self, grade: Grade) -> datetime | None:
        if grade is not Grade.EXTENDED or not self.appointment_agreed.isChecked():
            return None
        local = self.appointment.dateTime().toPython()
        assert isinstance(local, datetime)
        return local.astimezone().astimezone(UTC)


def _editable_combo(items: tuple[str, ...], name: str) -> QComboBox:
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


def _next_hour() -> QDateTime:
    base = QDateTime.currentDateTime().addSecs(25 * 3600)
    time = base.time()
    return base.addSecs(-(time.minute() * 60 + time.second())).addMSecs(-time.msec())
