"""A desk restarted with the backend down shows everything its cache holds, at once: the
queue's warning flags, the warning panel (Ctrl+W) and the units board (issue 9, item 8).

Two tests of the same thing: the desk in-process (one qasync loop, as in production; fast),
and the real thing: the desk as a process, killed with SIGKILL, the server stopped, the desk
started again.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import qasync

from dispatchdesk.app.config import Config
from dispatchdesk.app.desk import Desk, shown_summary
from dispatchdesk.domain.commands import ConnectionState
from dispatchdesk.domain.roles import Role
from dispatchdesk.server import EmbeddedServer, ServerSettings, add_user

from .test_demo_and_cli import _free_port, _wait_for_port
from .test_desk import loop, until  # noqa: F401  (fixture)

PASSWORD = "offline-start-pw"
SCHEME_AT = {"uprn": "100023336956", "address": "Rose House, 10 Mill Lane", "postcode": "E1 6AN"}
ORDER_AT = {"address": "22 Acacia Avenue", "postcode": "N1 9GU", "uprn": "5550001"}


def _api(url: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=url + "/api/v1", timeout=30)
    reply = client.post("/auth/token", json={"username": username, "password": PASSWORD})
    assert reply.status_code == 200, reply.text
    client.headers["Authorization"] = f"Bearer {reply.json()['access_token']}"
    return client


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post(path, json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 201, r.text
    return dict(r.json())


def seed(url: str) -> dict[str, str]:
    """Two units, a scheme and an order (expiring tomorrow), and an incident at each place;
    returns the refs of the incidents: {"scheme": ref, "order": ref}."""
    sue, cathy = _api(url, "sue"), _api(url, "cathy")
    for callsign in ("LX21", "LX22"):
        _post(sue, "/units", {"callsign": callsign, "kind": "IRV", "borough": "Hackney"})
    _post(
        sue,
        "/schemes",
        {
            "location": SCHEME_AT,
            "category": "VICTIM_AT_RISK",
            "summary": "Victim of DA lives here; ex-partner on bail, not to attend",
            "officer_in_case": "DC 1234 Patel",
            "expires_at": (datetime.now(UTC) + timedelta(days=90)).isoformat(),
        },
    )
    tomorrow = date.today() + timedelta(days=1)
    _post(
        sue,
        "/orders",
        {
            "order_type": "NON_MOLESTATION",
            "subject": {"name": "Gary Hollis", "dob": "1984-03-09"},
            "locations": [ORDER_AT],
            "conditions": "Not to come within 100 m of 22 Acacia Avenue",
            "issued_on": "2026-01-05",
            "expires_on": tomorrow.isoformat(),
            "source_ref": "FAM-1",
        },
    )
    refs = {}
    for kind, where in (
        ("scheme", {**SCHEME_AT, "borough": "Tower Hamlets"}),
        ("order", {**ORDER_AT, "borough": "Islington"}),
    ):
        refs[kind] = str(
            _post(
                cathy,
                "/incidents",
                {"grade": "I", "type": "Domestic", "summary": "Shouting heard", "location": where},
            )["ref"]
        )
    sue.close()
    cathy.close()
    return refs


def _users(db: str) -> None:
    for name, role in (
        ("sue", Role.SUPERVISOR),
        ("cathy", Role.CALL_HANDLER),
        ("dan", Role.DISPATCHER),
    ):
        add_user(db, name, role, PASSWORD)


def _check_cached_view(summary: dict[str, Any], refs: dict[str, str]) -> None:
    assert summary["units"] == ["LX21", "LX22"], "the units board, from the cache"
    assert set(summary["flags"]) == set(refs.values())
    assert "⚠ SCHEME" in summary["flags"][refs["scheme"]]
    assert "⚠ ORDER" in summary["flags"][refs["order"]]
    [scheme] = summary["warnings"][refs["scheme"]]
    assert scheme.startswith("scheme ") and "Victim at risk" in scheme
    [order] = summary["warnings"][refs["order"]]
    assert order.startswith("order ") and "Non-molestation" in order


def test_offline_restart_shows_flags_panel_and_units_from_the_cache(
    loop: qasync.QEventLoop,  # noqa: F811
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path / 'server.db'}"
    server = EmbeddedServer(ServerSettings(db_url=db, port=0, heartbeat_seconds=1))
    server.start()
    _users(db)
    refs = seed(server.url)

    def new_desk() -> Desk:
        return Desk(
            Config(),
            server_url=server.url,
            demo_role=Role.DISPATCHER,
            demo_rate=1,
            base_dir=tmp_path / "desk",
            username="dan",
            password=PASSWORD,
        )

    async def online_shift() -> None:
        desk = new_desk()
        await desk.open()
        window = desk.window
        assert window is not None
        await until(lambda: window.banner.info.state is ConnectionState.ONLINE, "online")
        await until(lambda: not window.incident_warnings.busy, "the flags")
        _check_cached_view(shown_summary(window, "online"), refs)
        await asyncio.to_thread(server.stop)
        window.close()
        await desk.shutdown()

    async def offline_restart() -> None:
        desk = new_desk()
        await desk.open()
        window = desk.window
        assert window is not None and desk.sign_in_dialog is not None, "not signed in"
        assert window.banner.info.state is ConnectionState.OFFLINE
        # At once, before any sign-in: the board is there when open() returns, the warnings
        # as soon as the cache's worker has read them.
        assert sorted(u.callsign for u in window.units()) == ["LX21", "LX22"]
        assert desk.engine is not None
        await desk.engine.cache_shown()
        assert len(window.incident_warnings.index) == 2
        await until(lambda: not window.incident_warnings.busy, "the flags")
        _check_cached_view(shown_summary(window, "cache"), refs)
        # Ctrl+W on the order's incident pops the panel with the order on it.
        incident = next(i for i in window.model.incidents() if i.ref == refs["order"])
        assert window.selection_keeper.select_incident(incident.id)
        window.act_warnings.trigger()
        panel = window.warning_desk.warning_panel
        assert panel.isVisible() and [r.kind for r in panel.refs()] == ["order"]
        assert "TOMORROW" in panel.cards[0].expiry.text()
        panel.hide()
        # The server comes back and the operator signs in: the feed resumes from the cursor;
        # nothing shown from the cache is lost or doubled on the way.
        await asyncio.to_thread(server.start)  # same port
        dialog = desk.sign_in_dialog
        assert dialog is not None
        dialog.username.setText("dan")
        dialog.password.setText(PASSWORD)
        dialog.sign_in.click()
        await until(lambda: window.banner.info.state is ConnectionState.ONLINE, "online")
        assert desk.window is window, "same role: the same window"
        await until(lambda: not window.incident_warnings.busy, "the flags")
        _check_cached_view(shown_summary(window, "online"), refs)
        window.close()
        await desk.shutdown()

    try:
        loop.run_until_complete(online_shift())
        loop.run_until_complete(offline_restart())
    finally:
        server.stop()


def _desk_process(url: str, data: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(data / "config"),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dispatchdesk.app",
            "--server",
            url,
            "--user",
            "dan",
            "--password-stdin",
            "--data-dir",
            str(data),
            "--print-shown",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdin is not None
    process.stdin.write(PASSWORD + "\n")
    process.stdin.close()
    return process


def _summary(process: subprocess.Popen[str], source: str) -> dict[str, Any]:
    """The desk's --print-shown line for ``source`` (blocks on its stdout, 120 s at most)."""
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("{"):
            summary: dict[str, Any] = json.loads(line)
            if summary["source"] == source:
                return summary
    raise AssertionError(f"the desk exited (code {process.wait()}) before showing {source!r}")


@pytest.mark.timeout(300)
def test_desk_killed_then_started_with_the_server_down_shows_the_cache(tmp_path: Path) -> None:
    """kill -9 the desk, stop the server, start the desk: flags, panel and board are there."""
    db = f"sqlite:///{tmp_path / 'server.db'}"
    _users(db)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "dispatchdesk.app", "serve", "--db", db, "--port", str(port)],
        env=env,
    )
    desk: subprocess.Popen[str] | None = None
    try:
        _wait_for_port(port, server)
        refs = seed(url)
        desk = _desk_process(url, tmp_path / "desk")
        _check_cached_view(_summary(desk, "online"), refs)  # the cache has it all now
        desk.send_signal(signal.SIGKILL)
        desk.wait(timeout=30)
        server.terminate()
        server.wait(timeout=30)

        desk = _desk_process(url, tmp_path / "desk")
        offline = _summary(desk, "cache")
        _check_cached_view(offline, refs)
        assert offline["incidents"] == 2
    finally:
        for process in (desk, server):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=30)
