"""While the database cannot be reached (down, restarting, failing over) every request is
answered 503 with a sentence to act on and Retry-After, which desks retry with the same
Idempotency-Key; nothing is half-recorded, and the same key afterwards records it once."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from dispatchdesk.server.runner import CommandRunner

from .conftest import Desk, incident_body
from .helpers import key


def test_a_command_while_the_database_is_away_is_503_and_recorded_once_on_retry(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = desk.dan.get("/snapshot").json()
    real = CommandRunner._run_once

    def unreachable(self: CommandRunner, *args: Any) -> Any:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(CommandRunner, "_run_once", unreachable)
    same = key()
    body = incident_body(summary="Sent while the database was failing over")
    r = desk.cathy.post("/incidents", json=body, headers=same)
    assert r.status_code == 503
    assert r.headers["retry-after"] == "2"
    assert "Idempotency-Key" in r.json()["detail"]

    monkeypatch.setattr(CommandRunner, "_run_once", real)
    first = desk.cathy.post("/incidents", json=body, headers=same)
    again = desk.cathy.post("/incidents", json=body, headers=same)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"
    after = desk.dan.get("/snapshot").json()
    assert after["cursor"] == before["cursor"] + 1  # recorded once
