"""The supervisors' shift picture: for one grade at a time, the day so far hour by hour (on-time
share, breaches), owed incidents over the day, and the longest breach now.

:class:`ShiftDesk` keeps the incidents the desk holds (open ones and today's closed ones, from the
relay), and on the window's once-a-second tick recomputes
:func:`dispatchdesk.domain.shift.shift_picture` only when the incidents changed or the hour
turned, and only while the view can be seen. The longest breach is the one number that moves each
second: the picture holds its deadline, so the tick only subtracts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QMetaObject, QObject, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from dispatchdesk.domain.countdown import CountdownState, format_duration
from dispatchdesk.domain.grades import DEFAULT_POLICY, Grade, GradePolicy
from dispatchdesk.domain.incident import Incident
from dispatchdesk.domain.roles import Right, Role, has_right
from dispatchdesk.domain.shift import SHIFT_GRADES, ShiftPicture, hour_key, shift_picture
from dispatchdesk.gui.common import icons
from dispatchdesk.gui.common.theme import countdown_colours, current_theme
from dispatchdesk.gui.shift.charts import BarChart, BarData, StepChart, StepData

if TYPE_CHECKING:
    from dispatchdesk.gui.queue.window import QueueWindow


def bar_data(picture: ShiftPicture, grade: Grade) -> tuple[BarData, BarData]:
    """The on-time share and breaches charts of ``grade``."""
    hours = picture.grades[grade]
    labels = tuple(h.label for h in picture.hours)
    shares = tuple(hours.share(i) for i in range(len(labels)))
    share_texts = tuple("–" if s is None else f"{s:.0%}" for s in shares)
    breaches = hours.breaches
    top = max(breaches, default=0)
    return (
        BarData(f"{grade.value}: on time by hour", labels, shares, share_texts, 1.0, "100%"),
        BarData(
            f"{grade.value}: breaches by hour",
            labels,
            tuple(float(b) for b in breaches),
            tuple(str(b) for b in breaches),
            float(max(1, top)),
            str(max(1, top)),
        ),
    )


def step_data(picture: ShiftPicture, grade: Grade, now: datetime) -> StepData:
    """The owed incidents of ``grade`` over the day so far."""
    steps = picture.owed_by_grade[grade]
    span = max(1.0, len(picture.hours) * 3600.0)
    start = picture.day_start

    def x(when: datetime) -> float:
        return min(1.0, (when - start).total_seconds() / span)

    return StepData(
        f"{grade.value}: owed incidents today",
        tuple(h.label for h in picture.hours),
        tuple((x(when), count) for when, count in steps),
        x(now),
        max((c for _, c in steps), default=0),
    )


def day_text(picture: ShiftPicture, grade: Grade) -> str:
    """``I today: 12 of 15 on time (80%) · 3 breached``."""
    hours = picture.grades[grade]
    decided, on_time = sum(hours.decided), sum(hours.on_time)
    if not decided:
        return f"{grade.value} today: none due yet"
    return (
        f"{grade.value} today: {on_time} of {decided} on time ({on_time / decided:.0%}) · "
        f"{decided - on_time} breached"
    )


def breach_text(picture: ShiftPicture, now: datetime) -> str:
    """``Longest breach now: I +12:03 · S none · E none``."""
    parts = []
    for grade in SHIFT_GRADES:
        seconds = picture.longest_breach(grade, now)
        parts.append(
            f"{grade.value} +{format_duration(seconds)}" if seconds else f"{grade.value} none"
        )
    return "Longest breach now: " + " · ".join(parts)


class ShiftView(QWidget):
    """The charts of one grade, picked with the grade box."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shiftView")
        self.picture: ShiftPicture | None = None
        self.grade_box = QComboBox()
        self.grade_box.setAccessibleName("Grade shown")
        for grade in SHIFT_GRADES:
            self.grade_box.addItem(f"{grade.value} — {grade.label}", grade)
        self.grade_box.currentIndexChanged.connect(lambda _i: self._show())
        self.day_label = QLabel()
        self.breach_icon = QLabel()
        self.breach_label = QLabel()
        self.breach_label.setToolTip(
            "Per grade: how long past its deadline the longest-waiting breached incident is now."
        )
        self.on_time_chart, self.breach_chart = BarChart(), BarChart()
        self.owed_chart = StepChart()
        self.on_time_chart.setWhatsThis(
            "Share of the incidents settled in each hour that were attended by their deadline "
            "(an incident is settled when attended, or when its deadline passes unattended)."
        )
        self.breach_chart.setWhatsThis(
            "Incidents whose deadline passed unattended, by the hour it passed."
        )
        self.owed_chart.setWhatsThis(
            "Owed incidents over the day, from their DIVERT tags: owed from a unit's divert or "
            "withdrawal until another unit arrived or a supervisor closed the incident."
        )
        top = QHBoxLayout()
        top.addWidget(QLabel("Grade:"))
        top.addWidget(self.grade_box)
        top.addSpacing(12)
        top.addWidget(self.day_label)
        top.addSpacing(12)
        top.addWidget(self.breach_icon)
        top.addWidget(self.breach_label)
        top.addStretch(1)
        charts = QHBoxLayout()
        for chart in (self.on_time_chart, self.breach_chart, self.owed_chart):
            charts.addWidget(chart)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(top)
        layout.addLayout(charts, 1)
        self._now: datetime | None = None
        self.apply_theme()

    @property
    def grade(self) -> Grade:
        value = self.grade_box.currentData()  # Qt hands the enum back as its str value
        return Grade(value) if value in {g.value for g in SHIFT_GRADES} else Grade.IMMEDIATE

    def show_picture(self, picture: ShiftPicture, now: datetime) -> None:
        self.picture = picture
        self._now = now
        self._show()

    def show_now(self, now: datetime) -> None:
        """The per-second part: the longest breach."""
        self._now = now
        if self.picture is None:
            self.breach_label.setText("Longest breach now: waiting for the incidents")
            return
        self.breach_label.setText(breach_text(self.picture, now))
        breached = any(self.picture.longest_breach(g, now) for g in SHIFT_GRADES)
        state = CountdownState.BREACHED if breached else CountdownState.ON_TRACK
        self.breach_icon.setPixmap(icons.countdown_icon(state).pixmap(16, 16))

    def _show(self) -> None:
        picture, now = self.picture, self._now
        if picture is None or now is None:
            return
        grade = self.grade
        on_time, breaches = bar_data(picture, grade)
        self.on_time_chart.set_data(on_time)
        self.breach_chart.set_data(breaches)
        self.owed_chart.set_data(step_data(picture, grade, now))
        self.day_label.setText(day_text(picture, grade))
        self.show_now(now)

    def apply_theme(self) -> None:
        app = QApplication.instance()
        theme = current_theme(app) if isinstance(app, QApplication) else "normal"
        colours = countdown_colours(theme)
        for chart, state in (
            (self.on_time_chart, CountdownState.ON_TRACK),
            (self.breach_chart, CountdownState.BREACHED),
            (self.owed_chart, CountdownState.AT_RISK),
        ):
            pair = colours[state]
            # High contrast: the at-risk text is black, lost on black; the line takes the fill.
            line = (
                pair.background
                if chart is self.owed_chart and theme != "normal"
                else pair.foreground
            )
            chart.set_colours(pair.background, line)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:  # the theme changed
            # apply_theme sets the palette before it records the theme's name: read it after.
            QTimer.singleShot(0, self, self.apply_theme)
        super().changeEvent(event)


class ShiftDesk(QObject):
    """The shift picture dock of one queue window (supervisors only)."""

    def __init__(self, window: QueueWindow, role: Role, now: Callable[[], datetime]) -> None:
        super().__init__(window)
        self._now = now
        self._incidents: dict[int, Incident] = {}
        self._policy: GradePolicy = DEFAULT_POLICY
        self._dirty = True
        self._key: tuple[datetime, int] | None = None
        self.computed = 0  # how many times the picture was computed (tests, cost)
        self.view: ShiftView | None = None
        self.dock: QDockWidget | None = None
        self._connections: list[QMetaObject.Connection] = []
        if not has_right(role, Right.VIEW_DELAY_STRIP):
            return
        self.view = ShiftView()
        self.dock = window.add_bottom_dock("Shift picture", "shiftDock", self.view)
        self.dock.visibilityChanged.connect(self._visibility_changed)
        self._connections = [
            window.relay.state.connect(self.set_incidents),
            window.relay.changes.connect(self.apply_changes),
        ]
        window.closed.connect(self._disconnect)

    def _visibility_changed(self, visible: bool) -> None:
        if visible:  # brought to the front: up to date at once, not at the next tick
            self.on_tick()

    def _disconnect(self) -> None:
        for connection in self._connections:
            QObject.disconnect(connection)
        self._connections.clear()

    def set_incidents(self, incidents: Sequence[Incident], policy: GradePolicy) -> None:
        self._incidents = {i.id: i for i in incidents}
        self._policy = policy
        self._dirty = True

    def apply_changes(self, upserts: Sequence[Incident], removed: Sequence[int]) -> None:
        kept = {i.id for i in upserts}
        for incident_id in removed:
            if incident_id not in kept:
                self._incidents.pop(incident_id, None)
        self._incidents.update({i.id: i for i in upserts})
        self._dirty = True

    def on_tick(self) -> None:
        """Recompute when something changed or the hour turned, and only while shown."""
        view = self.view
        # A dock tabbed behind another is still "visible", moved out of sight: ask what shows.
        if view is None or not view.isVisible() or view.visibleRegion().isEmpty():
            return
        now = self._now()
        key = hour_key(now, self._policy.timezone)
        if self._dirty or key != self._key:
            self._dirty, self._key = False, key
            self.computed += 1
            view.show_picture(shift_picture(self._incidents.values(), now, self._policy), now)
        else:
            view.show_now(now)

    def show(self) -> None:
        if self.dock is not None and self.view is not None:
            self.dock.show()
            self.dock.raise_()
            self.view.grade_box.setFocus()
