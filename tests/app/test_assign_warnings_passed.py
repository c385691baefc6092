"""Warnings reach the unit sent (issue 9, item 9), end to end: the assign window of a real desk
lists the incident's warnings, the assignment waits in the outbox while the server is down
carrying ``warnings_passed``, and once the server is back its audit says which warnings the
unit was told of (schemes by id and category only)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import qasync
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from dispatchdesk.app.config import Config
from dispatchdesk.app.desk import Desk
from dispatchdesk.domain.commands import CommandKind, ConnectionState
from dispatchdesk.domain.roles import Role
from dispatchdesk.server import EmbeddedServer, ServerSettings

from .test_desk import loop, until  # noqa: F401  (fixture)
from .test_offline_start import PASSWORD, _api, _users, seed


def test_assignment_from_the_window_records_the_warnings_passed_even_via_the_outbox(
    loop: qasync.QEventLoop,  # noqa: F811
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path / 'server.db'}"
    server = EmbeddedServer(ServerSettings(db_url=db, port=0, heartbeat_seconds=1))
    server.start()
    _users(db)
    refs = seed(server.url)

    async def shift() -> None:
        desk = Desk(
            Config(),
            server_url=server.url,
            demo_role=Role.DISPATCHER,
            demo_rate=1,
            base_dir=tmp_path / "desk",
            username="dan",
            password=PASSWORD,
        )
        await desk.open()
        window, engine = desk.window, desk.engine
        assert window is not None and engine is not None
        await until(lambda: window.banner.info.state is ConnectionState.ONLINE, "online")
        await until(lambda: len(window.units()) == 2, "the units")
        await until(lambda: not window.incident_warnings.busy, "the flags")
        await asyncio.to_thread(server.stop)
        await until(lambda: window.banner.info.state is not ConnectionState.ONLINE, "offline")

        incident = next(i for i in window.model.incidents() if i.ref == refs["order"])
        window.selection_keeper.select_incident(incident.id)
        window.dispatch.assign()
        dialog = window.dispatch.assign_dialog
        assert dialog is not None and dialog.panel.warnings_box.isVisible()
        [ref] = dialog.panel.warnings_shown()
        assert ref.kind == "order" and dialog.panel.pass_warnings.isChecked()
        dialog.panel.callsign.setText("LX21")
        dialog.panel.completer.popup().hide()
        QTest.keyClick(dialog.panel.callsign, Qt.Key.Key_Return)
        await until(lambda: len(engine.commands) == 1, "the assignment in the outbox")
        [command] = engine.commands
        assert command.kind is CommandKind.ASSIGN_UNIT
        assert command.body == {
            "incident_id": incident.id,
            "warnings_passed": [{"kind": "order", "id": ref.entity_id}],
        }
        assert command.description.endswith("(1 warning passed)")

        await asyncio.to_thread(server.start)  # same port: the desk resumes and sends it
        await until(lambda: not engine.commands, "the assignment confirmed")
        sue = await asyncio.to_thread(_api, server.url, "sue")
        rows = (await asyncio.to_thread(sue.get, "/audit?limit=200")).json()
        sue.close()
        [assigned] = [r for r in rows if r["action"] == "assign_unit"]
        assert assigned["username"] == "dan"
        assert assigned["detail"] == (
            f"LX21 assigned to {refs['order']}; warnings passed to "
            f"LX21: order {ref.entity_id} (NON_MOLESTATION)"
        )
        window.close()
        await desk.shutdown()

    try:
        loop.run_until_complete(shift())
    finally:
        server.stop()
