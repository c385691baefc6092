"""Downgrades with a second pair of eyes on the desk: the form tells a call handler or
dispatcher a downgrade is a request, the panel shows the request waiting and then the
decision with its note, supervisors decide it in the panel (a refusal shown where the note was
typed), list the requests in a dock and count them in the delay strip."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from PySide6.QtCore import Qt

from dispatchdesk.domain.commands import CommandKind, CommandState, PendingCommand
from dispatchdesk.domain.downgrades import DowngradeDecision, DowngradeOutcome, PendingDowngrade
from dispatchdesk.domain.grades import DEFAULT_POLICY, Grade, GradePolicy
from dispatchdesk.domain.incident import IncidentStatus
from dispatchdesk.domain.roles import Role
from dispatchdesk.gui.dispatch.downgrades import PendingDowngradesModel
from dispatchdesk.gui.incident.detail_panel import IncidentDetailPanel
from dispatchdesk.gui.queue.model import Column
from tests.gui.factories import T0, clock, make_incident, open_queue_window

REASON = "Caller rang back: the man has gone and she is at her mother's with the children"
NOTE = "Agreed: I spoke to her and she is safe at her mother's; officers by appointment"


def pending(at_minutes: int = 2, to: Grade = Grade.SIGNIFICANT) -> PendingDowngrade:
    return PendingDowngrade(to=to, reason=REASON, by="cathy", at=T0 + timedelta(minutes=at_minutes))


def decision(outcome: DowngradeOutcome) -> DowngradeDecision:
    p = pending()
    return DowngradeDecision(
        to=p.to,
        reason=p.reason,
        by=p.by,
        at=p.at,
        outcome=outcome,
        decided_by="sue",
        decided_at=T0 + timedelta(minutes=10),
        note=NOTE,
    )


def make_panel(qtbot, commands, role):
    panel = IncidentDetailPanel(commands, role, clock().now)
    qtbot.addWidget(panel)
    panel.show()
    return panel


def choose(panel: IncidentDetailPanel, grade: Grade) -> None:
    panel.grade.setCurrentIndex(panel.grade.findData(grade.value))


def test_the_form_tells_a_call_handler_a_downgrade_is_a_request(qtbot, commands):
    panel = make_panel(qtbot, commands, Role.CALL_HANDLER)
    panel.show_incident(make_incident(1, grade=Grade.IMMEDIATE))
    assert panel.regrade_button.text() == "Apply grade" and panel.request_hint.isHidden()
    choose(panel, Grade.SIGNIFICANT)
    assert panel.regrade_button.text() == "Request downgrade"
    assert not panel.request_hint.isHidden()
    assert "a supervisor approves or rejects it" in panel.request_hint.text()
    panel.reason.setText(REASON)
    panel.regrade_button.click()
    assert commands.calls[-1] == ("regrade", (panel.incident, Grade.SIGNIFICANT, REASON))
    assert "Request to downgrade to S queued" in panel.regrade_message.text()
    assert "countdown stay as they are" in panel.regrade_message.text()
    choose(panel, Grade.IMMEDIATE)  # no change chosen: a plain regrade again
    assert panel.regrade_button.text() == "Apply grade" and panel.request_hint.isHidden()


def test_a_supervisor_or_the_flag_off_applies_at_once(qtbot, commands):
    sup = make_panel(qtbot, commands, Role.SUPERVISOR)
    sup.show_incident(make_incident(1, grade=Grade.IMMEDIATE))
    choose(sup, Grade.SIGNIFICANT)
    assert sup.regrade_button.text() == "Apply grade" and sup.request_hint.isHidden()
    handler = make_panel(qtbot, commands, Role.DISPATCHER)
    handler.set_policy(GradePolicy(downgrade_needs_approval=False))
    handler.show_incident(make_incident(2, grade=Grade.IMMEDIATE))
    choose(handler, Grade.SIGNIFICANT)
    assert handler.regrade_button.text() == "Apply grade"


def test_the_requester_sees_the_request_wait_then_the_decision(qtbot, commands):
    panel = make_panel(qtbot, commands, Role.CALL_HANDLER)
    incident = make_incident(1, grade=Grade.IMMEDIATE, pending_downgrade=pending())
    panel.show_incident(incident)
    state = panel.downgrade_box.state
    assert not state.isHidden()
    assert state.text() == "Downgrade to S requested by cathy at 09:02 — awaiting supervisor"
    assert panel.downgrade_box.decide_box.isHidden()  # not theirs to decide
    assert panel.fields["Grade"].text().startswith("I — Immediate")  # the grade stays
    # asking again while one waits is refused here, before anything is sent
    choose(panel, Grade.EXTENDED)
    panel.reason.setText("Appointment agreed with the caller for tomorrow at ten")
    panel.regrade_button.click()
    assert "awaiting supervisor: a supervisor decides it" in panel.regrade_message.text()
    assert [n for n in commands.names() if n == "regrade"] == []
    approved = incident.with_changes(
        grade=Grade.SIGNIFICANT,
        version=3,
        pending_downgrade=None,
        downgrade_decision=decision(DowngradeOutcome.APPROVED),
    )
    panel.update_incident(approved)
    assert state.text() == (
        "Downgrade to S requested by cathy at 09:02 — approved by sue at 09:10: " + NOTE
    )
    rejected = approved.with_changes(downgrade_decision=decision(DowngradeOutcome.REJECTED))
    panel.update_incident(rejected)
    assert "— rejected by sue at 09:10: " in state.text()
    panel.show_incident(make_incident(2))
    assert state.isHidden()


def test_a_supervisor_decides_in_the_panel_and_a_refusal_shows_there(qtbot, commands):
    panel = make_panel(qtbot, commands, Role.SUPERVISOR)
    incident = make_incident(1, grade=Grade.IMMEDIATE, pending_downgrade=pending())
    panel.show_incident(incident)
    box = panel.downgrade_box
    assert not box.decide_box.isHidden()
    assert box.request_reason.text() == f"Reason given: {REASON}"
    panel.focus_first()
    assert box.note.hasFocus() or not panel.isActiveWindow()
    box.note.setText("ok")
    box.approve_button.click()
    assert "too short" in panel.downgrade_message.text()
    assert "approve_downgrade" not in commands.names()
    box.note.setText(NOTE)
    box.approve_button.click()
    assert commands.calls[-1] == ("approve_downgrade", (incident, NOTE))
    assert "Approval of the downgrade to S queued" in panel.downgrade_message.text()
    refused = PendingCommand(
        id=f"cmd-{len(commands.calls)}",
        kind=CommandKind.APPROVE_DOWNGRADE,
        incident_id=1,
        description="Approve downgrade of CAD 1/23NOV26 to S",
        created_at=T0,
        state=CommandState.FAILED,
        message="The note on the downgrade request is almost the same as the downgrade reason "
        "of CAD 1/23NOV26 on 23 Nov 2026 (identical).",
    )
    panel.set_commands([refused])
    assert "Refused by the server: The note on the downgrade request" in (
        panel.downgrade_message.text()
    )
    assert box.note.text() == NOTE  # kept to rework
    box.note.setText("Rejected: the caller's neighbour says he is still in the street outside")
    box.reject_button.click()
    assert commands.calls[-1][0] == "reject_downgrade"
    # decided (the feed brings it): the decision box goes, the outcome shows
    panel.update_incident(
        incident.with_changes(
            version=3,
            pending_downgrade=None,
            downgrade_decision=decision(DowngradeOutcome.REJECTED),
        )
    )
    assert box.decide_box.isHidden() and "rejected by sue" in box.state.text()


def test_a_note_typed_for_one_incident_is_kept_for_it(qtbot, commands):
    panel = make_panel(qtbot, commands, Role.SUPERVISOR)
    a = make_incident(1, pending_downgrade=pending())
    b = make_incident(2, pending_downgrade=pending(5))
    panel.show_incident(a)
    panel.downgrade_box.note.setText("Half-written note about incident one")
    panel.show_incident(b)
    assert panel.downgrade_box.note.text() == ""
    panel.show_incident(a)
    assert panel.downgrade_box.note.text() == "Half-written note about incident one"


def test_the_list_model(qtmodeltester):
    model = PendingDowngradesModel()
    a = make_incident(1, pending_downgrade=pending(7))
    b = make_incident(2, pending_downgrade=pending(3, Grade.EXTENDED))
    model.set_incidents([a, b, make_incident(3)])
    qtmodeltester.check(model)
    assert [model.incident(r).id for r in range(model.rowCount())] == [2, 1]  # oldest first
    assert model.index(0, 1).data() == "I → E"
    assert model.index(0, 2).data() == "cathy" and model.index(0, 3).data() == "09:03"
    assert REASON in model.index(0, 4).data(Qt.ItemDataRole.AccessibleTextRole)
    model.apply_changes([b.with_changes(pending_downgrade=None, version=2)], [])
    assert model.rowCount() == 1
    model.apply_changes([make_incident(4, pending_downgrade=pending(1))], [1])
    assert [model.incident(r).id for r in range(model.rowCount())] == [4]
    closed = make_incident(4, pending_downgrade=pending(1), status=IncidentStatus.CLOSED)
    model.apply_changes([closed], [])
    assert model.rowCount() == 0
    qtmodeltester.check(model)


def test_supervisors_see_the_list_and_the_count(qtbot, commands, settings, fake_clock):
    window = open_queue_window(qtbot, commands, settings, fake_clock, Role.SUPERVISOR)
    waiting = make_incident(1, grade=Grade.IMMEDIATE, pending_downgrade=pending())
    window.relay.on_state([waiting, make_incident(2)], DEFAULT_POLICY)
    strip = window.delay_strip
    assert strip.downgrades_button.text() == "DOWNGRADES 1 waiting"
    flags = window.model.index(window.model.row_of(1), Column.FLAGS)
    assert "downgrade to S requested" in flags.data()
    assert "awaiting supervisor" in flags.data(Qt.ItemDataRole.ToolTipRole)
    requests = window.dispatch.downgrades
    assert requests.dock is not None and requests.dock.windowTitle() == "Downgrade requests (1)"
    strip.downgrades_button.click()
    assert requests.view is not None and requests.view.table.hasFocus()
    qtbot.keyClick(requests.view.table, Qt.Key.Key_Return)
    assert window.selection_keeper.selected_incident().id == 1
    assert window.detail.downgrade_box.note.hasFocus()  # straight to the decision
    window.relay.on_changes([waiting.with_changes(version=2, pending_downgrade=None)], [])
    assert strip.downgrades_button.text() == "DOWNGRADES 0"
    assert requests.dock.windowTitle() == "Downgrade requests"


def test_other_roles_get_no_list(qtbot, commands, settings, fake_clock):
    window = open_queue_window(qtbot, commands, settings, fake_clock, Role.DISPATCHER)
    window.relay.on_state([make_incident(1, pending_downgrade=pending())], DEFAULT_POLICY)
    assert window.dispatch.downgrades.dock is None
    assert window.delay_strip.isHidden()


def test_the_requester_hears_the_decision_wherever_they_look(qtbot, commands, settings, fake_clock):
    window = open_queue_window(qtbot, commands, settings, fake_clock, Role.CALL_HANDLER)
    mine = make_incident(1, pending_downgrade=replace(pending(), by="jsmith"))
    theirs = make_incident(2, pending_downgrade=pending())
    old = make_incident(3, downgrade_decision=decision(DowngradeOutcome.REJECTED))
    window.relay.on_state([mine, theirs, old], DEFAULT_POLICY)
    assert window.message_bar.messages == []  # what a snapshot holds is not news
    rejected = decision(DowngradeOutcome.REJECTED)
    window.relay.on_changes(
        [
            mine.with_changes(
                version=3, pending_downgrade=None, downgrade_decision=replace(rejected, by="jsmith")
            ),
            theirs.with_changes(version=3, downgrade_decision=rejected),  # cathy's, not mine
            old.with_changes(version=4, summary="Edited"),  # the same old decision
        ],
        [],
    )
    assert window.message_bar.messages == [
        "CAD 1/23NOV26: Downgrade to S requested by jsmith at 09:02 — rejected by sue at "
        "09:10: " + NOTE
    ]


def test_a_decision_is_told_once_and_only_for_an_incident_held_before(
    qtbot, commands, settings, fake_clock
):
    """Read from the queue's model as it was before the change: the same decision again (a
    command's reply, then the feed) is not news, nor one on an incident the desk did not hold
    (new to it, or removed and back)."""
    window = open_queue_window(qtbot, commands, settings, fake_clock, Role.CALL_HANDLER)
    mine = make_incident(1, pending_downgrade=replace(pending(), by="jsmith"))
    gone = make_incident(2, pending_downgrade=replace(pending(), by="jsmith"))
    window.relay.on_state([mine, gone], DEFAULT_POLICY)
    rejected = replace(decision(DowngradeOutcome.REJECTED), by="jsmith")
    decided = mine.with_changes(version=2, pending_downgrade=None, downgrade_decision=rejected)
    window.relay.on_changes([decided], [])
    window.relay.on_changes([decided.with_changes(version=3)], [])
    window.relay.on_changes([], [2])
    window.relay.on_changes(
        [
            gone.with_changes(version=2, downgrade_decision=rejected),
            make_incident(7, downgrade_decision=rejected),
        ],
        [],
    )
    assert window.message_bar.messages == [
        "CAD 1/23NOV26: Downgrade to S requested by jsmith at 09:02 — rejected by sue at "
        "09:10: " + NOTE
    ]
