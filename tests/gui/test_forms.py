"""The dialogs and the detail panel are built from the generated ``ui/*.ui`` forms, and the
themes, icons and settings come from the compiled resources."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit

from dispatchdesk.domain.roles import Role
from dispatchdesk.gui.common import resources
from dispatchdesk.gui.common.settings_dialog import CentralSettings
from dispatchdesk.gui.common.signin import SignInDialog
from dispatchdesk.gui.common.theme import apply_theme, current_theme
from dispatchdesk.gui.forms.ui_incident_detail import Ui_IncidentInfo
from dispatchdesk.gui.forms.ui_signin import Ui_SignInDialog
from dispatchdesk.gui.incident.detail_panel import IncidentDetailPanel
from dispatchdesk.gui.queue.window import QueueWindow
from tests.gui.factories import RecordingCommands, clock


def test_signin_dialog_is_the_designer_form_with_icons(qtbot):
    dialog = SignInDialog(url="https://desk.test", username="jsmith")
    qtbot.addWidget(dialog)
    assert isinstance(dialog.ui, Ui_SignInDialog)
    assert dialog.objectName() == "SignInDialog" and dialog.url.objectName() == "url"
    assert dialog.url.text() == "https://desk.test" and dialog.username.text() == "jsmith"
    assert dialog.password.echoMode() is QLineEdit.EchoMode.Password
    assert dialog.error.isHidden() and dialog.error.property("role") == "error"
    assert not dialog.sign_in.icon().isNull() and not dialog.windowIcon().isNull()
    assert all(field.actions() for field in (dialog.url, dialog.username, dialog.password))


def test_detail_panel_facts_come_from_the_form(qtbot):
    panel = IncidentDetailPanel(
        commands=None,
        role=Role.DISPATCHER,  # type: ignore[arg-type]
        now=lambda: datetime(2026, 1, 1, tzinfo=UTC),
    )
    qtbot.addWidget(panel)
    assert isinstance(panel.info_ui, Ui_IncidentInfo)
    assert len(panel.fields) == 17
    assert all(isinstance(label, QLabel) for label in panel.fields.values())
    assert panel.fields["Downgrade reason"].objectName() == "downgradeReason"
    assert panel.countdown_icon is panel.info_ui.countdownIcon


def test_themes_apply_the_compiled_stylesheets(qapp):
    app = QApplication.instance()
    try:
        apply_theme(app, "high-contrast")
        assert app.styleSheet() == resources.stylesheet("high-contrast")
        assert current_theme(app) == "high-contrast"
    finally:
        apply_theme(app, "normal")
    assert app.styleSheet() == resources.stylesheet("normal")


def test_settings_action_opens_the_settings_dialog_and_sets_the_theme(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    window = QueueWindow(RecordingCommands(), Role.DISPATCHER, clock().now, "jsmith", settings)
    qtbot.addWidget(window)
    window.central_settings = CentralSettings(
        server_url="https://cad.test", locked=frozenset({"server_url"})
    )
    assert window.act_settings.shortcut().toString() == "Ctrl+,"
    window.act_settings.trigger()
    dialog = window.settings_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.ui.serverUrl.text() == "https://cad.test (locked)"
    try:
        dialog.ui.theme.setCurrentIndex(1)
        dialog.ui.buttons.accepted.emit()
        assert current_theme(QApplication.instance()) == "high-contrast"
        assert window.act_contrast.isChecked()
    finally:
        window.set_theme("normal")


def test_listener_sounds_new_immediate_incidents_and_lost_connection(qtbot, tmp_path):
    from dispatchdesk.domain.commands import ConnectionInfo, ConnectionState
    from dispatchdesk.domain.grades import DEFAULT_POLICY, Grade
    from tests.gui.factories import make_incident

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    window = QueueWindow(RecordingCommands(), Role.DISPATCHER, clock().now, "jsmith", settings)
    qtbot.addWidget(window)
    played: list[str] = []
    window.sounds.play = played.append  # type: ignore[method-assign,assignment]
    listener = window.relay
    listener.on_state([make_incident(1, grade=Grade.IMMEDIATE)], DEFAULT_POLICY)
    listener.on_changes([make_incident(1, grade=Grade.IMMEDIATE)], [])  # known: no sound
    listener.on_changes([make_incident(2, grade=Grade.EXTENDED)], [])
    assert played == []
    listener.on_changes([make_incident(3, grade=Grade.IMMEDIATE)], [])
    assert played == ["new-immediate"]
    listener.on_connection(ConnectionInfo(ConnectionState.OFFLINE))  # not online before
    listener.on_connection(ConnectionInfo(ConnectionState.ONLINE))
    listener.on_connection(ConnectionInfo(ConnectionState.OFFLINE))
    assert played == ["new-immediate", "offline"]
