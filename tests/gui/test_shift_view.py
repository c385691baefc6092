"""The supervisors' shift picture: only supervisors get it, its key brings it up, its charts
show the domain's numbers, and it recomputes on the tick only when the incidents changed or the
hour turned (and only while it can be seen)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from dispatchdesk.domain.countdown import CountdownState
from dispatchdesk.domain.grades import DEFAULT_POLICY, Grade
from dispatchdesk.domain.incident import Divert
from dispatchdesk.domain.roles import Role
from dispatchdesk.domain.shift import shift_picture
from dispatchdesk.gui.common.theme import countdown_colours
from dispatchdesk.gui.shift.view import ShiftView, bar_data, breach_text, day_text
from tests.gui.factories import T0, make_incident, open_queue_window


def _held():
    on_time = make_incident(
        1, created_at=T0 - timedelta(minutes=50), attended_at=T0 - timedelta(minutes=45)
    )  # 08:15, on time
    waiting = make_incident(2, created_at=T0 - timedelta(minutes=30))  # breached 08:45
    tag = Divert(
        id=1,
        unit_id=1,
        callsign="LX01",
        from_incident_id=3,
        from_ref="CAD 3",
        to_incident_id=None,
        to_ref=None,
        by="dan",
        at=T0 - timedelta(hours=2),
        reason="needed elsewhere",
    )
    owed = make_incident(3, created_at=T0 - timedelta(minutes=5), owed=True, diverts=(tag,))
    return [on_time, waiting, owed]


@pytest.mark.parametrize("role", [Role.CALL_HANDLER, Role.DISPATCHER])
def test_only_supervisors_get_the_shift_picture(qtbot, commands, settings, fake_clock, role):
    window = open_queue_window(qtbot, commands, settings, fake_clock, role)
    assert window.shift.dock is None and window.shift.view is None
    assert not window.act_shift.isVisible() and not window.act_shift.isEnabled()
    window.relay.on_state(_held(), DEFAULT_POLICY)
    window.ticker.tick()
    assert window.shift.computed == 0


def test_the_key_shows_the_charts_with_the_days_numbers(qtbot, commands, settings, fake_clock):
    window = open_queue_window(qtbot, commands, settings, fake_clock, Role.SUPERVISOR)
    assert window.shift.dock is not None and window.act_shift.isVisible()
    assert window.act_shift.shortcut().toString() == "Ctrl+Shift+T"
    window.relay.on_state(_held(), DEFAULT_POLICY)
    window.ticker.tick()
    assert window.shift.computed == 0  # tabbed behind the units board: not computed
    qtbot.keyClick(
        window.table,
        Qt.Key.Key_T,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    view = window.shift.view
    qtbot.waitUntil(lambda: view.isVisible() and window.shift.computed == 1)
    expected = shift_picture(_held(), fake_clock.now(), DEFAULT_POLICY)
    assert view.picture == expected
    on_time, breaches = view.on_time_chart.data, view.breach_chart.data
    assert on_time.labels == tuple(f"{h:02d}" for h in range(10))
    assert on_time.values[8] == 0.5 and on_time.texts[8] == "50%" and on_time.texts[9] == "–"
    assert breaches.values[8] == 1.0 and breaches.texts[8] == "1"
    assert view.owed_chart.data.steps == ((0.0, 0), (0.7, 1))  # owed from 07:00 of 00-09
    assert view.day_label.text() == "I today: 1 of 2 on time (50%) · 1 breached"
    assert view.breach_label.text() == "Longest breach now: I +15:00 · S none · E none"
    assert "08: 50%" in view.on_time_chart.accessibleDescription()


def test_recomputes_only_on_change_or_a_new_hour(qtbot, commands, settings, fake_clock):
    window = open_queue_window(qtbot, commands, settings, fake_clock, Role.SUPERVISOR)
    window.relay.on_state(_held(), DEFAULT_POLICY)
    window.act_shift.trigger()
    desk, view = window.shift, window.shift.view
    qtbot.waitUntil(lambda: desk.computed == 1)
    fake_clock.advance(timedelta(seconds=30))
    window.ticker.tick()
    assert desk.computed == 1  # nothing changed: only the longest breach moves
    assert view.breach_label.text() == "Longest breach now: I +15:30 · S none · E none"
    window.relay.on_changes([make_incident(4, created_at=T0 - timedelta(minutes=15))], [])
    window.ticker.tick()
    assert desk.computed == 2
    assert view.picture.grades[Grade.IMMEDIATE].breaches[8] == 1
    assert view.picture.grades[Grade.IMMEDIATE].breaches[9] == 1  # 4 breached at 09:00:00
    fake_clock.set(T0 + timedelta(minutes=59, seconds=59))
    window.ticker.tick()
    assert desk.computed == 2
    fake_clock.advance(timedelta(seconds=1))  # 10:00: a new hour on the charts
    window.ticker.tick()
    assert desk.computed == 3 and view.on_time_chart.data.labels[-1] == "10"
    window.relay.on_changes([], [2])
    window.dispatch.show_units()  # the picture hidden behind the units board
    window.ticker.tick()
    assert desk.computed == 3
    window.act_shift.trigger()
    qtbot.waitUntil(lambda: desk.computed == 4)
    assert view.picture.oldest_breach[Grade.IMMEDIATE] == T0  # incident 4's deadline


def test_grades_are_picked_with_the_grade_box(qtbot, fake_clock):
    view = ShiftView()
    qtbot.addWidget(view)
    picture = shift_picture(
        [*_held(), make_incident(9, grade=Grade.SIGNIFICANT, created_at=T0 - timedelta(hours=2))],
        fake_clock.now(),
        DEFAULT_POLICY,
    )
    view.show_picture(picture, fake_clock.now())
    view.grade_box.setCurrentIndex(1)
    assert view.grade is Grade.SIGNIFICANT
    assert view.breach_chart.data == bar_data(picture, Grade.SIGNIFICANT)[1]
    assert view.breach_chart.data.values[8] == 1.0  # deadline 08:00 passed unattended
    assert view.day_label.text() == day_text(picture, Grade.SIGNIFICANT)
    assert breach_text(picture, fake_clock.now()).endswith("S +1:00:00 · E none")


def test_chart_colours_follow_the_theme(qtbot, fake_clock):
    from dispatchdesk.gui.common.theme import apply_theme

    app = QApplication.instance()
    view = ShiftView()
    qtbot.addWidget(view)
    view.show_picture(shift_picture(_held(), fake_clock.now(), DEFAULT_POLICY), fake_clock.now())
    try:
        apply_theme(app, "high-contrast")
        qtbot.waitUntil(
            lambda: (
                view.breach_chart.bar_colour
                == countdown_colours("high-contrast")[CountdownState.BREACHED].background
            )
        )
        view.resize(900, 260)
        view.show()
        qtbot.waitExposed(view)
        image = view.grab().toImage()  # paints without error, and paints something
        assert not image.isNull()
    finally:
        apply_theme(app, "normal")
    qtbot.waitUntil(
        lambda: (
            view.breach_chart.bar_colour
            == countdown_colours("normal")[CountdownState.BREACHED].background
        )
    )
