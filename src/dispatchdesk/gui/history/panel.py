"""The history panel: past incidents at the location and involving the people, in the
new-incident form (as the call is typed) and in the incident panel (on opening).

A summary line first, then one line per past incident (:mod:`~dispatchdesk.gui.history.entries`
words them). Above the list a status line says where the picture comes from: the server just
now, this desk's cache "as of 14:02" when the server cannot be reached, or, plainly, that
nothing is held. The panel never takes the keyboard by itself: only F3 (the owner's key) or a
click moves it there, and Esc gives it back. In the list, Enter opens the highlighted incident
read-only (a non-modal window), Ctrl+L (or Link…) links it to the current incident with a
relation and a reason, typed inline; the server's refusal shows under the reason, which is
kept. The current incident's links are listed with their relation; those who may remove one
highlight it and press Del (:mod:`~dispatchdesk.gui.history.links`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from dispatchdesk.domain.commands import PendingCommand
from dispatchdesk.domain.history import IncidentLink, LinkRelation
from dispatchdesk.domain.incident import Incident
from dispatchdesk.domain.rationale import rationale_problem
from dispatchdesk.gui.history.entries import HistoryEntry, HistoryPicture, summary_line
from dispatchdesk.gui.history.links import LinkList, inline_form
from dispatchdesk.gui.history.model import HistoryModel
from dispatchdesk.gui.history.viewer import HistoryEntryViewer
from dispatchdesk.sync.api import DeskCommands, DraftLink

if TYPE_CHECKING:
    from dispatchdesk.gui.incident.detail_panel import _CommandWatches, _Message

#: Moves the keyboard to the history (in the form, and to the incident panel's history).
HISTORY_KEY = "F3"
LINK_KEY = "Ctrl+L"

#: How each relation reads, from the current incident's side.
RELATION_WORDS: dict[LinkRelation, str] = {
    LinkRelation.RELATED: "related to it",
    LinkRelation.DUPLICATE: "a duplicate of it",
    LinkRelation.PARENT: "its parent (it is part of this one)",
    LinkRelation.CHILD: "its child (this is part of it)",
}


class HistoryPanel(QGroupBox):
    """Past incidents and links. ``commands``: where links go; None in the new-incident form,
    where ``defer_links`` keeps the links asked for until the incident exists
    (:meth:`deferred_links`, made once the server has given it an id)."""

    #: The operator asked to look again (Check again).
    refresh_requested = Signal()

    def __init__(
        self,
        commands: DeskCommands | None = None,
        *,
        tz: str = "Europe/London",
        parent: QWidget | None = None,
        defer_links: bool = False,
        can_unlink: bool = False,
    ) -> None:
        super().__init__(f"History ({HISTORY_KEY})", parent)
        self._defer = defer_links and commands is None
        self._deferred: list[DraftLink] = []
        self.setObjectName("historyPanel")
        self._commands = commands
        self._tz = tz
        self._incident: Incident | None = None
        self._linking: HistoryEntry | None = None
        self._return_to: QWidget | None = None
        self._pending: list[PendingCommand] = []
        self._can_unlink = can_unlink
        self.viewer: HistoryEntryViewer | None = None
        self.model = HistoryModel(tz, self)
        self._build()
        self.show_idle("History shows once a location or a person is entered.")
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._focus_changed)

    def _focus_changed(self, old: QWidget | None, new: QWidget | None) -> None:
        """Remember where the keyboard came from, however it got here (F3, Tab, a click)."""
        if new is not None and self._contains(new) and old is not None and not self._contains(old):
            self._return_to = old

    # -- construction ----------------------------------------------------------------------

    def _build(self) -> None:
        from dispatchdesk.gui.incident.detail_panel import _CommandWatches, _Message

        self.summary = QLabel()
        self.summary.setWordWrap(True)
        font = self.summary.font()
        font.setBold(True)
        self.summary.setFont(font)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status = _Message()
        self.list = QListView()
        self.list.setModel(self.model)
        self.list.setWordWrap(True)
        self.list.setUniformItemSizes(False)
        self.list.setAlternatingRowColors(True)
        self.list.setSpacing(2)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setAccessibleName("Past incidents")
        # About four entries of three wrapped lines in a narrow dock.
        self.list.setMinimumHeight(self.fontMetrics().height() * 12)
        self.list.activated.connect(lambda _i: self.open_selected())
        self.list.installEventFilter(self)
        self.open_button = QPushButton("Open (Enter)")
        self.link_button = QPushButton(f"Link… ({LINK_KEY})")
        self.refresh_button = QPushButton("Check again")
        for button in (self.open_button, self.link_button, self.refresh_button):
            button.setAutoDefault(False)
        self.open_button.clicked.connect(self.open_selected)
        self.link_button.clicked.connect(self.start_link)
        self.refresh_button.clicked.connect(self.refresh_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.link_button)
        buttons.addStretch(1)
        buttons.addWidget(self.refresh_button)
        self.link_action = QAction("Link the highlighted incident", self)
        self.link_action.setShortcut(QKeySequence(LINK_KEY))
        self.link_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.link_action.triggered.connect(self.start_link)
        self.addAction(self.link_action)
        self.links = QLabel()
        self.links.setWordWrap(True)
        self.links.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._message_type = _Message
        self._watches: _CommandWatches = _CommandWatches()
        self._build_link_editor()
        #: The incident's links, one a line; Del removes the highlighted one (by right).
        self.linked = LinkList(
            self._commands,
            can_remove=self._can_unlink,
            bring_into_view=self._bring_into_view,
            focus_elsewhere=self.list.setFocus,
        )
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.status)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.link_box)
        layout.addWidget(self.links)
        layout.addWidget(self.linked)

    def _build_link_editor(self) -> None:
        self.link_box = QWidget()
        self.link_title = QLabel()
        self.link_title.setWordWrap(True)
        self.relation = QComboBox()
        for relation, words in RELATION_WORDS.items():
            self.relation.addItem(f"{relation.value} — this incident is {words}", relation.value)
        self.relation.setAccessibleName("Relation")
        # Its long items must not widen a narrow dock (the panel has no sideways scrolling).
        self.relation.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.relation.setMinimumContentsLength(16)
        self.link_reason = QLineEdit()
        self.link_reason.setPlaceholderText("Why are they linked? (required)")
        self.link_reason.setAccessibleName("Reason for the link")
        self.link_reason.returnPressed.connect(self.submit_link)
        self.link_reason.installEventFilter(self)
        self.relation.installEventFilter(self)
        self.link_send = QPushButton("Link")
        self.link_cancel = QPushButton("Cancel")
        self.link_send.clicked.connect(self.submit_link)
        self.link_cancel.clicked.connect(self.cancel_link)
        self.link_message: _Message = self._message_type()
        inline_form(
            self.link_box,
            (self.link_title, self.relation, self.link_reason, self.link_message),
            self.link_send,
            self.link_cancel,
        )

    # -- what is shown ---------------------------------------------------------------------

    def set_timezone(self, tz: str) -> None:
        self._tz = tz
        self.model.set_entries(self.model.entries(), tz)
        self.linked.show_links(self._incident, tz)

    @property
    def incident(self) -> Incident | None:
        return self._incident

    def set_incident(self, incident: Incident | None) -> None:
        """The incident links are made from (None in the form: it does not exist yet), and
        whose links are listed."""
        if incident is None or self._incident is None or incident.id != self._incident.id:
            self.cancel_link()
            self._watches.clear()
            self.link_message.clear_message()
        self._incident = incident
        self._show_links(incident.links if incident is not None else ())
        self._update_buttons()

    def show_idle(self, text: str) -> None:
        """Nothing asked yet (or nothing to ask about)."""
        self.model.set_entries([])
        self.summary.setText("")
        self.summary.hide()
        self.status.show_note(text)
        self._update_buttons()

    def show_loading(self) -> None:
        """A lookup is on its way; what is listed stays until the answer comes."""
        held = self.model.rowCount() > 0
        self.status.show_note(
            "Checking history with the server…" if not held else "Checking again…"
        )

    def show_picture(self, picture: HistoryPicture, *, note: str = "", stale: bool = False) -> None:
        """An answer: its summary and entries; ``note`` says where it comes from (``stale``:
        the cache, shown as a warning)."""
        current = self.list.currentIndex()
        keep = self.model.entry(current.row()) if current.isValid() else None
        self.model.set_entries(picture.entries, self._tz)
        self.summary.setText(summary_line(picture))
        self.summary.setAccessibleName(self.summary.text())
        self.summary.show()
        if stale:
            self.status.show_error(note)
        elif note:
            self.status.show_note(note)
        else:
            self.status.clear_message()
        if keep is not None:
            rows = [e.id for e in self.model.entries()]
            if keep.id in rows:
                self.list.setCurrentIndex(self.model.index(rows.index(keep.id), 0))
        self._update_buttons()

    def show_problem(self, text: str, *, keep: bool = True) -> None:
        """Nothing new to show: say why (the entries stay unless ``keep`` is False)."""
        if not keep:
            self.model.set_entries([])
            self.summary.hide()
        self.status.show_error(text)
        self._update_buttons()

    def _show_links(self, links: Sequence[IncidentLink]) -> None:
        self.linked.show_links(self._incident, self._tz)
        self.links.setText("Linked incidents:" if links else "Linked incidents: none.")

    def _update_buttons(self) -> None:
        selected = self.selected() is not None
        self.open_button.setEnabled(selected)
        can_link = self._commands is not None and self._incident is not None
        self.link_button.setEnabled(
            selected and (self._defer or (can_link and self._incident_open()))
        )
        self.link_button.setVisible(self._commands is not None or self._defer)
        self.links.setVisible(self._incident is not None or bool(self._deferred))
        self.linked.setVisible(self._incident is not None and not self._defer)

    def _incident_open(self) -> bool:
        return self._incident is not None and self._incident.is_open

    # -- keyboard --------------------------------------------------------------------------

    def focus_list(self) -> bool:
        """F3: the keyboard to the entries (the first one highlighted). False when there is
        nothing to go to."""
        focus = QApplication.focusWidget()
        if focus is not None and not self._contains(focus):
            self._return_to = focus
        if self.model.rowCount() == 0:
            self.list.setFocus(Qt.FocusReason.ShortcutFocusReason)
            return False
        if not self.list.currentIndex().isValid():
            self.list.setCurrentIndex(self.model.index(0, 0))
        self.list.setFocus(Qt.FocusReason.ShortcutFocusReason)
        return True

    def leave(self) -> None:
        """Esc: the keyboard back to where it came from."""
        back = self._return_to
        self._return_to = None
        if back is not None and _alive(back) and back.isVisible():
            back.setFocus(Qt.FocusReason.OtherFocusReason)

    def _can_go_back(self) -> bool:
        back = self._return_to
        return back is not None and _alive(back) and back.isVisible()

    def _contains(self, widget: QWidget) -> bool:
        try:
            return widget is self or self.isAncestorOf(widget)
        except RuntimeError:
            return False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if isinstance(event, QKeyEvent) and event.type() in (
            QEvent.Type.KeyPress,
            QEvent.Type.ShortcutOverride,
        ):
            esc = event.key() == Qt.Key.Key_Escape and not event.modifiers()
            if esc and watched is self.list and not self._can_go_back():
                return False  # nowhere to go back to: the window's own Esc
            if esc and event.type() == QEvent.Type.ShortcutOverride:
                event.accept()  # ours, not the form's Cancel
                return True
            if esc:
                if watched is self.list:
                    self.leave()
                else:
                    self.cancel_link()
                return True
        if watched is self.list and event.type() == QEvent.Type.FocusIn:
            self._update_buttons()
        return super().eventFilter(watched, event)

    # -- entries ---------------------------------------------------------------------------

    def selected(self) -> HistoryEntry | None:
        index = self.list.currentIndex()
        return self.model.entry(index.row()) if index.isValid() else None

    def open_selected(self) -> None:
        """Enter: the highlighted incident, read-only, in a window of its own (non-modal)."""
        entry = self.selected()
        if entry is None:
            return
        if self.viewer is None:
            self.viewer = HistoryEntryViewer(self.window())
        self.viewer.show_entry(entry, self._tz)
        self.viewer.show()
        self.viewer.raise_()
        self.viewer.activateWindow()

    # -- links -----------------------------------------------------------------------------

    def start_link(self) -> None:
        """Ctrl+L / Link…: ask for the relation and a reason, inline."""
        entry = self.selected()
        incident = self._incident
        if self._defer and entry is not None:
            self._start_deferred(entry)
            return
        if self._commands is None:
            self.status.show_error(
                "Link it from the incident's panel once the incident is created: it has no ref yet."
            )
            return
        if incident is None:
            self.status.show_error("Create the incident first; then link from its panel.")
            return
        if entry is None:
            self.status.show_error("Highlight a past incident in the list first (F3).")
            return
        if not incident.is_open:
            self.status.show_error(f"{incident.ref} is closed: links are made on open incidents.")
            return
        if any(link.incident_id == entry.id for link in incident.links):
            self.status.show_error(f"{entry.incident.ref} is already linked to {incident.ref}.")
            return
        self._linking = entry
        self.link_title.setText(f"Link {incident.ref} to {entry.incident.ref}: this incident is…")
        self.link_message.clear_message()
        self.link_box.show()
        self.relation.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self._bring_into_view(self.link_message)

    def submit_link(self) -> None:
        entry, incident = self._linking, self._incident
        reason = self.link_reason.text().strip()
        problem = rationale_problem(reason, what="link reason")  # as the server checks it
        if entry is not None and problem:
            self.link_message.show_error(problem)
            self.link_reason.setFocus()
            return
        relation = LinkRelation(self.relation.currentData())
        if entry is not None and self._defer:
            self._deferred.append(DraftLink(entry.id, entry.incident.ref, relation, reason))
            self._show_deferred()
            self._link_confirmed()
            return
        if entry is None or incident is None or self._commands is None:
            return
        command_id = self._commands.link_incident(incident, entry.incident, relation, reason)
        self._watches.watch(
            command_id,
            self.link_message,
            f"Link to {entry.incident.ref} ({relation.value}) queued; pending until the server "
            "confirms.",
            self._link_confirmed,
            self._pending,
        )

    def _link_confirmed(self) -> None:
        self.link_reason.clear()
        self._linking = None
        self.link_box.hide()
        self.list.setFocus()

    # -- links asked for in the form, made once the incident exists ------------------------

    def _start_deferred(self, entry: HistoryEntry) -> None:
        if any(link.incident_id == entry.id for link in self._deferred):
            self.status.show_error(
                f"{entry.incident.ref} is already to be linked once the incident is created."
            )
            return
        self._linking = entry
        self.link_title.setText(
            f"Link the new incident to {entry.incident.ref} once it is created: this incident is…"
        )
        self.link_message.clear_message()
        self.link_box.show()
        self.relation.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _show_deferred(self) -> None:
        lines = [f"{d.ref} — {d.relation.value}: {d.reason}" for d in self._deferred]
        self.links.setText("To link once the incident is created:\n" + "\n".join(lines))
        self._update_buttons()

    def deferred_links(self) -> tuple[DraftLink, ...]:
        """The links asked for in the form (sent with the new incident's draft)."""
        return tuple(self._deferred)

    def cancel_link(self) -> None:
        had_focus = self._contains_focus(self.link_box)
        self._linking = None
        self.link_box.hide()
        if had_focus:
            self.list.setFocus()

    def _bring_into_view(self, widget: QWidget) -> None:
        """In a scrolling panel (the incident's), scroll ``widget`` into sight once laid out."""
        parent = self.parentWidget()
        while parent is not None and not isinstance(parent, QScrollArea):
            parent = parent.parentWidget()
        if parent is not None:
            area = parent
            QTimer.singleShot(0, self, lambda: area.ensureWidgetVisible(widget, 0, 0))

    def _contains_focus(self, widget: QWidget) -> bool:
        focus = QApplication.focusWidget()
        return focus is not None and (focus is widget or widget.isAncestorOf(focus))

    def set_commands(self, commands: Sequence[PendingCommand]) -> None:
        """All unconfirmed commands: a link's refusal shows under its reason."""
        self._pending = list(commands)
        self._watches.follow(commands)
        self.linked.set_commands(commands)


def _alive(widget: QWidget) -> bool:
    try:
        widget.objectName()
    except RuntimeError:
        return False
    return True
