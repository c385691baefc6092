"""IncidentDetailPanel: role-dependent actions, downgrade reason, close with rationale."""

from __future__ import annotations

from datetime import date

import pytest

from dispatchdesk.domain.commands import CommandKind, CommandState, PendingCommand
from dispatchdesk.domain.grades import Grade
from dispatchdesk.domain.incident import Caller, IncidentStatus
from dispatchdesk.domain.roles import Role
from dispatchdesk.domain.warnings import Person
from dispatchdesk.gui.incident.detail_panel import IncidentDetailPanel
from tests.gui.factories import T0, clock, make_incident

RATIONALE = "Spoke to both parties; the ex-partner left before police arrived, victim safe"


def make_panel(qtbot, commands, role=Role.SUPERVISOR):
    panel = IncidentDetailPanel(commands, role, clock().now)
    qtbot.addWidget(panel)
    panel.show()
    return panel


def test_shows_everything_about_the_incident(qtbot, commands):
    panel = make_panel(qtbot, commands)
    incident = make_incident(
        1,
        grade=Grade.SIGNIFICANT,
        original_grade=Grade.IMMEDIATE,
        downgrade_reason="Suspect left the address an hour ago",
    )
    panel.show_incident(incident)
    f = panel.fields
    assert f["Ref"].text() == incident.ref
    assert "originally I" in f["Grade"].text()
    assert "100023" in f["UPRN"].text()
    assert "Suspect left" in f["Downgrade reason"].text()
    assert f["Countdown"].text() == "1:00:00 (On track)"


def test_shows_caller_dob_and_people_named(qtbot, commands):
    panel = make_panel(qtbot, commands)
    panel.show_incident(
        make_incident(
            1,
            caller=Caller(name="Ann Smith", phone="07700900123", dob=date(1990, 12, 1)),
            persons=(Person("Gary HOLLIS", date(1984, 3, 9)), Person("Kim Lee")),
        )
    )
    f = panel.fields
    assert f["Caller"].text() == "Ann Smith (b. 1 Dec 1990) · 07700900123"
    assert panel.persons.text() == "Gary HOLLIS (b. 9 Mar 1984)\nKim Lee"
    assert panel.info_ui.personsLabel.buddy() is panel.persons
    panel.show_incident(make_incident(2))  # nobody named, no caller DOB
    assert panel.persons.text() == "—"
    assert f["Caller"].text() == "A Caller · 07700900000"


def test_downgrade_requires_reason(qtbot, commands):
    panel = make_panel(qtbot, commands)
    panel.show_incident(make_incident(1, grade=Grade.IMMEDIATE))
    assert panel.reason.isHidden()
    panel.grade.setCurrentIndex(panel.grade.findData(Grade.SIGNIFICANT.value))
    assert not panel.reason.isHidden()  # asked inline, not in a modal
    panel.regrade_button.click()
    assert commands.calls == []
    assert "too short" in panel.regrade_message.text()
    panel.reason.setText("Caller now says the suspect left an hour ago on foot")
    panel.regrade_button.click()
    assert commands.calls[0][0] == "regrade"
    assert commands.calls[0][1][1:] == (
        Grade.SIGNIFICANT,
        "Caller now says the suspect left an hour ago on foot",
    )


def test_upgrade_needs_no_reason(qtbot, commands):
    panel = make_panel(qtbot, commands)
    panel.show_incident(make_incident(1, grade=Grade.SIGNIFICANT))
    panel.grade.setCurrentIndex(panel.grade.findData(Grade.IMMEDIATE.value))
    assert panel.reason.isHidden()
    panel.regrade_button.click()
    assert commands.calls[0][1][1:] == (Grade.IMMEDIATE, None)


def test_close_with_rationale_calls_commands(qtbot, commands):
    panel = make_panel(qtbot, commands)
    incident = make_incident(1)
    panel.show_incident(incident)
    panel.rationale.setPlainText(RATIONALE)
    panel.close_button.click()
    assert commands.calls == [("close", (incident, RATIONALE))]


def test_template_rationale_refused_locally_and_kept(qtbot, commands):
    panel = make_panel(qtbot, commands)
    panel.show_incident(make_incident(1))
    panel.rationale.setPlainText("No further police action required.")
    panel.close_button.click()
    assert commands.calls == []
    assert "stock phrase" in panel.close_message.text()
    assert panel.rationale.toPlainText() == "No further police action required."


def test_failed_close_keeps_text_and_shows_server_message(qtbot, commands):
    panel = make_panel(qtbot, commands)
    panel.show_incident(make_incident(1))
    panel.rationale.setPlainText(RATIONALE)
    panel.close_button.click()
    failed = PendingCommand(
        id="cmd-1",
        kind=CommandKind.CLOSE_INCIDENT,
        incident_id=1,
        description="Close",
        created_at=T0,
        state=CommandState.FAILED,
        message="The rationale is almost the same as another incident's.",
    )
    panel.set_commands([failed])
    assert "almost the same as another incident" in panel.close_message.text()
    assert not panel.close_message.isHidden()
    assert panel.rationale.toPlainText() == RATIONALE
    assert "Close: failed" in panel.fields["Pending"].text()
    panel.set_commands([])  # the operator discarded it: the text stays to rework
    assert panel.rationale.toPlainText() == RATIONALE


def test_confirmed_downgrade_clears_reason_refused_keeps_it(qtbot, commands):
    panel = make_panel(qtbot, commands)
    panel.show_incident(make_incident(1, grade=Grade.IMMEDIATE))
    reason = "Caller now says the suspect left an hour ago on foot"
    panel.grade.setCurrentIndex(panel.grade.findData(Grade.SIGNIFICANT.value))
    panel.reason.setText(reason)
    panel.regrade_button.click()
    panel.set_commands([])  # an outbox report from before the command was stored
    assert panel.reason.text() == reason  # kept while pending
    assert "pending" in panel.regrade_message.text()
    sent = PendingCommand(
        id="cmd-1",
        kind=CommandKind.UPDATE_INCIDENT,
        incident_id=1,
        description="Regrade",
        created_at=T0,
        state=CommandState.SENT,
    )
    panel.set_commands([sent])
    assert "waiting for the server" in panel.regrade_message.text()
    panel.set_commands([])  # confirmed by the feed
    assert panel.reason.text() == "" and panel.regrade_message.isHidden()


def test_text_kept_per_incident(qtbot, commands):
    panel = make_panel(qtbot, commands)
    panel.show_incident(make_incident(1))
    panel.rationale.setPlainText("half typed")
    panel.show_incident(make_incident(2))
    assert panel.rationale.toPlainText() == ""
    panel.show_incident(make_incident(1))
    assert panel.rationale.toPlainText() == "half typed"


def test_update_keeps_summary_being_edited(qtbot, commands):
    panel = make_panel(qtbot, commands)
    panel.show_incident(make_incident(1, summary="old"))
    panel.summary.setPlainText("operator's new words")
    panel.update_incident(make_incident(1, summary="server change"))
    assert panel.summary.toPlainText() == "operator's new words"
    assert panel.fields["Summary"].text() == "server change"
    panel.save_summary()
    assert commands.names() == ["edit_summary"]


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        (Role.CALL_HANDLER, {"regrade": True, "status": False, "summary": True, "close": False}),
        (Role.DISPATCHER, {"regrade": True, "status": True, "summary": True, "close": True}),
        (Role.SUPERVISOR, {"regrade": True, "status": True, "summary": True, "close": True}),
    ],
)
def test_role_hides_actions(qtbot, commands, role, visible):
    panel = make_panel(qtbot, commands, role)
    panel.show_incident(make_incident(1))
    shown = {
        "regrade": not panel.regrade_box.isHidden(),
        "status": not panel.status_box.isHidden(),
        "summary": not panel.summary_box.isHidden(),
        "close": not panel.close_box.isHidden(),
    }
    assert shown == visible
    panel.close_incident()  # no right: does nothing
    if not visible["close"]:
        assert commands.calls == []


def test_status_buttons_follow_allowed_moves(qtbot, commands):
    """The status follows the units: with none on it, an OPEN incident can move nowhere by
    hand (an assignment makes it ASSIGNED, an arrival AT_SCENE); a row left ASSIGNED with no
    unit can be put back to OPEN."""
    panel = make_panel(qtbot, commands, Role.DISPATCHER)
    panel.show_incident(make_incident(1, status=IncidentStatus.OPEN))
    assert not panel.status_buttons[IncidentStatus.OPEN].isEnabled()
    assert not panel.status_buttons[IncidentStatus.AT_SCENE].isEnabled()
    assert not panel.status_buttons[IncidentStatus.ASSIGNED].isEnabled()
    assert "assign" in panel.status_buttons[IncidentStatus.ASSIGNED].toolTip()
    panel.show_incident(make_incident(2, status=IncidentStatus.ASSIGNED))
    assert not panel.status_buttons[IncidentStatus.AT_SCENE].isEnabled()
    panel.status_buttons[IncidentStatus.OPEN].click()
    assert commands.calls[0][0] == "change_status"
    assert commands.calls[0][1][1] is IncidentStatus.OPEN


def test_closed_incident_disables_actions(qtbot, commands):
    panel = make_panel(qtbot, commands)
    panel.show_incident(make_incident(1, status=IncidentStatus.CLOSED, rationale="x"))
    assert not panel.close_box.isEnabled() and not panel.regrade_box.isEnabled()


def test_owed_incident_says_so_above_everything(qtbot, commands):
    from dispatchdesk.domain.incident import Divert

    panel = make_panel(qtbot, commands)
    panel.show_incident(make_incident(2))
    assert panel.owed.isHidden()
    divert = Divert(
        id=1,
        unit_id=7,
        callsign="LX21",
        from_incident_id=1,
        from_ref="CAD 1/23NOV26",
        to_incident_id=9,
        to_ref="CAD 9/23NOV26",
        by="disp1",
        at=T0,
        reason="Robbery in progress, grade I",
    )
    panel.show_incident(make_incident(1, owed=True, diverts=(divert,)))
    assert panel.owed.isVisible()
    text = panel.owed.text()
    assert text.startswith("OWED ATTENDANCE") and "LX21 to CAD 9/23NOV26 by disp1 at 09:00" in text
    assert "reallocate (F2)" in text
    panel.show_incident(None)
    assert panel.owed.isHidden()
