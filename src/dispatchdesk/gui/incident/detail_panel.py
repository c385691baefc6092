"""Everything about one incident, with the actions the operator's role allows.

Actions call :class:`~dispatchdesk.sync.api.DeskCommands`. Nothing is modal: a downgrade asks
for its reason inline, a close asks for a rationale inline, and a refusal (checked locally
first with :func:`rationale_problem`, then by the server through the outbox) is shown next to
the field, keeping the text. Text typed for one incident is kept per incident, so moving the
selection away and back loses nothing. The incident's facts are the form in
``ui/incident_detail.ui``; the actions are built here.

A downgrade by a call handler or dispatcher is a request (while the server's policy says so):
the form says so before it is sent, and the panel shows the request waiting and then how a
supervisor decided it; supervisors decide it here (:mod:`.downgrade_box`).

The status follows the units: the panel lists the units on the incident (callsign, status,
since when) from the desk's units model in memory (:meth:`IncidentDetailPanel.watch_units`),
and offers a status change only where the server would take it
(:func:`~dispatchdesk.domain.incident.status_change_problem`), saying otherwise what to do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
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

from dispatchdesk.domain.commands import CommandState, PendingCommand
from dispatchdesk.domain.countdown import format_countdown
from dispatchdesk.domain.downgrades import needs_approval, pending_text
from dispatchdesk.domain.grades import DEFAULT_POLICY, Grade, GradePolicy, is_downgrade
from dispatchdesk.domain.history import PersonRole
from dispatchdesk.domain.incident import Caller, Incident, IncidentStatus, status_change_problem
from dispatchdesk.domain.rationale import rationale_problem
from dispatchdesk.domain.roles import Right, Role, has_right
from dispatchdesk.domain.tasks import open_tasks, open_tasks_sentence
from dispatchdesk.domain.unit import Unit, UnitStatus
from dispatchdesk.gui.common import icons
from dispatchdesk.gui.common.timefmt import local
from dispatchdesk.gui.dispatch.units_model import UnitColumn, UnitsTableModel
from dispatchdesk.gui.forms.ui_incident_detail import Ui_IncidentInfo
from dispatchdesk.gui.history.incident import IncidentHistory
from dispatchdesk.gui.incident.downgrade_box import DowngradeBox
from dispatchdesk.gui.incident.tasks_panel import TasksBox
from dispatchdesk.gui.queue.model import owed_words
from dispatchdesk.sync.api import DeskCommands

STATUS_ACTIONS = (IncidentStatus.OPEN, IncidentStatus.ASSIGNED, IncidentStatus.AT_SCENE)


def _when(value: datetime | None, tz: str) -> str:
    return "—" if value is None else local(value, tz, "%d/%m/%Y %H:%M:%S")


# Month names spelt out here, not strftime's %b: Qt sets the C library's locale from the
# workstation, and a date of birth must read the same on every desk.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def person_text(name: str, dob: date | None) -> str:
    """``Gary HOLLIS (b. 9 Mar 1984)``; just the name without a date of birth."""
    if dob is None:
        return name
    return f"{name} (b. {dob.day} {_MONTHS[dob.month - 1]} {dob.year})"


@dataclass
class _Drafts:
    """What the operator typed for one incident and has not sent yet."""

    reason: str = ""
    summary: str | None = None
    rationale: str = ""
    task_text: str = ""


@dataclass
class _Watch:
    """A command issued from this panel, followed until the feed confirms it."""

    message: _Message
    #: Called when the command is confirmed (gone from the outbox without being refused).
    on_confirmed: Callable[[], None] | None = None
    refused: bool = False
    #: Listed by the outbox at least once: only then does its absence mean "confirmed".
    seen: bool = False


class _Message(QLabel):
    """An inline message next to a field: an error (refusal) or a plain note."""

    def __init__(self) -> None:
        super().__init__()
        self.setWordWrap(True)
        self.hide()

    def show_error(self, text: str) -> None:
        self._show(f"⚠ {text}", "error")

    def show_note(self, text: str) -> None:
        self._show(text, "note")

    def _show(self, text: str, role: str) -> None:
        self.setProperty("role", role)
        self.style().unpolish(self)
        self.style().polish(self)
        self.setText(text)
        self.setAccessibleDescription(text)
        self.show()

    def clear_message(self) -> None:
        self.setText("")
        self.hide()


class _CommandWatches:
    """The commands issued from the panel, each followed in its inline message until the
    feed confirms it (the message goes) or the server refuses it (the refusal shows)."""

    def __init__(self) -> None:
        self._watched: dict[str, _Watch] = {}

    def watch(
        self,
        command_id: str,
        message: _Message,
        note: str,
        on_confirmed: Callable[[], None] | None,
        pending: Sequence[PendingCommand],
    ) -> None:
        """Show ``note`` now, and the server's refusal there if the command fails."""
        # The engine may already have reported it while the call was running.
        seen = any(c.id == command_id for c in pending)
        self._watched[command_id] = _Watch(message, on_confirmed, seen=seen)
        message.show_note(note)

    def follow(self, commands: Sequence[PendingCommand]) -> None:
        """All unconfirmed commands: each watched one's state in its message."""
        by_id = {c.id: c for c in commands}
        for command_id, watch in list(self._watched.items()):
            command = by_id.get(command_id)
            if command is None:
                if watch.seen:
                    self._settled(command_id, watch)
                continue
            watch.seen = True
            if command.state in (CommandState.FAILED, CommandState.HELD):
                watch.refused = True
                watch.message.show_error(_refusal(command))
            else:
                watch.message.show_note(_waiting(command))

    def _settled(self, command_id: str, watch: _Watch) -> None:
        """The command left the outbox: confirmed, or discarded after a refusal.

        Text typed for it is cleared only when it was confirmed; after a refusal the operator
        keeps it (to rework and send again).
        """
        del self._watched[command_id]
        watch.message.clear_message()
        if not watch.refused and watch.on_confirmed is not None:
            watch.on_confirmed()

    def clear(self) -> None:
        self._watched.clear()


class IncidentDetailPanel(QScrollArea):
    """Details and actions for the selected incident (lives in a dock)."""

    def __init__(
        self,
        commands: DeskCommands,
        role: Role,
        now: Callable[[], datetime],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._commands = commands
        self._role = role
        self._now = now
        self._policy: GradePolicy = DEFAULT_POLICY
        self._incident: Incident | None = None
        self._drafts: dict[int, _Drafts] = {}
        self._watches = _CommandWatches()
        self._pending: list[PendingCommand] = []
        self._units: UnitsTableModel | None = None
        #: The units on the shown incident, as last listed (at scene first).
        self._on_incident: list[Unit] = []
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        self._layout = QVBoxLayout(body)
        self._build_info()
        self._build_regrade()
        self._build_status()
        self._build_summary()
        self._build_close()
        #: Past incidents at its location and involving its people, and its links (after the
        #: actions, which stay in sight on a 1366x768 screen; F3 goes there).
        self.history = IncidentHistory(
            commands,
            lambda: self._policy.timezone,
            now,
            can_unlink=has_right(role, Right.UNLINK_INCIDENTS),
        )
        self._layout.addWidget(self.history.panel)
        self._layout.addStretch(1)
        self.setWidget(body)
        self._apply_rights()
        self.show_incident(None)

    # -- construction ----------------------------------------------------------------------

    def _build_info(self) -> None:
        self.placeholder = QLabel("Select an incident in the queue (Enter opens it here).")
        self._layout.addWidget(self.placeholder)
        # Owed attendance (a unit was diverted away): above every other fact, in words.
        self.owed = QLabel()
        self.owed.setObjectName("owedBanner")
        self.owed.setWordWrap(True)
        self.owed.setStyleSheet(
            "QLabel#owedBanner { background: #b91c1c; color: white; "
            "font-weight: bold; padding: 6px; }"
        )
        self.owed.hide()
        self._layout.addWidget(self.owed)
        #: Weapons mentioned or seen (set by the call handler): above the facts, in words.
        self.weapons = QLabel("⚠ Weapons mentioned or seen")
        self.weapons.setProperty("role", "error")
        font = self.weapons.font()
        font.setBold(True)
        self.weapons.setFont(font)
        self.weapons.hide()
        self._layout.addWidget(self.weapons)
        self.info = QWidget()
        self.info_ui = Ui_IncidentInfo()  # ui/incident_detail.ui
        self.info_ui.setupUi(self.info)
        ui = self.info_ui
        self.fields: dict[str, QLabel] = {
            "Ref": ui.ref,
            "Grade": ui.grade,
            "Status": ui.status,
            "Type": ui.type,
            "Created": ui.created,
            "Deadline": ui.deadline,
            "Countdown": ui.countdown,
            "Attended": ui.attended,
            "Closed": ui.closed,
            "Location": ui.location,
            "Borough": ui.borough,
            "UPRN": ui.uprn,
            "Caller": ui.caller,
            "Summary": ui.summary,
            "Downgrade reason": ui.downgradeReason,
            "Rationale": ui.rationale,
            "Pending": ui.pending,
        }
        # The people named: a fact like the others, but kept out of ``fields``, whose
        # seventeen entries tests/gui/test_forms.py pins.
        self.persons = ui.persons
        #: The units on the incident, one a line (from the units model, never the database).
        self.units = ui.units
        self.countdown_icon = ui.countdownIcon
        self._layout.addWidget(self.info)
        # The attending officers' tasks, under the facts (recorded by those who may close).
        self.tasks_box = TasksBox(
            self._commands, has_right(self._role, Right.CLOSE_INCIDENT), _Message(), self._watch
        )
        self._layout.addWidget(self.tasks_box)

    def _build_regrade(self) -> None:
        self.regrade_box = QGroupBox("Re&grade (Ctrl+G)")
        self.grade = QComboBox()
        for grade in Grade:
            self.grade.addItem(f"{grade.value} — {grade.label}", grade.value)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Why is this incident being downgraded? (required)")
        self.reason_label = QLabel("Downgrade &reason")
        self.reason_label.setBuddy(self.reason)
        self.regrade_button = QPushButton("Apply grade")
        self.regrade_message = _Message()
        #: For a call handler or dispatcher choosing a lower grade: it is only a request.
        self.request_hint = QLabel(
            "A downgrade is a request: a supervisor approves or rejects it. Until then the "
            "grade and the countdown stay as they are."
        )
        self.request_hint.setWordWrap(True)
        self.request_hint.hide()
        layout = QVBoxLayout(self.regrade_box)
        row = QHBoxLayout()
        row.addWidget(self.grade, 1)
        row.addWidget(self.regrade_button)
        layout.addLayout(row)
        layout.addWidget(self.request_hint)
        layout.addWidget(self.reason_label)
        layout.addWidget(self.reason)
        layout.addWidget(self.regrade_message)
        self.grade.currentIndexChanged.connect(self._grade_choice_changed)
        self.regrade_button.clicked.connect(self.regrade)
        self.reason.returnPressed.connect(self.regrade)
        # The downgrade request waiting (or decided), and a supervisor's decision on it.
        self.downgrade_message = _Message()
        self.downgrade_box = DowngradeBox(
            self._commands,
            self._role,
            self.downgrade_message,
            self.downgrade_message.show_error,
            lambda cid, note, done: self._watch(cid, self.downgrade_message, note, done),
        )
        # Above the facts, under the owed banner: a request waiting is read (and decided) first.
        self._layout.insertWidget(self._layout.indexOf(self.info), self.downgrade_box)
        self._layout.addWidget(self.regrade_box)

    def _build_status(self) -> None:
        self.status_box = QGroupBox("Status")
        layout = QGridLayout(self.status_box)
        self.status_hint = QLabel(
            "The status follows the units: assign (F2), arrive or clear units to change it."
        )
        self.status_hint.setWordWrap(True)
        layout.addWidget(self.status_hint, 3, 0, 1, 2)
        self.status_buttons: dict[IncidentStatus, QPushButton] = {}
        for n, status in enumerate(STATUS_ACTIONS):
            button = QPushButton(status.label)
            button.clicked.connect(lambda _=False, s=status: self.change_status(s))
            layout.addWidget(button, n // 2, n % 2)
            self.status_buttons[status] = button
        self.status_message = _Message()
        layout.addWidget(self.status_message, 2, 0, 1, 2)
        self._layout.addWidget(self.status_box)

    def _build_summary(self) -> None:
        self.summary_box = QGroupBox("Edit s&ummary (Ctrl+E)")
        self.summary = QPlainTextEdit()
        self.summary.setTabChangesFocus(True)
        self.summary.setFixedHeight(80)
        self.summary_button = QPushButton("Save summary")
        self.summary_message = _Message()
        layout = QVBoxLayout(self.summary_box)
        layout.addWidget(self.summary)
        layout.addWidget(self.summary_button)
        layout.addWidget(self.summary_message)
        self.summary_button.clicked.connect(self.save_summary)
        self._layout.addWidget(self.summary_box)

    def _build_close(self) -> None:
        self.close_box = QGroupBox("Close incident (Ctrl+Shift+C)")
        self.rationale = QPlainTextEdit()
        self.rationale.setTabChangesFocus(True)
        self.rationale.setPlaceholderText(
            "Rationale: what was found and why closing fits this incident (required)"
        )
        self.rationale.setFixedHeight(80)
        self.close_button = QPushButton("Close incident")
        self.close_message = _Message()
        # A supervisor may close with tasks open; the rationale then says why (shown only
        # to supervisors, and only while the incident has open tasks).
        self.close_override = QCheckBox("Close with tasks still open")
        self.close_override.setToolTip(
            "Say in the rationale why the open tasks were not done: each is recorded not done "
            "with it, and the close is audited."
        )
        self.close_override.hide()
        layout = QVBoxLayout(self.close_box)
        layout.addWidget(self.rationale)
        layout.addWidget(self.close_override)
        layout.addWidget(self.close_message)
        layout.addWidget(self.close_button)
        self.close_button.clicked.connect(self.close_incident)
        self._layout.addWidget(self.close_box)

    def _apply_rights(self) -> None:
        for box, right in (
            (self.regrade_box, Right.REGRADE),
            (self.status_box, Right.CHANGE_STATUS),
            (self.summary_box, Right.EDIT_SUMMARY),
            (self.close_box, Right.CLOSE_INCIDENT),
        ):
            box.setVisible(has_right(self._role, right))

    # -- what is shown ---------------------------------------------------------------------

    @property
    def incident(self) -> Incident | None:
        return self._incident

    def set_policy(self, policy: GradePolicy) -> None:
        self._policy = policy
        self.history.panel.set_timezone(policy.timezone)
        self.refresh()

    def show_incident(self, incident: Incident | None) -> None:
        """Show another incident (or none); text typed for the previous one is kept aside."""
        if incident is not None and self._incident is not None and incident.id == self._incident.id:
            self.update_incident(incident)
            return
        if self._incident is not None:
            self._save_drafts(self._incident.id)
        self._incident = incident
        self.close_override.setChecked(False)  # an override is for one incident, never carried
        for message in (
            self.regrade_message,
            self.status_message,
            self.summary_message,
            self.close_message,
            self.downgrade_message,
            self.tasks_box.message,
        ):
            message.clear_message()
        self._watches.clear()
        self.history.show_incident(incident)
        self.placeholder.setVisible(incident is None)
        self.info.setVisible(incident is not None)
        if incident is None:
            self.owed.hide()
            self.downgrade_box.show_incident(None, self._policy.timezone)
            self.tasks_box.show_incident(None, self._policy.timezone)
            self.weapons.hide()
        if incident is None:
            self._set_actions_enabled(False)
            return
        self._restore_drafts(incident)
        self._fill(incident)

    def update_incident(self, incident: Incident) -> None:
        """The shown incident changed on the server; keep what the operator is typing."""
        current = self._incident
        if current is None or current.id != incident.id:
            return
        if self.summary.toPlainText() == current.summary:
            self.summary.setPlainText(incident.summary)
        self._incident = incident
        self._fill(incident)
        self.history.update_incident(incident)

    def set_commands(self, commands: Sequence[PendingCommand]) -> None:
        """All unconfirmed commands; shows this incident's and any refusal of ours."""
        self._pending = list(commands)
        self._watches.follow(commands)
        self.history.panel.set_commands(commands)
        if self._incident is not None:
            self._fill_pending(self._incident)

    def refresh(self) -> None:
        """Per tick: the live countdown."""
        if self._incident is None:
            return
        cd = self._incident.countdown(self._now(), self._policy)
        self.fields["Countdown"].setText(f"{format_countdown(cd)} ({cd.state.label})")
        self.tasks_box.refresh(self._now(), self._policy.tasks)
        self.countdown_icon.setPixmap(icons.countdown_icon(cd.state).pixmap(16, 16))

    def _fill(self, incident: Incident) -> None:
        f = self.fields
        owed = incident.owed and incident.is_open
        self.owed.setVisible(owed)
        self.owed.setText(owed_words(incident, self._policy.timezone) if owed else "")
        self.weapons.setVisible(incident.weapons)
        f["Ref"].setText(incident.ref)
        grade = f"{incident.grade.value} — {incident.grade.label}"
        if incident.original_grade is not None and incident.original_grade is not incident.grade:
            grade += f" (originally {incident.original_grade.value})"
        f["Grade"].setText(grade)
        f["Status"].setText(incident.status.label)
        f["Type"].setText(incident.type)
        tz = self._policy.timezone
        f["Created"].setText(_when(incident.created_at, tz))
        deadline = _when(incident.deadline, tz)
        if incident.appointment_at is not None:
            deadline += " (appointment)"
        f["Deadline"].setText(deadline)
        f["Attended"].setText(_when(incident.attended_at, tz))
        f["Closed"].setText(_when(incident.closed_at, tz))
        location, borough, uprn = _location_texts(incident)
        f["Location"].setText(location)
        f["Borough"].setText(borough)
        f["UPRN"].setText(uprn)
        caller, persons = _people_texts(incident, tz)
        f["Caller"].setText(caller)
        self.persons.setText(persons)
        f["Summary"].setText(incident.summary)
        f["Downgrade reason"].setText(incident.downgrade_reason or "—")
        f["Rationale"].setText(incident.rationale or "—")
        self.downgrade_box.show_incident(incident, tz)
        self._fill_pending(incident)
        self.grade.setCurrentIndex(self.grade.findData(incident.grade.value))
        self._grade_choice_changed()
        self._set_actions_enabled(incident.is_open)
        self._fill_units(incident)
        self.tasks_box.show_incident(incident, tz)
        self.close_override.setVisible(
            self._role is Role.SUPERVISOR and incident.is_open and bool(open_tasks(incident.tasks))
        )
        self.refresh()

    # -- units -----------------------------------------------------------------------------

    def watch_units(self, units: UnitsTableModel) -> None:
        """List the units on the shown incident from ``units`` (kept current as it changes)."""
        self._units = units
        for signal in (units.modelReset, units.rowsInserted, units.rowsRemoved):
            signal.connect(self._units_changed)
        units.dataChanged.connect(self._units_data_changed)
        self._units_changed()

    def _units_data_changed(
        self,
        top_left: QModelIndex | QPersistentModelIndex,
        bottom_right: QModelIndex | QPersistentModelIndex,
    ) -> None:
        # Time-in-status ticks and pending text change nothing listed here.
        if top_left.column() == bottom_right.column() and top_left.column() in (
            UnitColumn.TIME_IN_STATUS,
            UnitColumn.PENDING,
        ):
            return
        self._units_changed()

    def _units_changed(self) -> None:
        if self._incident is not None:
            self._fill_units(self._incident)

    def units_on_incident(self) -> list[Unit]:
        """The units on the shown incident, at scene first, then by callsign."""
        return list(self._on_incident)

    def _fill_units(self, incident: Incident) -> None:
        fleet = self._units.units() if self._units is not None else ()
        on = [u for u in fleet if u.incident_id == incident.id and u.status.on_incident]
        on.sort(key=lambda u: (u.status is not UnitStatus.AT_SCENE, u.callsign.casefold()))
        self._on_incident = on
        tz = self._policy.timezone
        lines = [
            f"{u.callsign} — {u.status.label} since {local(u.status_since, tz, '%H:%M')}"
            for u in on
        ]
        if not lines:
            lines = ["none" if incident.is_open else "— (closed)"]
        self.units.setText("\n".join(lines))
        self.units.setAccessibleDescription("; ".join(lines))
        for status, button in self.status_buttons.items():
            problem = self.status_problem(status)
            button.setEnabled(incident.is_open and problem is None)
            button.setToolTip(problem or f"Set the status to “{status.label}”.")

    def _fill_pending(self, incident: Incident) -> None:
        mine = [c for c in self._pending if c.incident_id == incident.id]
        lines = [
            f"{c.description}: {c.state.value}" + (f" — {c.message}" if c.message else "")
            for c in mine
        ]
        self.fields["Pending"].setText("\n".join(lines) or "none")

    def _set_actions_enabled(self, enabled: bool) -> None:
        for box in (self.regrade_box, self.status_box, self.summary_box, self.close_box):
            box.setEnabled(enabled)

    def _save_drafts(self, incident_id: int) -> None:
        incident = self._incident
        summary = self.summary.toPlainText()
        drafts = _Drafts(
            reason=self.reason.text(),
            summary=summary if incident is not None and summary != incident.summary else None,
            rationale=self.rationale.toPlainText(),
            task_text=self.tasks_box.text.text(),
        )
        if drafts == _Drafts():
            self._drafts.pop(incident_id, None)
        else:
            self._drafts[incident_id] = drafts

    def _restore_drafts(self, incident: Incident) -> None:
        drafts = self._drafts.pop(incident.id, _Drafts())
        self.reason.setText(drafts.reason)
        self.summary.setPlainText(
            drafts.summary if drafts.summary is not None else incident.summary
        )
        self.rationale.setPlainText(drafts.rationale)
        self.tasks_box.text.setText(drafts.task_text)

    # -- actions ---------------------------------------------------------------------------

    def chosen_grade(self) -> Grade:
        return Grade(self.grade.currentData())

    def _grade_choice_changed(self) -> None:
        incident = self._incident
        down = incident is not None and is_downgrade(incident.grade, self.chosen_grade())
        self.reason.setVisible(down)
        self.reason_label.setVisible(down)
        request = down and needs_approval(self._role, self._policy.downgrade_needs_approval)
        self.request_hint.setVisible(request)
        self.regrade_button.setText("Request downgrade" if request else "Apply grade")

    def regrade(self) -> None:
        incident = self._incident
        if incident is None or not has_right(self._role, Right.REGRADE):
            return
        grade = self.chosen_grade()
        if grade is incident.grade:
            self.regrade_message.show_error(f"The incident is already grade {grade.value}.")
            return
        reason: str | None = None
        note = f"Regrade to {grade.value} queued; pending until the server confirms."
        if is_downgrade(incident.grade, grade):
            reason = self.reason.text().strip()
            waiting = incident.pending_downgrade
            problem = rationale_problem(reason, what="downgrade reason")
            if needs_approval(self._role, self._policy.downgrade_needs_approval):
                if waiting is not None:
                    problem = (
                        f"{pending_text(waiting, self._policy.timezone)}: a supervisor decides "
                        "it before another can be requested."
                    )
                note = (
                    f"Request to downgrade to {grade.value} queued: a supervisor approves or "
                    "rejects it; the grade and countdown stay as they are until then."
                )
            if problem:
                self.regrade_message.show_error(problem)
                self.reason.setFocus()
                return
        command_id = self._commands.regrade(incident, grade, reason)
        self._watch(command_id, self.regrade_message, note, on_confirmed=self.reason.clear)

    def status_problem(self, status: IncidentStatus) -> str | None:
        """Why the shown incident cannot be set to ``status`` (as the server would say), or
        None when it can. Judged on the units this desk holds; the server decides."""
        incident = self._incident
        if incident is None:
            return "Select an incident first."
        if not incident.is_open:
            return f"{incident.ref} is closed."
        if status is incident.status:
            return f"{incident.ref} is already “{status.label}”."
        return status_change_problem(
            incident.ref,
            incident.status,
            status,
            [(u.callsign, u.status) for u in self._on_incident],
            attended=incident.attended_at is not None,
        )

    def change_status(self, status: IncidentStatus) -> None:
        incident = self._incident
        if incident is None or not has_right(self._role, Right.CHANGE_STATUS):
            return
        problem = self.status_problem(status)
        if problem is not None:
            self.status_message.show_error(problem)
            return
        command_id = self._commands.change_status(incident, status)
        self._watch(
            command_id,
            self.status_message,
            f"Status “{status.label}” queued; pending until the server confirms.",
        )

    def save_summary(self) -> None:
        incident = self._incident
        if incident is None or not has_right(self._role, Right.EDIT_SUMMARY):
            return
        text = self.summary.toPlainText().strip()
        if not text:
            self.summary_message.show_error("The summary cannot be empty.")
            return
        if text == incident.summary:
            self.summary_message.show_note("No change to save.")
            return
        command_id = self._commands.edit_summary(incident, text)
        self._watch(
            command_id, self.summary_message, "Summary queued; pending until the server confirms."
        )

    def close_incident(self) -> None:
        incident = self._incident
        if incident is None or not has_right(self._role, Right.CLOSE_INCIDENT):
            return
        text = self.rationale.toPlainText().strip()
        still_open = open_tasks(incident.tasks)
        override = bool(still_open) and self.close_override.isChecked()
        if still_open and not (override and self._role is Role.SUPERVISOR):
            self.close_message.show_error(open_tasks_sentence(incident.ref, still_open))
            self.tasks_box.view.setFocus()
            return
        problem = rationale_problem(text, what="closing rationale")
        if problem:
            self.close_message.show_error(problem)
            self.rationale.setFocus()
            return
        command_id = (
            self._commands.close(incident, text, override_open_tasks=True)
            if override
            else self._commands.close(incident, text)
        )
        self._watch(
            command_id,
            self.close_message,
            "Close queued; pending until the server confirms.",
            on_confirmed=self.rationale.clear,
        )

    def _watch(
        self,
        command_id: str,
        message: _Message,
        note: str,
        on_confirmed: Callable[[], None] | None = None,
    ) -> None:
        self._watches.watch(command_id, message, note, on_confirmed, self._pending)

    # -- keyboard entry points -------------------------------------------------------------

    def focus_first(self) -> None:
        """Focus the first action the role has (a downgrade request waiting for this
        supervisor's decision first), else the panel itself."""
        if self.downgrade_box.deciding and self.downgrade_box.isEnabled():
            self.downgrade_box.focus_note()
            self.ensureWidgetVisible(self.downgrade_box)
            return
        for box, widget in (
            (self.regrade_box, self.grade),
            (self.status_box, None),
            (self.summary_box, self.summary),
            (self.close_box, self.rationale),
        ):
            if not box.isHidden() and box.isEnabled() and widget is not None:
                widget.setFocus()
                return
        self.setFocus()

    def focus_regrade(self) -> None:
        if has_right(self._role, Right.REGRADE) and self.regrade_box.isEnabled():
            self.grade.setFocus()

    def focus_summary(self) -> None:
        if has_right(self._role, Right.EDIT_SUMMARY) and self.summary_box.isEnabled():
            self.summary.setFocus()

    def focus_close(self) -> None:
        if has_right(self._role, Right.CLOSE_INCIDENT) and self.close_box.isEnabled():
            self.rationale.setFocus()


def _location_texts(incident: Incident) -> tuple[str, str, str]:
    """The location, borough and UPRN lines."""
    loc = incident.location
    uprn = loc.uprn or "—"
    if loc.parent_uprn:
        uprn += f" (parent {loc.parent_uprn})"
    return loc.one_line, loc.borough, uprn


def anonymity_text(caller: Caller, tz: str) -> str:
    """``Anonymous at the caller's request (recorded by cathy at 14:02)``."""
    if caller.anonymity_recorded_by and caller.anonymity_recorded_at:
        when = local(caller.anonymity_recorded_at, tz, "%H:%M")
        return (
            f"Anonymous at the caller's request (recorded by {caller.anonymity_recorded_by} "
            f"at {when})"
        )
    return "Anonymous at the caller's request"


def _people_texts(incident: Incident, tz: str) -> tuple[str, str]:
    """The caller's line, and the people named, one a line (so that word wrap in a narrow
    dock never leaves a date of birth looking as if it belonged to the next name)."""
    caller = incident.caller
    name = caller.name or ("Anon" if caller.anonymous else "(no name)")
    parts = [person_text(name, caller.dob), caller.phone or "(no phone)"]
    if caller.role is not PersonRole.INFORMANT:
        parts.append(caller.role.value)  # the victim calling, say
    if caller.anonymous:
        parts.append(anonymity_text(caller, tz) + " — officers must still contact the informant")
    people = []
    for p in incident.persons:
        role = getattr(p, "role", PersonRole.OTHER)  # a plain Person: no role said
        people.append(
            person_text(p.name, p.dob) + ("" if role is PersonRole.OTHER else f" — {role}")
        )
    return " · ".join(parts), "\n".join(people) or "—"


def _waiting(command: PendingCommand) -> str:
    if command.state is CommandState.SENT:
        return "Sent; waiting for the server to confirm."
    return "Queued; it is sent when the server can be reached."


def _refusal(command: PendingCommand) -> str:
    if command.state is CommandState.HELD:
        return f"Not sent: {command.message or 'held'} — Send or Discard it in Commands."
    return f"Refused by the server: {command.message or 'no reason given'}"
