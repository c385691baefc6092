"""The warning panel: special schemes and protective orders that match an incident.

A non-modal tool window that cannot be missed: it is raised and activated when it pops, framed
and headed in the colour of its most severe warning, and says in words what each warning is,
why it matched (a *possible match* says so in capitals) and when it expires. Each warning is
acknowledged on its own, deliberately: Tab moves between warnings, Ctrl+Enter or Alt+A (or the
warning's button) acknowledges the focused one, and Esc only hides the panel, leaving the
warnings unacknowledged. Showing and acknowledging are reported by signals; the owner audits
them (``DeskCommands.warning_shown`` / ``acknowledge_warning``, or the new incident's draft).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import date, datetime

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QFocusEvent, QHideEvent, QKeyEvent
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
    OrderType,
    SchemeCategory,
    Severity,
    WarningPolicy,
    WarningRef,
    expiry_wording,
)
from dispatchdesk.gui import icons
from dispatchdesk.gui.theme import current_theme
from dispatchdesk.gui.timefmt import local
from dispatchdesk.protocol.warnings import OrderOut, SchemeOut, WarningOut

#: Why a warning matched, in the operator's words (``WarningOut.match``).
MATCH_WORDS = {
    "uprn": "exact address (UPRN)",
    "parent_uprn": "the block this flat is in",
    "child_uprn": "a flat in this block",
    "street_house": "same street and house number",
    "same_block": "POSSIBLE MATCH: another flat in the same block",
    "address": "POSSIBLE MATCH: similar address",
    "person": "person: name and date of birth",
    "name": "POSSIBLE MATCH: same name",
}
#: Whose details matched an order (``WarningOut.matched_on``); a location needs no words.
_MATCHED_ON_WORDS = {
    "subject": "the person the order is against",
    "protected_person": "a person the order protects",
    "location": "an address named in the order",
}
SCHEME_CATEGORY_WORDS = {
    SchemeCategory.VICTIM_AT_RISK: "Victim at risk",
    SchemeCategory.SERIAL_PERPETRATOR: "Serial perpetrator",
    SchemeCategory.VULNERABLE_PERSON: "Vulnerable person",
    SchemeCategory.OFFICER_SAFETY: "Officer safety",
    SchemeCategory.OTHER: "Other",
}
ORDER_TYPE_WORDS = {
    OrderType.NON_MOLESTATION: "Non-molestation order",
    OrderType.RESTRAINING: "Restraining order",
    OrderType.DVPO: "Domestic violence protection order (DVPO)",
    OrderType.STALKING_PROTECTION: "Stalking protection order",
    OrderType.OTHER: "Other protective order",
}
KEYS_HINT = ("Tab: next warning · Ctrl+Enter or Alt+A: acknowledge the highlighted warning · "
             "Esc: hide (the warnings stay unacknowledged)")


def warning_ref(warning: WarningOut) -> WarningRef:
    """Which scheme or order a warning is about (what an acknowledgement names)."""
    entity: SchemeOut | OrderOut | None = warning.scheme or warning.order
    return WarningRef(warning.kind, entity.id if entity is not None else 0)


def why_matched(warning: WarningOut) -> str:
    """"Matched: exact address (UPRN)", "Matched: POSSIBLE MATCH: same name — a person the
    order protects", ..."""
    words = MATCH_WORDS.get(warning.match, warning.match)
    if warning.possible and not words.startswith("POSSIBLE MATCH"):
        words = f"POSSIBLE MATCH: {words}"  # a weak match always says so
    on = _MATCHED_ON_WORDS.get(warning.matched_on) if warning.kind == "order" else None
    return f"Matched: {words}" + (f" — {on}" if on else "")


def what_it_is(warning: WarningOut) -> str:
    """"Special scheme — Victim at risk", "Protective order — Non-molestation order"."""
    if warning.scheme is not None:
        return f"Special scheme — {SCHEME_CATEGORY_WORDS[warning.scheme.category]}"
    if warning.order is not None:
        return f"Protective order — {ORDER_TYPE_WORDS[warning.order.order_type]}"
    return "Special scheme" if warning.kind == "scheme" else "Protective order"


def expiry_line(warning: WarningOut, now: datetime, policy: WarningPolicy) -> str:
    """The expiry in words and date: "Expires TOMORROW 24 Nov", "Expires 15 Mar 2027 18:00 (in
    112 days) · Officer in case: DC Jones"."""
    if warning.order is not None:
        wording = expiry_wording(warning.order.expires_on, now, policy)
        return wording[:1].upper() + wording[1:]
    if warning.scheme is not None:
        s = warning.scheme
        days = (s.expires_at - now).days
        when = local(s.expires_at, policy.timezone, "%d %b %Y %H:%M")
        return f"Expires {when} (in {days} days) · Officer in case: {s.officer_in_case}"
    return ""


def detail_lines(warning: WarningOut, policy: WarningPolicy) -> list[str]:
    """The rest an operator may need: address and summary, or subject, protected persons,
    conditions and the court's reference."""
    if warning.scheme is not None:
        s = warning.scheme
        started = local(s.starts_at, policy.timezone, "%d %b %Y")
        return [f"At: {s.location.address}", f"Summary: {s.summary}", f"Started {started}"]
    if warning.order is not None:
        o = warning.order
        lines = [f"Against: {_person(o.subject.name, o.subject.dob)}"]
        if o.protected_persons:
            lines.append("Protects: " + ", ".join(_person(p.name, p.dob)
                                                  for p in o.protected_persons))
        lines.append(f"Conditions: {o.conditions}")
        lines.append(f"Issued {o.issued_on:%d %b %Y} · ref {o.source_ref}")
        return lines
    return []


def _person(name: str, dob: date | None) -> str:
    return f"{name} (born {dob:%d/%m/%Y})" if dob is not None else name


class WarningCard(QFrame):
    """One warning: badge, what it is, why it matched, the text, expiry, acknowledgement.

    The card itself is the Tab stop (one per warning), so the keys act on "this warning"."""

    acknowledge_requested = Signal(object)  # WarningRef

    def __init__(self, warning: WarningOut, now: datetime, policy: WarningPolicy) -> None:
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
            icons.severity_icon(severity, self.warning.kind, _theme()).pixmap(24, 24))
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
    ) -> None:
        super().__init__(parent, Qt.WindowType.Tool)
        self._now = now
        self._policy = policy
        self._incident_id: int | None = None
        self._title = ""
        self._warnings: list[WarningOut] = []
        self._acked: set[WarningRef] = set()
        #: Acknowledged here, by this operator: (incident, ref) → when.
        self._ack_times: dict[tuple[int | None, WarningRef], datetime] = {}
        self.cards: list[WarningCard] = []
        self.setObjectName("warningPanel")
        self.setWindowModality(Qt.WindowModality.NonModal)
        self._build()
        self._connect()
        self.resize(620, 480)

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
        self.hide_button = QPushButton("Hide (Esc)")
        self.hide_button.setAutoDefault(False)
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
        self.hide_button.clicked.connect(self.hide)

    # -- keys ------------------------------------------------------------------------------

    def event(self, event: QEvent) -> bool:
        # Claim our keys before any shortcut of the window underneath sees them (the form's
        # Ctrl+Enter submits; here it must acknowledge): a tool window shares its owner's
        # window shortcuts, so a QShortcut here would be ambiguous.
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) \
                and _panel_key(event) is not None:
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = _panel_key(event)
        if key == "acknowledge":
            self.acknowledge_focused()
        elif key == "hide":
            self.hide()
        else:
            super().keyPressEvent(event)

    # -- what is shown ---------------------------------------------------------------------

    @property
    def incident_id(self) -> int | None:
        return self._incident_id

    @property
    def warnings(self) -> list[WarningOut]:
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
        warnings: Sequence[WarningOut],
        acknowledged: Collection[WarningRef] = (),
    ) -> None:
        """Pop up with ``warnings`` (already most severe first) for ``incident_id`` (None: an
        incident being created). With no warnings the panel hides."""
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

    def update_warnings(
        self, warnings: Sequence[WarningOut], acknowledged: Collection[WarningRef] | None = None,
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
            # Hidden (Esc), it pops again with everything on it: all of it is displayed anew.
            displayed = new if self.isVisible() else self.refs()
            self._pop_up()
            self.shown.emit(self._incident_id, displayed)

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        # Hand the keyboard back to the window underneath (the form being typed in, or the
        # queue), so Esc returns the operator to where they were.
        owner = self.parentWidget()
        if owner is not None and owner.window().isVisible():
            owner.window().activateWindow()

    def _pop_up(self) -> None:
        self.show()
        self.raise_()
        self.activateWindow()
        self._focus_next(None)

    def _rebuild(self, warnings: Sequence[WarningOut]) -> None:
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
        self.count.setText(f"{left} of {total} not yet acknowledged" if left
                           else f"All {total} acknowledged")
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
        self._focus_next(card)

    def _focus_next(self, after: WarningCard | None) -> None:
        """Move to the next warning not yet acknowledged (or the Hide button when none)."""
        start = self.cards.index(after) + 1 if after in self.cards else 0
        ordered = self.cards[start:] + self.cards[:start]
        target: QWidget = next((c for c in ordered if not c.is_acknowledged), self.hide_button)
        target.setFocus(Qt.FocusReason.TabFocusReason)
        if isinstance(target, WarningCard):
            self.scroll_area.ensureWidgetVisible(target)


_ACKNOWLEDGE_KEYS = {
    (Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier),
    (Qt.Key.Key_Enter, Qt.KeyboardModifier.ControlModifier),
    (Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier),
}


def _panel_key(event: QKeyEvent) -> str | None:
    """"acknowledge" for Ctrl+Enter / Alt+A, "hide" for Esc, else None."""
    modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
    key = Qt.Key(event.key())
    if key == Qt.Key.Key_Escape and modifiers == Qt.KeyboardModifier.NoModifier:
        return "hide"
    for ack_key, ack_modifiers in _ACKNOWLEDGE_KEYS:
        if key == ack_key and modifiers == ack_modifiers:
            return "acknowledge"
    return None


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
