"""The non-modal new-incident form, usable at call speed from the keyboard.

Tab order follows the call: location, type, grade, summary, caller (name, phone, date of
birth), then the people named. Ctrl+Shift+P adds a person (name and optional date of birth,
up to :attr:`NewIncidentDialog.MAX_PERSONS`); each row has its own Remove button in the Tab
order. Ctrl+Enter submits; Esc cancels (asking first, inline, when anything was typed: a
second Esc discards). In the grade field, pressing I, S, E or R picks the grade; E shows the
appointment. Invalid fields get an inline message and keep what was typed; a date of birth is
checked as soon as focus leaves it (dd/mm/yyyy or ISO, never in the future). Anonymity is
never pre-ticked and is recorded only when the caller asks for it.

The borough and type offer the server's reference lists (from the snapshot's policy; case
aside, a value is sent as the list spells it). A value off a list, and an address with no
letters, get the server's own sentence inline when focus leaves the field and on Create: the
desk checks first, the server decides. With no lists (an older server) the London defaults
are offered and nothing is refused here.

Once the location is entered (focus leaves the address, postcode or UPRN fields, or typing in
them pauses), the form looks up warnings for it, the caller and everyone named (name and date
of birth, so an order's subject matches exactly) through the injected ``warnings_for`` and
shows any it finds, before the incident exists, in a
:class:`~dispatchdesk.gui.warning_panel.WarningPanel` embedded beside the fields. The panel
never takes the keyboard: what the operator is typing stays in the field it is typed in. F4
moves the keyboard to the warnings (Ctrl+Enter or Alt+A acknowledges one there, Esc goes back
to the field left). An unacknowledged warning stays in sight, with a line above the buttons
saying how many are left; Create (Ctrl+Enter) first looks up what was just typed, and while
any warning is unacknowledged it creates nothing and says so in the form. Leaving the
caller's or a person's fields looks up again. What the panel showed and what the operator
acknowledged travel in the draft (``shown_warnings``, ``acknowledged_warnings``) to be
audited once the incident has an id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from itertools import pairwise

from PySide6.QtCore import QDateTime, QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from dispatchdesk.domain.grades import Grade
from dispatchdesk.domain.incident import Caller, Location
from dispatchdesk.domain.reference import (
    FUTURE_DOB,
    INCIDENT_TYPES,
    LONDON_BOROUGHS,
    NO_LISTS,
    ReferenceLists,
    address_problem,
    dob_problem,
)
from dispatchdesk.domain.warnings import (
    DEFAULT_WARNING_POLICY,
    Person,
    Place,
    WarningPolicy,
    WarningRef,
    local_today,
)
from dispatchdesk.gui.warning_panel import PlaySound, WarningPanel, warning_ref
from dispatchdesk.protocol.warnings import WarningOut
from dispatchdesk.sync.api import IncidentDraft

#: Moves the keyboard to the warnings shown beside the form (and in the queue, with Ctrl+W).
WARNINGS_KEY = "F4"

#: Looks up the warnings for a place and the persons named (the engine's warning index).
WarningsFor = Callable[[Place, Sequence[Person]], list[WarningOut]]

__all__ = ["INCIDENT_TYPES", "LONDON_BOROUGHS"]  # re-exported (the queue's borough filter)

POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")
UPRN = re.compile(r"^[0-9]{1,12}$")
PHONE = re.compile(r"^\+?[0-9 ()-]{6,20}$")
_GRADE_KEYS = {Qt.Key.Key_I: Grade.IMMEDIATE, Qt.Key.Key_S: Grade.SIGNIFICANT,
               Qt.Key.Key_E: Grade.EXTENDED, Qt.Key.Key_R: Grade.REFERRED}
ANONYMITY_LABEL = "Caller asked for anonymity (tick only if the caller asks; never offer it)"
#: 09/03/1984, 9/3/1984, 09.03.1984, 09-03-1984 (day first, as callers say it in the UK).
_DMY = re.compile(r"^(\d{1,2})[/.\- ](\d{1,2})[/.\- ](\d{2}|\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
#: Older than this is taken for a mistyped year rather than a caller's age.
_EARLIEST_DOB = date(1900, 1, 1)
DOB_FORMAT_HINT = "dd/mm/yyyy, for example 09/03/1984"


def normalise_postcode(text: str) -> str:
    """``nw17aa`` → ``NW1 7AA``; returns the text upper-cased when it is not a postcode."""
    compact = re.sub(r"\s+", "", text.upper())
    candidate = f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact
    return candidate if POSTCODE.match(candidate) else text.strip().upper()


def parse_dob(text: str, today: date) -> date | None:
    """A date of birth as typed (``09/03/1984``, ``9.3.1984`` or ISO ``1984-03-09``);
    None when empty. Raises :class:`ValueError` with the message to show for anything else,
    including a date after ``today`` (the control room's date)."""
    text = text.strip()
    if not text:
        return None
    if m := _ISO.match(text):
        year, month, day = (int(g) for g in m.groups())
    elif m := _DMY.match(text):
        day, month, year = (int(g) for g in m.groups())
        if len(m.group(3)) == 2:
            # 09/03/84 could be 1984 or 2084 to a parser, and a wrong century silently
            # stops an order matching: ask for the year in full instead of guessing.
            raise ValueError(f"Give the year in full ({DOB_FORMAT_HINT}).")
    else:
        raise ValueError(f"Not a date: type the date of birth as {DOB_FORMAT_HINT}.")
    try:
        dob = date(year, month, day)
    except ValueError:
        raise ValueError(f"No such date: {text} (day first: {DOB_FORMAT_HINT}).") from None
    if dob_problem(dob, today) is not None:
        raise ValueError(FUTURE_DOB)
    if dob < _EARLIEST_DOB:
        raise ValueError(f"Before {_EARLIEST_DOB.year}: check the year.")
    return dob


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


class _PersonRow(QWidget):
    """One person named on the incident: name, optional date of birth, and Remove."""

    def __init__(self) -> None:
        super().__init__()
        self.name = QLineEdit()
        self.name.setPlaceholderText("Name")
        self.dob = QLineEdit()
        self.dob.setPlaceholderText("date of birth: dd/mm/yyyy")
        self.name_field = _Field(self.name)
        self.dob_field = _Field(self.dob)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setAutoDefault(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        # Top-aligned: a message under one field must not push its neighbours off the line.
        top = Qt.AlignmentFlag.AlignTop
        layout.addWidget(self.name_field, 3, top)
        layout.addWidget(self.dob_field, 2, top)
        layout.addWidget(self.remove_button, 0, top)

    def number(self, n: int) -> None:
        """Accessible names carry the row's number: a screen reader hears which person."""
        self.name.setAccessibleName(f"Person {n} name")
        self.dob.setAccessibleName(f"Person {n} date of birth")
        self.remove_button.setAccessibleName(f"Remove person {n}")

    def texts(self) -> tuple[str, str]:
        return self.name.text().strip(), self.dob.text().strip()


class _RowsArea(QScrollArea):
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
    time and ``warning_policy`` the server's, both for the warning panel; ``reference`` the
    server's boroughs and incident types (from the snapshot's policy); ``play_sound`` sounds a
    newly shown critical warning."""

    submitted = Signal(object)
    #: How long typing in the location must pause before warnings are looked up: long enough
    #: not to pop the panel at every word, short enough to warn while the caller is talking.
    LOCATION_SETTLE_MS = 1200
    #: Most people the form takes: a domestic names a handful; past this belongs in the summary.
    MAX_PERSONS = 20

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        warnings_for: WarningsFor | None = None,
        now: Callable[[], datetime] | None = None,
        warning_policy: WarningPolicy = DEFAULT_WARNING_POLICY,
        reference: ReferenceLists = NO_LISTS,
        play_sound: PlaySound | None = None,
    ) -> None:
        super().__init__(parent)
        self._play_sound = play_sound
        self.setWindowTitle("New incident")
        self.setModal(False)
        self._reference = reference
        self._confirming = False
        self._warnings_for = warnings_for
        self._now = now or (lambda: datetime.now(UTC))
        self._warning_policy = warning_policy
        self._warning_panel: WarningPanel | None = None
        self._last_lookup: tuple[Place, tuple[Person, ...]] | None = None
        self._shown_warnings: set[WarningRef] = set()
        self._acknowledged_warnings: set[WarningRef] = set()
        self.person_rows: list[_PersonRow] = []
        self._build_inputs()
        self._fields = {name: _Field(w) for name, w in self._inputs().items()}
        self._build_layout()
        self._connect()
        self._connect_warnings()
        self._retab()
        self.address.setFocus()

    # -- construction ----------------------------------------------------------------------

    def _build_inputs(self) -> None:
        self.address = QLineEdit()
        self.postcode = QLineEdit()
        self.uprn = QLineEdit()
        self.parent_uprn = QLineEdit()
        self.parent_uprn.setPlaceholderText("optional: the block or building")
        self.borough = _editable_combo((), "Borough")
        self.type = _editable_combo((), "Type of incident")
        self.set_reference(self._reference)
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
        self.caller_dob = QLineEdit()
        self.caller_dob.setPlaceholderText("optional: dd/mm/yyyy")
        self.anonymous = QCheckBox(ANONYMITY_LABEL)
        self.anonymous.setChecked(False)
        self.add_person_button = QPushButton("Add person (Ctrl+Shift+P)")
        self.add_person_button.setAutoDefault(False)
        self.persons_note = QLabel(
            f"{self.MAX_PERSONS} people is the most this form takes: name any others in the "
            "summary."
        )
        self.persons_note.setWordWrap(True)
        self.persons_note.hide()
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
            "caller_phone": self.caller_phone, "caller_dob": self.caller_dob,
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
        # After the phone, not beside the name: the form's Tab order (name, phone) predates
        # it, and operators' hands know it.
        form.addRow("Caller &date of birth", f["caller_dob"])
        form.addRow("", self.anonymous)
        self.persons_box = QGroupBox("People named (matched against protective orders)")
        box = QVBoxLayout(self.persons_box)
        self.persons_area = _RowsArea()
        self._person_rows_layout = self.persons_area.rows
        box.addWidget(self.persons_area)
        add_row = QHBoxLayout()
        add_row.addWidget(self.add_person_button)
        add_row.addWidget(self.persons_note, 1)
        add_row.addStretch(0)
        box.addLayout(add_row)
        self.confirm_label = QLabel(
            "Discard what you typed? Press Esc again to discard, or carry on typing."
        )
        self.confirm_label.setProperty("role", "error")
        self.confirm_label.hide()
        #: "⚠ 1 warning not yet acknowledged ...": in sight while any is left.
        self.warnings_note = QLabel()
        self.warnings_note.setProperty("role", "error")
        self.warnings_note.setWordWrap(True)
        font = self.warnings_note.font()
        font.setBold(True)
        self.warnings_note.setFont(font)
        self.warnings_note.hide()
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.create_button)
        fields = QVBoxLayout()
        fields.addLayout(form)
        fields.addWidget(self.persons_box)
        fields.addWidget(self.confirm_label)
        fields.addWidget(self.warnings_note)
        fields.addLayout(buttons)
        # The warnings go beside the fields (made on first use): nothing the operator is
        # looking at moves when they appear.
        self._columns = QHBoxLayout(self)
        self._columns.addLayout(fields, 3)

    def _connect(self) -> None:
        self.create_button.clicked.connect(self.submit)
        self.cancel_button.clicked.connect(self.reject)
        for seq in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(seq), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(self.submit)
        to_warnings = QShortcut(QKeySequence(WARNINGS_KEY), self)
        to_warnings.setContext(Qt.ShortcutContext.WindowShortcut)
        to_warnings.activated.connect(self.focus_warnings)
        add = QShortcut(QKeySequence("Ctrl+Shift+P"), self)
        add.setContext(Qt.ShortcutContext.WindowShortcut)
        add.activated.connect(self.add_person)
        self.add_person_button.clicked.connect(self.add_person)
        self.grade.currentIndexChanged.connect(self._grade_changed)
        self.appointment_agreed.toggled.connect(self.appointment.setEnabled)
        for edit in (self.address, self.postcode, self.uprn, self.parent_uprn,
                     self.caller_name, self.caller_phone, self.caller_dob):
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
        # The caller's name and date of birth can match an order.
        self.caller_name.installEventFilter(self)
        self.caller_dob.installEventFilter(self)
        # Leaving the borough or type checks it against the lists (the address is watched).
        self.borough.installEventFilter(self)
        self.type.installEventFilter(self)

    def _location_edits(self) -> tuple[QLineEdit, ...]:
        return (self.address, self.postcode, self.uprn, self.parent_uprn)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FocusIn and isinstance(watched, QLineEdit) \
                and self.persons_area.isAncestorOf(watched):
            # Tab scrolls the area by itself; focus set from code (a new row, the first
            # field with a problem) does not. Once the rows are laid out: a row added just
            # now has no place in the area yet.
            QTimer.singleShot(0, self, lambda: self._scroll_to(watched))
        if event.type() == QEvent.Type.FocusOut:
            checked = self._checked_on_leave().get(watched)
            if checked is not None and isinstance(event, QFocusEvent) \
                    and event.reason() is not Qt.FocusReason.PopupFocusReason:
                # Said at once (the completer's popup taking focus is not leaving).
                name, problem = checked
                self._fields[name].set_error(problem())
            dob = self._dob_fields().get(watched)
            if dob is not None:
                # Said at once, not only on Create: a mistyped DOB silently turns an exact
                # person match into a name-only possible match.
                edit, field = dob
                field.set_error(self._dob_problem(edit))
            if self._warnings_for is not None and not self._to_own_dob(watched):
                # Right after the focus change, not inside it: popping a window there confuses
                # activation. (Not location_timer.start(0): that would also set its interval
                # to 0.)
                self.location_timer.stop()
                QTimer.singleShot(0, self, self.check_warnings)
        return super().eventFilter(watched, event)

    def _checked_on_leave(self) -> dict[QObject, tuple[str, Callable[[], str | None]]]:
        return {self.address: ("address", self._address_problem),
                self.borough: ("borough", self._borough_problem),
                self.type: ("type", self._type_problem)}

    def _scroll_to(self, edit: QLineEdit) -> None:
        if any(edit is row.name or edit is row.dob for row in self.person_rows):  # not removed
            self.persons_area.ensureWidgetVisible(edit)

    def _to_own_dob(self, watched: QObject) -> bool:
        """Focus is going from a person's name to the same person's DOB: wait for the DOB
        (looking up now would pop a name-only "possible match" while it is being typed).
        Qt has already moved focus when the old widget hears of it."""
        focus = QApplication.focusWidget()
        return any(row.name is watched and focus is row.dob for row in self.person_rows)

    def _dob_fields(self) -> dict[QObject, tuple[QLineEdit, _Field]]:
        fields: dict[QObject, tuple[QLineEdit, _Field]] = {
            self.caller_dob: (self.caller_dob, self._fields["caller_dob"])}
        fields.update((row.dob, (row.dob, row.dob_field)) for row in self.person_rows)
        return fields

    # -- people named ----------------------------------------------------------------------

    def add_person(self) -> _PersonRow | None:
        """Ctrl+Shift+P / Add person: a new row, focused on its name; None when full."""
        if len(self.person_rows) >= self.MAX_PERSONS:
            self.persons_note.show()
            return None
        row = _PersonRow()
        for edit in (row.name, row.dob):
            edit.textEdited.connect(self._edited)
            edit.installEventFilter(self)  # leaving the name or DOB looks up warnings
        row.remove_button.clicked.connect(lambda _=False, r=row: self.remove_person(r))
        self.person_rows.append(row)
        self._person_rows_layout.addWidget(row)
        # Shown now rather than when the layout gets round to it, so that a Tab typed at
        # once (keys arrive faster than the event loop turns) lands in the new row.
        # (Not setVisible(isVisible()): hidden explicitly, a row would stay hidden when the
        # form is shown.)
        if self.isVisible():
            row.show()
        self._persons_changed()
        row.name.setFocus()
        return row

    def remove_person(self, row: _PersonRow) -> None:
        """Drop a row; focus goes to the next row, else the previous, else Add person."""
        index = self.person_rows.index(row)
        self.person_rows.remove(row)
        self._person_rows_layout.removeWidget(row)
        row.hide()
        row.deleteLater()
        self._persons_changed()
        rest = self.person_rows
        if rest:
            rest[min(index, len(rest) - 1)].name.setFocus()
        else:
            self.add_person_button.setFocus()
        if self._warnings_for is not None:
            # A panel on screen follows (a warning found only through this person goes);
            # never pops, as nothing new can match with fewer people.
            QTimer.singleShot(0, self, self.check_warnings)

    def _persons_changed(self) -> None:
        for n, row in enumerate(self.person_rows, 1):
            row.number(n)
        full = len(self.person_rows) >= self.MAX_PERSONS
        self.add_person_button.setEnabled(not full)
        self.persons_note.setVisible(full)
        self._retab()

    def _retab(self) -> None:
        """Tab order follows the screen: rows are made after the buttons below them, so
        Qt's default (creation order) would put a new row after Create."""
        chain: list[QWidget] = [self.anonymous]
        for row in self.person_rows:
            chain += [row.name, row.dob, row.remove_button]
        chain += [self.add_person_button, self.cancel_button, self.create_button]
        if self._warning_panel is not None:
            # The warnings beside the form come after Create, in reading order (F4 is the
            # quick way there); never between the fields of a call being typed.
            chain += self._warning_panel.cards
        for first, second in pairwise(chain):
            QWidget.setTabOrder(first, second)

    # -- warnings --------------------------------------------------------------------------

    @property
    def warning_panel(self) -> WarningPanel:
        """The warnings beside the fields (made on first use; part of the form)."""
        if self._warning_panel is None:
            panel = WarningPanel(self._now, self._warning_policy, parent=self, embedded=True,
                                 play_sound=self._play_sound)
            panel.hide()
            panel.shown.connect(self._panel_shown)
            panel.acknowledged.connect(self._panel_acknowledged)
            self._columns.addWidget(panel, 2)
            self._warning_panel = panel
        return self._warning_panel

    def _panel_shown(self, _incident_id: int | None, refs: list[WarningRef]) -> None:
        self._shown_warnings.update(refs)
        self._refresh_warnings_note()

    def _panel_acknowledged(self, _incident_id: int | None, ref: WarningRef) -> None:
        self._acknowledged_warnings.add(ref)
        self._refresh_warnings_note()

    def unacknowledged_warnings(self) -> list[WarningRef]:
        """The warnings on show that the operator has not acknowledged yet."""
        panel = self._warning_panel
        return panel.unacknowledged() if panel is not None else []

    def focus_warnings(self) -> None:
        """F4: the keyboard to the first warning not yet acknowledged (Esc comes back)."""
        panel = self._warning_panel
        if panel is not None and panel.isVisible():
            panel.focus_warnings()

    def _refresh_warnings_note(self, *, refused: bool = False) -> None:
        left = len(self.unacknowledged_warnings())
        noun = "warning" if left == 1 else "warnings"
        if refused:
            text = (f"⚠ Acknowledge the {left} {noun} first ({WARNINGS_KEY}): the incident "
                    "is not created until you do.")
        else:
            text = (f"⚠ {left} {noun} not yet acknowledged: press {WARNINGS_KEY} to read "
                    f"and acknowledge {'it' if left == 1 else 'them'}.")
        self.warnings_note.setText(text if left else "")
        self.warnings_note.setVisible(bool(left))
        self.warnings_note.setAccessibleName(text if left else "")

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

    def today(self) -> date:
        """The control room's date (server time in the policy's zone): no DOB may be later."""
        return local_today(self._now(), self._warning_policy)

    def _dob_or_none(self, edit: QLineEdit) -> date | None:
        """The date of birth typed, or None while it is empty or not (yet) a valid date: a
        person is then matched by name alone, shown as a possible match, never hidden."""
        try:
            return parse_dob(edit.text(), self.today())
        except ValueError:
            return None

    def entered_people(self) -> list[Person]:
        """The persons to match: the caller and everyone named, each with the date of birth
        when one is typed (and valid), so an order's subject matches exactly."""
        people = []
        name = self.caller_name.text().strip()
        if name:
            people.append(Person(name=name, dob=self._dob_or_none(self.caller_dob)))
        for row in self.person_rows:
            name = _person_name(row.name.text())
            if name:
                people.append(Person(name=name, dob=self._dob_or_none(row.dob)))
        return people

    def check_warnings(self) -> None:
        """Look up warnings for what has been entered and pop the panel for any new ones."""
        self.location_timer.stop()
        if not self.isVisible():
            # Ctrl+Enter from a watched field: the focus-out of the closing form queues one
            # more lookup, which would pop the panel over an incident already sent (and
            # whatever was acknowledged there would never reach the draft).
            return
        place = self.entered_place()
        if self._warnings_for is None or place is None:
            return
        people = tuple(self.entered_people())
        if (place, people) == self._last_lookup:
            return  # nothing changed since the last lookup: do not pop again
        self._last_lookup = (place, people)
        self._show_warnings(self._warnings_for(place, people))

    def refresh_warnings(self) -> None:
        """Look up again even if nothing was typed (the day turned: severities and expiry
        wording change with it)."""
        if self._warning_panel is not None and self._warning_panel.isVisible():
            self._last_lookup = None
            self.check_warnings()

    def _show_warnings(self, found: Sequence[WarningOut]) -> None:
        if not found and self._warning_panel is None:
            return
        panel = self.warning_panel
        title = f"New incident, {self.address.text().strip() or 'UPRN ' + self.uprn.text()}"
        if found and ({warning_ref(w) for w in found} - self._shown_warnings
                      or not panel.isVisible()):
            panel.show_for(title, None, found, self._acknowledged_warnings)
        else:
            # Same warnings or fewer (the address was corrected): follow without popping;
            # none left (the address corrected away from them): the pane goes.
            panel.set_title(title)
            panel.update_warnings(found, self._acknowledged_warnings)
        self._retab()
        self._refresh_warnings_note()

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
                 self.summary.toPlainText(), self.caller_name.text(), self.caller_phone.text(),
                 self.caller_dob.text(), *(t for r in self.person_rows for t in r.texts()))
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

    # -- reference lists --------------------------------------------------------------------

    @property
    def reference(self) -> ReferenceLists:
        return self._reference

    def set_reference(self, reference: ReferenceLists) -> None:
        """Offer (and check against) the server's lists; what is typed is kept."""
        self._reference = reference
        for combo, items in ((self.borough, reference.boroughs or LONDON_BOROUGHS),
                             (self.type, reference.incident_types or INCIDENT_TYPES)):
            text = combo.currentText()
            blocked = combo.blockSignals(True)
            combo.clear()
            combo.addItems(items)
            combo.setCurrentIndex(-1)
            combo.setEditText(text)
            combo.blockSignals(blocked)

    def _borough_problem(self) -> str | None:
        return _off_list(self._reference.borough, self.borough.currentText())

    def _type_problem(self) -> str | None:
        return _off_list(self._reference.incident_type, self.type.currentText())

    def _address_problem(self) -> str | None:
        return address_problem(self.address.text())

    def errors(self) -> dict[str, str]:
        """Field name → message, for every field that is not acceptable."""
        errors: dict[str, str] = {}
        for name, problem in (("address", self._address_problem()),
                              ("borough", self._borough_problem()),
                              ("type", self._type_problem())):
            if problem is not None:
                errors[name] = problem
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
        errors.update(self._dob_errors())
        if self.selected_grade() is None:
            errors["grade"] = "Choose a grade: press I, S, E or R."
        return errors

    def _dob_errors(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        problem = self._dob_problem(self.caller_dob)
        if problem:
            errors["caller_dob"] = problem
        if self.caller_dob.text().strip() and not self.caller_name.text().strip():
            # On the name: that is what is missing (a DOB alone matches nobody).
            errors["caller_name"] = "Give the caller's name with the date of birth."
        for key, row in self._person_keys().items():
            name, dob = row.texts()
            problem = self._dob_problem(row.dob)
            if problem:
                errors[f"{key}_dob"] = problem
            if dob and not name:
                errors[f"{key}_name"] = "A name is required with a date of birth."
        return errors

    def _person_keys(self) -> dict[str, _PersonRow]:
        """``person1``, ``person2``, ... by position now (rows come and go)."""
        return {f"person{n}": row for n, row in enumerate(self.person_rows, 1)}

    def all_fields(self) -> dict[str, _Field]:
        """Every field by the name :meth:`errors` uses, in Tab order."""
        fields = dict(self._fields)
        for key, row in self._person_keys().items():
            fields[f"{key}_name"] = row.name_field
            fields[f"{key}_dob"] = row.dob_field
        return fields

    def _dob_problem(self, edit: QLineEdit) -> str | None:
        try:
            parse_dob(edit.text(), self.today())
        except ValueError as e:
            return str(e)
        return None

    def submit(self) -> None:
        """Validate; on success emit :attr:`submitted` and hide, else show messages inline.

        What was typed a moment ago is looked up first (no waiting for the pause); while any
        warning is unacknowledged nothing is sent and the form says so, leaving the keyboard
        where it is."""
        if self._warnings_for is not None:
            self.check_warnings()
        errors = self.errors()
        fields = self.all_fields()
        for name, field in fields.items():
            field.set_error(errors.get(name))
        if self.unacknowledged_warnings():
            self._refresh_warnings_note(refused=True)
            return
        if errors:
            first = next(n for n in fields if n in errors)
            fields[first].editor.setFocus()
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
            borough=self._reference.borough(self.borough.currentText()),
            uprn=self.uprn.text().strip() or None,
            parent_uprn=self.parent_uprn.text().strip() or None,
        )
        caller = Caller(
            name=self.caller_name.text().strip() or None,
            phone=self.caller_phone.text().strip() or None,
            anonymous=self.anonymous.isChecked(),
            dob=parse_dob(self.caller_dob.text(), self.today()),
        )
        return IncidentDraft(
            grade=grade, type=self._reference.incident_type(self.type.currentText()),
            summary=self.summary.toPlainText().strip(), location=location, caller=caller,
            appointment_at=self._appointment_at(grade),
            persons=self._persons(),
            shown_warnings=tuple(sorted(self._shown_warnings)),
            acknowledged_warnings=tuple(sorted(self._acknowledged_warnings)),
        )

    def _persons(self) -> tuple[Person, ...]:
        today = self.today()
        return tuple(Person(name=name, dob=parse_dob(row.dob.text(), today))
                     for row in self.person_rows if (name := _person_name(row.name.text())))

    def _appointment_at(self, grade: Grade) -> datetime | None:
        if grade is not Grade.EXTENDED or not self.appointment_agreed.isChecked():
            return None
        local = self.appointment.dateTime().toPython()
        assert isinstance(local, datetime)
        return local.astimezone().astimezone(UTC)


def _person_name(text: str) -> str:
    """The name as typed, with runs of spaces made one (a double space is a typing slip)."""
    return " ".join(text.split())


def _off_list(pick: Callable[[str], str], text: str) -> str | None:
    """The sentence for a value not on its list (blank is "Required.", said elsewhere)."""
    if not text.strip():
        return None
    try:
        pick(text)
    except ValueError as exc:
        return str(exc)
    return None


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
