"""Escalations to supervisors: an owed incident (its unit diverted away) left with no unit for
longer than the server's escalation time carries ``escalated_at``. For supervisors,
:class:`EscalationNotifier` lists the escalations waiting in the "Escalations" dock of the queue
window (moved, floated, tabbed and hidden like the units board and the DIVERT list; without a
queue window, a normal window). It is quiet when none waits; a new escalation makes it loud:
the dock comes to the front with a red header and a count in its tab, an alert sound, and the
desktop's attention request (taskbar flash), until the supervisor acknowledges it.

An escalation is the pair (incident id, ``escalated_at``). One acknowledged does not pop again,
whatever the feed resends (a snapshot after a reconnect included); once the incident has a unit
(``escalated_at`` cleared) and later escalates again, that is a new escalation and pops. An
escalation cleared before it was acknowledged leaves the window by itself.

The list does not take the keyboard focus when it pops (a supervisor typing a rationale
elsewhere must not send keys into it) and never stays on top of other windows; it is reached
with :meth:`EscalationNotifier.show_window` (F9), and Esc goes back to the queue as from any
dock (the stand-alone window hides on Esc). The row holding the keyboard is outlined.
Acknowledging is local to this desk.
Other roles get nothing here: the queue shows them the DIVERT flag.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from dispatchdesk.domain.countdown import CountdownState
from dispatchdesk.domain.incident import Divert, Incident
from dispatchdesk.domain.roles import Right, Role, has_right
from dispatchdesk.gui.common import icons
from dispatchdesk.gui.common.timefmt import local

#: The alert played for a new escalation (one of ``resources.SOUND_NAMES``).
ESCALATION_SOUND = "new-immediate"
#: How often the "no unit for N min" texts are brought up to date while escalations wait.
REFRESH_MS = 15_000
#: The dock's title (its tab among the bottom docks), with the count when some wait.
DOCK_TITLE = "Escalations"
#: Not themed through the .qss on purpose: these read in both themes. Red only while
#: escalations wait; the row holding the keyboard gets a thick outline.
_STYLE = """
QLabel#escalationHeader { padding: 6px; font-weight: bold; }
QLabel#escalationHeader[state="alert"] { background: #7f0000; color: white; }
QFrame#escalationRow[focused="true"] { border: 3px solid palette(highlight); }
QFrame#escalationRow QPushButton { border: 1px solid palette(mid); border-radius: 3px;
                                   padding: 4px 12px; background: palette(button); }
QFrame#escalationRow QPushButton:focus { border: 3px solid palette(highlight);
                                         padding: 2px 10px; }
"""
#: What the list says when no escalation waits.
QUIET_TEXT = (
    "No escalations waiting. An owed incident left without a unit for longer than "
    "the escalation time appears here, with a sound."
)

#: ``add_dock(title, object name, widget)``: the queue window's bottom dock.
AddDock = Callable[[str, str, QWidget], QDockWidget]


class Sounds(Protocol):
    """What the notifier needs of :class:`~dispatchdesk.gui.common.sounds.AlertSounds`."""

    def play(self, name: str) -> bool: ...


def duration_text(delta: timedelta) -> str:
    """``12 min``, ``1 h 05 min`` (whole minutes; never negative)."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _open_diverts(incident: Incident) -> list[Divert]:
    return [d for d in incident.diverts if d.released_at is None]


def escalation_texts(incident: Incident, now: datetime, tz: str) -> tuple[str, str, str]:
    """(what and where, how long owed and without a unit, the divert that left it)."""
    head = (
        f"{incident.ref} · {incident.grade.value} ({incident.grade.label}) · "
        f"{incident.location.one_line}"
    )
    diverts = _open_diverts(incident)
    escalated = incident.escalated_at or now
    # Owed since the first divert still open; unit-less since the last one took its unit.
    owed_since = diverts[0].at if diverts else escalated
    no_unit_since = diverts[-1].at if diverts else escalated
    owed = (
        f"Owed since {local(owed_since, tz, '%H:%M')}, no unit for "
        f"{duration_text(now - no_unit_since)} (escalated {local(escalated, tz, '%H:%M')})"
    )
    if not diverts:
        return head, owed, "No open DIVERT tag has reached this desk yet."
    last = diverts[-1]
    divert = f"{last.movement} by {last.by} at {local(last.at, tz, '%H:%M')}: {last.reason}"
    return head, owed, divert


class EscalationRow(QFrame):
    """One escalated incident: its facts in words and its two buttons."""

    def __init__(self, incident: Incident, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.incident = incident
        self.setObjectName("escalationRow")
        self.setProperty("focused", False)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QHBoxLayout(self)
        icon = QLabel()
        icon.setPixmap(icons.countdown_icon(CountdownState.BREACHED).pixmap(16, 16))
        texts = QVBoxLayout()
        self.head, self.owed, self.divert = QLabel(), QLabel(), QLabel()
        font = self.head.font()
        font.setBold(True)
        self.head.setFont(font)
        for label in (self.head, self.owed, self.divert):
            label.setWordWrap(True)
            texts.addWidget(label)
        self.open_button = QPushButton("Open incident")
        self.open_button.setObjectName(f"open-{incident.id}")
        self.ack_button = QPushButton("Acknowledge")
        self.ack_button.setObjectName(f"ack-{incident.id}")
        layout.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(texts, 1)
        layout.addWidget(self.open_button)
        layout.addWidget(self.ack_button)

    def show_texts(self, incident: Incident, now: datetime, tz: str) -> None:
        self.incident = incident
        head, owed, divert = escalation_texts(incident, now, tz)
        self.head.setText(head)
        self.owed.setText(owed)
        self.divert.setText(divert)
        self.setAccessibleName(f"Escalated: {head}. {owed}. {divert}")
        self.open_button.setAccessibleName(f"Open incident {incident.ref}")
        self.ack_button.setAccessibleName(f"Acknowledge the escalation of {incident.ref}")
        self.ack_button.setToolTip(
            f"Acknowledge the escalation of {incident.ref}: it will not "
            "pop again unless it escalates again later."
        )


class EscalationWindow(QWidget):
    """The list of escalations waiting for acknowledgement: a dock's content, or (``window``)
    a normal, non-modal window that Esc hides."""

    acknowledged = Signal(int)
    open_incident = Signal(int)

    def __init__(self, parent: QWidget | None = None, window: bool = False) -> None:
        super().__init__(parent, Qt.WindowType.Window if window else Qt.WindowType.Widget)
        self.setObjectName("escalationWindow")
        self._own_window = window
        # Popping up must not take the keyboard from what the supervisor is typing.
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setStyleSheet(_STYLE)
        self.rows: dict[int, EscalationRow] = {}
        self.header = QLabel()
        self.header.setObjectName("escalationHeader")
        self.header.setWordWrap(True)
        self.header.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # F9 with none: read it here
        self._list = QVBoxLayout()
        self._list.addStretch(1)
        body = QWidget()
        body.setLayout(self._list)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addWidget(scroll, 1)
        self.resize(640, 320)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._focus_changed)
        self._show_count(0)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._own_window and event.key() == Qt.Key.Key_Escape:
            self.hide()
            return
        super().keyPressEvent(event)

    def _focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        """Outline the row that holds the keyboard (a focused button alone is easy to miss)."""
        for row in self.rows.values():
            focused = new is not None and row.isAncestorOf(new)
            if row.property("focused") != focused:
                row.setProperty("focused", focused)
                row.style().unpolish(row)
                row.style().polish(row)

    def show_escalations(self, incidents: Sequence[Incident], now: datetime, tz: str) -> None:
        """Show exactly ``incidents`` (oldest escalation first), reusing rows already shown."""
        wanted = {i.id for i in incidents}
        for incident_id in [i for i in self.rows if i not in wanted]:
            self.rows.pop(incident_id).deleteLater()
        for position, incident in enumerate(incidents):
            row = self.rows.get(incident.id) or self._add_row(incident)
            row.show_texts(incident, now, tz)
            if self._list.indexOf(row) != position:
                self._list.removeWidget(row)  # inserting a widget already there would warn
                self._list.insertWidget(position, row)
        self._show_count(len(incidents))

    def _add_row(self, incident: Incident) -> EscalationRow:
        row = EscalationRow(incident)
        iid = incident.id
        row.ack_button.clicked.connect(lambda _checked=False: self.acknowledged.emit(iid))
        row.open_button.clicked.connect(lambda _checked=False: self.open_incident.emit(iid))
        self.rows[iid] = row
        return row

    def _show_count(self, count: int) -> None:
        state = "alert" if count else "quiet"
        if count:
            noun = "owed incident has" if count == 1 else "owed incidents have"
            self.header.setText(
                f"⚠ ESCALATED — {count} {noun} had no unit for longer than the escalation "
                "time. Send a unit, then acknowledge each."
            )
            self.setWindowTitle(f"Dispatch Desk — {count} ESCALATED owed incident(s)")
        else:
            self.header.setText(QUIET_TEXT)
            self.setWindowTitle("Dispatch Desk — escalations")
        if self.header.property("state") != state:
            self.header.setProperty("state", state)
            self.header.style().unpolish(self.header)
            self.header.style().polish(self.header)
        self.setAccessibleName(self.header.text())

    def focus_first(self) -> None:
        """Keyboard entry: the first row's Open button (a stray key there opens, never
        acknowledges)."""
        if self.rows:
            first = min(self.rows.values(), key=lambda r: self._list.indexOf(r))
            first.open_button.setFocus()
        else:
            self.header.setFocus()


class EscalationNotifier(QObject):
    """Watches incidents for escalations and, for supervisors, makes them impossible to miss."""

    #: Open this incident in the queue.
    open_incident = Signal(int)
    #: The number of escalations not yet acknowledged (for the status bar).
    escalations_changed = Signal(int)

    def __init__(
        self,
        role: Role,
        now: Callable[[], datetime],
        sounds: Sounds | None = None,
        tz: str = "Europe/London",
        window_parent: QWidget | None = None,
        parent: QObject | None = None,
        add_dock: AddDock | None = None,
    ) -> None:
        super().__init__(parent)
        self._watching = has_right(role, Right.REVIEW_DIVERTS)  # supervisors
        self._now = now
        self._sounds = sounds
        self._tz = tz
        self._window_parent = window_parent
        self.window: EscalationWindow | None = None
        #: The queue window's "Escalations" dock (supervisors, with ``add_dock``), else None.
        self.dock: QDockWidget | None = None
        #: Open incidents escalated now, by id.
        self._escalated: dict[int, Incident] = {}
        #: incident id -> the ``escalated_at`` already announced / acknowledged.
        self._seen: dict[int, datetime] = {}
        self._acknowledged: dict[int, datetime] = {}
        self._count = 0
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        if self._watching and add_dock is not None:
            self.dock = add_dock(DOCK_TITLE, "escalationsDock", self._ensure_window())

    # -- feeding ---------------------------------------------------------------------------

    def set_incidents(self, incidents: Iterable[Incident]) -> None:
        """Everything anew (start-up or a snapshot); what was acknowledged stays so."""
        if not self._watching:
            return
        self._escalated.clear()
        self._take(incidents)

    def apply_changes(self, upserts: Sequence[Incident], removed: Sequence[int]) -> None:
        """A batch as the queue applies it (an id both upserted and removed is kept)."""
        if not self._watching:
            return
        kept = {i.id for i in upserts}
        for incident_id in removed:
            if incident_id not in kept:
                self._escalated.pop(incident_id, None)
        self._take(upserts)

    def set_timezone(self, tz: str) -> None:
        self._tz = tz
        self.refresh()

    # -- reading ---------------------------------------------------------------------------

    @property
    def count(self) -> int:
        """Escalations not yet acknowledged."""
        return self._count

    def pending(self) -> list[Incident]:
        """Escalated incidents not yet acknowledged, oldest escalation first."""
        waiting = [
            i for i in self._escalated.values() if self._acknowledged.get(i.id) != i.escalated_at
        ]
        return sorted(waiting, key=_escalation_order)

    # -- acting ----------------------------------------------------------------------------

    def acknowledge(self, incident_id: int) -> None:
        incident = self._escalated.get(incident_id)
        if incident is None or incident.escalated_at is None:
            return
        self._acknowledged[incident_id] = incident.escalated_at
        self._show(new=False)
        if self.window is not None and self.window.isVisible():
            self.window.focus_first()  # the keyboard goes on to the next escalation

    def show_window(self, activate: bool = True) -> None:
        """Show the waiting escalations (the status bar or a shortcut), with the focus."""
        if not self._watching:
            return
        window = self._ensure_window()
        self.refresh()
        self._bring_forward()
        if activate:
            window.activateWindow()
            window.focus_first()

    def refresh(self) -> None:
        """Bring the "no unit for N min" texts up to date."""
        if self.window is not None:
            self.window.show_escalations(self.pending(), self._now(), self._tz)

    # -- inside ----------------------------------------------------------------------------

    def _take(self, incidents: Iterable[Incident]) -> None:
        new = False
        for incident in incidents:
            escalated_at = incident.escalated_at
            if escalated_at is not None and incident.is_open:
                self._escalated[incident.id] = incident
                if self._seen.get(incident.id) != escalated_at:
                    self._seen[incident.id] = escalated_at
                    new = True
            else:
                # De-escalated (a unit assigned) or closed: a later escalation is a new one.
                self._escalated.pop(incident.id, None)
                self._seen.pop(incident.id, None)
                self._acknowledged.pop(incident.id, None)
        self._show(new)

    def _show(self, new: bool) -> None:
        pending = self.pending()
        if pending or self.window is not None:
            self._ensure_window().show_escalations(pending, self._now(), self._tz)
        if new and pending:
            self._pop()
        elif not pending and self.window is not None and self.dock is None:
            self.window.hide()  # the dock stays where the supervisor put it, quiet
        if self.dock is not None:
            self.dock.setWindowTitle(f"⚠ {DOCK_TITLE} ({len(pending)})" if pending else DOCK_TITLE)
        if pending:
            self._timer.start()
        else:
            self._timer.stop()
        if len(pending) != self._count:
            self._count = len(pending)
            self.escalations_changed.emit(self._count)

    def _pop(self) -> None:
        """A new escalation: to the front, asking for attention, with a sound; not stealing
        keys."""
        self._bring_forward()
        window = self._ensure_window()
        QApplication.alert(window.window())  # the queue window, or the floating dock
        if self._sounds is not None:
            self._sounds.play(ESCALATION_SOUND)

    def _bring_forward(self) -> None:
        """Show the list and put it in front of the docks tabbed with it (never above other
        windows)."""
        if self.dock is not None:
            self.dock.show()
            self.dock.raise_()
        else:
            window = self._ensure_window()
            window.show()
            window.raise_()

    def _ensure_window(self) -> EscalationWindow:
        if self.window is None:
            self.window = EscalationWindow(self._window_parent, window=self.dock is None)
            self.window.acknowledged.connect(self.acknowledge)
            self.window.open_incident.connect(self.open_incident)
        return self.window


def _escalation_order(incident: Incident) -> tuple[float, int]:
    at = incident.escalated_at
    return (0.0 if at is None else at.timestamp(), incident.id)
