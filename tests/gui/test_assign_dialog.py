"""AssignPanel/AssignDialog (keyboard assign, divert with reason, reallocation list) and the
unit drop on the incident queue."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QModelIndex, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QTableView

from dispatchdesk.domain.commands import CommandKind, CommandState, PendingCommand
from dispatchdesk.domain.grades import DEFAULT_POLICY, Grade
from dispatchdesk.domain.incident import Divert, Location
from dispatchdesk.domain.unit import UnitStatus
from dispatchdesk.gui.dispatch.assign_dialog import AssignDialog, close_matches, short_ref
from dispatchdesk.gui.dispatch.unit_drop import install_unit_drop
from dispatchdesk.gui.dispatch.units_board import UnitsBoard
from dispatchdesk.gui.dispatch.units_model import UNIT_MIME, UnitColumn, UnitsTableModel
from dispatchdesk.gui.queue.model import INCIDENT_ROLE, IncidentTableModel
from dispatchdesk.gui.queue.proxy import IncidentFilterProxy
from tests.gui.factories import T0, RecordingCommands, clock, make_incident, make_unit, minutes

CAMDEN = (51.5392, -0.1426)


def located(lat_lon=CAMDEN, borough="Camden"):
    lat, lon = lat_lon if lat_lon else (None, None)
    return Location("12 High Street", "NW1 7AA", borough, uprn="100023", lat=lat, lon=lon)


def target_incident(location=None, **changes):
    return make_incident(
        12, grade=Grade.IMMEDIATE, type="Domestic", location=location or located(), **changes
    )


OTHER = make_incident(7, grade=Grade.IMMEDIATE, type="Robbery")


def fleet():
    return [
        make_unit(1, "LX21", kind="IRV", borough="Camden"),  # no position
        make_unit(2, "LX22", kind="Dog", borough="Hackney", lat=51.5592, lon=-0.1426),  # 2.2 km
        make_unit(3, "LX23", borough="Camden", lat=51.5492, lon=-0.1426),  # 1.1 km
        make_unit(4, "KD99", borough="Islington"),  # no position, other borough
        make_unit(5, "LX30", status=UnitStatus.ASSIGNED, incident_id=7),
        make_unit(6, "LX31", status=UnitStatus.COMMITTED),
        make_unit(7, "LX32", status=UnitStatus.OFF_DUTY),
        make_unit(8, "LX33", status=UnitStatus.AT_SCENE, incident_id=12),
    ]


class Desk:
    """What a test needs around the dialog: fleet, incidents, recorded commands."""

    def __init__(self, incident=None, units=None):
        self.clock = clock()
        self.incidents = {7: OTHER, 12: incident or target_incident()}
        self.units = UnitsTableModel(self.clock.now, self.ref)
        self.units.set_units(fleet() if units is None else units)
        self.commands = RecordingCommands()
        self.dialogs: list[AssignDialog] = []

    def ref(self, incident_id):
        incident = self.incidents.get(incident_id)
        return None if incident is None else incident.ref

    def dialog(self, qtbot, incident_id=12):
        dialog = AssignDialog(
            self.incidents[incident_id],
            self.units,
            self.commands,
            self.incidents.get,
            DEFAULT_POLICY.timezone,
        )
        qtbot.addWidget(dialog)
        self.dialogs.append(dialog)  # qtbot only holds a weak reference
        dialog.show()
        qtbot.waitExposed(dialog)
        return dialog


@pytest.fixture
def desk():
    return Desk()


def enter(qtbot, widget):
    qtbot.keyClick(widget, Qt.Key.Key_Return)


# -- header ----------------------------------------------------------------------------------


def test_title_names_ref_grade_and_address(desk, qtbot):
    dialog = desk.dialog(qtbot)
    assert not dialog.isModal()
    assert "CAD 12/23NOV26 — I (Immediate) — 12 High Street, NW1 7AA" in dialog.windowTitle()
    assert "CAD 12/23NOV26" in dialog.panel.title.text()
    assert dialog.panel.owed.isHidden()
    assert dialog.focusWidget() is dialog.panel.callsign


def test_owed_incident_says_so_prominently(qtbot):
    divert = Divert(
        id=1,
        unit_id=9,
        callsign="LX09",
        from_incident_id=12,
        from_ref="CAD 12/23NOV26",
        to_incident_id=7,
        to_ref="CAD 7/23NOV26",
        by="disp1",
        at=T0.replace(hour=14, minute=2),
        reason="I-grade robbery",
    )
    desk = Desk(target_incident(owed=True, diverts=(divert,)))
    panel = desk.dialog(qtbot).panel
    assert panel.owed.isVisible()
    # 14:02 UTC is 14:02 in London in November.
    assert (
        panel.owed.text() == "⚠ OWED: LX09 diverted away at 14:02 and no unit is on it — reallocate"
    )
    assert panel.owed.property("role") == "error"


# -- keyboard assign -------------------------------------------------------------------------


def test_completer_popup_shows_status_type_and_borough(desk, qtbot):
    panel = desk.dialog(qtbot).panel
    qtbot.keyClicks(panel.callsign, "x2")
    popup = panel.completer.popup()
    qtbot.waitUntil(popup.isVisible)
    shown = [popup.model().index(r, 0).data() for r in range(popup.model().rowCount())]
    assert shown == [
        "LX21 — Available — IRV — Camden",
        "LX22 — Available — Dog — Hackney",
        "LX23 — Available — IRV — Camden",
    ]


def test_type_part_complete_enter_assigns(desk, qtbot):
    panel = desk.dialog(qtbot).panel
    qtbot.keyClicks(panel.callsign, "lx2")
    popup = panel.completer.popup()
    qtbot.waitUntil(popup.isVisible)
    qtbot.keyClick(popup, Qt.Key.Key_Down)  # first match: LX21
    qtbot.keyClick(popup, Qt.Key.Key_Down)  # second: LX22
    with qtbot.waitSignal(panel.sent) as blocker:
        enter(qtbot, popup)
    assert desk.commands.names() == ["assign_unit"]
    unit, incident = desk.commands.calls[0][1]
    assert (unit.callsign, incident.id) == ("LX22", 12)
    assert blocker.args == ["cmd-1"]
    assert "Assignment sent — pending until the server confirms" in panel.message.text()
    assert panel.callsign.text() == ""  # ready for the next unit; the dialog stays open


def test_full_callsign_any_case_enter_assigns(desk, qtbot):
    panel = desk.dialog(qtbot).panel
    qtbot.keyClicks(panel.callsign, "lx21")
    panel.completer.popup().hide()
    enter(qtbot, panel.callsign)
    assert desk.commands.calls == [("assign_unit", (desk.units.unit(1), desk.incidents[12]))]


def test_unknown_callsign_lists_close_matches_and_sends_nothing(desk, qtbot):
    panel = desk.dialog(qtbot).panel
    panel.callsign.setText("LX2")
    enter(qtbot, panel.callsign)
    assert desk.commands.calls == []
    assert "No unit has the callsign “LX2”" in panel.message.text()
    assert "Close matches: LX21, LX22, LX23" in panel.message.text()
    panel.callsign.setText("")
    enter(qtbot, panel.callsign)
    assert "Type a callsign" in panel.message.text()


def test_close_matches():
    callsigns = ["LX21", "LX22", "KD99", "MP7"]
    assert close_matches("x2", callsigns) == ["LX21", "LX22"]
    assert set(close_matches("LX12", callsigns)[:2]) == {"LX21", "LX22"}
    assert close_matches("zzzz", callsigns) == []
    assert close_matches(" ", callsigns) == []


@pytest.mark.parametrize(("callsign", "label"), [("LX31", "Committed"), ("LX32", "Off duty")])
def test_committed_or_off_duty_unit_is_refused_here(desk, qtbot, callsign, label):
    panel = desk.dialog(qtbot).panel
    panel.callsign.setText(callsign)
    enter(qtbot, panel.callsign)
    assert desk.commands.calls == []
    assert f"{callsign} is {label}: it cannot be assigned" in panel.message.text()
    assert "Nothing was sent" in panel.message.text()
    assert panel.reason_box.isHidden()


def test_unit_already_on_this_incident(desk, qtbot):
    panel = desk.dialog(qtbot).panel
    panel.callsign.setText("LX33")
    enter(qtbot, panel.callsign)
    assert desk.commands.calls == []
    assert "already on this incident" in panel.message.text()


# -- divert ----------------------------------------------------------------------------------


def test_busy_unit_needs_a_reason_then_diverts(desk, qtbot):
    panel = desk.dialog(qtbot).panel
    panel.callsign.setText("lx30")
    enter(qtbot, panel.callsign)
    assert desk.commands.calls == []
    assert panel.reason_box.isVisible()
    assert panel.divert_warning.text() == (
        "LX30 is on CAD 7/23NOV26 (I, Robbery). Diverting it leaves CAD 7 owed."
    )
    assert panel.window().focusWidget() is panel.reason
    enter(qtbot, panel.reason)  # empty reason
    assert desk.commands.calls == []
    assert "A divert needs a reason" in panel.message.text()
    assert "Nothing was sent" in panel.message.text()
    qtbot.keyClicks(panel.reason, "   ")
    enter(qtbot, panel.reason)  # blank reason
    assert desk.commands.calls == []
    panel.reason.clear()
    qtbot.keyClicks(panel.reason, "Knife seen, nearest unit")
    enter(qtbot, panel.reason)
    assert desk.commands.calls == [
        ("divert_unit", (desk.units.unit(5), desk.incidents[12], "Knife seen, nearest unit"))
    ]
    assert "Divert sent — pending until the server confirms" in panel.message.text()
    assert "CAD 7 stays owed" in panel.message.text()
    assert panel.reason_box.isHidden() and panel.reason.text() == ""


def test_busy_unit_chosen_in_the_completer_popup_asks_for_the_reason(desk, qtbot):
    panel = desk.dialog(qtbot).panel
    qtbot.keyClicks(panel.callsign, "x30")
    popup = panel.completer.popup()
    qtbot.waitUntil(popup.isVisible)
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    enter(qtbot, popup)
    assert panel.callsign.text() == "LX30"
    assert panel.reason_box.isVisible()
    assert "LX30 is on CAD 7/23NOV26" in panel.divert_warning.text()
    qtbot.keyClicks(panel.reason, "Nearest to a stabbing")
    enter(qtbot, panel.reason)
    assert desk.commands.names() == ["divert_unit"]
    assert panel.callsign.text() == ""


def test_naming_another_unit_drops_the_divert_question(desk, qtbot):
    panel = desk.dialog(qtbot).panel
    panel.callsign.setText("LX30")
    enter(qtbot, panel.callsign)
    assert panel.reason_box.isVisible()
    panel.callsign.setFocus()
    qtbot.keyClick(panel.callsign, Qt.Key.Key_Backspace)
    assert panel.reason_box.isHidden()


def test_divert_of_a_unit_that_became_free_assigns_instead(desk, qtbot):
    panel = desk.dialog(qtbot).panel
    panel.choose_unit(5)
    desk.units.apply_units([make_unit(5, "LX30")], [])  # cleared meanwhile: now available
    panel.reason.setText("needed")
    panel.send_divert()
    assert desk.commands.names() == ["assign_unit"]


def test_server_refusal_is_shown_in_the_dialog(desk, qtbot):
    panel = desk.dialog(qtbot).panel
    panel.choose_unit(1)
    pending = PendingCommand(
        id="cmd-1",
        kind=CommandKind.ASSIGN_UNIT,
        incident_id=12,
        description="Assign LX21",
        created_at=T0,
        state=CommandState.SENT,
        unit_id=1,
    )
    desk.units.set_pending([pending])
    assert "Assignment sent" in panel.message.text()
    from dataclasses import replace

    desk.units.set_pending(
        [replace(pending, state=CommandState.FAILED, message="unit is not available")]
    )
    assert panel.message.text() == "LX21: refused — unit is not available"
    assert panel.message.property("role") == "error"


# -- reallocation list -----------------------------------------------------------------------


def test_reallocation_list_nearest_first_then_borough(desk, qtbot):
    panel = desk.dialog(qtbot).panel
    assert panel.candidate_callsigns() == ["LX23", "LX22", "LX21", "KD99"]
    distances = [panel.candidates.topLevelItem(n).text(3) for n in range(4)]
    assert distances == ["1.1 km", "2.2 km", "same borough", "other borough"]


def test_reallocation_list_without_incident_position(qtbot):
    desk = Desk(target_incident(location=located(None)))
    panel = desk.dialog(qtbot).panel
    # No distance for anyone: the incident's borough first, then by callsign.
    assert panel.candidate_callsigns() == ["LX21", "LX23", "KD99", "LX22"]
    distances = [panel.candidates.topLevelItem(n).text(3) for n in range(4)]
    assert distances == ["same borough", "same borough", "other borough", "other borough"]


def test_reallocation_list_follows_the_fleet(desk, qtbot):
    panel = desk.dialog(qtbot).panel
    desk.units.apply_units([make_unit(3, "LX23", status=UnitStatus.ASSIGNED, incident_id=7)], [])
    assert panel.candidate_callsigns() == ["LX22", "LX21", "KD99"]
    # A tick changes nothing shown: the list is not rebuilt.
    item = panel.candidates.topLevelItem(0)
    desk.clock.advance(minutes(5))
    desk.units.refresh_now()
    assert panel.candidates.topLevelItem(0) is item


def test_enter_on_a_list_row_assigns(desk, qtbot):
    panel = desk.dialog(qtbot).panel
    panel.candidates.setFocus()
    panel.candidates.setCurrentItem(panel.candidates.topLevelItem(1))
    with qtbot.waitSignal(panel.sent):
        enter(qtbot, panel.candidates)
    assert desk.commands.calls == [("assign_unit", (desk.units.unit(2), desk.incidents[12]))]


def test_closed_incident_takes_no_unit(qtbot):
    from dispatchdesk.domain.incident import IncidentStatus

    desk = Desk(target_incident(status=IncidentStatus.CLOSED))
    dialog = desk.dialog(qtbot)
    assert not dialog.panel.callsign.isEnabled()
    dialog.panel.choose_unit(1)
    assert desk.commands.calls == []
    assert "is closed" in dialog.panel.message.text()


def test_prefill_with_a_busy_unit_asks_for_the_reason(desk, qtbot):
    dialog = desk.dialog(qtbot)
    dialog.prefill(5)
    assert dialog.panel.callsign.text() == "LX30"
    assert dialog.panel.reason_box.isVisible()
    assert desk.commands.calls == []


def test_short_ref():
    assert short_ref("CAD 7/23NOV26") == "CAD 7"
    assert short_ref("X1") == "X1"


# -- drag and drop ---------------------------------------------------------------------------


@pytest.fixture
def queue(qtbot):
    fake = clock()
    model = IncidentTableModel(fake.now)
    model.set_incidents(
        [
            make_incident(21),
            make_incident(22, created_at=T0 + minutes(5)),
            make_incident(23, created_at=T0 + minutes(9)),
        ],
        DEFAULT_POLICY,
    )
    proxy = IncidentFilterProxy(model)
    view = QTableView()
    view.setModel(proxy)
    view.resize(700, 300)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    return view


def unit_mime(unit_id):
    mime = QMimeData()
    mime.setData(UNIT_MIME, str(unit_id).encode())
    return mime


def drag_to(view, mime, row):
    """Enter, move over ``row``, drop: as Qt would deliver them to the viewport."""
    rect = view.visualRect(view.model().index(row, 1))
    pos = rect.center()
    actions = Qt.DropAction.CopyAction
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    viewport = view.viewport()
    enter_event = QDragEnterEvent(pos, actions, mime, buttons, mods)
    QApplication.sendEvent(viewport, enter_event)
    move = QDragMoveEvent(pos, actions, mime, buttons, mods)
    QApplication.sendEvent(viewport, move)
    return move, QDropEvent(QPointF(pos), actions, mime, buttons, mods)


def test_drop_a_unit_on_a_queue_row(queue, qtbot):
    drops: list[tuple[int, QModelIndex]] = []
    drop_filter = install_unit_drop(queue, lambda uid, index: drops.append((uid, index)))
    assert queue.viewport().acceptDrops()
    mime = unit_mime(42)  # kept alive: the events only point at it
    move, drop = drag_to(queue, mime, 1)
    assert move.isAccepted()
    assert drop_filter.highlighted_row == 1 and drop_filter.highlight.isVisible()
    QApplication.sendEvent(queue.viewport(), drop)
    assert drop.isAccepted()
    assert [(uid, index.row()) for uid, index in drops] == [(42, 1)]
    assert drops[0][1].data(INCIDENT_ROLE).id == 22
    assert drop_filter.highlighted_row is None and drop_filter.highlight.isHidden()


def test_drop_outside_rows_or_without_a_unit_does_nothing(queue, qtbot):
    drops = []
    drop_filter = install_unit_drop(queue, lambda uid, index: drops.append(uid))
    below = QPoint(10, queue.viewport().height() - 2)  # under the last row
    mime = unit_mime(42)
    move = QDragMoveEvent(
        below,
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(queue.viewport(), move)
    assert not move.isAccepted()
    drop = QDropEvent(
        QPointF(below),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(queue.viewport(), drop)
    text = QMimeData()
    text.setText("LX21")
    _move, text_drop = drag_to(queue, text, 0)
    assert drop_filter.highlighted_row is None
    QApplication.sendEvent(queue.viewport(), text_drop)
    assert drops == []


def test_drag_entering_between_rows_is_kept_for_the_moves_that_follow(queue):
    drops = []
    drop_filter = install_unit_drop(queue, lambda uid, index: drops.append((uid, index.row())))
    mime = unit_mime(5)
    below = QPoint(10, queue.viewport().height() - 2)
    args = (
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    enter_event = QDragEnterEvent(below, *args)
    QApplication.sendEvent(queue.viewport(), enter_event)
    assert enter_event.isAccepted()
    assert drop_filter.highlighted_row is None
    on_row = queue.visualRect(queue.model().index(2, 0)).center()
    QApplication.sendEvent(queue.viewport(), QDragMoveEvent(on_row, *args))
    assert drop_filter.highlighted_row == 2
    QApplication.sendEvent(queue.viewport(), QDropEvent(QPointF(on_row), *args))
    assert drops == [(5, 2)]


def test_drag_leave_clears_the_highlight(queue):
    drop_filter = install_unit_drop(queue, lambda uid, index: None)
    mime = unit_mime(1)
    drag_to(queue, mime, 0)
    assert drop_filter.highlighted_row == 0
    QApplication.sendEvent(queue.viewport(), QDragLeaveEvent())
    assert drop_filter.highlighted_row is None


def test_board_drag_to_queue_end_to_end(queue, qtbot, desk):
    """The board's own mime data, dropped on the queue, names the unit and the incident."""
    board = UnitsBoard(desk.units, desk.commands)
    qtbot.addWidget(board)
    row = board.proxy.proxy_row_of(3)
    mime = board.proxy.mimeData([board.proxy.index(row, c) for c in range(len(UnitColumn))])
    drops = []
    install_unit_drop(queue, lambda uid, index: drops.append((uid, index.data(INCIDENT_ROLE))))
    _move, drop = drag_to(queue, mime, 2)
    QApplication.sendEvent(queue.viewport(), drop)
    assert [(uid, incident.id) for uid, incident in drops] == [(3, 23)]


def test_a_refused_divert_reason_asks_again_with_the_reason_sent(desk, qtbot):
    panel = desk.dialog(qtbot).panel
    panel.callsign.setText("LX30")
    enter(qtbot, panel.callsign)
    qtbot.keyClicks(panel.reason, "Knife seen, nearest unit")
    enter(qtbot, panel.reason)
    assert panel.reason_box.isHidden()
    refused = PendingCommand(
        id="cmd-1",
        kind=CommandKind.DIVERT_UNIT,
        incident_id=12,
        description="Divert LX30",
        created_at=T0,
        state=CommandState.FAILED,
        message="The divert reason is almost the same as the closing rationale of CAD "
        "3/21NOV26 on 21 Nov 2026 (identical).",
        unit_id=5,
    )
    desk.units.set_pending([refused])
    assert panel.reason_box.isVisible() and panel.callsign.text() == "LX30"
    assert panel.reason.text() == "Knife seen, nearest unit"  # kept to rework
    assert "LX30: refused — The divert reason is almost the same" in panel.message.text()
    panel.reason.setText("Knife seen at the bus stop; LX30 is two streets away")
    enter(qtbot, panel.reason)
    assert desk.commands.names() == ["divert_unit", "divert_unit"]
