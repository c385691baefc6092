"""The embedded demo backend and the command line, as a newcomer and a force's scripts use them."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from dispatchdesk.app import cli
from dispatchdesk.app.demo import DemoBackend
from dispatchdesk.domain.roles import Role


def _sign_in(url: str, username: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=url + "/api/v1", timeout=10)
    reply = client.post("/auth/token", json={"username": username, "password": password})
    assert reply.status_code == 200, reply.text
    client.headers["Authorization"] = f"Bearer {reply.json()['access_token']}"
    return client


def _first_event_after(client: httpx.Client, cursor: int) -> dict[str, object]:
    """Block on the SSE stream until the next change arrives (no sleeping, no polling)."""
    with client.stream(
        "GET", "/events", headers={"Last-Event-ID": str(cursor)}, timeout=httpx.Timeout(30)
    ) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                return dict(json.loads(line[5:]))
    raise AssertionError("stream ended without an event")


def test_demo_backend_opens_with_history_and_keeps_feeding(tmp_path: Path) -> None:
    demo = DemoBackend(tmp_path, rate_per_minute=6, history_hours=1.5, seed=3)
    demo.start()
    try:
        for role in Role:
            sign_in = demo.sign_in_for(role)
            client = _sign_in(sign_in.url, sign_in.username, sign_in.password)
        snapshot = client.get("/snapshot").json()
        statuses = Counter(i["status"] for i in snapshot["incidents"])
        grades = Counter(i["grade"] for i in snapshot["incidents"])
        assert set(statuses) >= {"OPEN", "ASSIGNED", "AT_SCENE", "CLOSED"}, statuses
        assert set(grades) == {"I", "S", "E", "R"}
        event = _first_event_after(client, snapshot["cursor"])
        assert event["seq"] == snapshot["cursor"] + 1
    finally:
        demo.stop()
    # A restart keeps the database and its history (the desk's cache stays valid).
    again = DemoBackend(tmp_path, rate_per_minute=1, history_hours=1.5)
    assert not again.is_fresh


def test_demo_history_has_significant_breaches(tmp_path: Path) -> None:
    from dispatchdesk.server import add_user, create_app  # noqa: F401  (creates the schema)
    from dispatchdesk.server.db import create_schema, make_engine
    from dispatchdesk.server.simulation.seeding import play_history

    url = f"sqlite:///{tmp_path / 'h.db'}"
    create_schema(make_engine(url))
    add_user(url, "sim", Role.DISPATCHER, "password123")
    playback = play_history(url, "sim", timedelta(hours=2), rate=3, seed=11, units=120)
    assert playback.steps and all(delay > 0 for delay, _, _ in playback.steps)
    assert playback.sent and playback.marked


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    """Until the server accepts connections; fails at once if the process died."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server process exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)  # waiting on another process to bind, not on our own code
    raise AssertionError("server did not start listening")


def test_users_add_reads_the_password_from_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = f"sqlite:///{tmp_path / 'server.db'}"
    monkeypatch.setattr(sys, "stdin", io.StringIO("correct-horse\n"))
    assert cli.main(["users", "add", "jsmith", "--role", "supervisor", "--db", db]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert cli.main(["users", "add", "weak", "--role", "dispatcher", "--db", db]) == 2


def test_serve_and_simulate_as_separate_processes(tmp_path: Path) -> None:
    """``serve --db``, ``users add --db`` and ``simulate --seed`` exactly as the README says."""
    db = f"sqlite:///{tmp_path / 'server.db'}"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    run = [sys.executable, "-m", "dispatchdesk.app"]
    for name, role in (("sim", "dispatcher"), ("boss", "supervisor")):
        subprocess.run(
            [*run, "users", "add", name, "--role", role, "--db", db],
            input="sim-password\n",
            text=True,
            check=True,
            env=env,
        )
    port = _free_port()
    server = subprocess.Popen([*run, "serve", "--db", db, "--port", str(port)], env=env)
    try:
        _wait_for_port(port, server)
        url = f"http://127.0.0.1:{port}"
        done = subprocess.run(
            [
                *run,
                "simulate",
                "--server",
                url,
                "--user",
                "sim",
                "--rate",
                "600",
                "--seed",
                "4",
                "--count",
                "12",
                "--speed",
                "100000",
            ],
            input="sim-password\n",
            text=True,
            capture_output=True,
            env=env,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "simulated 12 incidents" in done.stdout
        client = _sign_in(url, "boss", "sim-password")
        snapshot = client.get("/snapshot").json()
        assert len(snapshot["incidents"]) == 12
        wrong = subprocess.run(
            [*run, "simulate", "--server", url, "--user", "sim", "--rate", "1", "--count", "1"],
            input="not-the-password\n",
            text=True,
            capture_output=True,
            env=env,
            timeout=60,
        )
        assert wrong.returncode == 1 and "refused" in wrong.stderr
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_ca_bundle_setting_makes_the_client_trust_that_ca(tmp_path: Path) -> None:
    import shutil
    import ssl

    from dispatchdesk.app.config import Config, ConfigError
    from dispatchdesk.app.desk import client_transport

    assert client_transport(Config()) is None
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a test CA")
    ca = tmp_path / "force-ca.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=Test Force CA",
            "-keyout",
            str(tmp_path / "ca.key"),
            "-out",
            str(ca),
        ],
        check=True,
        capture_output=True,
    )
    transport = client_transport(Config(ca_bundle=str(ca)))
    assert transport is not None
    context = transport._pool._ssl_context
    assert isinstance(context, ssl.SSLContext)
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "Test Force CA"),),)]
    with pytest.raises(ConfigError, match="cannot be read"):
        client_transport(Config(ca_bundle=str(tmp_path / "missing.pem")))


def test_units_import_and_bulk_import_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``dispatchdesk units import`` and ``dispatchdesk import schemes``: all rows or none."""
    db = f"sqlite:///{tmp_path / 'server.db'}"
    good = tmp_path / "fleet.csv"
    good.write_text("callsign,kind,borough\nLX21,IRV,Hackney\nLX22,Area car,Hackney\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("callsign,kind,borough\nLX31,IRV,Hackney\n,IRV,Hackney\n")
    assert cli.main(["units", "import", str(good), "--db", db]) == 0
    assert "2 units imported" in capsys.readouterr().out
    assert cli.main(["units", "import", str(bad), "--db", db]) == 1
    err = capsys.readouterr().err
    assert "nothing imported" in err and "line 3" in err
    schemes = tmp_path / "schemes.csv"
    schemes.write_text("not,the,right,columns\n1,2,3,4\n")
    assert cli.main(["import", "schemes", str(schemes), "--db", db]) == 1
