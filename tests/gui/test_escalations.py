"""Escalations pop a window for supervisors, are acknowledged by keyboard, do not pop twice,
pop again after a de-escalation and a new escalation, and stay away from other roles."""

from __future__ import annotations

from PySide6.QtCore import Qt

from dispatchdesk.domain.incident import Divert, IncidentStatus
from dispatchdesk.domain.roles import Role
from dispatchdesk.gui.dispatch.escalations import (
    ESCALATION_SOUND,
    EscalationNotifier,
    duration_text,
    escalation_texts,
)
from tests.gui.factories import T0, clock, make_incident, minutes


class RecordingSounds:
    def __init__(self) -> None:
        self.played: list[str] = []

    def play(self, name: str) -> bool:
        self.played.append(name)
        return True


DIVERT = Divert(
    id=7,
    unit_id=30,
    callsign="LX30",
    from_incident_id=1,
    from_ref="CAD 1/23NOV26",
    to_incident_id=9,
    to_ref="CAD 9/23NOV26",
    by="disp1",
    at=T0 + minutes(2),
    reason="Grade I stabbing two streets away",
)


def escalated(incident_id: int = 1, at_min: float = 12, **changes):
    return make_incident(
        incident_id, owed=True, diverts=(DIVERT,), escalated_at=T0 + minutes(at_min), **changes
    )


def with_unit(incident_id: int = 1):
    return make_incident(incident_id, owed=True, status=IncidentStatus.ASSIGNED, diverts=(DIVERT,))


def make_notifier(qtbot, role=Role.SUPERVISOR):
    fake = clock()
    fake.advance(minutes(14))
    sounds = RecordingSounds()
    notifier = EscalationNotifier(role, fake.now, sounds=sounds)
    counts: list[int] = []
    notifier.escalations_changed.connect(counts.append)
    return notifier, sounds, counts, fake


def visible(notifier) -> bool:
    return notifier.window is not None and notifier.window.isVisible()


def test_new_escalation_pops_a_window_with_the_facts(qtbot):
    notifier, sounds, counts, _ = make_notifier(qtbot)
    notifier.set_incidents([make_incident(2), with_unit(3)])
    assert notifier.window is None and counts == [] and sounds.played == []
    notifier.apply_changes([escalated()], [])
    qtbot.addWidget(notifier.window)
    assert visible(notifier)
    assert counts == [1] and sounds.played == [ESCALATION_SOUND]
    row = notifier.window.rows[1]
    assert row.head.text() == "CAD 1/23NOV26 · I (Immediate) · 12 High Street, NW1 7AA"
    assert row.owed.text() == "Owed since 09:02, no unit for 12 min (escalated 09:12)"
    assert row.divert.text() == (
        "LX30 diverted to CAD 9/23NOV26 by disp1 at 09:02: Grade I stabbing two streets away"
    )
    assert "1 owed incident has had no unit" in notifier.window.header.text()
    with qtbot.waitSignal(notifier.open_incident) as blocker:
        row.open_button.click()
    assert blocker.args == [1]


def test_acknowledge_by_keyboard_and_no_second_pop(qtbot):
    notifier, sounds, counts, _ = make_notifier(qtbot)
    notifier.set_incidents([escalated(1, at_min=11), escalated(2, at_min=12)])
    window = notifier.window
    qtbot.addWidget(window)
    assert counts == [2] and sounds.played == [ESCALATION_SOUND]
    notifier.show_window()  # the status bar / shortcut: focus into the window
    qtbot.waitUntil(window.isActiveWindow)
    assert window.rows[1].open_button.hasFocus()  # first: Open, never Acknowledge
    qtbot.keyClick(window.rows[1].open_button, Qt.Key.Key_Tab)
    assert window.rows[1].ack_button.hasFocus()
    qtbot.keyClick(window.rows[1].ack_button, Qt.Key.Key_Space)
    assert counts == [2, 1] and [i.id for i in notifier.pending()] == [2]
    qtbot.waitUntil(window.rows[2].open_button.hasFocus)  # on to the next one
    qtbot.keyClick(window.rows[2].open_button, Qt.Key.Key_Tab)
    qtbot.keyClick(window.rows[2].ack_button, Qt.Key.Key_Space)
    assert counts == [2, 1, 0] and not window.isVisible()
    # The same escalations again (a change elsewhere, a snapshot after a reconnect): no pop.
    notifier.apply_changes([escalated(1, at_min=11, summary="more detail")], [])
    notifier.set_incidents([escalated(1, at_min=11), escalated(2, at_min=12)])
    assert not window.isVisible() and counts == [2, 1, 0]
    assert sounds.played == [ESCALATION_SOUND]


def test_pops_again_after_de_escalation_and_a_new_escalation(qtbot):
    notifier, sounds, counts, _ = make_notifier(qtbot)
    notifier.apply_changes([escalated()], [])
    qtbot.addWidget(notifier.window)
    notifier.acknowledge(1)
    assert not visible(notifier) and counts == [1, 0]
    notifier.apply_changes([with_unit()], [])  # a unit assigned: de-escalated
    notifier.apply_changes([escalated(at_min=40)], [])  # that unit diverted too, later
    assert visible(notifier) and counts == [1, 0, 1]
    assert sounds.played == [ESCALATION_SOUND, ESCALATION_SOUND]
    assert "(escalated 09:40)" in notifier.window.rows[1].owed.text()


def test_escalation_cleared_before_acknowledged_leaves_the_window(qtbot):
    notifier, _, counts, _ = make_notifier(qtbot)
    notifier.set_incidents([escalated(1), escalated(2)])
    qtbot.addWidget(notifier.window)
    notifier.apply_changes([with_unit(1)], [])
    assert list(notifier.window.rows) == [2] and counts == [2, 1]
    notifier.apply_changes([], [2])  # gone from the live set
    assert notifier.window.rows == {} and counts == [2, 1, 0] and not visible(notifier)


def test_texts_follow_the_clock(qtbot):
    notifier, _, _, fake = make_notifier(qtbot)
    notifier.apply_changes([escalated()], [])
    qtbot.addWidget(notifier.window)
    fake.advance(minutes(60))
    notifier.refresh()
    assert "no unit for 1 h 12 min" in notifier.window.rows[1].owed.text()


def test_nothing_for_dispatchers(qtbot):
    notifier, sounds, counts, _ = make_notifier(qtbot, role=Role.DISPATCHER)
    notifier.set_incidents([escalated()])
    notifier.apply_changes([escalated(2)], [])
    notifier.show_window()
    assert notifier.window is None and counts == [] and sounds.played == []
    assert notifier.count == 0


def test_words():
    assert duration_text(minutes(12.9)) == "12 min"
    assert duration_text(minutes(65)) == "1 h 05 min"
    assert duration_text(minutes(-3)) == "0 min"
    bare = make_incident(4, owed=True, escalated_at=T0 + minutes(10))
    _, owed, divert = escalation_texts(bare, T0 + minutes(15), "Europe/London")
    assert owed == "Owed since 09:10, no unit for 5 min (escalated 09:10)"
    assert divert == "No open DIVERT tag has reached this desk yet."
