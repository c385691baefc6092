"""The warning panel: special schemes and protective orders that match an incident.

Either a non-modal tool window over the queue, or a pane embedded in the new-incident form
beside its fields. It cannot be missed: framed and headed in the colour of its most severe
warning, with a sound for a newly shown critical one, it says in words what each warning is,
why it matched (a *possible match* says so in capitals) and when it expires. It never takes
the keyboard by itself: it shows without activating, and only an explicit request
(:meth:`WarningPanel.focus_warnings`: the owner's F4 / Ctrl+W, or opening an incident from the
queue) moves the keyboard to it, so keystrokes typed while it appears stay in their field.
Each warning is acknowledged on its own, deliberately: Tab moves between warnings, Ctrl+Enter
or Alt+A (or the warning's button) acknowledges the focused one, and Esc gives the keyboard back
to where it came from. While any warning is unacknowledged the panel stays in sight (Esc and the
window's close leave it showing); once all are acknowledged Esc hides the tool window. Showing
and acknowledging are reported by signals; the owner audits them
(``DeskCommands.warning_shown`` / ``acknowledge_warning``, or the new incident's draft).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from datetime import datetime

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QCloseEvent, QFocusEvent, QHideEvent, QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from dispatchdesk.domain.warnings import (
    DEFAULT_WARNING_POLICY,
    Severity,
    WarningPolicy,
    WarningRef,
)
from dispatchdesk.gui.common import icons
from dispatchdesk.gui.common.theme import current_theme
from dispatchdesk.gui.common.timefmt import local
from dispatchdesk.gui.warnings.texts import (
    detail_lines,
    expiry_line,
    warning_ref,
    what_it_is,
    why_matched,
)
from dispatchdesk.protocol.warnings import WarningView

KEYS_HINT = (
    "Tab: next warning · Ctrl+Enter or Alt+A: acknowledge the highlighted warning · "
    "Esc: back to where you were (unacknowledged warnings stay in sight)"
)

#: An activation this soon after showing without being asked is the window system's doing
#: (the operator cannot have reached for the panel yet): the keyboard goes straight back.
UNWANTED_ACTIVATION_S = 1.0

#: Played when a critical warning is newly shown (one of ``gui.resources.SOUND_NAMES``).
CRITICAL_WARNING_SOUND = "breach"

#: Plays an alert sound by name (``AlertSounds.play``); returns whether it played.
PlaySound = Callable[[str], object]


class WarningCard(QFrame):
    """One warning: badge, what it is, why it matched, the text, expiry, acknowledgement.

    The card itself is the Tab stop (one per warning), so the keys act on "this warning"."""

    acknowledge_requested = Signal(object)  # WarningRef

    def __init__(self, warning: WarningView, now: datetime, policy: WarningPolicy) -> None:
        super().__init__()
        self.warning = warning
        self.ref = warning_ref(warning)
        self.setObjectName("warningCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setProperty("severity", warning.severity.value)
        layout = QVBoxLayout(self)
        layout.addLayout(self._badge_row())
        self.why = _label(why_matched(warning), bold=warning.possible)
        self.text = _label(warning.text, bold=True, scale=1.15)
        self.expiry = _label(expiry_line(warning, now, policy), bold=True, scale=1.1)
        self.expiry.setProperty("role", "expiry")
        self.details = _label("\n".join(detail_lines(warning, policy)))
        for widget in (self.why, self.text, self.expiry, self.details):
            layout.addWidget(widget)
        layout.addLayout(self._ack_row())
        self.set_acknowledged(False, None)

    def _badge_row(self) -> QHBoxLayout:
        severity = Severity(self.warning.severity)
        row = QHBoxLayout()
        self.icon = QLabel()
        self.icon.setPixmap(
            icons.severity_icon(severity, self.warning.kind, _theme()).pixmap(24, 24)
        )
        self.badge = _label(severity.value.upper(), bold=True)
        self.badge.setProperty("role", "badge")
        self.badge.setProperty("severity", severity.value)
        self.kind = _label(what_it_is(self.warning), bold=True)
        row.addWidget(self.icon)
        row.addWidget(self.badge)
        row.addWidget(self.kind, 1)
        return row

    def _ack_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.ack_icon = QLabel()
        self.ack_icon.setPixmap(icons.acknowledged().pixmap(16, 16))
        self.status = _label("")
        self.ack_button = QPushButton("Acknowledge (Ctrl+Enter)")
        # The card is the Tab stop; the keys act on it, the button is for the mouse.
        self.ack_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.ack_button.setAutoDefault(False)
        self.ack_button.clicked.connect(lambda: self.acknowledge_requested.emit(self.ref))
        row.addWidget(self.ack_icon)
        row.addWidget(self.status, 1)
        row.addWidget(self.ack_button)
        return row

    @property
    def is_acknowledged(self) -> bool:
        return bool(self.property("acknowledged"))

    def set_acknowledged(self, acknowledged: bool, text: str | None) -> None:
        """Mark the card acknowledged ("Acknowledged 14:02 by you") or not yet."""
        self.setProperty("acknowledged", acknowledged)
        self.status.setText((text or "Acknowledged") if acknowledged else "NOT YET ACKNOWLEDGED")
        font = self.status.font()
        font.setBold(not acknowledged)  # what still needs doing stands out
        self.status.setFont(font)
        self.ack_icon.setVisible(acknowledged)
        self.ack_button.setVisible(not acknowledged)
        self.setAccessibleName(f"{self.badge.text()} {self.kind.text()}: {self.warning.text}")
        self.setAccessibleDescription(
            f"{self.why.text()}. {self.expiry.text()}. {self.status.text()}."
        )
        _repolish(self)

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        _repolish(self)  # the focus frame comes from the stylesheet's :focus rule

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        _repolish(self)


class WarningPanel(QWidget):
    """Every warning for one incident (or one location being entered), most severe first.

    ``shown(incident_id_or_None, list[WarningRef])`` is emitted once per showing for the
    warnings newly displayed; ``acknowledged(incident_id_or_None, WarningRef)`` when the
    operator acknowledges one. ``now`` gives server time (acknowledgement times, expiries).
    """

    shown = Signal(object, list)
    acknowledged = Signal(object, object)

    def __init__(
        self,
        now: Callable[[], datetime],
        policy: WarningPolicy = DEFAULT_WARNING_POLICY,
        parent: QWidget | None = None,
        *,
        embedded: bool = False,
        play_sound: PlaySound | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Widget if embedded else Qt.WindowType.Tool)
        self._embedded = embedded
        self._play_sound = play_sound
        #: Where Esc gives the keyboard back: the widget that had it before the panel did.
        self._return_to: QWidget | None = None
        #: (active window, focus widget) when the tool window was shown without being asked to
        #: take the keyboard: where it goes back to if the window system activates it anyway.
        self._unwanted_activation: tuple[QWidget | None, QWidget | None, float] | None = None
        if not embedded:
            # Shown, raised, never activated by showing: keystrokes stay where they are typed.
            self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self._now = now
        self._policy = policy
        self._incident_id: int | None = None
        self._title = ""
        self._warnings: list[WarningView] = []
        self._acked: set[WarningRef] = set()
        #: Acknowledged here, by this operator: (incident, ref) → when.
        self._ack_times: dict[tuple[int | None, WarningRef], datetime] = {}
        self.cards: list[WarningCard] = []
        self.setObjectName("warningPanel")
        self.setWindowModality(Qt.WindowModality.NonModal)
        self._build()
        self._connect()
        if not embedded:
            self.resize(620, 480)
        else:
            self.setMinimumWidth(340)  # beside the form: wide enough to read a card

    # -- construction ----------------------------------------------------------------------

    def _build(self) -> None:
        self.frame = QFrame()
        self.frame.setObjectName("warningFrame")
        self.heading_icon = QLabel()
        self.heading = _label("", bold=True, scale=1.4)
        self.heading.setObjectName("warningHeading")
        self.count = _label("", bold=True, scale=1.1)
        self._body = QWidget()
        self._cards_layout = QVBoxLayout(self._body)
        self._cards_layout.addStretch(1)
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setWidget(self._body)
        self.scroll_area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.hide_button = QPushButton("Back (Esc)" if self._embedded else "Hide (Esc)")
        self.hide_button.setAutoDefault(False)
        # Embedded, Esc returns to the form; there is nothing to hide.
        self.hide_button.setVisible(not self._embedded)
        frame_layout = QVBoxLayout(self.frame)
        heading_row = QHBoxLayout()
        heading_row.addWidget(self.heading_icon)
        heading_row.addWidget(self.heading, 1)
        frame_layout.addLayout(heading_row)
        frame_layout.addWidget(self.count)
        frame_layout.addWidget(self.scroll_area, 1)
        frame_layout.addWidget(_label(KEYS_HINT))
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.hide_button)
        frame_layout.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.frame)

    def _connect(self) -> None:
        self.hide_button.clicked.connect(self.leave)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._focus_changed)

    def _focus_changed(self, old: QWidget | None, new: QWidget | None) -> None:
        """Remember where the keyboard came from, however it got here (F4, Tab, the mouse)."""
        if new is not None and self._contains(new) and old is not None and not self._contains(old):
            self._return_to = old

    def _contains(self, widget: QWidget) -> bool:
        try:
            return widget is self or self.isAncestorOf(widget)
        except RuntimeError:  # the C++ side is gone
            return False

    # -- keys ------------------------------------------------------------------------------

    def event(self, event: QEvent) -> bool:
        # Claim our keys before any shortcut of the window underneath sees them (the form's
        # Ctrl+Enter submits; here it must acknowledge): a tool window shares its owner's
        # window shortcuts, so a QShortcut here would be ambiguous.
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and _panel_key(event) is not None
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = _panel_key(event)
        if key == "acknowledge":
            self.acknowledge_focused()
        elif key == "hide":
            self.leave()
        else:
            super().keyPressEvent(event)

    # -- what is shown ---------------------------------------------------------------------

    @property
    def incident_id(self) -> int | None:
        return self._incident_id

    @property
    def warnings(self) -> list[WarningView]:
        return list(self._warnings)

    def set_policy(self, policy: WarningPolicy) -> None:
        """The server's warning policy (time zone, expiry windows), from the snapshot."""
        self._policy = policy
        self._rebuild(self._warnings)

    def set_title(self, title: str) -> None:
        """Name what the warnings are for ("CAD 12/23NOV26, 10 High St") without a new showing."""
        self._title = title
        self.setWindowTitle(f"WARNINGS — {title}")
        self._refresh_heading()

    def refs(self) -> list[WarningRef]:
        return [card.ref for card in self.cards]

    def unacknowledged(self) -> list[WarningRef]:
        return [card.ref for card in self.cards if not card.is_acknowledged]

    def show_for(
        self,
        title: str,
        incident_id: int | None,
        warnings: Sequence[WarningView],
        acknowledged: Collection[WarningRef] = (),
        *,
        take_focus: bool = False,
    ) -> None:
        """Pop up with ``warnings`` (already most severe first) for ``incident_id`` (None: an
        incident being created). With no warnings the panel hides. It takes the keyboard only
        with ``take_focus`` (the operator asked for it: opening an incident, Ctrl+W)."""
        same = self.isVisible() and incident_id == self._incident_id and title == self._title
        if not same:
            # A new showing: everything on it is newly displayed (and audited again).
            self._incident_id, self._title = incident_id, title
            self._warnings = []
            self._rebuild([])
        self.set_title(title)
        was_visible = self.isVisible()
        self.update_warnings(warnings, acknowledged)
        if was_visible and self._warnings:
            self._pop_up()  # asked to show again: bring it to the front even if nothing is new
        if take_focus and self._warnings:
            self.focus_warnings()

    def update_warnings(
        self,
        warnings: Sequence[WarningView],
        acknowledged: Collection[WarningRef] | None = None,
    ) -> None:
        """Live changes: gone warnings (a scheme expired) disappear; a new one is added and
        pops the panel up again (also after Esc hid it); with nothing new a hidden panel stays
        hidden. ``acknowledged`` (if given) replaces what is known to be acknowledged for this
        incident."""
        if acknowledged is not None:
            self._acked = set(acknowledged) | {
                ref for (iid, ref) in self._ack_times if iid == self._incident_id
            }
        before = set(self.refs())
        self._warnings = list(warnings)
        self._rebuild(self._warnings)
        new = [ref for ref in self.refs() if ref not in before]
        if not self._warnings:
            self.hide()
            return
        if new:
            # Hidden, it pops again with everything on it: all of it is displayed anew.
            displayed = new if self.isVisible() else self.refs()
            self._pop_up()
            self.shown.emit(self._incident_id, displayed)
            critical = {
                warning_ref(w) for w in self._warnings if Severity(w.severity) is Severity.CRITICAL
            }
            if self._play_sound is not None and critical & set(new):
                self._play_sound(CRITICAL_WARNING_SOUND)

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        if self._embedded:
            return  # hidden with the form it is part of
        self._unwanted_activation = None
        # Hand the keyboard back to the window underneath if the panel had it (or nobody has
        # it now); never take it from another window being typed in.
        owner = self.parentWidget()
        active = QApplication.activeWindow()
        if (active is None or active is self) and owner is not None and owner.window().isVisible():
            owner.window().activateWindow()

    def closeEvent(self, event: QCloseEvent) -> None:
        """The window's close button: like Esc, an unacknowledged warning stays in sight."""
        owner = self.parentWidget()
        if self.unacknowledged() and owner is not None and owner.window().isVisible():
            event.ignore()
            self.leave()
            return
        super().closeEvent(event)

    def _pop_up(self) -> None:
        """Show (and raise the tool window) without taking the keyboard from anyone."""
        if not self._embedded and not self.isVisible():
            # Asked not to activate on showing; should the window system activate it all the
            # same, the keyboard goes straight back (see :meth:`changeEvent`).
            self._unwanted_activation = (
                QApplication.activeWindow(),
                QApplication.focusWidget(),
                time.monotonic(),
            )
        self.show()
        if not self._embedded:
            self.raise_()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() != QEvent.Type.ActivationChange or not self.isActiveWindow():
            return
        unwanted, self._unwanted_activation = self._unwanted_activation, None
        if unwanted is None:
            return  # asked for (F4, Ctrl+W)
        window, focus, shown_at = unwanted
        if time.monotonic() - shown_at > UNWANTED_ACTIVATION_S:
            return  # long after showing: the operator clicked on it
        if window is not None and _alive(window) and window.isVisible():
            window.activateWindow()
            if focus is not None and _alive(focus) and focus.isVisible():
                focus.setFocus(Qt.FocusReason.ActiveWindowFocusReason)

    def focus_warnings(self) -> bool:
        """F4 / Ctrl+W: move the keyboard to the first warning not yet acknowledged (else the
        first one). False when there is nothing to go to."""
        if not self.cards:
            return False
        focus = QApplication.focusWidget()
        if focus is not None and not self._contains(focus):
            self._return_to = focus
        self._pop_up()
        self._unwanted_activation = None
        if not self._embedded:
            self.activateWindow()
        target = next((c for c in self.cards if not c.is_acknowledged), self.cards[0])
        target.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.scroll_area.ensureWidgetVisible(target)
        return True

    def has_focus(self) -> bool:
        focus = QApplication.focusWidget()
        return focus is not None and self._contains(focus)

    def leave(self) -> None:
        """Esc / Back: give the keyboard back to where it came from. The tool window hides
        when every warning is acknowledged; an unacknowledged one stays in sight."""
        back = self._return_to
        self._return_to = None
        usable = back is not None and _alive(back) and back.isVisible() and back.isEnabled()
        if not self._embedded and not self.unacknowledged():
            self.hide()
        if usable and back is not None:
            window = back.window()
            if window is not self.window():
                window.activateWindow()
            back.setFocus(Qt.FocusReason.OtherFocusReason)
        elif self._embedded:
            self.focusNextPrevChild(True)  # out of the cards, into the form
        else:
            owner = self.parentWidget()
            if owner is not None and owner.window().isVisible():
                owner.window().activateWindow()

    def _rebuild(self, warnings: Sequence[WarningView]) -> None:
        focused = self.focused_card()
        keep = focused.ref if focused is not None else None
        for card in self.cards:
            self._cards_layout.removeWidget(card)
            card.hide()
            card.deleteLater()
        now = self._now()
        self.cards = [WarningCard(w, now, self._policy) for w in warnings]
        previous: QWidget | None = None
        for n, card in enumerate(self.cards):
            self._cards_layout.insertWidget(n, card)
            card.show()  # now, not when the layout gets round to it: it may take focus at once
            card.acknowledge_requested.connect(self.acknowledge)
            self._mark(card)
            if previous is not None:
                QWidget.setTabOrder(previous, card)
            previous = card
        if previous is not None:
            QWidget.setTabOrder(previous, self.hide_button)
        self._refresh_heading()
        for card in self.cards:
            if card.ref == keep:
                card.setFocus()

    def _mark(self, card: WarningCard) -> None:
        when = self._ack_times.get((self._incident_id, card.ref))
        if when is not None:
            card.set_acknowledged(True, f"Acknowledged {self._hhmm(when)} by you")
        else:
            card.set_acknowledged(card.ref in self._acked, None)

    def _hhmm(self, when: datetime) -> str:
        return local(when, self._policy.timezone, "%H:%M")

    def _refresh_heading(self) -> None:
        total = len(self.cards)
        left = len(self.unacknowledged())
        severity = Severity(self._warnings[0].severity) if self._warnings else Severity.INFO
        kind = self._warnings[0].kind if self._warnings else "scheme"
        noun = "WARNING" if total == 1 else "WARNINGS"
        self.heading.setText(f"{severity.value.upper()} — {total} {noun}: {self._title}")
        self.heading_icon.setPixmap(icons.severity_icon(severity, kind, _theme()).pixmap(32, 32))
        self.count.setText(
            f"{left} of {total} not yet acknowledged" if left else f"All {total} acknowledged"
        )
        # Unacknowledged warnings stay in sight: the button (like Esc) only goes back then.
        self.hide_button.setText("Back (Esc)" if left or self._embedded else "Hide (Esc)")
        for widget in (self.frame, self.heading):
            widget.setProperty("severity", severity.value)
            _repolish(widget)
        self.setAccessibleName(self.heading.text())
        self.setAccessibleDescription(self.count.text())

    # -- acknowledging ---------------------------------------------------------------------

    def focused_card(self) -> WarningCard | None:
        """The warning with the keyboard focus (the one the keys acknowledge)."""
        focus = QApplication.focusWidget()
        for card in self.cards:
            if focus is not None and (focus is card or card.isAncestorOf(focus)):
                return card
        return None

    def acknowledge_focused(self) -> None:
        """Ctrl+Enter / Alt+A: acknowledge the highlighted warning (else the first one not
        yet acknowledged, so the keys never silently do nothing)."""
        card = self.focused_card()
        if card is None or card.is_acknowledged:
            pending = [c for c in self.cards if not c.is_acknowledged]
            card = pending[0] if card is None and pending else card
        if card is not None and not card.is_acknowledged:
            self.acknowledge(card.ref)

    def acknowledge(self, ref: WarningRef) -> None:
        """Mark ``ref`` acknowledged now, by this operator, and emit :attr:`acknowledged`."""
        card = next((c for c in self.cards if c.ref == ref), None)
        if card is None or card.is_acknowledged:
            return
        self._ack_times[(self._incident_id, ref)] = self._now()
        self._acked.add(ref)
        self._mark(card)
        self._refresh_heading()
        self.acknowledged.emit(self._incident_id, ref)
        if self.has_focus():
            self._focus_next(card)  # acknowledged by the mouse, the keyboard stays put

    def _focus_next(self, after: WarningCard | None) -> None:
        """Move to the next warning not yet acknowledged; when none is left, back where the
        operator came from (embedded) or to the Hide button (the tool window)."""
        start = self.cards.index(after) + 1 if after in self.cards else 0
        ordered = self.cards[start:] + self.cards[:start]
        target = next((c for c in ordered if not c.is_acknowledged), None)
        if target is not None:
            target.setFocus(Qt.FocusReason.TabFocusReason)
            self.scroll_area.ensureWidgetVisible(target)
        elif self._embedded:
            self.leave()
        else:
            self.hide_button.setFocus(Qt.FocusReason.TabFocusReason)


_ACKNOWLEDGE_KEYS = {
    (Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier),
    (Qt.Key.Key_Enter, Qt.KeyboardModifier.ControlModifier),
    (Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier),
}


def _panel_key(event: QKeyEvent) -> str | None:
    """ "acknowledge" for Ctrl+Enter / Alt+A, "hide" for Esc, else None."""
    modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
    key = Qt.Key(event.key())
    if key == Qt.Key.Key_Escape and modifiers == Qt.KeyboardModifier.NoModifier:
        return "hide"
    for ack_key, ack_modifiers in _ACKNOWLEDGE_KEYS:
        if key == ack_key and modifiers == ack_modifiers:
            return "acknowledge"
    return None


def _alive(widget: QWidget) -> bool:
    try:
        widget.objectName()
    except RuntimeError:  # deleted (a person's row removed)
        return False
    return True


def _theme() -> str:
    app = QApplication.instance()
    return current_theme(app) if isinstance(app, QApplication) else "normal"


def _label(text: str, *, bold: bool = False, scale: float = 1.0) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
    if bold or scale != 1.0:
        font = label.font()
        font.setBold(bold)
        if scale != 1.0 and font.pointSizeF() > 0:
            font.setPointSizeF(font.pointSizeF() * scale)
        label.setFont(font)
    return label


def _repolish(widget: QWidget) -> None:
    widget.style().unpolish(widget)
    widget.style().polish(widget)
    widget.update()
