"""The supervisors' delay strip: per grade I/S/E the counts on track / at risk / breached, the
longest breach, the share of I and S incidents attended on time today, and the *owed*
incidents (a unit diverted away, no other unit arrived yet): ``OWED 3 (2 no unit, 1 escalated)``.
The owed count is a button: activating it emits :attr:`DelayStrip.owed_activated` (the window
narrows the queue to them). Last, the downgrade requests waiting for a supervisor
(``DOWNGRADES 2 waiting``), a button too (:attr:`DelayStrip.downgrades_activated`: the
window brings their list forward).

The queue window refreshes it on each tick from a
:class:`~dispatchdesk.gui.queue.delay_tracker.DelayTracker` (the same numbers as
:func:`dispatchdesk.domain.delay.summarise`, without a pass over every incident), and the owed
count with :meth:`DelayStrip.show_owed` when incidents change.
Shown only to roles with ``Right.VIEW_DELAY_STRIP``; the queue window decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from dispatchdesk.domain.countdown import CountdownState, format_duration
from dispatchdesk.domain.delay import DelaySummary, GradeDelay, summarise
from dispatchdesk.domain.grades import Grade, GradePolicy
from dispatchdesk.domain.incident import Incident
from dispatchdesk.gui.common import icons
from dispatchdesk.gui.queue.delay_tracker import OwedCount, count_owed

STRIP_GRADES = (Grade.IMMEDIATE, Grade.SIGNIFICANT, Grade.EXTENDED)


def grade_text(grade: Grade, delay: GradeDelay) -> str:
    """``I: 12 on track · 3 at risk · 2 breached (longest +3:12:00)``."""
    text = (
        f"{grade.value}: {delay.on_track} on track · {delay.at_risk} at risk · "
        f"{delay.breached} breached"
    )
    if delay.breached:
        text += f" (longest +{format_duration(delay.longest_breach)})"
    return text


def on_time_text(summary: DelaySummary) -> str:
    share = summary.on_time_share
    if share is None:
        return "I+S on time today: none due yet"
    return f"I+S on time today: {share:.0%} ({summary.on_time_today}/{summary.decided_today})"


def owed_text(owed: OwedCount) -> str:
    """``OWED 0``, or ``OWED 3 (2 no unit, 1 escalated)``."""
    if not owed.total:
        return "OWED 0"
    return f"OWED {owed.total} ({owed.no_unit} no unit, {owed.escalated} escalated)"


OWED_TOOLTIP = (
    "Owed incidents: a unit was diverted away and no other unit has arrived yet. "
    "'No unit': nobody is on the way. 'Escalated': no unit for longer than the escalation "
    "time. Click, or Space when focused, to show them in the queue."
)


def downgrades_text(count: int) -> str:
    """``DOWNGRADES 0`` or ``DOWNGRADES 2 waiting``."""
    return f"DOWNGRADES {count} waiting" if count else "DOWNGRADES 0"


DOWNGRADES_TOOLTIP = (
    "Downgrade requests by call handlers and dispatchers waiting for a supervisor's "
    "decision; their countdowns stay on the current grade meanwhile. Click, or Space when "
    "focused, to show the list."
)


class DelayStrip(QFrame):
    """One line of delay indicators for supervisors."""

    #: The owed count was clicked or activated from the keyboard.
    owed_activated = Signal()
    #: The downgrade requests' count was clicked or activated from the keyboard.
    downgrades_activated = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("delayStrip")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName("Delay indicators")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        self._build_owed(layout)
        self._icons: dict[Grade, QLabel] = {}
        self._labels: dict[Grade, QLabel] = {}
        for grade in STRIP_GRADES:
            icon, label = QLabel(), QLabel()
            label.setWordWrap(True)
            label.setToolTip(f"{grade.label}: open incidents by countdown state")
            layout.addWidget(icon)
            layout.addWidget(label)
            layout.addSpacing(12)
            self._icons[grade], self._labels[grade] = icon, label
        self._on_time = QLabel()
        self._on_time.setWordWrap(True)
        self._on_time.setToolTip(
            "Share of Immediate and Significant incidents due today that were attended by "
            "their deadline, out of those attended or already past it."
        )
        layout.addWidget(self._on_time)
        layout.addSpacing(12)
        self.downgrades_button = QToolButton()
        self.downgrades_button.setObjectName("downgradeCount")
        self.downgrades_button.setAutoRaise(True)
        self.downgrades_button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.downgrades_button.setToolTip(DOWNGRADES_TOOLTIP)
        self.downgrades_button.clicked.connect(
            lambda _checked=False: self.downgrades_activated.emit()
        )
        layout.addWidget(self.downgrades_button)
        self.show_downgrades(0)
        layout.addStretch(1)
        self.summary = DelaySummary()
        self.show_owed(OwedCount())

    def _build_owed(self, layout: QHBoxLayout) -> None:
        """First in the line: an owed incident with no unit is the most urgent thing shown."""
        self._owed_icon = QLabel()
        self.owed_button = QToolButton()
        self.owed_button.setObjectName("owedCount")
        self.owed_button.setAutoRaise(True)  # reads like the other counts until hovered
        self.owed_button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.owed_button.setToolTip(OWED_TOOLTIP)
        self.owed_button.clicked.connect(lambda _checked=False: self.owed_activated.emit())
        layout.addWidget(self._owed_icon)
        layout.addWidget(self.owed_button)
        layout.addSpacing(12)

    def refresh(self, incidents: Iterable[Incident], now: datetime, policy: GradePolicy) -> None:
        incidents = list(incidents)
        self.show_summary(summarise(incidents, now, policy))
        self.show_owed(count_owed(incidents))

    def show_owed(self, owed: OwedCount) -> None:
        """Show the owed counts (call when incidents change; they do not change per tick)."""
        self.owed = owed
        text = owed_text(owed)
        self.owed_button.setText(text)
        self.owed_button.setAccessibleName(f"{text}. Show owed incidents")
        # Escalated looks breached; any other owed incident, at risk.
        self._owed_icon.setPixmap(_worst_icon(owed.escalated, owed.total).pixmap(16, 16))

    def show_downgrades(self, count: int) -> None:
        """Show how many downgrade requests wait for a supervisor (call when it changes)."""
        self.downgrades = count
        text = downgrades_text(count)
        self.downgrades_button.setText(text)
        self.downgrades_button.setAccessibleName(f"{text}. Show the downgrade requests")

    def show_summary(self, summary: DelaySummary) -> None:
        self.summary = summary
        for grade in STRIP_GRADES:
            delay = summary.per_grade[grade]
            self._labels[grade].setText(grade_text(grade, delay))
            self._icons[grade].setPixmap(_worst_icon(delay.breached, delay.at_risk).pixmap(16, 16))
        self._on_time.setText(on_time_text(summary))

    def texts(self) -> list[str]:
        """The strip's words, for tests and accessibility checks: the grades, the on-time
        share, then the owed count (last, although shown first, so the indexes stay put)."""
        return [self._labels[g].text() for g in STRIP_GRADES] + [
            self._on_time.text(),
            self.owed_button.text(),
        ]


def _worst_icon(breached: int, at_risk: int) -> Any:
    """The countdown icon of the worst state counted: breached, else at risk, else on track."""
    if breached:
        return icons.countdown_icon(CountdownState.BREACHED)
    if at_risk:
        return icons.countdown_icon(CountdownState.AT_RISK)
    return icons.countdown_icon(CountdownState.ON_TRACK)
