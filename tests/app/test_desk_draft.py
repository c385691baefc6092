"""A half-typed incident survives the desk going away: typed into the real desk's form, it is
in the cache file while the desk still runs (a kill -9 now would keep it), is offered by the
next desk started on that cache, and goes when the incident is created."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import qasync
from PySide6.QtTest import QTest

from dispatchdesk.app.config import Config
from dispatchdesk.app.desk import Desk
from dispatchdesk.app.paths import cache_file
from dispatchdesk.domain.commands import ConnectionState
from dispatchdesk.domain.grades import Grade
from dispatchdesk.domain.roles import Role
from dispatchdesk.server import EmbeddedServer, ServerSettings, add_user

from .test_desk import loop, until  # noqa: F401  (fixture)

PASSWORD = "call-handler-pw"


def kept_in_file(path: Path) -> dict[str, object] | None:
    """The draft row as another process would read it from the cache file now."""
    db = sqlite3.connect(path)
    try:
        row = db.execute("SELECT data FROM drafts WHERE key = 'new_incident'").fetchone()
    finally:
        db.close()
    return None if row is None else dict(json.loads(row[0]))


def test_a_half_typed_incident_is_offered_by_the_next_desk_and_goes_once_created(
    loop: qasync.QEventLoop,  # noqa: F811
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path / 'server.db'}"
    server = EmbeddedServer(ServerSettings(db_url=db, port=0, heartbeat_seconds=1))
    server.start()
    add_user(db, "jsmith", Role.CALL_HANDLER, PASSWORD)

    def new_desk() -> Desk:
        return Desk(
            Config(),
            server_url=server.url,
            demo_role=Role.DISPATCHER,
            demo_rate=1,
            base_dir=tmp_path / "desk",
            username="jsmith",
            password=PASSWORD,
        )

    path = cache_file(tmp_path / "desk", server.url)

    async def typing_when_it_goes() -> None:
        desk = new_desk()
        await desk.open()
        window = desk.window
        assert window is not None
        await until(lambda: window.banner.info.state is ConnectionState.ONLINE, "online")
        window.incidents.new_incident()
        dialog = window.incidents.new_incident_dialog
        assert dialog is not None
        QTest.keyClicks(dialog.address, "14 Mare Street")
        QTest.keyClicks(dialog.postcode, "E8 4RP")
        dialog.borough.setEditText("Hackney")
        dialog.type.setEditText("Domestic")
        dialog.set_grade(Grade.IMMEDIATE)
        QTest.keyClicks(dialog.summary, "Woman screaming next door")
        row = dialog.add_person()
        assert row is not None
        QTest.keyClicks(row.name, "Gary Hollis")
        QTest.keyClicks(row.dob, "09/03/1984")
        await until(
            lambda: (kept_in_file(path) or {}).get("persons") == [["Gary Hollis", "09/03/1984"]],
            "the draft, persons included, in the cache file while the desk runs",
        )
        # Gone without a word (the window is not closed, nothing is asked or flushed).
        window.quit_guard.confirmed = True
        window.hide()
        await desk.shutdown()

    async def next_start() -> None:
        desk = new_desk()
        await desk.open()
        window = desk.window
        assert window is not None
        note = window.incidents.draft_note
        assert note.isVisible(), "offered at once, from the cache"
        assert "Domestic at 14 Mare Street (1 person named)" in note.text()
        await until(lambda: window.banner.info.state is ConnectionState.ONLINE, "online")
        note.open_button.click()
        dialog = window.incidents.new_incident_dialog
        assert dialog is not None and dialog.isVisible()
        assert dialog.summary.toPlainText() == "Woman screaming next door"
        assert [r.texts() for r in dialog.person_rows] == [("Gary Hollis", "09/03/1984")]
        assert dialog.errors() == {}
        dialog.submit()  # Create
        await until(lambda: not dialog.isVisible(), "the form created the incident")
        await until(lambda: len(window.model.incidents()) == 1, "the incident in the queue")
        assert desk.engine is not None
        await until(lambda: not desk.engine.commands, "the create confirmed")
        assert kept_in_file(path) is None, "created: the draft is gone"
        incident = window.model.incidents()[0]
        assert [p.name for p in incident.persons] == ["Gary Hollis"]
        window.close()
        await desk.shutdown()

    try:
        loop.run_until_complete(typing_when_it_goes())
        loop.run_until_complete(next_start())
    finally:
        server.stop()
