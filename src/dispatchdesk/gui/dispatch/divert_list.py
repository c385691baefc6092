"""The DIVERT tag list: every divert (a unit taken off one incident and sent to another) and
every withdrawal (a unit cleared before it arrived, leaving its incident with no unit; kind
WITHDRAWN, no target, "—"), what became of the incident it left, and whether a reviewer has
looked at it.

:class:`DivertTableModel` holds one row per :class:`~dispatchdesk.domain.incident.Divert`,
collected from the live incidents' ``diverts`` (whose ``owed``/``needs_unit`` give the state of
the incident left) and merged by id with history loaded from the server (older incidents no
longer in the live queue). :class:`DivertFilterProxy` filters (open / not reviewed / all) and
sorts, newest first by default. :class:`DivertListView` is the widget for a dock: the filter,
Review… (supervisors, with a required note, inline and non-modal), Export CSV… and Open
incident.

``data()`` reads memory only; the history is loaded by an injected coroutine function on the
asyncio loop (qasync runs it on the GUI thread), never by blocking the GUI thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence

from PySide6.QtCore import (
    QEvent,
    QObject,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from dispatchdesk.domain.incident import Divert, Incident
from dispatchdesk.domain.roles import Right, Role, has_right
from dispatchdesk.gui.common.refusals import RefusalWatch
from dispatchdesk.gui.common.tables import configure_table
from dispatchdesk.gui.common.timefmt import local
from dispatchdesk.gui.dispatch.divert_csv import moved_text, write_csv
from dispatchdesk.gui.dispatch.divert_model import COL_AT, DivertColumn, DivertTableModel
from dispatchdesk.gui.dispatch.divert_proxy import DivertFilter, DivertFilterProxy
from dispatchdesk.sync.api import DeskCommands

#: Loads the server's whole DIVERT history (``GET /api/v1/diverts?state=all``).
HistoryLoader = Callable[[], Awaitable[list[Divert]]]

#: Asks the operator for a file to write and calls back with it (not at all if cancelled).
PathChooser = Callable[[Callable[[str], None]], None]


class _EscapeFilter(QObject):
    """Esc in the note field cancels the review. Claiming the key at ShortcutOverride keeps it
    from a dock's own Esc shortcut, which would otherwise make both ambiguous."""

    def __init__(self, cancel: Callable[[], None], parent: QObject) -> None:
        super().__init__(parent)
        self._cancel = cancel

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind not in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            return False
        if not isinstance(event, QKeyEvent) or event.key() != Qt.Key.Key_Escape:
            return False
        event.accept()  # at ShortcutOverride: "this key is mine", then it comes as a KeyPress
        if kind == QEvent.Type.KeyPress:
            self._cancel()
        return True


class DivertListView(QWidget):
    """The DIVERT tag list for a dock or window."""

    #: The operator asked to open an incident (the one the selected tag's unit left).
    open_incident = Signal(int)

    def __init__(
        self,
        commands: DeskCommands,
        role: Role,
        load_history: HistoryLoader | None = None,
        choose_path: PathChooser | None = None,
        tz: str = "Europe/London",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._commands = commands
        self._role = role
        self._load_history = load_history
        self._choose_path = choose_path or self._choose_path_dialog
        self._history_task: asyncio.Future[None] | None = None
        self._history_loaded = False
        self._reviewing: int | None = None
        #: Reviews sent: a refusal opens the review again, with the note and the reason.
        self.refusals = RefusalWatch()
        self.file_dialog: QFileDialog | None = None
        self.model = DivertTableModel(tz, self)
        self.proxy = DivertFilterProxy(self.model, self)
        self._build()
        self._build_actions()
        self._connect()
        self._update_actions()

    # -- construction ----------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(self._build_bar())
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        layout.addWidget(self._build_table(), 1)
        layout.addWidget(self._build_review())

    def _build_bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        # No mnemonics (Alt+letter) here: they are window-wide and the docks beside this one
        # already use most letters; the actions' Ctrl keys are scoped to this view instead.
        label = QLabel("Show:")
        self.filter_combo = QComboBox()
        for which in DivertFilter:
            self.filter_combo.addItem(which.value, which)
        self.filter_combo.setAccessibleName("DIVERT tags shown")
        label.setBuddy(self.filter_combo)
        self.count_label = QLabel()
        self.review_button = QPushButton("Review…")
        self.export_button = QPushButton("Export CSV…")
        self.open_button = QPushButton("Open incident")
        self.export_button.setToolTip("Export the DIVERT tags shown to a CSV file (Ctrl+S)")
        for widget, stretch in (
            (label, 0),
            (self.filter_combo, 0),
            (self.count_label, 1),
            (self.review_button, 0),
            (self.export_button, 0),
            (self.open_button, 0),
        ):
            bar.addWidget(widget, stretch)
        return bar

    def _build_table(self) -> QTableView:
        table = QTableView()
        table.setObjectName("divertTable")
        table.setModel(self.proxy)
        configure_table(
            table,
            sort_column=COL_AT,
            sort_order=Qt.SortOrder.DescendingOrder,
            stretch_column=DivertColumn.REASON,
            column_widths=(
                (0, 140),
                (1, 140),
                (2, 70),
                (3, 90),
                (4, 95),
                (6, 220),
                (7, 200),
                (8, 90),
            ),
        )
        table.setAccessibleName("DIVERT tag list")
        self.table = table
        return table

    def _build_review(self) -> QFrame:
        """Inline, non-modal: the note field and its buttons under the list."""
        box = QFrame()
        box.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(box)
        self.review_title = QLabel()
        self.review_title.setWordWrap(True)
        self.note = QLineEdit()
        self.note.setPlaceholderText("Review note, specific to this divert (required)")
        self.note.setAccessibleName("Review note")
        self.note.installEventFilter(_EscapeFilter(self.cancel_review, self.note))
        self.review_error = QLabel()
        self.review_error.setProperty("role", "error")
        self.review_error.setWordWrap(True)
        self.submit_button = QPushButton("Mark reviewed")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Cancel the review (Esc in the note)")
        buttons = QHBoxLayout()
        buttons.addWidget(self.note, 1)
        buttons.addWidget(self.submit_button)
        buttons.addWidget(self.cancel_button)
        layout.addWidget(self.review_title)
        layout.addLayout(buttons)
        layout.addWidget(self.review_error)
        box.hide()
        self.review_box = box
        return box

    def _build_actions(self) -> None:
        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        self.act_review = self._key_action(
            "Review the selected DIVERT tag…", ["Ctrl+R"], self.start_review, context
        )
        self.act_export = self._key_action(
            "Export the DIVERT tags shown as CSV…", ["Ctrl+S"], self.export_csv, context
        )
        self.act_open = self._key_action(
            "Open the incident the unit left",
            ["Return", "Enter"],
            self.open_selected,
            Qt.ShortcutContext.WidgetShortcut,
        )
        self.table.addAction(self.act_open)
        self.removeAction(self.act_open)

    def _key_action(
        self,
        text: str,
        keys: Sequence[str],
        slot: Callable[[], None],
        context: Qt.ShortcutContext,
    ) -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(context)
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        return action

    def _connect(self) -> None:
        self.filter_combo.activated.connect(self._filter_chosen)
        self.review_button.clicked.connect(self.start_review)
        self.export_button.clicked.connect(self.export_csv)
        self.open_button.clicked.connect(self.open_selected)
        self.submit_button.clicked.connect(self.submit_review)
        self.cancel_button.clicked.connect(self.cancel_review)
        self.note.returnPressed.connect(self.submit_review)
        self.table.doubleClicked.connect(lambda _index: self.open_selected())
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._update_actions())
        for signal in (self.proxy.rowsInserted, self.proxy.rowsRemoved, self.proxy.dataChanged):
            signal.connect(lambda *_: self._update_actions())
        self.proxy.modelReset.connect(self._update_actions)
        self.proxy.layoutChanged.connect(lambda *_: self._update_actions())

    # -- feeding ---------------------------------------------------------------------------

    def set_incidents(self, incidents: Iterable[Incident]) -> None:
        self.model.set_incidents(incidents)

    def apply_changes(self, upserts: Sequence[Incident], removed: Sequence[int]) -> None:
        self.model.apply_changes(upserts, removed)

    def add_history(self, diverts: Iterable[Divert]) -> None:
        self.model.add_history(diverts)

    def set_timezone(self, tz: str) -> None:
        self.model.set_timezone(tz)

    # -- reading ---------------------------------------------------------------------------

    def selected(self) -> Divert | None:
        current = self.table.currentIndex()
        return self.proxy.divert_at(current.row()) if current.isValid() else None

    def select_divert(self, divert_id: int) -> bool:
        for row in range(self.proxy.rowCount()):
            if self.proxy.divert_at(row).id == divert_id:
                self.table.setCurrentIndex(self.proxy.index(row, 0))
                return True
        return False

    def shortcut_actions(self) -> list[QAction]:
        """The view's keyboard actions, for Help ▸ Shortcuts."""
        return [self.act_review, self.act_export, self.act_open]

    def focus_table(self) -> None:
        self.table.setFocus()
        if not self.table.currentIndex().isValid() and self.proxy.rowCount():
            self.table.setCurrentIndex(self.proxy.index(0, 0))

    # -- filter and history ----------------------------------------------------------------

    def set_filter(self, which: DivertFilter) -> None:
        """Show ``which``; choosing All loads the server's history once (again after a failure)."""
        self.filter_combo.setCurrentIndex(list(DivertFilter).index(which))
        self._filter_chosen(self.filter_combo.currentIndex())

    def _filter_chosen(self, index: int) -> None:
        which = list(DivertFilter)[index]
        self.proxy.set_filter(which)
        if which is DivertFilter.ALL:
            self._start_history()
        self._update_actions()

    @property
    def history_loading(self) -> bool:
        return self._history_task is not None and not self._history_task.done()

    def _start_history(self) -> None:
        if self._history_loaded or self.history_loading:
            return
        if self._load_history is None:
            self._say("This desk cannot load older DIVERT tags; showing those it holds.")
            return
        try:
            task = asyncio.ensure_future(self._fetch_history(self._load_history))
        except RuntimeError as exc:  # no asyncio loop at all: say so, do not crash
            self._say(f"Could not load the DIVERT history: {exc}", error=True)
            return
        self._history_task = task
        # An owner closed while loading: stop, rather than update deleted widgets.
        self.destroyed.connect(lambda *_: task.cancel())
        self._say("Loading history…")

    async def _fetch_history(self, loader: HistoryLoader) -> None:
        try:
            diverts = list(await loader())
        except Exception as exc:  # any failure is shown; the list keeps what it has
            self._say(
                f"Could not load the DIVERT history ({_reason(exc)}). Showing the tags "
                "this desk holds; choose All (history) again to retry.",
                error=True,
            )
            return
        self._history_loaded = True
        self.model.add_history(diverts)
        self._say(f"History loaded: {len(diverts):,} DIVERT tags from the server.")

    # -- actions ---------------------------------------------------------------------------

    def open_selected(self) -> None:
        divert = self.selected()
        if divert is not None:
            self.open_incident.emit(divert.from_incident_id)

    def review_refusal(self, divert: Divert | None) -> str | None:
        """Why Review… cannot be used now, or None when it can."""
        if not has_right(self._role, Right.REVIEW_DIVERTS):
            return f"Only supervisors review DIVERT tags (you are signed in as {self._role.label})."
        if divert is None:
            return "Select a DIVERT tag to review."
        if divert.reviewed_at is not None:
            when = local(divert.reviewed_at, self.model.tz, "%H:%M")
            return f"Already reviewed by {divert.reviewed_by or 'a reviewer'} at {when}."
        return None

    def start_review(self) -> None:
        divert = self.selected()
        refusal = self.review_refusal(divert)
        if refusal is not None or divert is None:
            self._say(refusal or "", error=True)
            return
        self._reviewing = divert.id
        self.review_title.setText(f"Review: {moved_text(divert)} by {divert.by} — {divert.reason}")
        self.review_error.clear()
        self.note.clear()
        self.review_box.show()
        self.note.setFocus()

    def submit_review(self) -> None:
        divert = None if self._reviewing is None else self.model.divert(self._reviewing)
        if divert is None:
            self.cancel_review()
            return
        note = self.note.text().strip()
        if not note:
            self.review_error.setText("A review note is required: say what was checked.")
            self.note.setFocus()
            return
        command_id = self._commands.review_divert(divert, note)

        def refused(message: str) -> None:
            self._reviewing = divert.id
            self.review_title.setText(
                f"Review: {moved_text(divert)} by {divert.by} — {divert.reason}"
            )
            self.note.setText(note)
            self.review_error.setText(message)
            self.review_box.show()
            self._say(f"The review of {divert.callsign} from {divert.from_ref} was refused.")

        self.refusals.watch(command_id, refused)
        self._say(
            f"Review of {divert.callsign} from {divert.from_ref} sent; it shows as "
            "reviewed once the server confirms it."
        )
        self._close_review()

    def cancel_review(self) -> None:
        self._close_review()

    def _close_review(self) -> None:
        self._reviewing = None
        self.note.clear()
        self.review_error.clear()
        self.review_box.hide()
        self.table.setFocus()

    def export_csv(self) -> None:
        """Ask for a file, then write the rows shown, in the order shown."""
        self._choose_path(self._write_csv)

    def _write_csv(self, path: str) -> None:
        if not path:
            return
        try:
            count = write_csv(path, self.model, self.proxy.shown())
        except OSError as exc:
            self._say(f"Could not export to {path}: {_reason(exc)}", error=True)
            return
        self._say(f"Exported {count:,} DIVERT tags to {path}.")

    def _choose_path_dialog(self, done: Callable[[str], None]) -> None:
        """A non-modal save dialog (``open()``, never ``exec()``), kept until it closes."""
        dialog = QFileDialog(
            self, "Export DIVERT tags", "divert-tags.csv", "CSV files (*.csv);;All files (*)"
        )
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("csv")
        dialog.fileSelected.connect(done)
        dialog.finished.connect(lambda _result: self._dialog_closed(dialog))
        self.file_dialog = dialog
        dialog.open()

    def _dialog_closed(self, dialog: QFileDialog) -> None:
        if self.file_dialog is dialog:
            self.file_dialog = None
        dialog.deleteLater()

    # -- state shown -----------------------------------------------------------------------

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setProperty("role", "error" if error else None)
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)

    def _update_actions(self) -> None:
        divert = self.selected()
        refusal = self.review_refusal(divert)
        # Ctrl+R stays live so a keyboard user hears why not; the button shows it greyed.
        self.review_button.setEnabled(refusal is None)
        self.review_button.setToolTip(
            refusal or "Mark the selected DIVERT tag reviewed, with a note (Ctrl+R)"
        )
        self.open_button.setEnabled(divert is not None)
        self.open_button.setToolTip(
            "Open the incident the unit left (Enter)" if divert else "Select a DIVERT tag first."
        )
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count_label.setText(f"{shown:,} of {total:,} DIVERT tags shown")


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
