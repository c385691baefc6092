"""The supervisors' delay strip: per grade I/S/E the counts on track / at risk / breached, the
longest breach, and the share of I and S incidents attended on time today.

The queue window refreshes it on each tick from a
:class:`~dispatchdesk.gui.delay_tracker.DelayTracker` (the same numbers as
:func:`dispatchdesk.domain.delay.summarise`, without a pass over every incident).
Shown only to roles with ``Right.VIEW_DELAY_STRIP``; the queue window decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QWidget

from dispatchdesk.domain.countdown import CountdownState, format_duration
from dispatchdesk.domain.delay import DelaySummary, GradeDelay, summarise
from dispatchdesk.domain.grades import Grade, GradePolicy
from dispatchdesk.domain.incident import Incident
from dispatchdesk.gui import icons

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
    return (
        f"I+S on time today: {share:.0%} ({summary.on_time_today}/{summary.decided_today})"
    )


class DelayStrip(QFrame):
    """One line of delay indicators for supervisors."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("delayStrip")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName("Delay indicators")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
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
        layout.addStretch(1)
        self.summary = DelaySummary()

    def refresh(self, incidents: Iterable[Incident], now: datetime, policy: GradePolicy) -> None:
        self.show_summary(summarise(incidents, now, policy))

    def show_summary(self, summary: DelaySummary) -> None:
        self.summary = summary
        for grade in STRIP_GRADES:
            delay = summary.per_grade[grade]
            self._labels[grade].setText(grade_text(grade, delay))
            self._icons[grade].setPixmap(_worst_icon(delay).pixmap(16, 16))
        self._on_time.setText(on_time_text(summary))

    def texts(self) -> list[str]:
        """The strip's words, for tests and accessibility checks."""
        return [self._labels[g].text() for g in STRIP_GRADES] + [self._on_time.text()]


def _worst_icon(delay: GradeDelay) -> Any:
    if delay.breached:
        return icons.countdown_icon(CountdownState.BREACHED)
    if delay.at_risk:
        return icons.countdown_icon(CountdownState.AT_RISK)
    return icons.countdown_icon(CountdownState.ON_TRACK)
