"""The supervisors' special schemes view: every live scheme, its review state, and the actions.

:class:`SchemesTableModel` holds what each row shows, sorted and filtered, and is fed the warning
index (:meth:`SchemesView.show_index`): only the rows of the schemes changed since are touched.
Review state and "expires in" are recomputed by :meth:`~SchemesTableModel.refresh_now` (called
by the window's ticker), which also drops a scheme the moment it expires: after expiry a scheme
is not viewable anywhere, also while offline. The whole scheme is read from the index only for
the one selected (the actions and their forms).

:class:`SchemesView` adds a filter bar (All / Due for review / Escalated / Victim not informed)
and the actions, each in a non-modal form under the list: Extend… (the six-month rule is
checked here before anything is sent, naming the latest expiry allowed), End… (a reason is
required; when the victim has not been told of the removal and no failed attempt is recorded,
a supervisor's rationale to end it anyway), Request review… and Victim contact… (told, or a
failed attempt, with when and a note). Their keys work while the view has focus. The victim
column shows the last contact.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from PySide6.QtCore import (
    QDate,
    QDateTime,
    QEvent,
    QObject,
    Qt,
    QTime,
)
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QButtonGroup,
    QDateTimeEdit,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSizePolicy,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dispatchdesk.domain.rationale import rationale_problem
from dispatchdesk.domain.warnings import (
    DEFAULT_WARNING_POLICY,
    VictimContactOutcome,
    WarningPolicy,
    scheme_expiry_problem,
    scheme_latest_expiry,
)
from dispatchdesk.gui.common.refusals import RefusalWatch
from dispatchdesk.gui.common.tables import configure_table
from dispatchdesk.gui.common.timefmt import local
from dispatchdesk.gui.warnings.scheme_rows import SchemeColumn, SchemeFilter, SchemeSource
from dispatchdesk.gui.warnings.schemes_model import SchemesTableModel
from dispatchdesk.gui.warnings.texts import SCHEME_CATEGORY_WORDS
from dispatchdesk.protocol.warnings import SchemeOut
from dispatchdesk.sync.api import DeskCommands


class SchemeAction(StrEnum):
    EXTEND = "extend"
    END = "end"
    REVIEW = "review"
    VICTIM = "victim"


#: Action → (button text, keys). Ctrl keys scoped to this view (no Alt mnemonics: those are
#: window-wide and the docks beside this one already use most letters).
ACTION_KEYS = {
    SchemeAction.EXTEND: ("Extend…", "Ctrl+Shift+E"),
    SchemeAction.END: ("End…", "Ctrl+Shift+K"),
    SchemeAction.REVIEW: ("Request review…", "Ctrl+R"),
    SchemeAction.VICTIM: ("Victim contact…", "Ctrl+I"),
}

#: The columns left to right: what a supervisor acts on first, so that it is in sight in a
#: dock some 900 pixels wide (a 1366x768 screen) without scrolling sideways.
SHOWN_ORDER = (
    SchemeColumn.ADDRESS,
    SchemeColumn.REVIEW,
    SchemeColumn.EXPIRES,
    SchemeColumn.VICTIM,
    SchemeColumn.CATEGORY,
    SchemeColumn.SUMMARY,
    SchemeColumn.OFFICER,
    SchemeColumn.STARTS,
)

#: Columns sized to their longest text in the table's font: (that text, room for the
#: margins and any icon).
_FITTED_COLUMNS = {
    SchemeColumn.STARTS: ("30 Sep 2026", 16),
    SchemeColumn.EXPIRES: ("30 Sep 2026 23:59 — in 180 days", 16),
    SchemeColumn.REVIEW: ("First-stage review requested", 40),
    SchemeColumn.VICTIM: ("Attempt failed, 30 Sep", 40),
}

_SUBMIT_TEXT = {
    SchemeAction.EXTEND: "Extend scheme",
    SchemeAction.END: "End scheme",
    SchemeAction.REVIEW: "Request review",
    SchemeAction.VICTIM: "Record victim contact",
}


class _FormKeys(QObject):
    """Enter submits and Esc cancels the inline form, from any of its fields. Esc is claimed
    at ShortcutOverride: the window's own Esc (back to the queue) would otherwise take it."""

    def __init__(
        self, submit: Callable[[], None], cancel: Callable[[], None], parent: QObject
    ) -> None:
        super().__init__(parent)
        self._submit, self._cancel = submit, cancel

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        escape = isinstance(event, QKeyEvent) and event.key() == Qt.Key.Key_Escape
        if kind == QEvent.Type.ShortcutOverride and escape:
            event.accept()  # "this key is mine": it then comes as a KeyPress
            return True
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if event.key() == Qt.Key.Key_Escape:
                self._cancel()
                return True
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self._submit()
                return True
        return False


class SchemesView(QWidget):
    """Filter bar, schemes table and the supervisors' actions (for a dock or a window)."""

    def __init__(
        self,
        commands: DeskCommands,
        now: Callable[[], datetime],
        policy: WarningPolicy = DEFAULT_WARNING_POLICY,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._commands = commands
        self._now = now
        self.model = SchemesTableModel(now, policy, self)
        self._action: SchemeAction | None = None
        self._form_scheme: SchemeOut | None = None
        #: Ends sent: a refusal opens the form again, with the reason and the server's words.
        self.refusals = RefusalWatch()
        self._build()
        self._build_actions()
        self._connect()
        self._update_actions()

    # -- construction ----------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(self._build_filter_bar())
        layout.addWidget(self._build_table(), 1)
        layout.addLayout(self._build_buttons())
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        # The form scrolls rather than squeezing its lines over each other when the dock is
        # short (1366x768, the high-contrast theme's bigger font).
        self.form = QScrollArea()
        self.form.setWidget(self._build_form())
        self.form.setWidgetResizable(True)
        self.form.setFrameShape(QFrame.Shape.NoFrame)
        self.form.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.form.hide()
        layout.addWidget(self.form)

    def _build_filter_bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Show:"))
        self.filter_group = QButtonGroup(self)
        self.filter_buttons: dict[SchemeFilter, QToolButton] = {}
        for which in SchemeFilter:
            button = QToolButton()
            button.setCheckable(True)
            button.setChecked(which is SchemeFilter.ALL)
            button.setAccessibleName(f"Show: {which.value}")
            self.filter_group.addButton(button)
            self.filter_buttons[which] = button
            bar.addWidget(button)
        bar.addStretch(1)
        return bar

    def _build_table(self) -> QTableView:
        table = QTableView()
        table.setObjectName("schemesTable")
        table.setModel(self.model)
        header = configure_table(
            table,
            sort_column=SchemeColumn.EXPIRES,
            sort_order=Qt.SortOrder.AscendingOrder,  # soonest first
            stretch_column=SchemeColumn.SUMMARY,
            column_widths=((0, 200), (1, 120), (3, 120)),  # and _FITTED_COLUMNS
        )
        for visual, column in enumerate(SHOWN_ORDER):
            header.moveSection(header.visualIndex(column), visual)
        table.setAccessibleName("Special schemes")
        self.table = table
        _fit_columns(table)
        return table

    def _build_buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.action_buttons: dict[SchemeAction, QPushButton] = {}
        for action, (text, keys) in ACTION_KEYS.items():
            button = QPushButton(f"{text} ({keys})")
            button.clicked.connect(lambda _=False, a=action: self.start(a))
            self.action_buttons[action] = button
            row.addWidget(button)
        row.addStretch(1)
        return row

    def _build_form(self) -> QFrame:
        """The inline, non-modal form of the action being taken."""
        box = QFrame()
        box.setFrameShape(QFrame.Shape.StyledPanel)
        self.form_title = QLabel()
        self.form_title.setWordWrap(True)
        self.when_label = QLabel()
        self.when = QDateTimeEdit()
        self.when.setCalendarPopup(True)
        self.when.setDisplayFormat("dd/MM/yyyy HH:mm")
        self.when_label.setBuddy(self.when)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.text = QLineEdit()
        self.outcome_row = QWidget()
        outcome_layout = QHBoxLayout(self.outcome_row)
        outcome_layout.setContentsMargins(0, 0, 0, 0)
        outcome_layout.addWidget(QLabel("Outcome:"))
        self.outcome_group = QButtonGroup(self)
        self.outcome_buttons = {
            VictimContactOutcome.INFORMED: QRadioButton("Victim told"),
            VictimContactOutcome.NO_CONTACT: QRadioButton("Attempt failed (no contact)"),
        }
        for button in self.outcome_buttons.values():
            self.outcome_group.addButton(button)
            outcome_layout.addWidget(button)
        outcome_layout.addStretch(1)
        #: A supervisor's rationale to end a scheme without the victim told of the removal.
        self.override = QLineEdit()
        self.override.setAccessibleName("Rationale to end it without telling the victim")
        self.form_error = QLabel()
        self.form_error.setProperty("role", "error")
        self.form_error.setWordWrap(True)
        self.submit_button = QPushButton()
        self.cancel_button = QPushButton("Cancel (Esc)")
        keys = _FormKeys(self.submit, self.cancel, box)
        for widget in (self.when, self.text, self.override, *self.outcome_buttons.values()):
            widget.installEventFilter(keys)
        layout = QVBoxLayout(box)
        when_row = QHBoxLayout()
        when_row.addWidget(self.when_label)
        when_row.addWidget(self.when, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.submit_button)
        for item in (
            self.form_title,
            self.outcome_row,
            when_row,
            self.hint,
            self.text,
            self.override,
            self.form_error,
            buttons,
        ):
            if isinstance(item, QWidget):
                layout.addWidget(item)
            else:
                layout.addLayout(item)
        return box

    def _build_actions(self) -> None:
        self.actions_by_kind: dict[SchemeAction, QAction] = {}
        for action, (text, keys) in ACTION_KEYS.items():
            act = QAction(f"{text.rstrip('…')} the selected scheme…", self)
            act.setShortcut(QKeySequence(keys))
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            act.triggered.connect(lambda _=False, a=action: self.start(a))
            self.addAction(act)
            self.actions_by_kind[action] = act

    def _connect(self) -> None:
        for which, button in self.filter_buttons.items():
            button.clicked.connect(lambda _=False, w=which: self.set_filter(w))
        self.submit_button.clicked.connect(self.submit)
        self.cancel_button.clicked.connect(self.cancel)
        selection = self.table.selectionModel()
        selection.selectionChanged.connect(lambda *_: self._update_actions())
        self._follower = _ModelFollower(self)
        for signal in (
            self.model.modelReset,
            self.model.rowsRemoved,
            self.model.rowsInserted,
            self.model.dataChanged,
            self.model.layoutChanged,
        ):
            signal.connect(lambda *_: self._update_actions())

    # -- content ---------------------------------------------------------------------------

    def show_index(self, source: SchemeSource) -> None:
        """Show the schemes of the warning index as they are now (only those changed since
        are touched), keeping the selection and any form being filled in."""
        self.model.show(source)
        self.check_form("That scheme is no longer live (ended or expired): nothing was sent.")

    def refresh_now(self) -> None:
        """Called by the window's ticker: review states, "expires in", expired ones gone."""
        self.model.refresh_now()
        self.check_form("That scheme has expired and is no longer shown: nothing was sent.")

    def check_form(self, gone: str) -> None:
        """The form follows its scheme: its latest version, or closed (saying ``gone``)."""
        if self._form_scheme is None:
            return
        scheme = self.model.scheme(self._form_scheme.id)
        if scheme is not None:
            self._form_scheme = scheme
        else:
            self.cancel()
            self.say(gone)

    def set_theme(self, theme: str) -> None:
        """Follow a theme change (the window calls it with the queue's own models)."""
        self.model.set_theme(theme)
        _fit_columns(self.table)

    def set_filter(self, which: SchemeFilter) -> None:
        self.filter_buttons[which].setChecked(True)
        self.model.set_filter(which)
        self._update_actions()

    def selected_id(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.scheme_id(rows[0].row()) if rows else None

    def selected(self) -> SchemeOut | None:
        """The selected scheme, whole (read from the index)."""
        scheme_id = self.selected_id()
        return None if scheme_id is None else self.model.scheme(scheme_id)

    def focus_table(self) -> None:
        """Focus the table, on its selected row or the first one (Ctrl+Shift+J)."""
        self.table.setFocus()
        if self.selected_id() is None and self.model.rowCount():
            self.table.selectRow(0)

    def select_scheme(self, scheme_id: int) -> bool:
        row = self.model.row_of(scheme_id)
        if row is None:
            return False
        self.table.selectRow(row)
        self.table.scrollTo(self.model.index(row, 0))
        return True

    def _update_actions(self) -> None:
        scheme = self.selected()
        for action, act in self.actions_by_kind.items():
            refusal = self._refusal(action, scheme)
            act.setEnabled(refusal is None)
            self.action_buttons[action].setEnabled(refusal is None)
            self.action_buttons[action].setToolTip(refusal or act.text())
        for which, button in self.filter_buttons.items():
            button.setText(f"{which.value} ({self.model.count(which):,})")

    def _refusal(self, action: SchemeAction, scheme: SchemeOut | None) -> str | None:
        if scheme is None:
            return "Select a scheme first."
        if action is SchemeAction.REVIEW and scheme.review_requested_at is not None:
            return "A review has already been requested: extend or end the scheme."
        return None

    def say(self, text: str) -> None:
        self.status.setText(text)
        self.status.setAccessibleDescription(text)

    # -- the inline form -------------------------------------------------------------------

    def start(self, action: SchemeAction) -> None:
        """Open the form of ``action`` for the selected scheme."""
        scheme = self.selected()
        refusal = self._refusal(action, scheme)
        if refusal is not None or scheme is None:
            self.say(refusal or "Select a scheme first.")
            return
        self._action, self._form_scheme = action, scheme
        self.form_title.setText(
            f"{_SUBMIT_TEXT[action]}: {scheme.location.address} "
            f"({SCHEME_CATEGORY_WORDS[scheme.category]})"
        )
        self.submit_button.setText(_SUBMIT_TEXT[action])
        self.text.clear()
        self.override.clear()
        self.override.hide()
        self.outcome_row.hide()
        self._show_error(None)
        prepare = {
            SchemeAction.EXTEND: self._prepare_extend,
            SchemeAction.END: self._prepare_end,
            SchemeAction.REVIEW: self._prepare_review,
            SchemeAction.VICTIM: self._prepare_victim,
        }[action]
        prepare(scheme)
        self.form.show()
        row = self.model.row_of(scheme.id)
        if row is not None:  # the form takes room from the list: keep its scheme in sight
            self.table.scrollTo(self.model.index(row, 0), QTableView.ScrollHint.PositionAtTop)
        (self.text if self.when.isHidden() else self.when).setFocus()

    def _prepare_extend(self, scheme: SchemeOut) -> None:
        latest = scheme_latest_expiry(self._now(), self.model.policy)
        self._when_row("New e&xpiry", latest.replace(second=0, microsecond=0))
        self.hint.setText(
            f"Latest allowed: {self._local(latest)} (a scheme runs at most "
            f"{self.model.policy.scheme_max_months} months from an extension). "
            f"It now expires {self._local(scheme.expires_at)}."
        )
        self.hint.show()
        self.text.setPlaceholderText("Note (optional)")

    def _prepare_end(self, scheme: SchemeOut) -> None:
        self._when_row(None, None)
        self.text.setPlaceholderText("Why is this scheme ending? (required)")
        if scheme.removal_notice is False:  # None: the server did not say; it decides
            self.hint.setText(
                "The victim has not been told this scheme is being removed, and no failed "
                "attempt is recorded since its review was requested (or it was extended or "
                "added). Record a victim contact first (Ctrl+I), or give a rationale to end "
                "it anyway."
            )
            self.hint.show()
            self.override.setPlaceholderText(
                "Rationale to end it without telling the victim (supervisor)"
            )
            self.override.show()

    def _prepare_review(self, scheme: SchemeOut) -> None:
        self._when_row(None, None)
        self.text.setPlaceholderText("Note for the reviewer (optional)")

    def _prepare_victim(self, scheme: SchemeOut) -> None:
        self._when_row("Contact &at", self._now().replace(second=0, microsecond=0))
        self.outcome_buttons[VictimContactOutcome.INFORMED].setChecked(True)
        self.outcome_row.show()
        last = scheme.victim_contacts[-1] if scheme.victim_contacts else None
        if last is None:
            self.hint.setText(
                "No victim contact recorded yet."
                if scheme.victim_informed_at is None
                else f"Victim told {self._local(scheme.victim_informed_at)}."
            )
        else:
            what = (
                "Victim told" if last.outcome is VictimContactOutcome.INFORMED else "Attempt failed"
            )
            note = f": {last.note}" if last.note else ""
            self.hint.setText(
                f"Last contact: {what} {self._local(last.at)} (recorded by {last.by}){note}"
            )
        self.hint.show()
        self.text.setPlaceholderText("Note (optional): who was told, or what was tried")

    def _when_row(self, label: str | None, value: datetime | None) -> None:
        self.hint.hide()
        self.text.show()
        self.when_label.setVisible(label is not None)
        self.when.setVisible(label is not None)
        if label is not None and value is not None:
            self.when_label.setText(label)
            self.when.setDateTime(_to_edit(value, self.model.policy.timezone))

    def _local(self, when: datetime) -> str:
        return local(when, self.model.policy.timezone, "%d %b %Y %H:%M")

    def _show_error(self, text: str | None) -> None:
        self.form_error.setText(f"⚠ {text}" if text else "")
        self.form_error.setVisible(bool(text))
        self.form_error.setAccessibleDescription(text or "")

    def cancel(self) -> None:
        self._action = self._form_scheme = None
        self.form.hide()
        self.table.setFocus()

    def submit(self) -> None:
        """Check locally, then send the command; a refusal is shown and keeps the input."""
        scheme, action = self._form_scheme, self._action
        if scheme is None or action is None:
            return
        send = {
            SchemeAction.EXTEND: self._send_extend,
            SchemeAction.END: self._send_end,
            SchemeAction.REVIEW: self._send_review,
            SchemeAction.VICTIM: self._send_victim,
        }
        problem, sent = send[action](scheme)
        if problem is not None:
            self._show_error(problem)
            return
        self.cancel()
        self.say(f"{sent} for {scheme.location.address}; the list updates when the server has it.")

    def _when_value(self) -> datetime:
        return _from_edit(self.when.dateTime(), self.model.policy.timezone)

    def _send_extend(self, scheme: SchemeOut) -> tuple[str | None, str]:
        expires = self._when_value()
        problem = scheme_expiry_problem(self._now(), expires, self.model.policy, what="extension")
        if problem is None:
            self._commands.extend_scheme(scheme, expires, self.text.text().strip() or None)
        return problem, f"Extension to {self._local(expires)} sent"

    def _send_end(self, scheme: SchemeOut) -> tuple[str | None, str]:
        reason = self.text.text().strip()
        if not reason:
            return "A reason is required to end a scheme.", ""
        if scheme.removal_notice is False:
            override = self.override.text().strip()
            if not override:
                return (
                    "Tell the victim the scheme is being removed, or record a failed "
                    "attempt (Victim contact…, Ctrl+I), then end it; a supervisor may end "
                    "it anyway with a rationale."
                ), ""
            problem = rationale_problem(
                override, what="rationale for ending without telling the victim"
            )
            if problem is not None:
                return problem, ""
            command_id = self._commands.end_scheme(scheme, reason, override_rationale=override)
            sent = "End of the scheme (victim not told) sent"
        else:
            override = ""
            command_id = self._commands.end_scheme(scheme, reason)
            sent = "End of the scheme sent"

        def refused(message: str) -> None:
            if self.select_scheme(scheme.id):
                self.start(SchemeAction.END)
                self.text.setText(reason)
                self.override.setText(override)
                self._show_error(message)
            else:
                self.say(f"Ending the scheme at {scheme.location.address}: {message}")

        self.refusals.watch(command_id, refused)
        return None, sent

    def _send_review(self, scheme: SchemeOut) -> tuple[str | None, str]:
        self._commands.request_scheme_review(scheme, self.text.text().strip() or None)
        return None, "Review request sent"

    def _send_victim(self, scheme: SchemeOut) -> tuple[str | None, str]:
        at = self._when_value()
        if at > self._now():
            return "The time of the contact cannot be in the future.", ""
        told = self.outcome_buttons[VictimContactOutcome.INFORMED].isChecked()
        outcome = VictimContactOutcome.INFORMED if told else VictimContactOutcome.NO_CONTACT
        self._commands.scheme_victim_contact(scheme, outcome, at, self.text.text().strip() or None)
        words = "Victim told" if told else "Failed attempt to tell the victim"
        return None, f"{words} at {self._local(at)} sent"


class _ModelFollower(QObject):
    """The view follows its model: the selection kept across a reset (a new index read, a
    filter), and how far the reading of a new index has got said under the list."""

    def __init__(self, view: SchemesView) -> None:
        super().__init__(view)
        self._view = view
        #: The scheme selected before the model was reset.
        self._reselect: int | None = None
        view.model.modelAboutToBeReset.connect(self._keep_selection)
        view.model.modelReset.connect(self._restore_selection)
        view.model.fill_progress.connect(self._show_progress)

    def _keep_selection(self) -> None:
        self._reselect = self._view.selected_id()

    def _restore_selection(self) -> None:
        if self._reselect is not None:
            self._view.select_scheme(self._reselect)
        self._reselect = None

    def _show_progress(self, done: int, total: int) -> None:
        view = self._view
        if done < total:
            view.say(f"Reading {total:,} special schemes… {done * 100 // total}%")
            return
        if view.status.text().startswith("Reading "):
            view.say("")
        view.check_form("That scheme is no longer live (ended or expired): nothing was sent.")


def _fit_columns(table: QTableView) -> None:
    """The columns of fixed words as wide as their longest text in the table's font (the
    high-contrast theme's is bigger: fixed pixels cut "in 8 days" off)."""
    table.ensurePolished()
    metrics = table.fontMetrics()
    for column, (longest, extra) in _FITTED_COLUMNS.items():
        table.setColumnWidth(column, metrics.horizontalAdvance(longest) + extra)


def _to_edit(when: datetime, tz: str) -> QDateTime:
    """``when`` as the control room's wall-clock time in a QDateTimeEdit."""
    wall = when.astimezone(ZoneInfo(tz))
    return QDateTime(QDate(wall.year, wall.month, wall.day), QTime(wall.hour, wall.minute))


def _from_edit(value: QDateTime, tz: str) -> datetime:
    """A QDateTimeEdit's wall-clock time, read in the control room's time zone."""
    d, t = value.date(), value.time()
    return datetime(d.year(), d.month(), d.day(), t.hour(), t.minute(), tzinfo=ZoneInfo(tz))
