"""The main window: the live incident queue with its filter bar, connection banner, problem
bar, supervisors' delay strip, and docks for the selected incident and unsent commands.

Keyboard first: every action is a ``QAction`` with a shortcut, listed in Help ▸ Shortcuts.
Columns are sized once by hand (``resizeColumnsToContents`` costs ~260 ms at 10k rows). One
:class:`Ticker` repaints the visible countdown cells and refreshes banner, strip and detail.
Geometry, dock layout, header state and theme persist in the given ``QSettings``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from PySide6.QtCore import QByteArray, QModelIndex, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dispatchdesk.domain.commands import ConnectionInfo, PendingCommand
from dispatchdesk.domain.grades import DEFAULT_POLICY, Grade, GradePolicy
from dispatchdesk.domain.incident import Incident, IncidentStatus
from dispatchdesk.domain.roles import Right, Role, has_right
from dispatchdesk.gui.banner import ConnectionBanner
from dispatchdesk.gui.commands_panel import CommandsPanel
from dispatchdesk.gui.delay_strip import DelayStrip
from dispatchdesk.gui.delay_tracker import DelayTracker
from dispatchdesk.gui.detail_panel import IncidentDetailPanel
from dispatchdesk.gui.incident_filter import OPEN_STATUSES, IncidentFilterProxy
from dispatchdesk.gui.incident_model import Column, IncidentTableModel
from dispatchdesk.gui.message_bar import MessageBar
from dispatchdesk.gui.new_incident import LONDON_BOROUGHS, NewIncidentDialog
from dispatchdesk.gui.operations import Operations
from dispatchdesk.gui.settings_dialog import CentralSettings, SettingsDialog, sounds_enabled
from dispatchdesk.gui.shortcuts import ShortcutsWindow
from dispatchdesk.gui.sounds import AlertSounds
from dispatchdesk.gui.tables import configure_table
from dispatchdesk.gui.theme import apply_theme
from dispatchdesk.gui.ticker import Ticker
from dispatchdesk.sync.api import DeskCommands, IncidentDraft

#: Each column is sized once, by hand, to fit this text in the current font (never
#: ``resizeColumnsToContents``). The last column (flags) stretches.
COLUMN_SAMPLES = {
    Column.REF: "CAD 12345/23NOV26", Column.GRADE: "Grade", Column.TYPE: "Concern for welfare",
    Column.LOCATION: "Flat 12, 123 Long Street Name, NW10 7AA", Column.CREATED: "23/11 06:40",
    Column.DEADLINE: "23/11 06:40", Column.COUNTDOWN: "Arrived 1:02:03 late",
    Column.STATUS: "Unit en route", Column.FLAGS: "DIVERT: NO UNIT · ⚠ ORDER CRITICAL",
}
_CELL_PADDING = 18
_ICON_ROOM = 24
ROW_HEIGHT = 22

STATUS_CHOICES: tuple[tuple[str, frozenset[IncidentStatus]], ...] = (
    ("Open (all but closed)", OPEN_STATUSES),
    (IncidentStatus.OPEN.label, frozenset({IncidentStatus.OPEN})),
    (IncidentStatus.ASSIGNED.label, frozenset({IncidentStatus.ASSIGNED})),
    (IncidentStatus.AT_SCENE.label, frozenset({IncidentStatus.AT_SCENE})),
    (IncidentStatus.CLOSED.label, frozenset({IncidentStatus.CLOSED})),
    ("All, closed included", frozenset(IncidentStatus)),
)
ALL_BOROUGHS = "All boroughs"


def _label_grade_button(button: QToolButton, grade: Grade, shown: bool) -> None:
    """The state in words too: "✓ I" shown, "✗ I" hidden."""
    button.setText(f"{'✓' if shown else '✗'} {grade.value}")
    state = "shown" if shown else "hidden"
    button.setToolTip(f"{grade.label} incidents are {state}; click or Ctrl+{grade.rank + 1}")


def window_title(username: str, role: Role) -> str:
    return f"Dispatch Desk — {username} ({role.label})"


class QueueWindow(QMainWindow):
    """The queue. The app feeds it through :class:`~dispatchdesk.gui.listener.QtDeskListener`."""

    #: Emitted from ``closeEvent`` after settings are saved (the app may quit on it).
    closed = Signal()

    def __init__(
        self,
        commands: DeskCommands,
        role: Role,
        now: Callable[[], datetime],
        username: str,
        settings: QSettings,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._commands = commands
        self._role = role
        self._now = now
        self._settings = settings
        #: What the config files say, shown read-only in the settings dialog (set by the app).
        self.central_settings = CentralSettings()
        self.settings_dialog: SettingsDialog | None = None
        #: Alert sounds (played by the listener), on unless turned off in the settings dialog.
        self.sounds = AlertSounds(sounds_enabled(settings))
        self._policy: GradePolicy = DEFAULT_POLICY
        self._selected_id: int | None = None
        self._attention = 0
        self._moving = False
        self.new_incident_dialog: NewIncidentDialog | None = None
        self.shortcuts_window: ShortcutsWindow | None = None
        self.setWindowTitle(window_title(username, role))
        self.model = IncidentTableModel(now, self)
        self.proxy = IncidentFilterProxy(self.model, self)
        self._build_table()
        self._build_central()
        self._build_docks()
        self.ops = Operations(self, commands, role, now)
        self._build_actions()
        self._build_menus()
        self._connect()
        # Tick on the *server's* second: that is when countdown texts roll over.
        self.ticker = Ticker(self.table, Column.COUNTDOWN,
                             wall=lambda: self._now().timestamp(), parent=self)
        self.ticker.about_to_repaint.connect(self.model.refresh_now)
        self.ticker.ticked.connect(self.on_tick)
        self._restore_settings()
        self._update_count()
        self.ticker.start()

    # -- construction ----------------------------------------------------------------------

    def _build_table(self) -> None:
        table = QTableView()
        table.setObjectName("queueTable")
        table.setModel(self.proxy)
        # The location gives way, so the countdown and status always fit the window, whatever
        # the font (the high-contrast theme's is larger).
        header = configure_table(table, sort_column=Column.COUNTDOWN,
                                 sort_order=Qt.SortOrder.AscendingOrder,
                                 stretch_column=Column.LOCATION, row_height=ROW_HEIGHT)
        header.setMinimumSectionSize(40)
        table.setAccessibleName("Incident queue")
        self.table = table
        self.size_columns()

    def size_columns(self) -> None:
        """Set column widths and row height from the font (cheap: no data is measured)."""
        self.table.ensurePolished()
        metrics = self.table.fontMetrics()
        for column, sample in COLUMN_SAMPLES.items():
            extra = {Column.COUNTDOWN: _ICON_ROOM, Column.FLAGS: 3 * _ICON_ROOM}.get(column, 0)
            self.table.setColumnWidth(
                column, metrics.horizontalAdvance(sample) + _CELL_PADDING + extra
            )
        self.table.verticalHeader().setDefaultSectionSize(max(ROW_HEIGHT, metrics.height() + 6))

    def _build_filter_bar(self) -> QWidget:
        bar = QWidget()
        layout = QHBoxLayout(bar)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(QLabel("Grades:"))
        self.grade_buttons: dict[Grade, QToolButton] = {}
        for grade in Grade:
            button = QToolButton()
            button.setCheckable(True)
            button.setChecked(True)
            _label_grade_button(button, grade, True)
            button.toggled.connect(
                lambda on, b=button, g=grade: _label_grade_button(b, g, on)
            )
            button.setAccessibleName(f"Show {grade.label}")
            layout.addWidget(button)
            self.grade_buttons[grade] = button
        self.status_combo = QComboBox()
        for text, _statuses in STATUS_CHOICES:
            self.status_combo.addItem(text)
        self.status_combo.setAccessibleName("Status filter")
        self.borough_combo = QComboBox()
        self.borough_combo.addItem(ALL_BOROUGHS)
        self.borough_combo.addItems(LONDON_BOROUGHS)
        self.borough_combo.setAccessibleName("Borough filter")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search ref, type, address, postcode, summary (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search")
        self.search.setMinimumWidth(160)
        self.count_label = QLabel()
        for widget, stretch in ((QLabel("Status:"), 0), (self.status_combo, 0),
                                (self.borough_combo, 0), (self.search, 1),
                                (self.count_label, 0)):
            layout.addWidget(widget, stretch)
        return bar

    def _build_central(self) -> None:
        self.banner = ConnectionBanner()
        self.message_bar = MessageBar()
        self.delay_strip = DelayStrip()
        self._shows_delays = has_right(self._role, Right.VIEW_DELAY_STRIP)
        self.delay_strip.setVisible(self._shows_delays)
        self.delay_tracker = DelayTracker()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        for widget in (self.banner, self.message_bar, self.delay_strip,
                       self._build_filter_bar(), self.table):
            layout.addWidget(widget)
        self.setCentralWidget(central)

    def _build_docks(self) -> None:
        self.detail = IncidentDetailPanel(self._commands, self._role, self._now)
        self.detail_dock = QDockWidget("Incident", self)
        self.detail_dock.setObjectName("detailDock")
        self.detail_dock.setWidget(self.detail)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.detail_dock)
        self.commands_panel = CommandsPanel(self._commands)
        self.commands_dock = QDockWidget("Commands", self)
        self.commands_dock.setObjectName("commandsDock")
        self.commands_dock.setWidget(self.commands_panel)
        # Below the detail, not under the queue: the queue keeps the window's full height.
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.commands_dock)
        self.splitDockWidget(self.detail_dock, self.commands_dock, Qt.Orientation.Vertical)
        self.detail.setMinimumWidth(320)
        self.resizeDocks([self.detail_dock], [360], Qt.Orientation.Horizontal)
        self.resizeDocks([self.detail_dock, self.commands_dock], [600, 200],
                         Qt.Orientation.Vertical)

    def _action(
        self, text: str, keys: Sequence[str], slot: Callable[[], Any], right: Right | None = None,
        context: Qt.ShortcutContext = Qt.ShortcutContext.WindowShortcut,
    ) -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(context)
        action.triggered.connect(lambda _checked=False: slot())
        allowed = right is None or has_right(self._role, right)
        action.setVisible(allowed)
        action.setEnabled(allowed)
        self.addAction(action)
        self.all_actions.append(action)
        return action

    def _build_actions(self) -> None:
        self.all_actions: list[QAction] = []
        a = self._action
        self.act_new = a("&New incident…", ["Ctrl+N"], self.new_incident, Right.CREATE_INCIDENT)
        self.act_open = a("&Open selected incident", ["Return", "Enter"], self.open_detail,
                          context=Qt.ShortcutContext.WidgetShortcut)
        self.table.addAction(self.act_open)
        self.act_regrade = a("Re&grade…", ["Ctrl+G"], self.start_regrade, Right.REGRADE)
        self.act_summary = a("&Edit summary…", ["Ctrl+E"], self.start_edit_summary,
                             Right.EDIT_SUMMARY)
        self.act_close = a("&Close incident…", ["Ctrl+Shift+C"], self.start_close,
                           Right.CLOSE_INCIDENT)
        self.act_search = a("&Search the queue", ["Ctrl+F"], self.focus_search)
        self.act_reset = a("Show all open, most &urgent first", ["F5"], self.reset_view)
        self.act_queue = a("Go to the &queue", ["F6"], self.focus_queue)
        self.act_back = a("Back to the queue from a panel", ["Esc"], self.focus_queue,
                          context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.detail_dock.addAction(self.act_back)
        self.commands_dock.addAction(self.act_back)
        self.act_detail = a("Go to the incident &panel", ["F7"], self.focus_detail)
        self.act_commands = a("Go to unsent co&mmands", ["F8"], self.focus_commands)
        self.act_assign = a("&Assign a unit…", ["F2"], self.ops.assign, Right.DISPATCH_UNITS)
        # The status follows the units: "at scene" is the arrival of the unit en route.
        self.act_at_scene = a("Mark unit at &scene", ["Ctrl+Shift+S"],
                              lambda: self.ops.mark_at_scene(), Right.DISPATCH_UNITS)
        self.act_units = a("Go to the &units board", ["Ctrl+U"], self.ops.show_units)
        self.act_diverts = a("Go to the &DIVERT tag list", ["Ctrl+Shift+D"],
                             self.ops.show_diverts)
        self.act_escalations = a("Show &escalations", ["F9"], self.ops.show_escalations,
                                 Right.REVIEW_DIVERTS)
        self.act_schemes = a("Go to special sc&hemes", ["Ctrl+Shift+J"], self.ops.show_schemes,
                             Right.MANAGE_SCHEMES)
        self.act_warnings = a("Show &warnings for the incident", ["Ctrl+W", "F4"],
                              self.show_warnings)
        for dock in self.ops.docks():
            dock.addAction(self.act_back)
        self.act_grade_filters = [
            a(f"Show/hide grade {g.value} ({g.label})", [f"Ctrl+{i}"], self._grade_toggler(g))
            for i, g in enumerate(Grade, start=1)
        ]
        self.act_dismiss = a("&Dismiss messages", ["Ctrl+D"], self.message_bar.dismiss)
        self.act_contrast = a("&High-contrast theme", ["Ctrl+Shift+H"], self.toggle_contrast)
        self.act_contrast.setCheckable(True)
        self.act_settings = a("Se&ttings…", ["Ctrl+,"], self.show_settings)
        self.act_shortcuts = a("&Keyboard shortcuts", ["F1"], self.show_shortcuts)
        self.act_quit = a("&Quit", ["Ctrl+Q"], self.close)

    def _grade_toggler(self, grade: Grade) -> Callable[[], None]:
        return lambda: self.grade_buttons[grade].toggle()

    def _build_menus(self) -> None:
        bar = self.menuBar()
        menus: dict[str, list[QAction | None]] = {
            "&Incident": [self.act_new, self.act_open, self.act_warnings, self.act_regrade,
                          self.act_summary, self.act_close, None, self.act_quit],
            "&Dispatch": [self.act_assign, self.act_at_scene, self.act_units, self.act_diverts,
                          self.act_escalations, self.act_schemes],
            "&View": [self.act_search, self.act_reset, *self.act_grade_filters, None,
                      self.act_queue, self.act_detail, self.act_commands, None,
                      self.detail_dock.toggleViewAction(),
                      self.commands_dock.toggleViewAction(),
                      *(d.toggleViewAction() for d in self.ops.docks()), self.act_dismiss,
                      self.act_contrast, self.act_settings],
            "&Help": [self.act_shortcuts],
        }
        for title, actions in menus.items():
            menu = bar.addMenu(title)
            for action in actions:
                if action is None:
                    menu.addSeparator()
                else:
                    menu.addAction(action)

    def _connect(self) -> None:
        for button in self.grade_buttons.values():
            button.toggled.connect(self._grades_changed)
        self.status_combo.currentIndexChanged.connect(self._status_changed)
        self.borough_combo.currentIndexChanged.connect(self._borough_changed)
        self.search.textChanged.connect(self._search_changed)
        self.search.returnPressed.connect(self.focus_queue)
        selection = self.table.selectionModel()
        selection.currentRowChanged.connect(self._current_changed)
        self.table.activated.connect(lambda _index: self.open_detail())
        for signal in (self.proxy.rowsInserted, self.proxy.rowsRemoved):
            signal.connect(lambda *_: self._update_count())
        self.proxy.modelReset.connect(self._update_count)
        self.proxy.layoutChanged.connect(lambda *_: self._update_count())
        self.commands_panel.attention_changed.connect(self._attention_changed)
        self.delay_strip.owed_activated.connect(self.ops.show_diverts)

    # -- the listener's entry points -------------------------------------------------------

    def set_incidents(self, incidents: Sequence[Incident], policy: GradePolicy) -> None:
        """Replace everything shown (start-up from the cache, or a snapshot)."""
        self._policy = policy
        self.banner.set_timezone(policy.timezone)
        self.detail.set_policy(policy)
        self._add_boroughs(incidents)
        with self._model_moving():
            self.model.set_incidents(incidents, policy)
        if self._shows_delays:
            self.delay_tracker.reset(incidents, policy)
            self.delay_strip.show_owed(self.delay_tracker.owed())
        self.ops.set_incidents(incidents, policy)
        if self.new_incident_dialog is not None:  # a snapshot may bring other lists
            self.new_incident_dialog.set_reference(policy.reference)
        self.on_tick()

    def apply_changes(self, upserts: Sequence[Incident], removed: Sequence[int]) -> None:
        with self._model_moving():
            self.model.apply_changes(upserts, removed)
        if self._shows_delays:
            self.delay_tracker.update(upserts, removed)
            self.delay_strip.show_owed(self.delay_tracker.owed())
        self.ops.apply_changes(upserts, removed)
        self._add_boroughs(upserts)

    def set_connection(self, info: ConnectionInfo) -> None:
        self.banner.set_info(info, self._now())

    def set_commands(self, commands: Sequence[PendingCommand]) -> None:
        self.model.set_pending(commands)
        self.ops.set_commands(commands)
        self.commands_panel.set_commands(commands)
        self.detail.set_commands(commands)

    def show_problem(self, message: str) -> None:
        self.message_bar.show_problem(message)

    # -- tick ------------------------------------------------------------------------------

    def on_tick(self) -> None:
        now = self._now()
        self.banner.refresh(now)
        if self._shows_delays:
            self.delay_strip.show_summary(self.delay_tracker.summary(now))
        self.detail.refresh()
        self.ops.on_tick()

    # -- selection -------------------------------------------------------------------------

    def selected_incident(self) -> Incident | None:
        return None if self._selected_id is None else self.model.incident(self._selected_id)

    def select_incident(self, incident_id: int) -> bool:
        row = self.proxy.proxy_row_of(incident_id)
        if row is None:
            return False
        self.table.setCurrentIndex(self.proxy.index(row, Column.REF))
        self.table.scrollTo(self.proxy.index(row, Column.REF))
        return True

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        """Follow the operator's moves only; a move caused by rows leaving is undone later."""
        if self._moving or not current.isValid():
            return
        incident = self.proxy.incident_at(current.row())
        self._selected_id = incident.id
        self.detail.show_incident(incident)

    @contextmanager
    def _model_moving(self) -> Iterator[None]:
        """Around changes of rows or filters: the detail stays on the operator's incident."""
        self._moving = True
        try:
            yield
        finally:
            self._moving = False
            self._restore_selection()

    def _restore_selection(self) -> None:
        selected = self._selected_id
        if selected is None:
            return
        incident = self.model.incident(selected)
        if incident is None:
            self.table.selectionModel().clear()
            self._selected_id = None
            self.detail.show_incident(None)
            self.show_problem("The incident you had open was removed from the queue.")
            return
        row = self.proxy.proxy_row_of(selected)
        current = self.table.currentIndex()
        if row is None:
            self.table.selectionModel().clear()  # filtered out: the panel keeps showing it
        elif not current.isValid() or current.row() != row:
            self._moving = True
            self.table.setCurrentIndex(self.proxy.index(row, Column.REF))
            self._moving = False
        self.detail.update_incident(incident)

    # -- actions ---------------------------------------------------------------------------

    def new_incident(self) -> None:
        if not has_right(self._role, Right.CREATE_INCIDENT):
            return
        dialog = self.new_incident_dialog
        if dialog is None:
            dialog = NewIncidentDialog(self, warnings_for=self.ops.warnings.lookup, now=self._now,
                                       reference=self._policy.reference,
                                       play_sound=self.sounds.play)
            dialog.submitted.connect(self._create_incident)
            self.ops.warnings.day_turned.connect(dialog.refresh_warnings)
            dialog.finished.connect(self._new_incident_closed)
            self.new_incident_dialog = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def _create_incident(self, draft: IncidentDraft) -> None:
        self._commands.create_incident(draft)

    def _new_incident_closed(self, _result: int) -> None:
        if self.new_incident_dialog is not None:
            self.new_incident_dialog.deleteLater()
            self.new_incident_dialog = None

    def open_detail(self) -> None:
        if not self.table.currentIndex().isValid():
            self._select_first()
        self.detail_dock.show()
        self.detail_dock.raise_()
        self.detail.focus_first()
        self.show_warnings()

    def show_warnings(self) -> None:
        """Pop the warning panel for the selected incident (if it has warnings) and move the
        keyboard to it: the operator asked (Ctrl+W / F4, or opened the incident from the
        queue). Nothing else moves the keyboard there."""
        incident = self.selected_incident()
        if incident is not None:
            self.ops.show_warnings(incident, take_focus=True)

    def _with_detail(self, focus: Callable[[], None]) -> None:
        if self.selected_incident() is None:
            self.show_problem("Select an incident first.")
            return
        self.detail_dock.show()
        self.detail_dock.raise_()
        focus()

    def start_regrade(self) -> None:
        self._with_detail(self.detail.focus_regrade)

    def start_edit_summary(self) -> None:
        self._with_detail(self.detail.focus_summary)

    def start_close(self) -> None:
        self._with_detail(self.detail.focus_close)

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def focus_queue(self) -> None:
        self.table.setFocus()
        if not self.table.currentIndex().isValid():
            self._select_first()

    def focus_detail(self) -> None:
        self.detail_dock.show()
        self.detail.focus_first()

    def focus_commands(self) -> None:
        self.commands_dock.show()
        self.commands_dock.raise_()
        self.commands_panel.table.setFocus()

    def reset_view(self) -> None:
        """All open incidents, every grade and borough, no search, most urgent first."""
        with self._model_moving():
            for button in self.grade_buttons.values():
                button.setChecked(True)
            self.status_combo.setCurrentIndex(0)
            self.borough_combo.setCurrentIndex(0)
            self.search.clear()
            self.proxy.reset_filters()
        self.table.sortByColumn(Column.COUNTDOWN, Qt.SortOrder.AscendingOrder)
        self._select_first()
        self.table.setFocus()

    def _select_first(self) -> None:
        if self.proxy.rowCount():
            self.table.setCurrentIndex(self.proxy.index(0, Column.REF))
            self.table.scrollToTop()

    def toggle_contrast(self) -> None:
        self.set_theme("high-contrast" if self.act_contrast.isChecked() else "normal")

    def set_theme(self, theme: str) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, theme)
        self.model.set_theme(theme)
        self.ops.set_theme(theme)
        self.size_columns()
        self.act_contrast.setChecked(theme == "high-contrast")
        self._settings.setValue("ui/theme", theme)

    def show_shortcuts(self) -> None:
        if self.shortcuts_window is None:
            actions = [*self.all_actions, *self.commands_panel.actions(),
                       *self.ops.shortcut_actions()]
            self.shortcuts_window = ShortcutsWindow(actions, self)
        self.shortcuts_window.show()
        self.shortcuts_window.raise_()

    def show_settings(self) -> None:
        """The non-modal settings dialog: theme and alert sounds, central settings read-only."""
        if self.settings_dialog is None:
            self.settings_dialog = SettingsDialog(self._settings, self.central_settings,
                                                  self.sounds, parent=self)
            self.settings_dialog.theme_chosen.connect(self.set_theme)
        else:
            self.settings_dialog.show_central(self.central_settings)
        self.settings_dialog.show()
        self.settings_dialog.raise_()

    # -- filters ---------------------------------------------------------------------------

    def _grades_changed(self) -> None:
        with self._model_moving():
            self.proxy.set_grades(g for g, b in self.grade_buttons.items() if b.isChecked())
        self._update_count()

    def _status_changed(self, index: int) -> None:
        with self._model_moving():
            self.proxy.set_statuses(STATUS_CHOICES[index][1])
        self._update_count()

    def _borough_changed(self, index: int) -> None:
        with self._model_moving():
            self.proxy.set_borough(None if index <= 0 else self.borough_combo.itemText(index))
        self._update_count()

    def _search_changed(self, text: str) -> None:
        with self._model_moving():
            self.proxy.set_search(text)
        self._update_count()

    def _add_boroughs(self, incidents: Sequence[Incident]) -> None:
        known = {self.borough_combo.itemText(i) for i in range(self.borough_combo.count())}
        for borough in sorted({i.location.borough for i in incidents} - known):
            if borough:
                self.borough_combo.addItem(borough)

    def _update_count(self) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        text = f"{shown:,} of {total:,} shown"
        if self.proxy.is_narrowed():
            text = f"⚠ FILTERED: {text} (F5 shows all open)"
        self.count_label.setText(text)

    def _attention_changed(self, count: int) -> None:
        title = "Commands" if count == 0 else f"Commands — {count} need your decision"
        self.commands_dock.setWindowTitle(title)
        if count > self._attention:
            self.commands_dock.show()
            self.commands_dock.raise_()
        self._attention = count

    # -- settings --------------------------------------------------------------------------

    def _default_geometry(self) -> None:
        """First start: most of the screen, so every column (countdown included) shows."""
        screen = self.screen() or QApplication.primaryScreen()
        if screen is None:
            return
        area = screen.availableGeometry()
        self.resize(max(1280, int(area.width() * 0.9)), max(800, int(area.height() * 0.9)))

    def _restore_settings(self) -> None:
        self._default_geometry()
        for key, restore in (("queue/geometry", self.restoreGeometry),
                             ("queue/state", self.restoreState),
                             ("queue/header", self.table.horizontalHeader().restoreState)):
            value = self._settings.value(key)
            if isinstance(value, QByteArray | bytes):
                restore(QByteArray(value))
        if self._settings.value("ui/theme") == "high-contrast":
            self.set_theme("high-contrast")

    def save_settings(self) -> None:
        self._settings.setValue("queue/geometry", self.saveGeometry())
        self._settings.setValue("queue/state", self.saveState())
        self._settings.setValue("queue/header", self.table.horizontalHeader().saveState())
        self._settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.ticker.stop()
        self.save_settings()
        super().closeEvent(event)
        self.closed.emit()

