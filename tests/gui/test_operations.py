"""The queue window with units, diverts, escalations, warnings and schemes wired in: assign
from the keyboard (F2) and by dropping a unit on a row, the warning panel when an incident is
opened and the acknowledgement reaching the commands, flags in the queue, owed counts, and the
docks per role."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from dispatchdesk.cache.warning_index import WarningIndex
from dispatchdesk.domain.grades import DEFAULT_POLICY, Grade
from dispatchdesk.domain.incident import Divert, IncidentStatus, Location
from dispatchdesk.domain.roles import Role
from dispatchdesk.domain.unit import UnitStatus
from dispatchdesk.domain.warnings import OrderType, SchemeCategory, WarningRef
from dispatchdesk.gui.dispatch.units_model import UNIT_MIME
from dispatchdesk.gui.queue.model import Column
from dispatchdesk.protocol.warnings import OrderOut, PersonModel, PlaceModel, SchemeOut
from tests.gui.factories import (
    T0,
    RecordingCommands,
    clock,
    make_incident,
    make_unit,
    minutes,
    open_queue_window,
)


def open_window(qtbot, commands, settings, fake_clock, role=Role.DISPATCHER):
    return open_queue_window(qtbot, commands, settings, fake_clock, role)


def flat(n: int) -> Location:
    return Location(
        address=f"Flat {n}, Holly Court, 9 Elm Road",
        postcode="N1 1AA",
        borough="Islington",
        uprn=f"900000{n}",
        parent_uprn="9000000",
    )


def scheme_on_block() -> SchemeOut:
    return SchemeOut(
        id=5,
        version=1,
        category=SchemeCategory.SERIAL_PERPETRATOR,
        location=PlaceModel(address="Holly Court, 9 Elm Road", postcode="N1 1AA", uprn="9000000"),
        summary="Serial perpetrator known to visit; two officers to attend",
        officer_in_case="DC 99 Okafor",
        starts_at=T0 - timedelta(days=10),
        expires_at=T0 + timedelta(days=60),
        review_state="ACTIVE",
    )


def order_expiring_tomorrow() -> OrderOut:
    return OrderOut(
        id=8,
        version=1,
        order_type=OrderType.NON_MOLESTATION,
        subject=PersonModel(name="Gary Hollis", dob=date(1984, 3, 9)),
        locations=[
            PlaceModel(
                address="Flat 2, Holly Court, 9 Elm Road",
                postcode="N1 1AA",
                uprn="9000002",
                parent_uprn="9000000",
            )
        ],
        conditions="Not to contact Dawn Hollis",
        issued_on=date(2026, 5, 24),
        expires_on=date(2026, 11, 24),
        source_ref="FAM-2026-0042",
    )


def test_f2_assigns_the_selected_incident_from_the_keyboard(qtbot, settings):
    commands, fake_clock = RecordingCommands(), clock()
    window = open_window(qtbot, commands, settings, fake_clock)
    window.relay.on_state([make_incident(1, grade=Grade.SIGNIFICANT)], DEFAULT_POLICY)
    window.relay.on_units([make_unit(1, "LX21"), make_unit(2, "LX30")], [], True)
    window.selection_keeper.select_incident(1)
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_F2)
    dialog = window.dispatch.assign_dialog
    assert dialog is not None and dialog.isVisible() and not dialog.isModal()
    qtbot.waitUntil(dialog.isActiveWindow)  # it takes the keyboard: type the callsign now
    assert QApplication.focusWidget() is dialog.panel.callsign
    qtbot.keyClicks(dialog.panel.callsign, "lx30")
    dialog.panel.completer.popup().hide()
    qtbot.keyClick(dialog.panel.callsign, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "assign_unit" in commands.names())
    _name, (unit, incident) = commands.calls[-1]
    assert (unit.callsign, incident.id) == ("LX30", 1)


def test_call_handlers_see_the_units_but_cannot_assign(qtbot, settings):
    commands, fake_clock = RecordingCommands(), clock()
    window = open_window(qtbot, commands, settings, fake_clock, Role.CALL_HANDLER)
    window.relay.on_state([make_incident(1)], DEFAULT_POLICY)
    window.relay.on_units([make_unit(1, "LX21")], [], True)
    window.selection_keeper.select_incident(1)
    window.dispatch.assign()
    assert window.dispatch.assign_dialog is None
    assert "cannot dispatch" in window.message_bar.text()
    assert not window.act_assign.isEnabled()
    assert window.warning_desk.schemes_dock is None  # supervisors only


def test_dropping_a_unit_on_a_row_assigns_it_or_asks_why_divert(qtbot, settings):
    commands, fake_clock = RecordingCommands(), clock()
    window = open_window(qtbot, commands, settings, fake_clock)
    window.relay.on_state([make_incident(1), make_incident(2)], DEFAULT_POLICY)
    busy = make_unit(2, "LX30", status=UnitStatus.ASSIGNED, incident_id=2)
    window.relay.on_units([make_unit(1, "LX21"), busy], [], True)

    def drop(unit_id: int, incident_id: int) -> None:
        row = window.proxy.proxy_row_of(incident_id)
        pos = window.table.visualRect(window.proxy.index(row, Column.REF)).center()
        mime = QMimeData()
        mime.setData(UNIT_MIME, str(unit_id).encode())
        how = (
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
        viewport = window.table.viewport()
        QApplication.sendEvent(viewport, QDragEnterEvent(pos, *how))
        QApplication.sendEvent(viewport, QDragMoveEvent(pos, *how))
        QApplication.sendEvent(viewport, QDropEvent(QPointF(pos), *how))

    drop(1, 1)
    assert commands.calls[-1][0] == "assign_unit"
    assert commands.calls[-1][1][1].id == 1
    drop(2, 1)  # LX30 is on incident 2: the assign window asks for a divert reason
    dialog = window.dispatch.assign_dialog
    assert dialog is not None and dialog.isVisible()
    assert "divert_unit" not in commands.names()


def test_opening_an_incident_pops_its_warnings_and_acknowledgement_is_sent(qtbot, settings):
    commands, fake_clock = RecordingCommands(), clock()
    window = open_window(qtbot, commands, settings, fake_clock)
    incident = make_incident(1, location=flat(2))
    window.relay.on_state([incident, make_incident(2)], DEFAULT_POLICY)
    index = WarningIndex()
    index.replace([scheme_on_block()], [order_expiring_tomorrow()])
    window.relay.on_warnings(index, frozenset())
    row = lambda: window.proxy.proxy_row_of(1)  # noqa: E731
    flags = lambda: window.proxy.index(row(), Column.FLAGS).data()  # noqa: E731
    qtbot.waitUntil(lambda: flags() == "⚠ SCHEME HEIGHTENED · ⚠ ORDER CRITICAL")
    window.selection_keeper.select_incident(1)
    window.open_detail()
    panel = window.warning_desk.warning_panel
    qtbot.waitUntil(panel.isVisible)
    assert [r.kind for r in panel.refs()] == ["order", "scheme"]  # critical order first
    shown = [args for name, args in commands.calls if name == "warning_shown"]
    assert {args[1] for args in shown} == {WarningRef("order", 8), WarningRef("scheme", 5)}
    panel.acknowledge(WarningRef("order", 8))
    assert ("acknowledge_warning", (1, WarningRef("order", 8))) in commands.calls
    # the engine records it and reports back: the row then says so
    window.relay.on_warnings(index, frozenset({(1, WarningRef("order", 8))}))
    qtbot.waitUntil(lambda: flags() == "⚠ SCHEME HEIGHTENED · Order ✓ CRITICAL")


def test_owed_incident_counts_in_the_strip_and_escalation_needs_acknowledging(qtbot, settings):
    commands, fake_clock = RecordingCommands(), clock()
    window = open_window(qtbot, commands, settings, fake_clock, Role.SUPERVISOR)
    divert = Divert(
        id=1,
        unit_id=7,
        callsign="LX21",
        from_incident_id=1,
        from_ref="CAD 1/23NOV26",
        to_incident_id=2,
        to_ref="CAD 2/23NOV26",
        by="disp1",
        at=T0 + minutes(5),
        reason="Robbery in progress, grade I",
    )
    owed = make_incident(1, grade=Grade.SIGNIFICANT, owed=True, diverts=(divert,))
    window.relay.on_state([owed, make_incident(2)], DEFAULT_POLICY)
    assert "OWED 1 (1 no unit" in " ".join(window.delay_strip.texts())
    assert window.proxy.index(0, Column.FLAGS).data() == "DIVERT: NO UNIT"
    assert window.dispatch.divert_list.proxy.rowCount() == 1
    fake_clock.advance(minutes(16))
    window.relay.on_changes([owed.with_changes(escalated_at=fake_clock.now(), version=2)], [])
    notifier = window.dispatch.escalations
    qtbot.waitUntil(lambda: notifier.window is not None and notifier.window.isVisible())
    assert window.dispatch.escalation_button.isVisible()
    notifier.acknowledge(1)
    assert notifier.count == 0
    assert not window.dispatch.escalation_button.isVisible()
    assert IncidentStatus.OPEN is owed.status


def test_supervisors_get_the_schemes_view_fed_from_the_warning_index(qtbot, settings):
    commands, fake_clock = RecordingCommands(), clock()
    window = open_window(qtbot, commands, settings, fake_clock, Role.SUPERVISOR)
    index = WarningIndex()
    index.replace([scheme_on_block()], [order_expiring_tomorrow()])
    window.relay.on_warnings(index, frozenset())
    view = window.warning_desk.schemes_view
    assert view is not None and window.warning_desk.schemes_dock is not None
    assert view.model.scheme_ids() == [5]
    window.act_schemes.trigger()  # Ctrl+Shift+J: the keyboard in the table, on a row
    qtbot.waitUntil(lambda: QApplication.focusWidget() is view.table)
    assert view.selected_id() == 5
    touched: list[object] = []
    view.model.dataChanged.connect(lambda *a: touched.append(a))
    index.upsert_order(order_expiring_tomorrow().model_copy(update={"version": 2}))
    window.relay.on_warnings(index, frozenset())  # an order changed: no scheme row touched
    assert touched == [] and view.selected_id() == 5
    window.relay.on_warnings(WarningIndex(), frozenset())  # the scheme ended or expired
    assert view.model.scheme_ids() == []


def _order(oid: int, expires_on: date) -> OrderOut:
    return order_expiring_tomorrow().model_copy(update={"id": oid, "expires_on": expires_on})


def test_severities_follow_the_turn_of_the_london_day_on_the_windows_ticker(qtbot, settings):
    """Issue 9 item 10: nothing changes but the date. The ticker (the window's one timer)
    notices London's midnight, which on 25 Oct 2026 (clocks go back) is 23:00 UTC the day
    before: an order expiring in 2 days becomes TOMORROW (critical), one expired 28 days ago
    moves on to info; the panel and the new-incident form reword their expiries."""
    commands, fake_clock = RecordingCommands(), clock()
    fake_clock.set(datetime(2026, 10, 24, 22, 59, 58, tzinfo=UTC))  # 23:59:58 BST, Sat 24 Oct
    window = open_window(qtbot, commands, settings, fake_clock)
    window.relay.on_state([make_incident(1, location=flat(2))], DEFAULT_POLICY)
    index = WarningIndex()
    index.replace([], [_order(8, date(2026, 10, 26)), _order(9, date(2026, 9, 26))])
    window.relay.on_warnings(index, frozenset())
    flags = lambda: window.proxy.index(0, Column.FLAGS).data()  # noqa: E731
    tip = lambda: window.proxy.index(0, Column.FLAGS).data(Qt.ItemDataRole.ToolTipRole)  # noqa: E731
    qtbot.waitUntil(lambda: flags() == "⚠ ORDER HEIGHTENED")
    assert "Heightened order warning #9" in tip()
    window.selection_keeper.select_incident(1)
    window.open_detail()
    panel = window.warning_desk.warning_panel
    qtbot.waitUntil(panel.isVisible)
    assert panel.cards[0].expiry.text() == "Expires in 2 days, 26 Oct"
    window.incidents.new_incident()
    dialog = window.incidents.new_incident_dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.uprn, "9000002")
    dialog.check_warnings()
    form_panel = dialog.warning_panel
    assert form_panel.cards[0].expiry.text() == "Expires in 2 days, 26 Oct"
    fake_clock.advance(timedelta(seconds=1))  # 23:59:59 BST: still Saturday
    window.ticker.tick()
    assert not window.incident_warnings.busy and flags() == "⚠ ORDER HEIGHTENED"
    fake_clock.set(datetime(2026, 10, 24, 23, 0, 0, 2000, tzinfo=UTC))  # 00:00:00 BST Sunday
    window.ticker.tick()
    qtbot.waitUntil(lambda: flags() == "⚠ ORDER CRITICAL")
    assert "Critical order warning #8" in tip() and "Info order warning #9" in tip()
    assert panel.cards[0].expiry.text() == "Expires TOMORROW 26 Oct"
    assert panel.heading.text().startswith("CRITICAL")
    assert form_panel.cards[0].expiry.text() == "Expires TOMORROW 26 Oct"
    assert form_panel.cards[0].badge.text() == "CRITICAL"
    # Sunday is 25 hours long: at 23:59:59 UTC it is still Sunday in London (GMT now).
    fake_clock.set(datetime(2026, 10, 25, 23, 59, 59, tzinfo=UTC))
    window.ticker.tick()
    assert not window.incident_warnings.busy
    assert panel.cards[0].expiry.text() == "Expires TOMORROW 26 Oct"
    fake_clock.set(datetime(2026, 10, 26, 0, 0, 1, tzinfo=UTC))
    window.ticker.tick()
    qtbot.waitUntil(lambda: panel.cards[0].expiry.text() == "Expires TODAY 26 Oct")
    assert flags() == "⚠ ORDER CRITICAL"


def test_a_live_warning_never_takes_the_keyboard_from_the_search_field(qtbot, settings):
    commands, fake_clock = RecordingCommands(), clock()
    window = open_window(qtbot, commands, settings, fake_clock)
    window.relay.on_state([make_incident(1, location=flat(2))], DEFAULT_POLICY)
    index = WarningIndex()
    index.replace([scheme_on_block()], [])
    window.relay.on_warnings(index, frozenset())
    window.selection_keeper.select_incident(1)
    window.open_detail()  # Enter on the queue: the operator asked, the panel has the keys
    panel = window.warning_desk.warning_panel
    qtbot.waitUntil(lambda: panel.focused_card() is not None)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)
    qtbot.waitUntil(window.isActiveWindow)
    assert panel.isVisible()  # unacknowledged: still in sight
    window.filters.focus_search()
    typed = "Holly Court"
    for n, char in enumerate(typed, 1):
        if n == 4:  # mid-word, a court order for the incident arrives
            newer = WarningIndex()
            newer.replace([scheme_on_block()], [order_expiring_tomorrow()])
            window.relay.on_warnings(newer, frozenset())
            qtbot.waitUntil(lambda: len(panel.cards) == 2)
        qtbot.keyClick(QApplication.focusWidget(), char)
        assert QApplication.focusWidget() is window.search
        assert window.isActiveWindow()
    assert window.search.text() == typed
    assert panel.isVisible() and len(panel.unacknowledged()) == 2
    window.act_warnings.trigger()  # Ctrl+W / F4: the keyboard to the warnings
    qtbot.waitUntil(lambda: panel.focused_card() is panel.cards[0])
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.search)  # where it was
