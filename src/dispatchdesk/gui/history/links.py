"""The incident's links, in the incident panel's history: one line each (the other incident,
the relation, the reason, who linked it and when), and for those who may remove a link
(dispatchers and supervisors) a way to: highlight the link and press Del (or Remove link…),
type why in the inline reason, Enter sends it. The removal goes through the outbox like every
command; the server's refusal (a copied reason, a right missing) shows under the reason, which
is kept to rework. Esc gives up. Call handlers see the links but not the control.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from dispatchdesk.domain.commands import PendingCommand
from dispatchdesk.domain.history import IncidentLink
from dispatchdesk.domain.incident import Incident
from dispatchdesk.domain.rationale import rationale_problem
from dispatchdesk.gui.common.timefmt import local
from dispatchdesk.sync.api import DeskCommands

if TYPE_CHECKING:
    from dispatchdesk.gui.incident.detail_panel import _CommandWatches, _Message

#: Removes the highlighted link (in the links list).
REMOVE_LINK_KEY = "Del"
#: The link shown on a line of the list.
LINK_ROLE = Qt.ItemDataRole.UserRole + 1
#: At most this many lines tall before the list scrolls.
_MAX_LINES = 5


def link_line(link: IncidentLink, tz: str) -> str:
    return (
        f"{link.ref} — {link.relation.value}: {link.reason} "
        f"({link.by}, {local(link.at, tz, '%d/%m/%Y %H:%M')})"
    )


def inline_form(
    form: QWidget, fields: Sequence[QWidget], send: QPushButton, cancel: QPushButton
) -> None:
    """Lay ``form`` out as an inline form (the panel's link form, the list's removal form):
    its fields one under another, then send and cancel on the right (neither pressed by
    Enter in a field, which sends through the field itself); hidden until asked for."""
    row = QHBoxLayout()
    row.addStretch(1)
    for button in (send, cancel):
        button.setAutoDefault(False)
        row.addWidget(button)
    box = QVBoxLayout(form)
    box.setContentsMargins(0, 0, 0, 0)
    for field in fields:
        box.addWidget(field)
    box.addLayout(row)
    form.hide()


class LinkList(QWidget):
    """The links of the incident on display; ``can_remove``: the role may remove one."""

    def __init__(
        self,
        commands: DeskCommands | None,
        *,
        can_remove: bool,
        bring_into_view: Callable[[QWidget], None],
        focus_elsewhere: Callable[[], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        from dispatchdesk.gui.incident.detail_panel import _CommandWatches, _Message

        self._commands = commands
        self._can_remove = can_remove and commands is not None
        self._bring_into_view = bring_into_view
        self._incident: Incident | None = None
        #: The link whose removal is being typed.
        self._removing: IncidentLink | None = None
        #: The link the typed reason is for (kept through Esc: Del again brings it back).
        self._reason_for: int | None = None
        #: The removal sent for it, while the outbox holds it.
        self._sent: str | None = None
        self._pending: Sequence[PendingCommand] = ()
        self._watches: _CommandWatches = _CommandWatches()
        self.list = QListWidget()
        self.list.setAccessibleName("Linked incidents")
        #: Where the keyboard goes when the list it was on empties (the history's entries).
        self._focus_elsewhere = focus_elsewhere or self.list.clearFocus
        self.list.setWordWrap(True)
        self.list.setUniformItemSizes(False)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.list.currentRowChanged.connect(lambda _row: self._update_buttons())
        self.remove_action = QAction("Remove the highlighted link (incident panel)…", self)
        self.remove_action.setShortcut(QKeySequence(REMOVE_LINK_KEY))
        self.remove_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.remove_action.triggered.connect(self.start_remove)
        self.remove_action.setVisible(self._can_remove)
        self.list.addAction(self.remove_action)
        self.remove_button = QPushButton(f"Remove link… ({REMOVE_LINK_KEY})")
        self.remove_button.setAutoDefault(False)
        self.remove_button.setToolTip("Remove the highlighted link, with a reason.")
        self.remove_button.clicked.connect(self.start_remove)
        self.remove_button.setVisible(self._can_remove)
        self.message: _Message = _Message()
        self._build_editor(_Message)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.remove_button)
        layout.addLayout(row)
        layout.addWidget(self.message)
        layout.addWidget(self.editor)

    def _build_editor(self, message_type: type[_Message]) -> None:
        self.editor = QWidget()
        self.editor_title = QLabel()
        self.editor_title.setWordWrap(True)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Why is the link wrong? (required, specific)")
        self.reason.setAccessibleName("Reason for removing the link")
        self.reason.returnPressed.connect(self.submit_remove)
        self.reason.installEventFilter(self)
        self.reason_message: _Message = message_type()
        self.send_button = QPushButton("Remove link")
        self.cancel_button = QPushButton("Cancel")
        self.send_button.clicked.connect(self.submit_remove)
        self.cancel_button.clicked.connect(self.cancel_remove)
        inline_form(
            self.editor,
            (self.editor_title, self.reason, self.reason_message),
            self.send_button,
            self.cancel_button,
        )

    # -- what is shown ---------------------------------------------------------------------

    def show_links(self, incident: Incident | None, tz: str) -> None:
        """``incident``'s links (the highlighted one kept); another incident drops a removal
        being typed."""
        if incident is None or self._incident is None or incident.id != self._incident.id:
            self.cancel_remove()
            self._watches.clear()
            self._sent = None
            self._reason_for = None
            self.reason.clear()
            self.reason_message.clear_message()
            self.message.clear_message()
        self._incident = incident
        links = incident.links if incident is not None else ()
        current = self.selected()
        had_focus = self.list.hasFocus()
        self.list.clear()
        for link in links:
            item = QListWidgetItem(link_line(link, tz))
            item.setData(LINK_ROLE, link)
            item.setToolTip(item.text())
            self.list.addItem(item)
        keep = [
            i for i, link in enumerate(links) if current and link.incident_id == current.incident_id
        ]
        self.list.setCurrentRow(keep[0] if keep else (0 if links else -1))
        self.list.setVisible(bool(links))
        if had_focus and not links:
            self._focus_elsewhere()
        self._fit_height()
        removing = self._removing
        if removing is not None and all(link.incident_id != removing.incident_id for link in links):
            self._removed_elsewhere(removing)
        self._update_buttons()

    def _fit_height(self) -> None:
        """As tall as its wrapped lines (up to a few), so each link reads whole without
        scrolling and the list never squeezes the history above."""
        metrics = self.list.fontMetrics()
        width = max(self.list.viewport().width() - 8, 40)
        height = 0
        for row in range(min(self.list.count(), _MAX_LINES)):
            text = self.list.item(row).text()
            box = metrics.boundingRect(0, 0, width, 10_000, Qt.TextFlag.TextWordWrap, text)
            height += box.height() + 4
        self.list.setFixedHeight(height + 2 * self.list.frameWidth() + 2)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_height()  # wrapped lines grow or shrink with the width

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(self.selected() is not None)
        self.remove_button.setVisible(self._can_remove and self.list.count() > 0)

    def selected(self) -> IncidentLink | None:
        item = self.list.currentItem()
        link = item.data(LINK_ROLE) if item is not None else None
        return link if isinstance(link, IncidentLink) else None

    # -- removing a link -------------------------------------------------------------------

    def start_remove(self) -> None:
        """Del / Remove link…: ask why, inline."""
        if not self._can_remove:
            return
        link, incident = self.selected(), self._incident
        if incident is None or link is None:
            self.message.show_error("Highlight the link to remove first.")
            return
        self.message.clear_message()
        if self._reason_for != link.incident_id:
            self.reason.clear()  # typed for another link
            self.reason_message.clear_message()
        self._removing = link
        self._reason_for = link.incident_id
        self.editor_title.setText(
            f"Remove the link from {incident.ref} to {link.ref} ({link.relation.value}): why?"
        )
        self.editor.show()
        self.reason.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self._bring_into_view(self.editor)

    def submit_remove(self) -> None:
        """Enter: send the removal with its reason (checked here first, as the server will)."""
        link, incident = self._removing, self._incident
        if link is None or incident is None or self._commands is None:
            return
        reason = self.reason.text().strip()
        problem = rationale_problem(reason, what="reason for removing the link")
        if problem:
            self.reason_message.show_error(problem)
            self.reason.setFocus()
            self._bring_into_view(self.send_button)
            return
        command_id = self._commands.unlink_incident(incident, link.incident_id, link.ref, reason)
        self._sent = command_id
        self._watches.watch(
            command_id,
            self.reason_message,
            f"Removal of the link to {link.ref} queued; pending until the server confirms.",
            self._removal_confirmed,
            self._pending,
        )

    def _removal_confirmed(self) -> None:
        self._sent = None
        self.reason.clear()
        self._reason_for = None
        self._removing = None
        self.editor.hide()
        if self.list.count():
            self.list.setFocus()
        else:
            self._focus_elsewhere()

    def _removed_elsewhere(self, link: IncidentLink) -> None:
        """The link being typed about went (removed here and confirmed, or from another desk)."""
        if self._sent is not None:
            return  # ours: its confirmation tidies up
        self.cancel_remove()
        self.message.show_note(f"The link to {link.ref} has been removed.")

    def cancel_remove(self) -> None:
        """Esc / Cancel: the reason stays typed (a second Del brings it back)."""
        had_focus = self._contains_focus(self.editor)
        self._removing = None
        self.editor.hide()
        if had_focus:
            self.list.setFocus()

    def set_commands(self, commands: Sequence[PendingCommand]) -> None:
        """All unconfirmed commands: a removal's refusal shows under its reason."""
        self._pending = list(commands)
        before = self.reason_message.text()
        self._watches.follow(commands)
        if self.editor.isVisible() and self.reason_message.text() != before:
            self._bring_into_view(self.send_button)  # a refusal: in sight under the reason

    # -- keyboard --------------------------------------------------------------------------

    def focus_links(self) -> bool:
        if self.list.count() == 0:
            return False
        if self.list.currentRow() < 0:
            self.list.setCurrentRow(0)
        self.list.setFocus(Qt.FocusReason.ShortcutFocusReason)
        return True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.reason
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Escape
            and not event.modifiers()
        ):
            if event.type() == QEvent.Type.ShortcutOverride:
                event.accept()  # ours, not a window's Esc
                return True
            if event.type() == QEvent.Type.KeyPress:
                self.cancel_remove()
                return True
        return super().eventFilter(watched, event)

    def _contains_focus(self, widget: QWidget) -> bool:
        focus = QApplication.focusWidget()
        return focus is not None and (focus is widget or widget.isAncestorOf(focus))
