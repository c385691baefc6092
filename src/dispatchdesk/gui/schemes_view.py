"""The supervisors' special schemes view: every live scheme, its review state, and the actions.

:class:`SchemesTableModel` holds the schemes and the text of every cell in memory; review state
and "expires in" are recomputed by :meth:`~SchemesTableModel.refresh_now` (called by the
window's ticker; the model has no timer of its own), which also drops a scheme the moment it
expires: after expiry a scheme is not viewable anywhere, also while offline.

:class:`SchemesView` adds a filter bar (All / Due for review / Escalated / Victim not informed)
and the actions, each in a non-modal form under the list: Extend… (the six-month rule is
checked here before anything is sent, naming the latest expiry allowed), End… (a reason is
required; when the victim has not been told of the removal and no failed attempt is recorded,
a supervisor's rationale to end it anyway), Request review… and Victim contact… (told, or a
failed attempt, with when and a note). Their keys work while the view has focus. The victim
column shows the last contact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import (
    QDate,
    QDateTime,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTime,
)
from PySide6.QtGui import QAction, QIcon, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QDateTimeEdit,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dispatchdesk.domain.countdown import CountdownState
from dispatchdesk.domain.rationale import rationale_problem
from dispatchdesk.domain.warnings import (
    DEFAULT_WARNING_POLICY,
    ReviewState,
    VictimContactOutcome,
    WarningPolicy,
    scheme_escalation_due,
    scheme_expiry_problem,
    scheme_latest_expiry,
    scheme_live,
    scheme_review_due,
    scheme_review_state,
)
from dispatchdesk.gui import icons
from dispatchdesk.gui.tables import (
    ACCESSIBLE_ROLE,
    BACKGROUND_ROLE,
    DECORATION_ROLE,
    DISPLAY_ROLE,
    FOREGROUND_ROLE,
    TOOLTIP_ROLE,
    USER_ROLE,
    RowsTableModel,
    configure_table,
)
from dispatchdesk.gui.theme import StateColours, countdown_colours, current_theme
from dispatchdesk.gui.timefmt import local
from dispatchdesk.gui.warning_panel import SCHEME_CATEGORY_WORDS
from dispatchdesk.protocol.warnings import SchemeOut
from dispatchdesk.sync.api import DeskCommands

ModelIndex = QModelIndex | QPersistentModelIndex


class SchemeColumn(IntEnum):
    ADDRESS = 0
    CATEGORY = 1
    SUMMARY = 2
    OFFICER = 3
    STARTS = 4
    EXPIRES = 5
    REVIEW = 6
    VICTIM = 7


HEADERS = ("Address", "Category", "Summary", "Officer in case", "Starts", "Expires",
           "Review", "Victim contact")
REVIEW_WORDS = {
    ReviewState.ACTIVE: "Active",
    ReviewState.REVIEW_DUE: "Review due",
    ReviewState.FIRST_STAGE: "First-stage review requested",
    ReviewState.SECOND_STAGE: "ESCALATED (second stage)",
}
#: Each review state looks like a countdown state: the same icon shape (circle, triangle,
#: octagon) and the theme's colours for it. Never colour alone: the words are in the cell too.
_REVIEW_LOOK = {
    ReviewState.ACTIVE: CountdownState.ON_TRACK,
    ReviewState.REVIEW_DUE: CountdownState.AT_RISK,
    ReviewState.FIRST_STAGE: CountdownState.AT_RISK,
    ReviewState.SECOND_STAGE: CountdownState.BREACHED,
}
NOT_INFORMED = "NOT informed"

#: The scheme (:class:`SchemeOut`) of a row, from any column.
SCHEME_ROLE = USER_ROLE + 1
#: The row's :class:`ReviewState` at the last refresh.
REVIEW_STATE_ROLE = USER_ROLE + 2
#: What the proxy sorts on: times as timestamps, text folded.
SORT_ROLE = USER_ROLE + 3
#: How stale "expires in 3 min" may get: the text is rebuilt at least this often, while review
#: state changes and expiries are met to the second (rebuilding every row every tick would
#: cost ~25 µs a row, each second, on the GUI thread).
TEXT_REFRESH = timedelta(seconds=60)


def in_words(left: timedelta) -> str:
    """"in 12 days", "in 1 day", "in 5 hours", "in 3 min"."""
    seconds = left.total_seconds()
    if seconds <= 0:
        return "expired"
    days, hours = int(seconds // 86400), int(seconds // 3600)
    if days:
        return f"in {days} day{'s' if days > 1 else ''}"
    if hours:
        return f"in {hours} hour{'s' if hours > 1 else ''}"
    return f"in {max(1, int(seconds // 60))} min"


@dataclass(frozen=True, slots=True)
class _Row:
    """One scheme and everything shown for it, computed at the last refresh."""

    scheme: SchemeOut
    state: ReviewState
    cells: tuple[str, ...]

    @property
    def victim_informed(self) -> bool:
        return self.scheme.victim_informed_at is not None


def _row(scheme: SchemeOut, now: datetime, policy: WarningPolicy) -> _Row:
    tz = policy.timezone
    state = scheme_review_state(scheme.expires_at, scheme.review_requested_at, now, policy)
    victim = _victim_cell(scheme, now, tz)
    cells = (
        scheme.location.address,
        SCHEME_CATEGORY_WORDS[scheme.category],
        scheme.summary,
        scheme.officer_in_case,
        local(scheme.starts_at, tz, "%d %b %Y"),
        f"{local(scheme.expires_at, tz, '%d %b %Y %H:%M')} — "
        f"{in_words(scheme.expires_at - now)}",
        REVIEW_WORDS[state],
        victim,
    )
    return _Row(scheme, state, cells)


def _victim_cell(scheme: SchemeOut, now: datetime, tz: str) -> str:
    """The last victim contact in words: "Yes, 12 Nov" (told), "Attempt failed, 3 Dec (told
    12 Nov)", or "NOT informed"."""
    def day(when: datetime) -> str:
        return local(when, tz, "%d %b" if when.year == now.year else "%d %b %Y").lstrip("0")

    informed = scheme.victim_informed_at
    told = NOT_INFORMED if informed is None else f"Yes, {day(informed)}"
    last = scheme.victim_contacts[-1] if scheme.victim_contacts else None
    if last is None or last.outcome is VictimContactOutcome.INFORMED:
        return told
    earlier = "" if informed is None else f" (told {day(informed)})"
    return f"Attempt failed, {day(last.at)}{earlier}"


class SchemesTableModel(RowsTableModel):
    """Live special schemes, one per row; ``data()`` reads only what is held in memory."""

    headers = HEADERS

    def __init__(
        self,
        now: Callable[[], datetime],
        policy: WarningPolicy = DEFAULT_WARNING_POLICY,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._now = now
        self._policy = policy
        self._rows: list[_Row] = []
        self._colours = countdown_colours(_app_theme())
        #: The next instant a cell can change (refresh_now does nothing before it).
        self._next_change: datetime | None = None

    # -- Qt model --------------------------------------------------------------------------

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row, col, role = self._rows[index.row()], index.column(), int(role)
        if role in (DISPLAY_ROLE, TOOLTIP_ROLE, ACCESSIBLE_ROLE):
            return row.cells[col]
        if role == SCHEME_ROLE:
            return row.scheme
        if role == REVIEW_STATE_ROLE:
            return row.state
        if role == SORT_ROLE:
            return _sort_key(row, col)
        if role == DECORATION_ROLE:
            return _decoration(row, col)
        if role in (FOREGROUND_ROLE, BACKGROUND_ROLE):
            colours = self._cell_colours(row, col)
            if colours is None:
                return None
            return colours.foreground if role == FOREGROUND_ROLE else colours.background
        return None

    def _cell_colours(self, row: _Row, col: int) -> StateColours | None:
        if col == SchemeColumn.REVIEW:
            return self._colours[_REVIEW_LOOK[row.state]]
        if col == SchemeColumn.VICTIM and not row.victim_informed:
            return self._colours[CountdownState.BREACHED]
        return None

    def set_theme(self, theme: str) -> None:
        """Use the state colours of ``theme`` (``normal`` or ``high-contrast``)."""
        self._colours = countdown_colours(theme)
        if self._rows:
            self.dataChanged.emit(self.index(0, SchemeColumn.REVIEW),
                                  self.index(len(self._rows) - 1, SchemeColumn.VICTIM))

    # -- content ---------------------------------------------------------------------------

    @property
    def policy(self) -> WarningPolicy:
        return self._policy

    def set_policy(self, policy: WarningPolicy) -> None:
        self._policy = policy
        self.set_schemes([r.scheme for r in self._rows])

    def set_schemes(self, schemes: Sequence[SchemeOut]) -> None:
        """Replace every scheme shown (those already expired are left out)."""
        now = self._now()
        self.beginResetModel()
        self._rows = [_row(s, now, self._policy) for s in schemes
                      if scheme_live(s.expires_at, now)]
        self.endResetModel()
        self._next_change = self._soonest_change(now)

    def schemes(self) -> list[SchemeOut]:
        return [r.scheme for r in self._rows]

    def scheme(self, row: int) -> SchemeOut:
        return self._rows[row].scheme

    def review_state(self, row: int) -> ReviewState:
        return self._rows[row].state

    def victim_informed(self, row: int) -> bool:
        return self._rows[row].victim_informed

    def refresh_now(self) -> None:
        """Recompute review states and "expires in" at ``now``; drop expired schemes."""
        now = self._now()
        if self._next_change is not None and now < self._next_change:
            return
        for n in range(len(self._rows) - 1, -1, -1):
            if not scheme_live(self._rows[n].scheme.expires_at, now):
                self.beginRemoveRows(QModelIndex(), n, n)
                del self._rows[n]
                self.endRemoveRows()
        for n, old in enumerate(self._rows):
            new = _row(old.scheme, now, self._policy)
            if new != old:
                self._rows[n] = new
                self.dataChanged.emit(self.index(n, SchemeColumn.EXPIRES),
                                      self.index(n, SchemeColumn.REVIEW))
        self._next_change = self._soonest_change(now)

    def _soonest_change(self, now: datetime) -> datetime:
        """The next review-state boundary or expiry of any row, or the next text refresh."""
        soonest = now + TEXT_REFRESH
        policy = self._policy
        for row in self._rows:
            s = row.scheme
            requested = s.review_requested_at
            escalation = (scheme_escalation_due(s.expires_at, requested, policy)
                          if requested is not None else None)
            for when in (scheme_review_due(s.expires_at, policy), s.expires_at, escalation):
                if when is not None and now < when < soonest:
                    soonest = when
        return soonest


def _sort_key(row: _Row, col: int) -> Any:
    s = row.scheme
    if col == SchemeColumn.STARTS:
        return s.starts_at.timestamp()
    if col == SchemeColumn.EXPIRES:
        return s.expires_at.timestamp()
    if col == SchemeColumn.REVIEW:
        return list(REVIEW_WORDS).index(row.state)
    if col == SchemeColumn.VICTIM:
        return s.victim_informed_at.timestamp() if s.victim_informed_at else 0.0
    return row.cells[col].casefold()


def _decoration(row: _Row, col: int) -> QIcon | None:
    if col == SchemeColumn.REVIEW:
        return icons.countdown_icon(_REVIEW_LOOK[row.state])
    if col == SchemeColumn.VICTIM and not row.victim_informed:
        return icons.problem_icon()
    return None


def _app_theme() -> str:
    app = QApplication.instance()
    return current_theme(app) if isinstance(app, QApplication) else "normal"


class SchemeFilter(StrEnum):
    ALL = "All"
    #: Review due, or a review requested and awaiting a decision (either stage).
    DUE = "Due for review"
    ESCALATED = "Escalated"
    VICTIM_NOT_INFORMED = "Victim not informed"

    def accepts(self, state: ReviewState, victim_informed: bool) -> bool:
        if self is SchemeFilter.DUE:
            return state is not ReviewState.ACTIVE
        if self is SchemeFilter.ESCALATED:
            return state is ReviewState.SECOND_STAGE
        if self is SchemeFilter.VICTIM_NOT_INFORMED:
            return not victim_informed
        return True


class SchemesFilterProxy(QSortFilterProxyModel):
    """The schemes the filter bar lets through, sorted by the view."""

    def __init__(self, source: SchemesTableModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._source = source
        self._filter = SchemeFilter.ALL
        self.setSourceModel(source)
        self.setSortRole(SORT_ROLE)

    @property
    def filter(self) -> SchemeFilter:
        return self._filter

    def set_filter(self, which: SchemeFilter) -> None:
        self.beginFilterChange()
        self._filter = which
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def count(self, which: SchemeFilter) -> int:
        src = self._source
        return sum(which.accepts(src.review_state(n), src.victim_informed(n))
                   for n in range(src.rowCount()))

    def filterAcceptsRow(self, source_row: int, source_parent: ModelIndex) -> bool:
        src = self._source
        return self._filter.accepts(src.review_state(source_row),
                                    src.victim_informed(source_row))


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
_SUBMIT_TEXT = {
    SchemeAction.EXTEND: "Extend scheme",
    SchemeAction.END: "End scheme",
    SchemeAction.REVIEW: "Request review",
    SchemeAction.VICTIM: "Record victim contact",
}


class _FormKeys(QObject):
    """Enter submits and Esc cancels the inline form, from any of its fields."""

    def __init__(self, submit: Callable[[], None], cancel: Callable[[], None],
                 parent: QObject) -> None:
        super().__init__(parent)
        self._submit, self._cancel = submit, cancel

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
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
        self.proxy = SchemesFilterProxy(self.model, self)
        self._action: SchemeAction | None = None
        self._form_scheme: SchemeOut | None = None
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
        layout.addWidget(self._build_form())

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
        table.setModel(self.proxy)
        configure_table(
            table, sort_column=SchemeColumn.EXPIRES,
            sort_order=Qt.SortOrder.AscendingOrder,  # soonest first
            stretch_column=SchemeColumn.SUMMARY,
            column_widths=((0, 200), (1, 120), (3, 120), (4, 95), (5, 230), (6, 235), (7, 130)),
        )
        table.setAccessibleName("Special schemes")
        self.table = table
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
        for item in (self.form_title, self.outcome_row, when_row, self.hint, self.text,
                     self.override, self.form_error, buttons):
            if isinstance(item, QWidget):
                layout.addWidget(item)
            else:
                layout.addLayout(item)
        box.hide()
        self.form = box
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
        for signal in (self.model.modelReset, self.model.rowsRemoved, self.model.dataChanged,
                       self.proxy.layoutChanged):
            signal.connect(lambda *_: self._update_actions())

    # -- content ---------------------------------------------------------------------------

    def set_schemes(self, schemes: Sequence[SchemeOut]) -> None:
        """Replace the schemes shown, keeping the selection and any form being filled in."""
        selected = self.selected()
        self.model.set_schemes(schemes)
        if selected is not None:
            self.select_scheme(selected.id)
        live = {s.id: s for s in self.model.schemes()}
        if self._form_scheme is not None:
            if self._form_scheme.id in live:
                self._form_scheme = live[self._form_scheme.id]
            else:
                self.cancel()
                self._say("That scheme is no longer live (ended or expired): nothing was sent.")

    def refresh_now(self) -> None:
        """Called by the window's ticker: review states, "expires in", expired ones gone."""
        self.model.refresh_now()
        if self._form_scheme is not None and \
                self._form_scheme.id not in {s.id for s in self.model.schemes()}:
            self.cancel()
            self._say("That scheme has expired and is no longer shown: nothing was sent.")

    def set_policy(self, policy: WarningPolicy) -> None:
        self.model.set_policy(policy)

    def set_theme(self, theme: str) -> None:
        """Follow a theme change (the window calls it with the queue's own models)."""
        self.model.set_theme(theme)

    def set_filter(self, which: SchemeFilter) -> None:
        self.filter_buttons[which].setChecked(True)
        self.proxy.set_filter(which)
        self._update_actions()

    def selected(self) -> SchemeOut | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        scheme = rows[0].data(SCHEME_ROLE)
        return scheme if isinstance(scheme, SchemeOut) else None

    def select_scheme(self, scheme_id: int) -> bool:
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            scheme = index.data(SCHEME_ROLE)
            if isinstance(scheme, SchemeOut) and scheme.id == scheme_id:
                self.table.selectRow(row)
                self.table.scrollTo(index)
                return True
        return False

    def _update_actions(self) -> None:
        scheme = self.selected()
        for action, act in self.actions_by_kind.items():
            refusal = self._refusal(action, scheme)
            act.setEnabled(refusal is None)
            self.action_buttons[action].setEnabled(refusal is None)
            self.action_buttons[action].setToolTip(refusal or act.text())
        for which, button in self.filter_buttons.items():
            button.setText(f"{which.value} ({self.proxy.count(which)})")

    def _refusal(self, action: SchemeAction, scheme: SchemeOut | None) -> str | None:
        if scheme is None:
            return "Select a scheme first."
        if action is SchemeAction.REVIEW and scheme.review_requested_at is not None:
            return "A review has already been requested: extend or end the scheme."
        return None

    def _say(self, text: str) -> None:
        self.status.setText(text)
        self.status.setAccessibleDescription(text)

    # -- the inline form -------------------------------------------------------------------

    def start(self, action: SchemeAction) -> None:
        """Open the form of ``action`` for the selected scheme."""
        scheme = self.selected()
        refusal = self._refusal(action, scheme)
        if refusal is not None or scheme is None:
            self._say(refusal or "Select a scheme first.")
            return
        self._action, self._form_scheme = action, scheme
        self.form_title.setText(f"{_SUBMIT_TEXT[action]}: {scheme.location.address} "
                                f"({SCHEME_CATEGORY_WORDS[scheme.category]})")
        self.submit_button.setText(_SUBMIT_TEXT[action])
        self.text.clear()
        self.override.clear()
        self.override.hide()
        self.outcome_row.hide()
        self._show_error(None)
        prepare = {SchemeAction.EXTEND: self._prepare_extend, SchemeAction.END: self._prepare_end,
                   SchemeAction.REVIEW: self._prepare_review,
                   SchemeAction.VICTIM: self._prepare_victim}[action]
        prepare(scheme)
        self.form.show()
        (self.text if self.when.isHidden() else self.when).setFocus()

    def _prepare_extend(self, scheme: SchemeOut) -> None:
        latest = scheme_latest_expiry(self._now(), self.model.policy)
        self._when_row("New e&xpiry", latest.replace(second=0, microsecond=0))
        self.hint.setText(
            f"Latest allowed: {self._local(latest)} (a scheme runs at most "
            f"{self.model.policy.scheme_max_months} months from an extension). "
            f"It now expires {self._local(scheme.expires_at)}.")
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
                "it anyway.")
            self.hint.show()
            self.override.setPlaceholderText(
                "Rationale to end it without telling the victim (supervisor)")
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
            self.hint.setText("No victim contact recorded yet." if
                              scheme.victim_informed_at is None else
                              f"Victim told {self._local(scheme.victim_informed_at)}.")
        else:
            what = ("Victim told" if last.outcome is VictimContactOutcome.INFORMED
                    else "Attempt failed")
            note = f": {last.note}" if last.note else ""
            self.hint.setText(f"Last contact: {what} {self._local(last.at)} "
                              f"(recorded by {last.by}){note}")
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
        send = {SchemeAction.EXTEND: self._send_extend, SchemeAction.END: self._send_end,
                SchemeAction.REVIEW: self._send_review, SchemeAction.VICTIM: self._send_victim}
        problem, sent = send[action](scheme)
        if problem is not None:
            self._show_error(problem)
            return
        self.cancel()
        self._say(f"{sent} for {scheme.location.address}; the list updates when the server "
                  "has it.")

    def _when_value(self) -> datetime:
        return _from_edit(self.when.dateTime(), self.model.policy.timezone)

    def _send_extend(self, scheme: SchemeOut) -> tuple[str | None, str]:
        expires = self._when_value()
        problem = scheme_expiry_problem(self._now(), expires, self.model.policy,
                                        what="extension")
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
                return ("Tell the victim the scheme is being removed, or record a failed "
                        "attempt (Victim contact…, Ctrl+I), then end it; a supervisor may end "
                        "it anyway with a rationale."), ""
            problem = rationale_problem(
                override, what="rationale for ending without telling the victim")
            if problem is not None:
                return problem, ""
            self._commands.end_scheme(scheme, reason, override_rationale=override)
            return None, "End of the scheme (victim not told) sent"
        self._commands.end_scheme(scheme, reason)
        return None, "End of the scheme sent"

    def _send_review(self, scheme: SchemeOut) -> tuple[str | None, str]:
        self._commands.request_scheme_review(scheme, self.text.text().strip() or None)
        return None, "Review request sent"

    def _send_victim(self, scheme: SchemeOut) -> tuple[str | None, str]:
        at = self._when_value()
        if at > self._now():
            return "The time of the contact cannot be in the future.", ""
        told = self.outcome_buttons[VictimContactOutcome.INFORMED].isChecked()
        outcome = VictimContactOutcome.INFORMED if told else VictimContactOutcome.NO_CONTACT
        self._commands.scheme_victim_contact(scheme, outcome, at,
                                             self.text.text().strip() or None)
        words = "Victim told" if told else "Failed attempt to tell the victim"
        return None, f"{words} at {self._local(at)} sent"


def _to_edit(when: datetime, tz: str) -> QDateTime:
    """``when`` as the control room's wall-clock time in a QDateTimeEdit."""
    wall = when.astimezone(ZoneInfo(tz))
    return QDateTime(QDate(wall.year, wall.month, wall.day), QTime(wall.hour, wall.minute))


def _from_edit(value: QDateTime, tz: str) -> datetime:
    """A QDateTimeEdit's wall-clock time, read in the control room's time zone."""
    d, t = value.date(), value.time()
    return datetime(d.year(), d.month(), d.day(), t.hour(), t.minute(), tzinfo=ZoneInfo(tz))
