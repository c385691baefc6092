"""The non-modal new-incident form, usable at call speed from the keyboard.

Tab order follows the call: location, type, grade, summary, caller (name, phone, date of
birth), then the people named. Ctrl+Shift+P adds a person (name and optional date of birth,
up to :attr:`NewIncidentDialog.MAX_PERSONS`); each row has its own Remove button in the Tab
order. Ctrl+Enter submits; Esc cancels (asking first, inline, when anything was typed: a
second Esc discards). In the grade field, pressing I, S, E or R picks the grade; E shows the
appointment. Invalid fields get an inline message and keep what was typed; a date of birth is
checked as soon as focus leaves it (dd/mm/yyyy or ISO, never in the future). Anonymity is
never pre-ticked and is recorded only when the caller asks for it. The checks themselves are
Qt-free, in :mod:`dispatchdesk.domain.forms`.

The borough and type offer the server's reference lists (from the snapshot's policy; case
aside, a value is sent as the list spells it). A value off a list, and an address with no
letters, get the server's own sentence inline when focus leaves the field and on Create: the
desk checks first, the server decides. With no lists (an older server) the London defaults
are offered and nothing is refused here.

Once the location is entered (focus leaves the address, postcode or UPRN fields, or typing in
them pauses), the form looks up warnings for it, the caller and everyone named (name and date
of birth, so an order's subject matches exactly) through the injected ``warnings_for`` and
shows any it finds, before the incident exists, in a
:class:`~dispatchdesk.gui.warnings.panel.WarningPanel` embedded beside the fields. The panel
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

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from itertools import pairwise

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFocusEvent, QKeySequence, QShortcut
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
    QVBoxLayout,
    QWidget,
)

from dispatchdesk.domain.forms import IncidentFormValues, dob_text_problem, off_list, person_name
from dispatchdesk.domain.grades import Grade
from dispatchdesk.domain.history import IncidentPerson, PersonRole
from dispatchdesk.domain.reference import (
    INCIDENT_TYPES,
    LONDON_BOROUGHS,
    NO_LISTS,
    ReferenceLists,
    address_problem,
)
from dispatchdesk.domain.warnings import (
    DEFAULT_WARNING_POLICY,
    Person,
    Place,
    WarningPolicy,
    WarningRef,
    local_today,
)
from dispatchdesk.gui.history.form import FormHistory
from dispatchdesk.gui.history.panel import HISTORY_KEY
from dispatchdesk.gui.incident.form_warnings import WARNINGS_KEY, FormWarnings
from dispatchdesk.gui.incident.form_widgets import (
    FormField,
    GradeKeys,
    PersonRow,
    RowsArea,
    editable_combo,
    next_hour,
    role_combo,
)
from dispatchdesk.gui.warnings.panel import PlaySound, WarningPanel
from dispatchdesk.protocol.warnings import WarningView
from dispatchdesk.sync.api import HistorySource, IncidentDraft

#: Looks up the warnings for a place and the persons named (the engine's warning index).
WarningsFor = Callable[[Place, Sequence[Person]], Sequence[WarningView]]

#: Worded as what happened, never as an offer; off the Tab path (a click, or Alt+Y, on
#: purpose), never preset.
ANONYMITY_LABEL = "Caller asked to stay anon&ymous"


class NewIncidentDialog(QDialog):
    """Create an incident; emits :attr:`submitted` with an :class:`IncidentDraft`.

    ``warnings_for`` (optional) looks up warnings for the location entered; ``now`` is server
    time and ``warning_policy`` the server's, both for the warning panel; ``reference`` the
    server's boroughs and incident types (from the snapshot's policy); ``play_sound`` sounds a
    newly shown critical warning."""

    submitted = Signal(object)
    #: Anything in the form changed (typed, picked, ticked, a person added or removed): the
    #: draft is saved when typing pauses (:mod:`~dispatchdesk.gui.incident.form_draft`).
    changed = Signal()
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
        history: HistorySource | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("New incident")
        self.setModal(False)
        self._reference = reference
        self._confirming = False
        self._warnings_for = warnings_for
        self._now = now or (lambda: datetime.now(UTC))
        self._warning_policy = warning_policy
        self._last_lookup: tuple[Place, tuple[Person, ...]] | None = None
        self.person_rows: list[PersonRow] = []
        self._build_inputs()
        self._build_layout()
        self._warnings = FormWarnings(
            self, self._warnings_column, self._now, warning_policy, play_sound
        )
        #: Past incidents at the location and involving the people typed (below the warnings).
        self.history = FormHistory(
            self,
            self._side,
            history,
            lambda: self._warning_policy.timezone,
            lambda: (self.values().place(), self.values().people(self.today())),
            self._now,
        )
        self.warnings_note = self._warnings.note
        self._fields_column.insertWidget(
            self._fields_column.indexOf(self.confirm_label) + 1, self.warnings_note
        )
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
        self.borough = editable_combo((), "Borough")
        self.type = editable_combo((), "Type of incident")
        self.set_reference(self._reference)
        self.grade = QComboBox()
        self.grade.addItem("Choose: press I, S, E or R", None)
        for grade in Grade:
            self.grade.addItem(f"{grade.value} — {grade.label}", grade.value)
        #: Reads the letters typed in the grade field (a word is refused, inline).
        self.grade_keys = GradeKeys(
            self.grade, lambda problem: self._fields["grade"].set_error(problem)
        )
        self.grade.installEventFilter(self.grade_keys)
        self.appointment_agreed = QCheckBox("Appointment &agreed with the caller")
        self.appointment = QDateTimeEdit(next_hour())
        self.appointment.setCalendarPopup(True)
        self.appointment.setDisplayFormat("dd/MM/yyyy HH:mm")
        self.appointment.setEnabled(False)
        self.summary = QPlainTextEdit()
        self.summary.setTabChangesFocus(True)
        self.summary.setFixedHeight(90)
        self.weapons = QCheckBox("&Weapons mentioned or seen")
        self.caller_name = QLineEdit()
        self.caller_phone = QLineEdit()
        self.caller_dob = QLineEdit()
        self.caller_dob.setPlaceholderText("optional: dd/mm/yyyy")
        self.caller_role = role_combo(PersonRole.INFORMANT, "Caller's role")
        self.anonymous = QCheckBox(ANONYMITY_LABEL)
        self.anonymous.setChecked(False)
        self.anonymous.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.anonymous.setToolTip(
            "Tick only when the caller asks to stay anonymous: never offer it. Officers still "
            "contact the informant."
        )
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
        inputs: dict[str, QWidget] = {
            "address": self.address,
            "postcode": self.postcode,
            "uprn": self.uprn,
            "parent_uprn": self.parent_uprn,
            "borough": self.borough,
            "type": self.type,
            "grade": self.grade,
            "summary": self.summary,
            "caller_name": self.caller_name,
            "caller_phone": self.caller_phone,
            "caller_dob": self.caller_dob,
        }
        self._fields = {name: FormField(w) for name, w in inputs.items()}

    def _build_layout(self) -> None:
        form = QFormLayout()
        f = self._fields
        for label, name in (
            ("&Address *", "address"),
            ("&Postcode *", "postcode"),
            ("UP&RN", "uprn"),
            ("Parent UPR&N", "parent_uprn"),
            ("&Borough *", "borough"),
            ("&Type *", "type"),
            ("&Grade *", "grade"),
        ):
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
        form.addRow("", self.weapons)
        form.addRow("Caller na&me", f["caller_name"])
        form.addRow("Caller p&hone", f["caller_phone"])
        # After the phone, not beside the name: the form's Tab order (name, phone) predates
        # it, and operators' hands know it.
        form.addRow("Caller &date of birth", f["caller_dob"])
        form.addRow("Caller ro&le", self.caller_role)
        form.addRow("", self.anonymous)
        self.persons_box = QGroupBox("People named (matched against protective orders)")
        box = QVBoxLayout(self.persons_box)
        self.persons_area = RowsArea()
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
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.create_button)
        fields = QVBoxLayout()
        fields.addLayout(form)
        fields.addWidget(self.persons_box)
        fields.addWidget(self.confirm_label)  # the warnings' note goes below it
        fields.addLayout(buttons)
        self._fields_column = fields
        # The warnings go beside the fields (made on first use): nothing the operator is
        # looking at moves when they appear.
        self._columns = QHBoxLayout(self)
        self._columns.addLayout(fields, 3)
        # Beside the fields: the warnings (made on first use) above the history.
        self._side = QVBoxLayout()
        self._warnings_column = QVBoxLayout()
        self._side.addLayout(self._warnings_column, 2)
        self._columns.addLayout(self._side, 2)

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
        to_history = QShortcut(QKeySequence(HISTORY_KEY), self)
        to_history.setContext(Qt.ShortcutContext.WindowShortcut)
        to_history.activated.connect(lambda: self.history.panel.focus_list())
        add = QShortcut(QKeySequence("Ctrl+Shift+P"), self)
        add.setContext(Qt.ShortcutContext.WindowShortcut)
        add.activated.connect(self.add_person)
        self.add_person_button.clicked.connect(self.add_person)
        self.grade.currentIndexChanged.connect(self._grade_changed)
        self.appointment_agreed.toggled.connect(self.appointment.setEnabled)
        self.appointment_agreed.toggled.connect(self._edited)
        self.appointment.dateTimeChanged.connect(self._edited)
        self.anonymous.toggled.connect(self._edited)
        for edit in (
            self.address,
            self.postcode,
            self.uprn,
            self.parent_uprn,
            self.caller_name,
            self.caller_phone,
            self.caller_dob,
        ):
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
        for edit in (self.address, self.postcode, self.uprn, self.parent_uprn):
            edit.textEdited.connect(lambda _text: self.location_timer.start())
            edit.installEventFilter(self)
        self.history.watch(
            self.address,
            self.postcode,
            self.uprn,
            self.parent_uprn,
            self.caller_name,
            self.caller_dob,
        )
        # The caller's name and date of birth can match an order.
        self.caller_name.installEventFilter(self)
        self.caller_dob.installEventFilter(self)
        # Leaving the borough or type checks it against the lists (the address is watched).
        self.borough.installEventFilter(self)
        self.type.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.FocusIn
            and isinstance(watched, QLineEdit)
            and self.persons_area.isAncestorOf(watched)
        ):
            # Tab scrolls the area by itself; focus set from code (a new row, the first
            # field with a problem) does not. Once the rows are laid out: a row added just
            # now has no place in the area yet.
            QTimer.singleShot(0, self, lambda: self._scroll_to(watched))
        if event.type() == QEvent.Type.FocusOut:
            checked = self._checked_on_leave().get(watched)
            if (
                checked is not None
                and isinstance(event, QFocusEvent)
                and event.reason() is not Qt.FocusReason.PopupFocusReason
            ):
                # Said at once (the completer's popup taking focus is not leaving).
                name, problem = checked
                self._fields[name].set_error(problem())
            dob = self._dob_fields().get(watched)
            if dob is not None:
                # Said at once, not only on Create: a mistyped DOB silently turns an exact
                # person match into a name-only possible match.
                edit, field = dob
                field.set_error(dob_text_problem(edit.text(), self.today()))
            if self._warnings_for is not None and not self._to_own_dob(watched):
                # Right after the focus change, not inside it: popping a window there confuses
                # activation. (Not location_timer.start(0): that would also set its interval
                # to 0.)
                self.location_timer.stop()
                QTimer.singleShot(0, self, self.check_warnings)
        return super().eventFilter(watched, event)

    def _checked_on_leave(self) -> dict[QObject, tuple[str, Callable[[], str | None]]]:
        ref = self._reference
        return {
            self.address: ("address", lambda: address_problem(self.address.text())),
            self.borough: ("borough", lambda: off_list(ref.borough, self.borough.currentText())),
            self.type: ("type", lambda: off_list(ref.incident_type, self.type.currentText())),
        }

    def _scroll_to(self, edit: QLineEdit) -> None:
        if any(edit is row.name or edit is row.dob for row in self.person_rows):  # not removed
            self.persons_area.ensureWidgetVisible(edit)

    def _to_own_dob(self, watched: QObject) -> bool:
        """Focus is going from a person's name to the same person's DOB: wait for the DOB
        (looking up now would pop a name-only "possible match" while it is being typed).
        Qt has already moved focus when the old widget hears of it."""
        focus = QApplication.focusWidget()
        return any(row.name is watched and focus is row.dob for row in self.person_rows)

    def _dob_fields(self) -> dict[QObject, tuple[QLineEdit, FormField]]:
        fields: dict[QObject, tuple[QLineEdit, FormField]] = {
            self.caller_dob: (self.caller_dob, self._fields["caller_dob"])
        }
        fields.update((row.dob, (row.dob, row.dob_field)) for row in self.person_rows)
        return fields

    # -- people named ----------------------------------------------------------------------

    def add_person(self) -> PersonRow | None:
        """Ctrl+Shift+P / Add person: a new row, focused on its name; None when full."""
        if len(self.person_rows) >= self.MAX_PERSONS:
            self.persons_note.show()
            return None
        row = PersonRow()
        for edit in (row.name, row.dob):
            edit.textEdited.connect(self._edited)
            edit.installEventFilter(self)  # leaving the name or DOB looks up warnings
        self.history.watch(row.name, row.dob)
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

    def remove_person(self, row: PersonRow) -> None:
        """Drop a row; focus goes to the next row, else the previous, else Add person."""
        index = self.person_rows.index(row)
        self.person_rows.remove(row)
        self._person_rows_layout.removeWidget(row)
        row.hide()
        row.deleteLater()
        self._persons_changed()
        self._edited()
        rest = self.person_rows
        if rest:
            rest[min(index, len(rest) - 1)].name.setFocus()
        else:
            self.add_person_button.setFocus()
        self.history.changed()
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
        # The anonymity choice is off the Tab path (ClickFocus): Tab goes from the caller's
        # date of birth and role straight to the people named.
        chain: list[QWidget] = [self.caller_dob, self.caller_role]
        for row in self.person_rows:
            chain += [row.name, row.dob, row.role, row.remove_button]
        chain += [self.add_person_button, self.cancel_button, self.create_button]
        panel = self._warnings.existing_panel
        if panel is not None:
            # The warnings beside the form come after Create, in reading order (F4 is the
            # quick way there); never between the fields of a call being typed.
            chain += panel.cards
        # Then the history (F3 is the quick way there).
        chain.append(self.history.panel.list)
        for first, second in pairwise(chain):
            QWidget.setTabOrder(first, second)

    # -- warnings --------------------------------------------------------------------------

    @property
    def warning_panel(self) -> WarningPanel:
        """The warnings beside the fields (made on first use; part of the form)."""
        return self._warnings.panel

    def unacknowledged_warnings(self) -> list[WarningRef]:
        """The warnings on show that the operator has not acknowledged yet."""
        return self._warnings.unacknowledged()

    def focus_warnings(self) -> None:
        """F4: the keyboard to the first warning not yet acknowledged (Esc comes back)."""
        if self._warnings.is_showing():
            self.warning_panel.focus_warnings()

    def today(self) -> date:
        """The control room's date (server time in the policy's zone): no DOB may be later."""
        return local_today(self._now(), self._warning_policy)

    def values(self) -> IncidentFormValues:
        """The fields as typed (the checks and the lookups work on these)."""
        return IncidentFormValues(
            address=self.address.text(),
            postcode=self.postcode.text(),
            uprn=self.uprn.text(),
            parent_uprn=self.parent_uprn.text(),
            borough=self.borough.currentText(),
            type=self.type.currentText(),
            summary=self.summary.toPlainText(),
            caller_name=self.caller_name.text(),
            caller_phone=self.caller_phone.text(),
            caller_dob=self.caller_dob.text(),
            grade=self.selected_grade(),
            persons=tuple(row.texts() for row in self.person_rows),
        )

    def check_warnings(self) -> None:
        """Look up warnings for what has been entered and pop the panel for any new ones."""
        self.location_timer.stop()
        if not self.isVisible():
            # Ctrl+Enter from a watched field: the focus-out of the closing form queues one
            # more lookup, which would pop the panel over an incident already sent (and
            # whatever was acknowledged there would never reach the draft).
            return
        values = self.values()
        place = values.place()
        if self._warnings_for is None or place is None:
            return
        people = tuple(values.people(self.today()))
        if (place, people) == self._last_lookup:
            return  # nothing changed since the last lookup: do not pop again
        self._last_lookup = (place, people)
        title = f"New incident, {self.address.text().strip() or 'UPRN ' + self.uprn.text()}"
        self._warnings.show(title, self._warnings_for(place, people))
        self._retab()

    def refresh_warnings(self) -> None:
        """Look up again even if nothing was typed (the day turned: severities and expiry
        wording change with it)."""
        if self._warnings.is_showing():
            self._last_lookup = None
            self.check_warnings()

    def done(self, result: int) -> None:
        self.location_timer.stop()
        self.history.stop()
        super().done(result)
        panel = self._warnings.existing_panel
        if panel is not None:
            panel.hide()

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
        self.changed.emit()
        if self._confirming:
            self._confirming = False
            self.confirm_label.hide()

    def reject(self) -> None:
        """Esc / Cancel: ask (inline) before discarding anything typed."""
        if self.values().has_input() and not self._confirming:
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
        for combo, items in (
            (self.borough, reference.boroughs or LONDON_BOROUGHS),
            (self.type, reference.incident_types or INCIDENT_TYPES),
        ):
            text = combo.currentText()
            blocked = combo.blockSignals(True)
            combo.clear()
            combo.addItems(items)
            combo.setCurrentIndex(-1)
            combo.setEditText(text)
            combo.blockSignals(blocked)

    def errors(self) -> dict[str, str]:
        """Field name → message, for every field that is not acceptable."""
        return self.values().errors(self._reference, self.today())

    def _person_keys(self) -> dict[str, PersonRow]:
        """``person1``, ``person2``, ... by position now (rows come and go)."""
        return {f"person{n}": row for n, row in enumerate(self.person_rows, 1)}

    def all_fields(self) -> dict[str, FormField]:
        """Every field by the name :meth:`errors` uses, in Tab order."""
        fields = dict(self._fields)
        for key, row in self._person_keys().items():
            fields[f"{key}_name"] = row.name_field
            fields[f"{key}_dob"] = row.dob_field
        return fields

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
            self._warnings.refresh_note(refused=True)
            return
        if errors:
            first = next(n for n in fields if n in errors)
            fields[first].editor.setFocus()
            return
        self.submitted.emit(self.draft())
        self.accept()

    def draft(self) -> IncidentDraft:
        """The form's content as an :class:`IncidentDraft` (call after validation)."""
        values = self.values()
        grade, today = values.grade, self.today()
        assert grade is not None
        roles = [r.chosen_role() for r in self.person_rows if person_name(r.texts()[0])]
        persons = tuple(
            IncidentPerson(p.name, p.dob, role)
            for p, role in zip(values.named_persons(today), roles, strict=True)
        )
        caller = values.caller(today, anonymous=self.anonymous.isChecked())
        return IncidentDraft(
            grade=grade,
            type=self._reference.incident_type(values.type),
            summary=values.summary.strip(),
            location=values.location(self._reference),
            caller=replace(caller, role=PersonRole(self.caller_role.currentData())),
            appointment_at=self._appointment_at(grade),
            persons=persons,
            weapons=self.weapons.isChecked(),
            links=self.history.panel.deferred_links(),
            shown_warnings=tuple(sorted(self._warnings.shown)),
            acknowledged_warnings=tuple(sorted(self._warnings.acknowledged)),
        )

    def _appointment_at(self, grade: Grade) -> datetime | None:
        if grade is not Grade.EXTENDED or not self.appointment_agreed.isChecked():
            return None
        local = self.appointment.dateTime().toPython()
        assert isinstance(local, datetime)
        return local.astimezone().astimezone(UTC)
