"""Removing a link from the incident panel: a dispatcher or supervisor highlights the link,
presses Del (or Remove link…), types why inline, Enter sends it through the outbox; a refusal
shows under the reason, which is kept; a call handler has no such control."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from dispatchdesk.domain.commands import CommandKind, CommandState, PendingCommand
from dispatchdesk.domain.history import IncidentLink, LinkRelation
from dispatchdesk.domain.incident import Incident, IncidentStatus
from dispatchdesk.domain.roles import Role
from dispatchdesk.gui.history.links import LinkList
from dispatchdesk.gui.incident.detail_panel import IncidentDetailPanel
from tests.gui.factories import T0, RecordingCommands, clock, make_incident

DUP = IncidentLink(
    102, "CAD 102/23NOV26", LinkRelation.DUPLICATE, "Same call from the neighbour", "dan", T0
)
REL = IncidentLink(
    103,
    "CAD 103/23NOV26",
    LinkRelation.RELATED,
    "Same suspect seen at the shop",
    "cathy",
    T0 + timedelta(minutes=5),
)
REASON = "CAD 103 is a different Gary, born 1991, not this suspect"


def incident(*links: IncidentLink, **changes: object) -> Incident:
    return make_incident(7, links=links, **changes)


def panel_for(qtbot, commands: RecordingCommands, role: Role) -> IncidentDetailPanel:
    panel = IncidentDetailPanel(commands, role, clock().now)
    qtbot.addWidget(panel)
    panel.resize(420, 900)
    panel.show()
    panel.activateWindow()
    qtbot.waitExposed(panel)
    return panel


def lines(linked: LinkList) -> list[str]:
    return [linked.list.item(r).text() for r in range(linked.list.count())]


def pending(command_id: str, state: CommandState, message: str | None = None) -> PendingCommand:
    return PendingCommand(
        command_id, CommandKind.UNLINK_INCIDENT, 7, "Remove link", T0, state, message
    )


def start_removing_the_second(qtbot, linked: LinkList) -> None:
    assert linked.focus_links()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is linked.list)
    qtbot.keyClick(linked.list, Qt.Key.Key_Down)
    qtbot.keyClick(linked.list, Qt.Key.Key_Delete)


@pytest.mark.parametrize("role", [Role.DISPATCHER, Role.SUPERVISOR])
def test_del_on_a_link_asks_why_inline_and_enter_sends_it(qtbot, commands, qtmodeltester, role):
    panel = panel_for(qtbot, commands, role)
    panel.show_incident(incident(DUP, REL))
    linked = panel.history.panel.linked
    qtmodeltester.check(linked.list.model())
    assert lines(linked) == [
        "CAD 102/23NOV26 — DUPLICATE: Same call from the neighbour (dan, 23/11/2026 09:00)",
        "CAD 103/23NOV26 — RELATED: Same suspect seen at the shop (cathy, 23/11/2026 09:05)",
    ]
    assert linked.remove_button.isVisible() and linked.remove_button.text() == (
        "Remove link… (Del)"
    )
    assert linked.editor.isHidden()
    start_removing_the_second(qtbot, linked)
    assert linked.editor.isVisible() and not linked.isWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is linked.reason)
    assert linked.editor_title.text() == (
        "Remove the link from CAD 7/23NOV26 to CAD 103/23NOV26 (RELATED): why?"
    )
    qtbot.keyClick(linked.reason, Qt.Key.Key_Return)  # nothing typed: said here, not sent
    assert "too short" in linked.reason_message.text()
    assert commands.calls == []
    qtbot.keyClicks(linked.reason, REASON)
    qtbot.keyClick(linked.reason, Qt.Key.Key_Return)
    name, (sent_for, other_id, other_ref, reason) = commands.calls[-1]
    assert name == "unlink_incident" and sent_for.id == 7
    assert (other_id, other_ref, reason) == (103, "CAD 103/23NOV26", REASON)
    assert "queued; pending until the server confirms" in linked.reason_message.text()
    # Confirmed: the feed brings the incident without the link, the outbox lets it go.
    panel.set_commands([pending("cmd-1", CommandState.SENT)])
    panel.update_incident(incident(DUP, version=2))
    panel.set_commands([])
    qtbot.waitUntil(lambda: linked.editor.isHidden())
    assert linked.reason.text() == "" and linked.reason_message.isHidden()
    assert lines(linked) == [
        "CAD 102/23NOV26 — DUPLICATE: Same call from the neighbour (dan, 23/11/2026 09:00)"
    ]
    assert QApplication.focusWidget() is linked.list


def test_the_servers_refusal_shows_under_the_reason_which_is_kept(qtbot, commands):
    panel = panel_for(qtbot, commands, Role.DISPATCHER)
    panel.show_incident(incident(DUP, REL))
    linked = panel.history.panel.linked
    start_removing_the_second(qtbot, linked)
    qtbot.keyClicks(linked.reason, REASON)
    qtbot.keyClick(linked.reason, Qt.Key.Key_Return)
    refusal = "This reason copies one recorded on CAD 55/01OCT26: say why for this incident."
    panel.set_commands([pending("cmd-1", CommandState.FAILED, refusal)])
    assert linked.reason_message.text() == f"⚠ Refused by the server: {refusal}"
    assert linked.editor.isVisible() and linked.reason.text() == REASON
    assert lines(linked)[1].startswith("CAD 103/23NOV26")  # still linked
    # Discarded from the outbox: the typed text stays to rework and send again.
    panel.set_commands([])
    assert linked.editor.isVisible() and linked.reason.text() == REASON
    qtbot.keyClicks(linked.reason, " (checked with PNC)")
    qtbot.keyClick(linked.reason, Qt.Key.Key_Return)
    assert commands.calls[-1][1][3] == REASON + " (checked with PNC)"


def test_the_button_removes_the_highlighted_link_too(qtbot, commands):
    panel = panel_for(qtbot, commands, Role.SUPERVISOR)
    panel.show_incident(incident(DUP, REL, status=IncidentStatus.CLOSED, closed_at=T0))
    linked = panel.history.panel.linked
    assert linked.list.currentRow() == 0
    qtbot.mouseClick(linked.remove_button, Qt.MouseButton.LeftButton)
    assert linked.editor.isVisible()
    assert "to CAD 102/23NOV26 (DUPLICATE)" in linked.editor_title.text()
    qtbot.keyClicks(linked.reason, "Not a duplicate: the neighbour reported another address")
    # Scrolled into sight in the panel, then clicked.
    qtbot.waitUntil(lambda: not linked.send_button.visibleRegion().isEmpty())
    qtbot.mouseClick(linked.send_button, Qt.MouseButton.LeftButton)
    assert commands.names() == ["unlink_incident"]


def test_esc_gives_up_and_keeps_what_was_typed(qtbot, commands):
    panel = panel_for(qtbot, commands, Role.DISPATCHER)
    panel.show_incident(incident(DUP, REL))
    linked = panel.history.panel.linked
    start_removing_the_second(qtbot, linked)
    qtbot.keyClicks(linked.reason, "Different Gary")
    qtbot.keyClick(linked.reason, Qt.Key.Key_Escape)
    assert linked.editor.isHidden() and QApplication.focusWidget() is linked.list
    assert panel.isVisible()
    qtbot.keyClick(linked.list, Qt.Key.Key_Delete)  # the same link: the text is back
    assert linked.editor.isVisible() and linked.reason.text() == "Different Gary"
    qtbot.keyClick(linked.reason, Qt.Key.Key_Escape)
    qtbot.keyClick(linked.list, Qt.Key.Key_Up)
    qtbot.keyClick(linked.list, Qt.Key.Key_Delete)  # another link: a fresh reason
    assert linked.reason.text() == "" and "CAD 102/23NOV26" in linked.editor_title.text()
    assert commands.calls == []


def test_a_link_removed_from_another_desk_while_typing_is_said(qtbot, commands):
    panel = panel_for(qtbot, commands, Role.DISPATCHER)
    panel.show_incident(incident(DUP, REL))
    linked = panel.history.panel.linked
    start_removing_the_second(qtbot, linked)
    qtbot.keyClicks(linked.reason, "Different Gary")
    panel.update_incident(incident(DUP, version=2))
    assert linked.editor.isHidden()
    assert linked.message.text() == "The link to CAD 103/23NOV26 has been removed."
    assert commands.calls == []


def test_another_incident_drops_the_removal_being_typed(qtbot, commands):
    panel = panel_for(qtbot, commands, Role.DISPATCHER)
    panel.show_incident(incident(DUP, REL))
    linked = panel.history.panel.linked
    start_removing_the_second(qtbot, linked)
    qtbot.keyClicks(linked.reason, "Different Gary")
    panel.show_incident(make_incident(8, links=(DUP,)))
    assert linked.editor.isHidden() and linked.reason.text() == ""
    assert lines(linked) == [
        "CAD 102/23NOV26 — DUPLICATE: Same call from the neighbour (dan, 23/11/2026 09:00)"
    ]


def test_a_call_handler_sees_the_links_but_no_way_to_remove_them(qtbot, commands):
    panel = panel_for(qtbot, commands, Role.CALL_HANDLER)
    panel.show_incident(incident(DUP, REL))
    linked = panel.history.panel.linked
    assert len(lines(linked)) == 2 and linked.list.isVisible()
    assert linked.remove_button.isHidden() and not linked.remove_action.isVisible()
    assert linked.focus_links()
    qtbot.keyClick(linked.list, Qt.Key.Key_Delete)
    linked.start_remove()
    assert linked.editor.isHidden() and commands.calls == []


def test_no_links_no_list(qtbot, commands):
    panel = panel_for(qtbot, commands, Role.DISPATCHER)
    panel.show_incident(incident())
    history = panel.history.panel
    assert history.links.text() == "Linked incidents: none."
    assert history.linked.list.isHidden() and history.linked.remove_button.isHidden()
    assert not history.linked.focus_links()


def test_each_link_reads_whole_in_a_narrow_panel(qtbot, commands):
    panel = panel_for(qtbot, commands, Role.DISPATCHER)
    panel.resize(330, 900)
    panel.show_incident(incident(DUP, REL))
    linked = panel.history.panel.linked
    view = linked.list
    qtbot.waitUntil(lambda: view.viewport().width() < 330)
    shown = [view.visualItemRect(view.item(r)) for r in range(view.count())]
    assert all(rect.height() > view.fontMetrics().height() for rect in shown), "wrapped"
    qtbot.waitUntil(lambda: shown[-1].bottom() <= view.viewport().height())
    assert view.verticalScrollBar().maximum() == 0, "no scrolling for two links"


def test_removing_the_last_link_gives_the_keyboard_to_the_history(qtbot, commands):
    panel = panel_for(qtbot, commands, Role.DISPATCHER)
    panel.show_incident(incident(REL))
    linked = panel.history.panel.linked
    assert linked.focus_links()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is linked.list)
    qtbot.keyClick(linked.list, Qt.Key.Key_Delete)
    qtbot.keyClicks(linked.reason, REASON)
    qtbot.keyClick(linked.reason, Qt.Key.Key_Return)
    assert commands.names() == ["unlink_incident"]
    panel.set_commands([pending("cmd-1", CommandState.SENT)])
    panel.update_incident(incident(version=2))
    panel.set_commands([])
    qtbot.waitUntil(lambda: QApplication.focusWidget() is panel.history.panel.list)
    assert linked.editor.isHidden() and linked.list.isHidden()
    assert panel.history.panel.links.text() == "Linked incidents: none."
