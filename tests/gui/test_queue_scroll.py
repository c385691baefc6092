"""Issue 15 item 3: the queue keeps its scroll position when the selected incident re-sorts (a
cue says where it went), and the actions act only on a selected incident that is shown."""

from __future__ import annotations

from PySide6.QtCore import Qt

from dispatchdesk.domain.grades import DEFAULT_POLICY, Grade
from dispatchdesk.domain.roles import Role
from tests.gui.factories import T0, make_incident, make_unit, minutes, open_queue_window


def many(count=150):
    return [
        make_incident(i, grade=Grade.SIGNIFICANT, created_at=T0 + minutes(i))
        for i in range(1, count + 1)
    ]


def test_top_rows_stay_when_the_selection_re_sorts_down(qtbot, commands, settings, fake_clock):
    window = open_queue_window(qtbot, commands, settings, fake_clock, Role.SUPERVISOR)
    window.relay.on_state(many(), DEFAULT_POLICY)
    scroll = window.table.verticalScrollBar()
    assert scroll.maximum() > 0 and scroll.value() == 0
    assert window.selection_keeper.select_incident(3)
    assert window.selection_cue.isHidden()
    top = [window.proxy.incident_at(r).id for r in range(3)]
    # Incident 3 becomes the least urgent: it re-sorts to the bottom.
    window.relay.on_changes(
        [make_incident(3, grade=Grade.SIGNIFICANT, created_at=T0 + minutes(500))], []
    )
    assert scroll.value() == 0  # the view did not follow it
    assert [window.proxy.incident_at(r).id for r in range(2)] == [top[0], top[1]]
    assert window.selection_keeper.selected_incident().id == 3
    assert window.table.currentIndex().row() == window.proxy.rowCount() - 1
    cue = window.selection_cue
    assert cue.isVisible()
    assert "CAD 3/23NOV26" in cue.text() and "row 150" in cue.text() and "below" in cue.text()
    qtbot.mouseClick(cue, Qt.MouseButton.LeftButton)  # the cue brings it into view
    assert scroll.value() > 0
    assert cue.isHidden()


def test_scrolled_view_stays_when_the_selection_jumps_to_the_top(
    qtbot, commands, settings, fake_clock
):
    window = open_queue_window(qtbot, commands, settings, fake_clock, Role.SUPERVISOR)
    window.relay.on_state(many(), DEFAULT_POLICY)
    assert window.selection_keeper.select_incident(140)
    scroll = window.table.verticalScrollBar()
    position = scroll.value()
    assert position > 0
    # An owed incident with no unit (DIVERT) goes above everything.
    window.relay.on_changes(
        [make_incident(140, grade=Grade.SIGNIFICANT, created_at=T0 - minutes(300))], []
    )
    assert window.proxy.proxy_row_of(140) == 0
    assert scroll.value() == position
    assert window.selection_cue.isVisible() and "above" in window.selection_cue.text()
    window.relay.on_changes(
        [
            make_incident(
                7, grade=Grade.SIGNIFICANT, created_at=T0 + minutes(7), summary="new words"
            )
        ],
        [],
    )
    assert scroll.value() == position  # other changes leave it alone too


def test_f2_refuses_a_selected_incident_the_search_hides(qtbot, commands, settings, fake_clock):
    window = open_queue_window(qtbot, commands, settings, fake_clock, Role.SUPERVISOR)
    window.relay.on_state(
        [make_incident(1, address="1 Hidden Row"), make_incident(2)], DEFAULT_POLICY
    )
    window.relay.on_units([make_unit(1, "LX21")], [], True)
    assert window.selection_keeper.select_incident(1)
    window.search.setText("High Street")  # incident 1 is not at 12 High Street any more
    assert window.proxy.proxy_row_of(1) is None
    assert window.selection_keeper.selected_incident() is None
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_F2)
    assert window.dispatch.assign_dialog is None
    assert "CAD 1/23NOV26 is hidden by the filters" in window.message_bar.text()
    qtbot.keyClick(window.table, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    assert "hidden by the filters" in window.message_bar.text()
    window.dispatch.mark_at_scene()
    assert commands.calls == []
    window.search.setText("")  # shown again: it is the selection again
    assert window.selection_keeper.selected_incident().id == 1
