"""Several API nodes on one database (issue 14): ``dispatchdesk serve`` processes on different
ports, one of them with ``--workers 2``, fanning changes out through LISTEN/NOTIFY on
PostgreSQL and through the SQLite file's data version on SQLite.

Writers commit through node A as fast as they can while desks stream from node B: every desk
gets every change, in order, none missed, none twice. Several workers on an in-memory SQLite
database (each process's own) are refused.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import httpx
import pytest

from dispatchdesk.app.cli import main as cli_main
from dispatchdesk.protocol import API_PREFIX
from dispatchdesk.server import ServerSettings
from tests.bench.common import ServeProcess

from .conftest import PASSWORD, incident_body

WRITERS = 4
COMMANDS_EACH = 40
DESKS = 6
SENTINEL = "The last change of the node test"


def _token(url: str, username: str) -> str:
    r = httpx.post(
        f"{url}{API_PREFIX}/auth/token", json={"username": username, "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def _write(url: str, token: str, n: int, errors: list[str]) -> None:
    """Creates, and an edit of each created incident, through one node."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url + API_PREFIX, headers=headers, timeout=30) as http:
        for i in range(n // 2):
            key = {"Idempotency-Key": uuid.uuid4().hex}
            summary = f"Node test {uuid.uuid4().hex[:8]} call {i}"
            r = http.post("/incidents", json=incident_body(summary=summary), headers=key)
            if r.status_code != 201:
                errors.append(r.text)
                continue
            body = r.json()
            r = http.patch(
                f"/incidents/{body['id']}",
                json={"summary": summary + ", updated"},
                headers={"Idempotency-Key": uuid.uuid4().hex, "If-Match": str(body["version"])},
            )
            if r.status_code != 200:
                errors.append(r.text)


def _stream(url: str, token: str, since: int, ready: threading.Barrier, out: list[Any]) -> None:
    """One desk on the live stream until the sentinel change arrives."""
    with (
        httpx.Client(base_url=url + API_PREFIX, headers=_auth(token), timeout=60) as http,
        http.stream("GET", "/events", params={"since": since}) as r,
    ):
        for line in r.iter_lines():
            if line.startswith(": connected"):
                ready.wait(60)
            elif line.startswith("data: "):
                out.append(json.loads(line.removeprefix("data: ")))
                if out[-1]["data"].get("summary") == SENTINEL:
                    return


@pytest.mark.timeout(300)  # three server processes start on a shared two-core machine
def test_a_change_through_node_a_reaches_every_desk_on_node_b_in_order(
    settings: ServerSettings,
) -> None:
    a, b = ServeProcess(settings.db_url), ServeProcess(settings.db_url, workers=2)
    try:
        for node in (a, b):
            node.launch()
        for node in (a, b):
            node.wait_ready(timeout=150)
        writer, reader = _token(a.url, "cathy"), _token(b.url, "dan")
        snap = httpx.get(f"{b.url}{API_PREFIX}/snapshot", headers=_auth(reader), timeout=30)
        since = int(snap.json()["cursor"])
        ready = threading.Barrier(DESKS + 1)
        seen: list[list[Any]] = [[] for _ in range(DESKS)]
        desks = [
            threading.Thread(target=_stream, args=(b.url, reader, since, ready, out))
            for out in seen
        ]
        for d in desks:
            d.start()
        ready.wait(60)  # every desk is on node B's live stream
        errors: list[str] = []
        writers = [
            threading.Thread(target=_write, args=(a.url, writer, COMMANDS_EACH, errors))
            for _ in range(WRITERS)
        ]
        for w in writers:
            w.start()
        for w in writers:
            w.join(100)
        assert errors == []
        last = httpx.post(
            f"{a.url}{API_PREFIX}/incidents",
            json=incident_body(summary=SENTINEL),
            headers={**_auth(writer), "Idempotency-Key": uuid.uuid4().hex},
        )
        assert last.status_code == 201, last.text
        for d in desks:
            d.join(60)
        expected = _changes(a.url, writer, since)
        assert len(expected) == WRITERS * COMMANDS_EACH + 1
        for out in seen:
            assert [c["seq"] for c in out] == [c["seq"] for c in expected]  # in order, all
            assert out == expected  # the very changes of node A's log
    finally:
        for node in (a, b):
            node.stop()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _changes(url: str, token: str, since: int) -> list[Any]:
    r = httpx.get(
        f"{url}{API_PREFIX}/changes", params={"since": since, "limit": 5000}, headers=_auth(token)
    )
    assert r.status_code == 200, r.text
    assert not r.json()["more"]
    return list(r.json()["changes"])


def test_several_workers_on_an_in_memory_sqlite_database_are_refused_with_a_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli_main(["serve", "--db", "sqlite:///:memory:", "--workers", "2"]) == 2
    err = capsys.readouterr().err
    assert "database file" in err and "--workers" in err
