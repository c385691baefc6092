"""The whole desk as an operator meets it: sign in, live queue, a command, the server going
away, and a restart with the backend down. Real server on loopback, real cache, real window
(offscreen), one qasync loop as in production.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import qasync
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from dispatchdesk.app.config import Config
from dispatchdesk.app.desk import Desk
from dispatchdesk.domain.commands import ConnectionState
from dispatchdesk.domain.grades import Grade
from dispatchdesk.domain.incident import Location
from dispatchdesk.domain.roles import Role
from dispatchdesk.gui.queue.window import QueueWindow
from dispatchdesk.server import EmbeddedServer, ServerSettings, add_user
from dispatchdesk.sync.api import IncidentDraft

TIMEOUT = 30.0


@pytest.fixture
def loop(qapp: QApplication, tmp_path: Path) -> Iterator[qasync.QEventLoop]:
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    qapp.setQuitOnLastWindowClosed(False)  # as run_desk does: the desk decides when to quit
    event_loop = qasync.QEventLoop(qapp, already_running=False)
    asyncio.set_event_loop(event_loop)
    yield event_loop
    event_loop.close()
    asyncio.set_event_loop(None)
    qapp.setQuitOnLastWindowClosed(True)


async def until(condition: Callable[[], object], what: str) -> None:
    """Let the loop run until ``condition()`` holds (the asyncio twin of qtbot.waitUntil)."""
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def _draft(summary: str) -> IncidentDraft:
    return IncidentDraft(
        grade=Grade.IMMEDIATE,
        type="Domestic",
        summary=summary,
        location=Location(
            "Flat 2, Wren House, 14 Mare Street, London",
            "E8 4RP",
            "Hackney",
            uprn="100021000281",
            parent_uprn="100021000280",
        ),
    )


def test_sign_in_live_queue_command_outage_and_offline_restart(
    loop: qasync.QEventLoop, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'server.db'}"
    server = EmbeddedServer(ServerSettings(db_url=db, port=0, heartbeat_seconds=1))
    server.start()
    add_user(db, "jsmith", Role.CALL_HANDLER, "call-handler-pw")
    url = server.url

    def new_desk() -> Desk:
        return Desk(
            Config(),
            server_url=url,
            demo_role=Role.DISPATCHER,
            demo_rate=1,
            base_dir=tmp_path / "desk",
        )

    async def first_shift() -> None:
        desk = new_desk()
        await desk.open()
        assert desk.window is None, "no cache yet: nothing to show before sign-in"
        dialog = desk.sign_in_dialog
        assert dialog is not None and dialog.isVisible() and not dialog.isModal()
        dialog.username.setText("jsmith")
        dialog.password.setText("wrong")
        dialog.sign_in.click()
        await until(lambda: dialog.error.isVisible(), "the wrong-password message")
        assert "Wrong username or password" in dialog.error.text()
        assert dialog.username.text() == "jsmith", "what was typed stays"
        dialog.password.setText("call-handler-pw")
        dialog.sign_in.click()
        await until(lambda: desk.window is not None, "the queue window")
        window = desk.window
        assert window is not None and "Call handler" in window.windowTitle()
        assert not desk.closed.is_set(), "the sign-in window closing is not a cancel"
        await until(lambda: window.banner.info.state is ConnectionState.ONLINE, "online")

        assert desk.engine is not None
        desk.engine.create_incident(_draft("Woman screaming, man shouting, glass breaking."))
        await until(lambda: len(window.model.incidents()) == 1, "the new incident in the queue")
        await until(lambda: not desk.engine.commands, "the command confirmed by the feed")
        incident = window.model.incidents()[0]
        assert incident.ref.startswith("CAD ") and incident.grade is Grade.IMMEDIATE

        await asyncio.to_thread(server.stop)
        await until(lambda: window.banner.info.state is not ConnectionState.ONLINE, "offline")
        # A command issued while the backend is down waits in the durable outbox.
        desk.engine.create_incident(_draft("Second call: neighbour reports the same address."))
        await until(lambda: len(desk.engine.commands) == 1, "the command queued")
        window.close()  # Ctrl+Q asks first: one command is unsent
        box = window.quit_guard.box
        assert box is not None and box.isVisible() and not desk.closed.is_set()
        assert box.informativeText().startswith("1 command is not sent yet.")
        window.quit_guard.quit_button.click()
        await until(desk.closed.is_set, "the desk closed once the operator said Quit")
        await desk.shutdown()

    async def restart_with_backend_down() -> None:
        desk = new_desk()
        started = time.monotonic()
        await desk.open()
        window = desk.window
        assert window is not None, "the last known queue is shown at once"
        assert time.monotonic() - started < 5
        assert [i.summary for i in window.model.incidents()] == [
            "Woman screaming, man shouting, glass breaking."
        ]
        assert window.banner.info.state is ConnectionState.OFFLINE
        assert "OFFLINE" in window.banner.text()
        assert len(window.commands_panel.shown) == 1, "the unsent command survived"
        assert desk.sign_in_dialog is not None and desk.sign_in_dialog.isVisible()
        window.close()
        assert not desk.closed.is_set(), "asked first: the command is still unsent"
        window.quit_guard.quit_button.click()
        assert desk.closed.is_set(), "closing the queue window ends the desk"
        await desk.shutdown()

    try:
        loop.run_until_complete(first_shift())
        loop.run_until_complete(restart_with_backend_down())
    finally:
        server.stop()


def test_demo_desk_signs_in_by_role_and_shows_the_live_queue(
    loop: qasync.QEventLoop, tmp_path: Path
) -> None:
    async def shift() -> None:
        desk = Desk(
            Config(),
            server_url=None,
            demo_role=Role.SUPERVISOR,
            demo_rate=10,
            base_dir=tmp_path,
            demo_history_hours=0.75,
        )
        await desk.open()
        window = desk.window
        assert window is not None and "Supervisor" in window.windowTitle()
        await until(lambda: window.banner.info.state is ConnectionState.ONLINE, "online")
        await until(lambda: len(window.model.incidents()) > 50, "the demo's history")
        assert not window.delay_strip.isHidden(), "supervisors see the delay strip"
        assert desk.engine is not None and desk.engine.cursor is not None
        cursor = desk.engine.cursor
        await until(lambda: (desk.engine.cursor or 0) > cursor, "the simulator's next change")
        window.close()
        await desk.shutdown()

    loop.run_until_complete(shift())


def test_expired_session_asks_for_the_password_and_resumes(
    loop: qasync.QEventLoop, tmp_path: Path
) -> None:
    from datetime import timedelta

    from dispatchdesk.domain.clock import FakeClock

    clock = FakeClock()
    db = f"sqlite:///{tmp_path / 'server.db'}"
    settings = ServerSettings(
        db_url=db, port=0, heartbeat_seconds=1, clock=clock, token_ttl=timedelta(hours=12)
    )
    server = EmbeddedServer(settings)
    server.start()
    add_user(db, "ann", Role.DISPATCHER, "dispatcher-pw")

    async def shift() -> None:
        desk = Desk(
            Config(),
            server_url=server.url,
            demo_role=Role.DISPATCHER,
            demo_rate=1,
            base_dir=tmp_path / "desk",
            username="ann",
            password="dispatcher-pw",
        )
        await desk.open()
        window = desk.window
        assert window is not None and desk.sign_in_dialog is None
        await until(lambda: window.banner.info.state is ConnectionState.ONLINE, "online")
        clock.advance(timedelta(hours=13))  # the shift outlived the token
        await asyncio.to_thread(server.stop)
        await asyncio.to_thread(server.start)  # same port; the stream reconnects: 401
        await until(
            lambda: desk.sign_in_dialog is not None and desk.sign_in_dialog.isVisible(),
            "the sign-in window",
        )
        assert len(window.model.incidents()) == 0 and desk.window is window, "queue kept"
        dialog = desk.sign_in_dialog
        assert dialog is not None
        dialog.password.setText("dispatcher-pw")
        dialog.sign_in.click()
        await until(lambda: window.banner.info.state is ConnectionState.ONLINE, "online again")
        window.close()
        await desk.shutdown()

    try:
        loop.run_until_complete(shift())
    finally:
        server.stop()


def test_unreadable_cache_is_set_aside_and_the_desk_still_starts(
    loop: qasync.QEventLoop, tmp_path: Path
) -> None:
    from dispatchdesk.app.paths import cache_file

    url = "http://127.0.0.1:9"
    broken = cache_file(tmp_path, url)
    broken.write_bytes(b"this is not an SQLite database" * 100)

    async def shift() -> None:
        desk = Desk(
            Config(), server_url=url, demo_role=Role.DISPATCHER, demo_rate=1, base_dir=tmp_path
        )
        await desk.open()
        assert desk.sign_in_dialog is not None, "the desk started and asks to sign in"
        kept = [p for p in broken.parent.iterdir() if ".unreadable-" in p.name]
        assert len(kept) == 1 and kept[0].read_bytes().startswith(b"this is not"), "kept for IT"
        assert desk._unshown_problems and "set aside" in desk._unshown_problems[0]
        await desk.shutdown()

    loop.run_until_complete(shift())


def test_signed_out_asks_for_the_password_only_with_a_server(
    loop: qasync.QEventLoop, tmp_path: Path
) -> None:
    """The relay's ``signed_out`` (the engine's on_signed_out) brings the sign-in window; the
    demo signs itself in and asks nothing."""
    demo = Desk(
        Config(),
        server_url=None,
        demo_role=Role.DISPATCHER,
        demo_rate=1,
        base_dir=tmp_path / "demo",
    )
    demo.relay.on_signed_out("Not signed in to the server: the session has expired.")
    assert demo.sign_in_dialog is None
    desk = Desk(
        Config(),
        server_url="https://cad.example.invalid",
        demo_role=Role.DISPATCHER,
        demo_rate=1,
        base_dir=tmp_path / "desk",
        username="ann",
    )
    desk.relay.on_signed_out("Not signed in to the server: the session has expired.")
    dialog = desk.sign_in_dialog
    assert dialog is not None and dialog.isVisible()
    desk.relay.on_signed_out("Not signed in to the server: the session has expired.")
    assert desk.sign_in_dialog is dialog, "one sign-in window, raised again"
    dialog.close()


def test_another_role_rebuilds_the_window_with_what_the_old_one_showed(
    loop: qasync.QEventLoop, tmp_path: Path
) -> None:
    """The cache opens in the last role's window; signing in with another role rebuilds the
    window (the engine and its relay live on): the new one shows the queue at once, the old
    one is closed and follows the feed no more, and the desk does not end with it."""
    db = f"sqlite:///{tmp_path / 'server.db'}"
    server = EmbeddedServer(ServerSettings(db_url=db, port=0, heartbeat_seconds=1))
    server.start()
    add_user(db, "ann", Role.DISPATCHER, "dispatcher-pw")

    def new_desk() -> Desk:
        return Desk(
            Config(),
            server_url=server.url,
            demo_role=Role.DISPATCHER,
            demo_rate=1,
            base_dir=tmp_path / "desk",
            username="ann",
            password="dispatcher-pw",
        )

    async def first_shift() -> None:
        desk = new_desk()
        await desk.open()
        window = desk.window
        assert window is not None and desk.engine is not None
        desk.engine.create_incident(_draft("Door kicked in, shouting."))
        await until(lambda: len(window.model.incidents()) == 1, "the incident in the queue")
        await until(lambda: not desk.engine.commands, "the command confirmed")
        window.close()
        await desk.shutdown()

    async def next_shift() -> None:
        desk = new_desk()
        desk.settings.setValue(desk._role_key(), Role.CALL_HANDLER.value)  # last time's role
        before = set(QApplication.topLevelWidgets())  # windows of earlier tests stay about
        await desk.open()
        window = desk.window
        assert window is not None and "Dispatcher" in window.windowTitle()
        assert [i.summary for i in window.model.incidents()] == ["Door kicked in, shouting."]
        old = [
            w
            for w in QApplication.topLevelWidgets()
            if w not in before and isinstance(w, QueueWindow) and "Call handler" in w.windowTitle()
        ]
        assert len(old) == 1 and not old[0].isVisible(), "the cache's window, closed"
        await until(lambda: window.banner.info.state is ConnectionState.ONLINE, "online")
        assert not desk.closed.is_set(), "the old window's close does not end the desk"
        assert desk.engine is not None
        desk.engine.create_incident(_draft("Second call about the same door."))
        await until(lambda: len(window.model.incidents()) == 2, "the new window follows")
        assert len(old[0].model.incidents()) == 1, "the closed one does not"
        window.close()
        await desk.shutdown()

    try:
        loop.run_until_complete(first_shift())
        loop.run_until_complete(next_shift())
    finally:
        server.stop()
