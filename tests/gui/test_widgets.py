"""Banner, delay strip, message bar, sign-in dialog, commands panel."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt

from dispatchdesk.domain.commands import (
    CommandKind,
    CommandState,
    ConnectionInfo,
    ConnectionState,
    PendingCommand,
)
from dispatchdesk.domain.grades import DEFAULT_POLICY, Grade
from dispatchdesk.gui.common.banner import ConnectionBanner, age_text
from dispatchdesk.gui.common.message_bar import MessageBar
from dispatchdesk.gui.common.signin import SignInDialog
from dispatchdesk.gui.queue.commands_panel import CommandsPanel
from dispatchdesk.gui.queue.delay_strip import DelayStrip
from tests.gui.factories import T0, RecordingCommands, make_incident, minutes


def test_banner_offline_with_age(qtbot):
    banner = ConnectionBanner()
    qtbot.addWidget(banner)
    synced = T0
    banner.set_info(ConnectionInfo(ConnectionState.OFFLINE, synced), T0 + minutes(6))
    assert not banner.isHidden()
    text = banner.text()
    assert text.startswith("OFFLINE — showing data from ")
    assert "showing data from 09:00:00" in text  # Europe/London: UTC+0 in November
    assert "6 min old; retrying" in text
    banner.refresh(T0 + minutes(7))
    assert "7 min old" in banner.text()
    assert banner.property("state") == "offline"


def test_banner_connecting_and_online(qtbot):
    banner = ConnectionBanner()
    qtbot.addWidget(banner)
    banner.set_info(ConnectionInfo(ConnectionState.CONNECTING), T0)
    assert banner.text().startswith("CONNECTING") and not banner.isHidden()
    banner.set_info(ConnectionInfo(ConnectionState.ONLINE, T0), T0)
    assert banner.isHidden()


def test_age_text():
    assert age_text(45) == "45 s old"
    assert age_text(360) == "6 min old"
    assert age_text(7500) == "2 h 05 min old"


def test_delay_strip_counts_and_longest_breach(qtbot):
    strip = DelayStrip()
    qtbot.addWidget(strip)
    now = T0 + minutes(15) + timedelta(hours=3, minutes=12)
    incidents = [
        make_incident(1, grade=Grade.IMMEDIATE),  # breached 3:12:00
        make_incident(2, grade=Grade.IMMEDIATE, created_at=now - minutes(1)),  # on track
        make_incident(3, grade=Grade.SIGNIFICANT, created_at=now - minutes(50)),  # at risk
        make_incident(
            4, grade=Grade.SIGNIFICANT, created_at=now - minutes(70), attended_at=now - minutes(20)
        ),  # attended on time
    ]
    strip.refresh(incidents, now, DEFAULT_POLICY)
    texts = strip.texts()
    assert texts[0] == "I: 1 on track · 0 at risk · 1 breached (longest +3:12:00)"
    assert texts[1].startswith("S: 0 on track · 1 at risk · 0 breached")
    assert texts[3] == "I+S on time today: 50% (1/2)"


def test_message_bar_newest_with_count(qtbot):
    bar = MessageBar()
    qtbot.addWidget(bar)
    bar.show_problem("first")
    bar.show_problem("second")
    assert bar.text() == "(2 messages) second" and not bar.isHidden()
    with qtbot.waitSignal(bar.dismissed):
        bar.dismiss()
    assert bar.isHidden() and bar.messages == []


def test_signin_submits_and_keeps_text_on_error(qtbot):
    dialog = SignInDialog(url="https://desk.test")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.username, "jsmith")
    qtbot.keyClicks(dialog.password, "pw")
    with qtbot.waitSignal(dialog.submitted) as blocker:
        qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert blocker.args == ["https://desk.test", "jsmith", "pw"]
    assert not dialog.password.isEnabled() and "Signing in" in dialog.status.text()
    dialog.show_error("Wrong username or password")
    assert dialog.password.isEnabled()
    assert dialog.username.text() == "jsmith" and dialog.password.text() == "pw"
    assert dialog.error.text() == "Wrong username or password"


def test_signin_requires_fields(qtbot):
    dialog = SignInDialog()
    qtbot.addWidget(dialog)
    with qtbot.assertNotEmitted(dialog.submitted):
        dialog.sign_in.click()
    assert "server URL" in dialog.error.text()


def _command(cid, state, message=None):
    return PendingCommand(
        id=cid,
        kind=CommandKind.CLOSE_INCIDENT,
        incident_id=1,
        description=f"Close {cid}",
        created_at=T0,
        state=state,
        message=message,
    )


def test_commands_panel_retry_discard_and_held(qtbot):
    commands = RecordingCommands()
    panel = CommandsPanel(commands)
    qtbot.addWidget(panel)
    counts = []
    panel.attention_changed.connect(counts.append)
    panel.set_commands(
        [
            _command("a", CommandState.SENT),
            _command("b", CommandState.FAILED, "Rationale refused"),
            _command("c", CommandState.HELD, "Older than 10 minutes, not sent"),
        ]
    )
    assert counts == [2]
    assert panel.table.item(1, 3).text() == "Rationale refused"
    assert panel.button("a", "Retry") is None
    panel.button("b", "Retry").click()
    panel.button("b", "Discard").click()
    panel.button("c", "Send").click()
    assert commands.calls == [("retry", ("b",)), ("discard", ("b",)), ("retry", ("c",))]
    assert "2 need your decision" in panel.summary.text()
    commands.calls.clear()
    panel.show()
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow)
    panel.table.setFocus()
    panel.table.selectRow(0)  # SENT: nothing to retry
    qtbot.keyClick(panel.table, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    panel.table.selectRow(1)
    qtbot.keyClick(panel.table, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    panel.table.selectRow(2)
    qtbot.keyClick(panel.table, Qt.Key.Key_Delete)
    assert commands.calls == [("retry", ("b",)), ("discard", ("c",))]
    panel.set_commands([])
    assert panel.table.rowCount() == 0 and panel.summary.text() == "No commands waiting."
