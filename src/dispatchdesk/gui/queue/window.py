"""The main window: the live incident queue with its filter bar, connection banner, problem
bar, supervisors' delay strip, and docks for the selected incident and unsent commands; the
dispatch docks (:class:`~dispatchdesk.gui.dispatch.docks.Dispatch`), the warnings
(:class:`~dispatchdesk.gui.warnings.desk.WarningDesk`) and the incident commands
(:class:`~dispatchdesk.gui.incident.commands.IncidentCommands`) are its parts. The window
composes them, holds the actions and menus, and moves the keyboard between them; two
collaborators keep the rest: the
:class:`~dispatchdesk.gui.queue.layout_keeper.LayoutKeeper` (column fitting, dock arrangement,
geometry per screen set-up) and the
:class:`~dispatchdesk.gui.queue.selection_keeper.SelectionKeeper` (the selected incident kept
through re-sorts and in sight, the selection cue, the created incident revealed).

The window connects itself and its parts to the app's :class:`~dispatchdesk.gui.relay.DeskRelay`
(the engine's events as Qt signals) and lets go of it when it closes.

Keyboard first: every action is a ``QAction`` with a shortcut, listed in Help ▸ Shortcuts.
One :class:`Ticker` repaints the visible countdown cells and refreshes banner, strip and detail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QMetaObject,
    QObject,
    QSettings,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QMainWindow,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from dispatchdesk.domain.commands import ConnectionInfo, ConnectionState
from dispatchdesk.domain.grades import Grade, GradePolicy
from dispatchdesk.domain.incident import Incident
from dispatchdesk.domain.roles import Right, Role, has_right
from dispatchdesk.domain.unit import Unit
from dispatchdesk.gui.common.banner import ConnectionBanner, ServerLabel
from dispatchdesk.gui.common.message_bar import MessageBar
from dispatchdesk.gui.common.settings_dialog import CentralSettings, SettingsDialog, sounds_enabled
from dispatchdesk.gui.common.shortcuts import ShortcutsWindow
from dispatchdesk.gui.common.sounds import AlertSounds
from dispatchdesk.gui.common.tables import configure_table
from dispatchdesk.gui.common.theme import apply_theme
from dispatchdesk.gui.common.ticker import Ticker
from dispatchdesk.gui.dispatch.docks import Dispatch
from dispatchdesk.gui.incident.commands import IncidentCommands
from dispatchdesk.gui.incident.created import CreatedNote
from dispatchdesk.gui.incident.detail_panel import IncidentDetailPanel
from dispatchdesk.gui.incident.downgrade_box import DecisionNotices
from dispatchdesk.gui.notices.desk import NoticesDesk
from dispatchdesk.gui.queue import countdown_delegate
from dispatchdesk.gui.queue.alerts import (
    BREACH_SOUND,
    CRITICAL_WARNING_SOUND,
    BreachWatch,
    CriticalWarningWatch,
)
from dispatchdesk.gui.queue.commands_panel import CommandsDock
from dispatchdesk.gui.queue.delay_strip import DelayStrip
from dispatchdesk.gui.queue.delay_tracker import DelayTracker
from dispatchdesk.gui.queue.filter_bar import QueueFilterBar
from dispatchdesk.gui.queue.layout_keeper import ROW_HEIGHT, LayoutKeeper
from dispatchdesk.gui.queue.model import Column, IncidentTableModel
from dispatchdesk.gui.queue.proxy import IncidentFilterProxy
from dispatchdesk.gui.queue.quit_guard import QuitGuard
from dispatchdesk.gui.queue.selection_keeper import SelectionKeeper, selection_cue
from dispatchdesk.gui.relay import DeskRelay
from dispatchdesk.gui.shift.view import ShiftDesk
from dispatchdesk.gui.warnings.desk import WarningDesk
from dispatchdesk.gui.warnings.flags import IncidentWarnings
from dispatchdesk.sync.api import DeskCommands

log = logging.getLogger(__name__)


def _log_problem(message: str) -> None:
    log.warning("problem shown to operator: %s", message)


def window_title(username: str, role: Role) -> str:
    return f"Dispatch Desk — {username} ({role.label})"


class FeedAlerts:
    """The alert sounds the feed raises: a new grade I incident, and the connection lost (the
    window's :class:`AlertSounds`, which the operator can turn off). Connected to the relay
    before the queue's model, so a new incident is told from a known one."""

    def __init__(self, model: IncidentTableModel, sounds: AlertSounds) -> None:
        self._model = model
        self._sounds = sounds
        self._connection: ConnectionState | None = None

    def on_changes(self, upserts: Sequence[Incident], _removed: Sequence[int]) -> None:
        if any(
            i.grade is Grade.IMMEDIATE and i.is_open and self._model.incident(i.id) is None
            for i in upserts
        ):
            self._sounds.play("new-immediate")

    def on_connection(self, info: ConnectionInfo) -> None:
        if info.state is ConnectionState.OFFLINE and self._connection is ConnectionState.ONLINE:
            self._sounds.play("offline")
        self._connection = info.state


class QueueWindow(QMainWindow):
    """The queue. It shows what the ``relay`` brings (one of its own when none is given)."""

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
        *,
        relay: DeskRelay | None = None,
    ) -> None:
        super().__init__(parent)
        self._commands = commands
        self._role = role
        self._now = now
        self._settings = settings
        self.relay = relay if relay is not None else DeskRelay(self)
        self._relay_connections: list[QMetaObject.Connection] = []
        #: What the config files say, shown read-only in the settings dialog (set by the app).
        self.central_settings = CentralSettings()
        self.settings_dialog: SettingsDialog | None = None
        self._username = username
        #: Alert sounds, on unless this operator turned them off in the settings dialog.
        self.sounds = AlertSounds(sounds_enabled(settings, username))
        #: New breaches of grade I incidents, found on the ticker (each sounds once).
        self.breaches = BreachWatch()
        self._warnings_received = False
        #: Column widths, dock arrangement, geometry per screen set-up.
        self.layout_keeper = LayoutKeeper(self, settings)
        #: The selected incident, kept through re-sorts and in sight.
        self.selection_keeper = SelectionKeeper(self)
        self.shortcuts_window: ShortcutsWindow | None = None
        self.setWindowTitle(window_title(username, role))
        self.model = IncidentTableModel(now, self)
        self.proxy = IncidentFilterProxy(self.model, self)
        self._build_table()
        self._build_central()
        self._build_docks()
        self.warning_desk = WarningDesk(self, commands, role, now)
        self.dispatch = Dispatch(self, commands, role, now, self.warning_desk.warnings)
        self.warning_desk.add_schemes_dock()
        self.shift = ShiftDesk(self, role, now)  # supervisors: the shift picture dock
        self.notices = NoticesDesk(self, commands, role, now)
        self.notices.place_banner(self._central_layout, 1)  # under the connection banner
        self.dispatch.raise_default_dock()
        self.incidents = IncidentCommands(self, commands, role, now, self.warning_desk.warnings)
        #: Ctrl+Q / closing asks first with unsent commands or a form with content in it.
        self.quit_guard = QuitGuard(
            self, self.incidents.form_has_input, self.incidents.keep_draft_now, self.close
        )
        #: New critical warnings on queue incidents (each sounds once).
        self.critical_warnings = CriticalWarningWatch(self.warning_desk.warnings.marks)
        self.warning_desk.warnings.changed.connect(self._warning_marks_changed)
        self._build_actions()
        self._build_menus()
        self._connect()
        self._alerts = FeedAlerts(self.model, self.sounds)
        self._connect_relay(self._alerts)
        # Tick on the *server's* second: that is when countdown texts roll over.
        self.ticker = Ticker(
            self.table, Column.COUNTDOWN, wall=lambda: self._now().timestamp(), parent=self
        )
        self.ticker.about_to_repaint.connect(self.model.refresh_now)
        self.ticker.ticked.connect(self.on_tick)
        self.ticker.ticked.connect(self.shift.on_tick)
        self.layout_keeper.restore()
        self.filters.update_count()
        self.ticker.start()

    # -- construction ----------------------------------------------------------------------

    def _build_table(self) -> None:
        table = QTableView()
        table.setObjectName("queueTable")
        table.setModel(self.proxy)
        countdown_delegate.install(
            table, self.model, self.proxy
        )  # the countdown cell from one data() call
        # The location gives way, so the countdown and status always fit the window, whatever
        # the font (the high-contrast theme's is larger).
        header = configure_table(
            table,
            sort_column=Column.COUNTDOWN,
            sort_order=Qt.SortOrder.AscendingOrder,
            stretch_column=Column.LOCATION,
            row_height=ROW_HEIGHT,
        )
        header.setMinimumSectionSize(40)
        table.setAccessibleName("Incident queue")
        self.table = table
        self.layout_keeper.size_columns()
        table.installEventFilter(self.layout_keeper)

    def _build_central(self) -> None:
        self.banner = ConnectionBanner()
        self.server_label = ServerLabel()
        self.statusBar().addPermanentWidget(self.server_label)
        self.message_bar = MessageBar()
        self.delay_strip = DelayStrip()
        self._shows_delays = has_right(self._role, Right.VIEW_DELAY_STRIP)
        self.delay_strip.setVisible(self._shows_delays)
        self.delay_tracker = DelayTracker()
        self.filters = QueueFilterBar(self.model, self.proxy, self.selection_keeper.model_moving)
        # The filter bar's widgets, by the names the window has always given them.
        self.grade_buttons = self.filters.grade_buttons
        self.status_combo = self.filters.status_combo
        self.borough_combo = self.filters.borough_combo
        self.search = self.filters.search
        self.count_label = self.filters.count_label
        central = QWidget()
        layout = QVBoxLayout(central)
        self._central_layout = layout
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.selection_cue = selection_cue(self.selection_keeper.scroll_to_selection)
        self.created_note = CreatedNote()
        self.created_note.show_requested.connect(self.selection_keeper.show_created)
        for widget in (
            self.banner,
            self.message_bar,
            self.created_note,
            self.delay_strip,
            self.filters,
            self.selection_cue,
            self.table,
        ):
            layout.addWidget(widget)
        self.setCentralWidget(central)

    def _build_docks(self) -> None:
        self.detail = IncidentDetailPanel(self._commands, self._role, self._now)
        self.detail_dock = QDockWidget("Incident", self)
        self.detail_dock.setObjectName("detailDock")
        self.detail_dock.setWidget(self.detail)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.detail_dock)
        self.commands_dock = CommandsDock(self._commands, self)
        self.commands_panel = self.commands_dock.panel
        # Below the detail until the first dock under the queue comes (add_bottom_dock): then
        # tabbed with it, at the queue's width, so its five columns are read without scrolling.
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.commands_dock)
        self.splitDockWidget(self.detail_dock, self.commands_dock, Qt.Orientation.Vertical)
        self.layout_keeper.fit_detail_width()
        self.resizeDocks([self.detail_dock], [360], Qt.Orientation.Horizontal)
        self.resizeDocks(
            [self.detail_dock, self.commands_dock], [600, 200], Qt.Orientation.Vertical
        )
        self._bottom_docks = self.layout_keeper.bottom_docks

    def add_bottom_dock(self, title: str, name: str, widget: QWidget) -> QDockWidget:
        """A dock under the queue, tabbed with the first one (see
        :meth:`LayoutKeeper.add_bottom_dock`)."""
        return self.layout_keeper.add_bottom_dock(title, name, widget)

    def _action(
        self,
        text: str,
        keys: Sequence[str],
        slot: Callable[[], Any],
        right: Right | None = None,
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
        a, inc, dispatch = self._action, self.incidents, self.dispatch
        self.act_new = a("&New incident…", ["Ctrl+N"], inc.new_incident, Right.CREATE_INCIDENT)
        self.act_open = a(
            "&Open selected incident",
            ["Return", "Enter"],
            self.open_detail,
            context=Qt.ShortcutContext.WidgetShortcut,
        )
        self.table.addAction(self.act_open)
        self.act_regrade = a("Re&grade…", ["Ctrl+G"], inc.start_regrade, Right.REGRADE)
        self.act_summary = a(
            "&Edit summary…", ["Ctrl+E"], inc.start_edit_summary, Right.EDIT_SUMMARY
        )
        self.act_close = a(
            "&Close incident…", ["Ctrl+Shift+C"], inc.start_close, Right.CLOSE_INCIDENT
        )
        self.act_search = a("&Search the queue", ["Ctrl+F"], self.filters.focus_search)
        self.act_reset = a("Show all open, most &urgent first", ["F5"], self.reset_view)
        self.act_queue = a("Go to the &queue", ["F6"], self.focus_queue)
        self.act_back = a(
            "Back to the queue from a panel",
            ["Esc"],
            self.focus_queue,
            context=Qt.ShortcutContext.WidgetWithChildrenShortcut,
        )
        self.detail_dock.addAction(self.act_back)
        self.commands_dock.addAction(self.act_back)
        self.act_detail = a("Go to the incident &panel", ["F7"], self.focus_detail)
        self.act_commands = a("Go to unsent co&mmands", ["F8"], self.commands_dock.focus)
        self.act_assign = a("&Assign a unit…", ["F2"], dispatch.assign, Right.DISPATCH_UNITS)
        # The status follows the units: "at scene" is the arrival of the unit en route.
        self.act_at_scene = a(
            "Mark unit at &scene",
            ["Ctrl+Shift+S"],
            lambda: dispatch.mark_at_scene(),
            Right.DISPATCH_UNITS,
        )
        self.act_units = a("Go to the &units board", ["Ctrl+U"], dispatch.show_units)
        self.act_diverts = a("Go to the &DIVERT tag list", ["Ctrl+Shift+D"], dispatch.show_diverts)
        self.act_escalations = a(
            "Show &escalations", ["F9"], dispatch.show_escalations, Right.REVIEW_DIVERTS
        )
        self.act_schemes = a(
            "Go to special sc&hemes",
            ["Ctrl+Shift+J"],
            self.warning_desk.show_schemes,
            Right.MANAGE_SCHEMES,
        )
        self.act_shift = a(
            "Go to the shi&ft picture", ["Ctrl+Shift+T"], self.shift.show, Right.VIEW_DELAY_STRIP
        )
        self.act_warnings = a(
            "Show &warnings for the incident", ["Ctrl+W", "F4"], self.show_warnings
        )
        self.act_notices = a("Go to &notices", ["Ctrl+Shift+N"], self.notices.show)
        self.act_post_notice = a("&Post a notice…", [], self.notices.compose, Right.POST_NOTICES)
        self.act_history = a("Go to the incident's histor&y", ["F3"], self.focus_history)
        for dock in self._bottom_docks:
            dock.addAction(self.act_back)
        self.act_grade_filters = [
            a(f"Show/hide grade {g.value} ({g.label})", [f"Ctrl+{i}"], self.filters.toggler(g))
            for i, g in enumerate(Grade, start=1)
        ]
        self.act_dismiss = a("&Dismiss messages", ["Ctrl+D"], self.message_bar.dismiss)
        self.act_contrast = a(
            "&High-contrast theme",
            ["Ctrl+Shift+H"],
            lambda: self.set_theme("high-contrast" if self.act_contrast.isChecked() else "normal"),
        )
        self.act_contrast.setCheckable(True)
        self.act_settings = a("Se&ttings…", ["Ctrl+,"], self.show_settings)
        self.act_shortcuts = a("&Keyboard shortcuts", ["F1"], self.show_shortcuts)
        self.act_quit = a("&Quit", ["Ctrl+Q"], self.close)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        menus: dict[str, list[QAction | None]] = {
            "&Incident": [
                self.act_new,
                self.act_open,
                self.act_warnings,
                self.act_history,
                self.act_regrade,
                self.act_summary,
                self.act_close,
                None,
                self.act_quit,
            ],
            "&Dispatch": [
                self.act_assign,
                self.act_at_scene,
                self.act_units,
                self.act_diverts,
                self.act_escalations,
                self.act_schemes,
                self.act_shift,
            ],
            "&View": [
                self.act_search,
                self.act_reset,
                *self.act_grade_filters,
                None,
                self.act_queue,
                self.act_detail,
                self.act_commands,
                self.act_notices,
                self.act_post_notice,
                None,
                self.detail_dock.toggleViewAction(),
                self.commands_dock.toggleViewAction(),
                *(d.toggleViewAction() for d in self._bottom_docks),
                self.act_dismiss,
                self.act_contrast,
                self.act_settings,
            ],
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
        self.search.returnPressed.connect(self.focus_queue)
        self.selection_keeper.connect()
        self.table.activated.connect(lambda _index: self.open_detail())
        self.delay_strip.owed_activated.connect(self.dispatch.show_diverts)
        self.dispatch.downgrades.count_changed.connect(self.delay_strip.show_downgrades)
        self.delay_strip.downgrades_activated.connect(self.dispatch.downgrades.show)

    def _connect_relay(self, alerts: FeedAlerts) -> None:
        """The relay's signals straight to the models and widgets that show them. Qt calls a
        signal's slots in the order connected: the new-incident alert before the queue's model
        (it tells a new incident from a known one), the model before the warnings and the units
        board (they read it), the tick last."""
        r, d, w = self.relay, self.dispatch, self.warning_desk
        # The requester hears how a supervisor decided their downgrade request.
        self.downgrade_notices = notices = DecisionNotices(
            self._username, self.show_problem, self.model.incident
        )
        pairs: list[tuple[Any, Callable[..., Any]]] = [
            (r.state, self._show_state),
            (r.state, lambda incidents, _policy: self.breaches.reset(incidents, self._now())),
            (r.state, w.set_incidents),
            (r.state, d.set_incidents),
            (r.state, lambda *_: self.on_tick()),
            (r.changes, alerts.on_changes),
            (r.changes, notices.apply_changes),  # it reads the model as it was
            (r.changes, self._show_changes),
            (r.changes, w.apply_changes),
            (r.changes, d.apply_changes),
            (r.changes, self.breaches.update),
            (r.state, lambda incidents, policy: setattr(notices, "tz", policy.timezone)),
            (r.warnings, lambda *_: setattr(self, "_warnings_received", True)),
            (r.connection, alerts.on_connection),
            (r.connection, lambda info: self.banner.set_info(info, self._now())),
            (r.connection, self.detail.history.loader.on_connection),
            (r.connection, self.server_label.set_info),
            (r.commands, self.model.set_pending),
            (r.commands, d.set_commands),
            (r.commands, w.set_commands),
            (r.commands, self.commands_panel.set_commands),
            (r.commands, self.detail.set_commands),
            (r.commands, self.quit_guard.set_commands),
            (r.problem, _log_problem),
            (r.problem, self.show_problem),
            (r.signed_out, _log_problem),
            (r.signed_out, self.show_problem),
            (r.units, d.set_units),
            (r.notices, self.notices.set_notices),
            (r.warnings, w.set_warnings),
            # After the model: a new incident's row is there to select.
            (r.commands, self.incidents.creations.on_commands),
            (r.changes, self.incidents.creations.on_changes),
        ]
        self._relay_connections = [signal.connect(slot) for signal, slot in pairs]

    def _disconnect_relay(self) -> None:
        for connection in self._relay_connections:
            QObject.disconnect(connection)
        self._relay_connections.clear()

    # -- fed by the relay ------------------------------------------------------------------

    def _show_state(self, incidents: Sequence[Incident], policy: GradePolicy) -> None:
        """Replace everything shown (start-up from the cache, or a snapshot)."""
        self.banner.set_timezone(policy.timezone)
        self.notices.set_timezone(policy.timezone)
        self.detail.set_policy(policy)
        self.filters.add_boroughs(incidents)
        with self.selection_keeper.model_moving():
            self.model.set_incidents(incidents, policy)
        if self._shows_delays:
            self.delay_tracker.reset(incidents, policy)
            self.delay_strip.show_owed(self.delay_tracker.owed())
        self.incidents.set_policy(policy)

    def _show_changes(self, upserts: Sequence[Incident], removed: Sequence[int]) -> None:
        with self.selection_keeper.model_moving():
            self.model.apply_changes(upserts, removed)
        if self._shows_delays:
            self.delay_tracker.update(upserts, removed)
            self.delay_strip.show_owed(self.delay_tracker.owed())
        self.filters.add_boroughs(upserts)

    def show_problem(self, message: str) -> None:
        self.message_bar.show_problem(message)

    def units(self) -> list[Unit]:
        """The fleet as the units board shows it."""
        return self.dispatch.units()

    @property
    def incident_warnings(self) -> IncidentWarnings:
        """The warnings of every incident in the queue (its flags column)."""
        return self.warning_desk.warnings

    # -- tick ------------------------------------------------------------------------------

    def on_tick(self) -> None:
        now = self._now()
        self.banner.refresh(now)
        if self._shows_delays:
            self.delay_strip.show_summary(self.delay_tracker.summary(now))
        self.detail.refresh()
        self.warning_desk.on_tick()
        self.dispatch.on_tick()
        self.notices.on_tick()
        self._sound_alerts(now)

    def _sound_alerts(self, now: datetime) -> None:
        """A new breach of a grade I incident sounds (once); critical warnings computed from
        now on are new ones (the first full pass over the queue only learns them)."""
        if self.breaches.due(now):
            self.sounds.play(BREACH_SOUND)
        watch = self.critical_warnings
        if not watch.armed and self._warnings_received and not self.incident_warnings.busy:
            watch.armed = True

    def _warning_marks_changed(self, incident_ids: list[int]) -> None:
        if self.critical_warnings.changed(incident_ids):
            self.sounds.play(CRITICAL_WARNING_SOUND)

    # -- navigation ------------------------------------------------------------------------

    def open_detail(self) -> None:
        if not self.table.currentIndex().isValid():
            self.selection_keeper.select_first()
        self.detail_dock.show()
        self.detail_dock.raise_()
        self.detail.focus_first()
        self.show_warnings()

    def open_incident(self, incident_id: int) -> None:
        """Select the incident (a unit's, a tag's, an escalation's) and open its panel."""
        if self.selection_keeper.select_incident(incident_id):
            self.open_detail()
        else:
            self.show_problem(
                "That incident is not in the queue shown: clear the filters (F5), or it was "
                "closed before today."
            )

    def show_warnings(self) -> None:
        """Pop the warning panel for the selected incident (if it has warnings) and move the
        keyboard to it: the operator asked (Ctrl+W / F4, or opened the incident from the
        queue). Nothing else moves the keyboard there."""
        incident = self.selection_keeper.selected_incident()
        if incident is not None:
            self.warning_desk.show_warnings(incident, take_focus=True)

    def focus_queue(self) -> None:
        self.table.setFocus()
        if not self.table.currentIndex().isValid():
            self.selection_keeper.select_first()

    def focus_detail(self) -> None:
        self.detail_dock.show()
        self.detail.focus_first()

    def focus_history(self) -> None:
        """F3: the keyboard to the selected incident's history (Esc: back to the queue)."""
        self.detail_dock.show()
        self.detail_dock.raise_()
        self.detail.history.panel.focus_list()
        # The history is the panel's last part: show it whole, once laid out.
        bar = self.detail.verticalScrollBar()
        QTimer.singleShot(0, self, lambda: bar.setValue(bar.maximum()))

    def reset_view(self) -> None:
        """All open incidents, every grade and borough, no search, most urgent first."""
        with self.selection_keeper.model_moving():
            self.filters.reset()
        self.table.sortByColumn(Column.COUNTDOWN, Qt.SortOrder.AscendingOrder)
        self.selection_keeper.select_first()
        self.table.setFocus()

    # -- theme, settings, shortcuts --------------------------------------------------------

    def set_theme(self, theme: str) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, theme)
        self.model.set_theme(theme)
        self.dispatch.set_theme(theme)
        self.warning_desk.set_theme(theme)
        self.layout_keeper.size_columns()
        self.layout_keeper.fit_detail_width()
        self.act_contrast.setChecked(theme == "high-contrast")
        self._settings.setValue("ui/theme", theme)

    def show_shortcuts(self) -> None:
        if self.shortcuts_window is None:
            actions = [
                *self.all_actions,
                *self.commands_panel.actions(),
                *self.dispatch.shortcut_actions(),
                *self.detail.tasks_box.shortcut_actions(),
                *self.detail.history.shortcut_actions(),
            ]
            self.shortcuts_window = ShortcutsWindow(actions, self)
        self.shortcuts_window.show()
        self.shortcuts_window.raise_()

    def show_settings(self) -> None:
        """The non-modal settings dialog: theme and alert sounds, central settings read-only."""
        if self.settings_dialog is None:
            self.settings_dialog = SettingsDialog(
                self._settings,
                self.central_settings,
                self.sounds,
                parent=self,
                operator=self._username,
            )
            self.settings_dialog.theme_chosen.connect(self.set_theme)
        else:
            self.settings_dialog.show_central(self.central_settings)
        self.settings_dialog.show()
        self.settings_dialog.raise_()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.quit_guard.may_close():
            event.ignore()  # asked, non-modal: Quit there closes for good
            return
        self._disconnect_relay()  # a closed window follows the feed no more
        self.ticker.stop()
        self.layout_keeper.save()
        super().closeEvent(event)
        self.closed.emit()


def replay(window: QueueWindow, relay: DeskRelay) -> None:
    """Emit on ``relay`` what ``window`` shows (queue, units, warnings): for the window that
    replaces it (the app rebuilds the window when the role changes; the engine lives on)."""
    relay.on_state(list(window.model.incidents()), window.model.policy)
    relay.on_units(window.units(), [], True)
    flags = window.incident_warnings
    relay.on_warnings(flags.index, flags.all_acknowledged)
    relay.on_notices(*window.notices.state())
