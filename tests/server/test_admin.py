"""Settings checks, user administration, and request validation details."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from dispatchdesk.domain.clock import FakeClock
from dispatchdesk.domain.roles import Role
from dispatchdesk.protocol import API_PREFIX
from dispatchdesk.server import ServerSettings, add_user, create_app

from .conftest import PASSWORD, Desk, login


def test_settings_defaults_and_checks() -> None:
    s = ServerSettings(db_url="sqlite:///x.db")
    assert (s.host, s.port, s.heartbeat_seconds, s.change_retention) == (
        "127.0.0.1",
        8700,
        10.0,
        100_000,
    )
    assert s.token_ttl == timedelta(hours=12)
    with pytest.raises(ValueError, match="heartbeat"):
        ServerSettings(db_url="sqlite:///x.db", heartbeat_seconds=16)
    with pytest.raises(ValueError, match="change_retention"):
        ServerSettings(db_url="sqlite:///x.db", change_retention=0)


def test_create_app_is_idempotent_and_add_user_replaces(desk: Desk) -> None:
    url = desk.settings.db_url
    desk.cathy.create()
    add_user(url, "cathy", Role.SUPERVISOR, "a new password")
    with TestClient(create_app(desk.settings)) as client:
        # the old token was revoked with the old password
        assert (
            client.get(
                f"{API_PREFIX}/snapshot", headers={"Authorization": f"Bearer {desk.cathy.token}"}
            ).status_code
            == 401
        )
        bad = client.post(
            f"{API_PREFIX}/auth/token", json={"username": "cathy", "password": PASSWORD}
        )
        assert bad.status_code == 401
        r = client.post(
            f"{API_PREFIX}/auth/token", json={"username": "cathy", "password": "a new password"}
        )
        assert r.json()["role"] == "supervisor"
        assert len(login(client, "dan").get("/snapshot").json()["incidents"]) == 1


def test_patch_validation(desk: Desk) -> None:
    inc = desk.cathy.create().json()
    path = f"/incidents/{inc['id']}"
    r = desk.dan.patch(path, json={}, headers={"If-Match": "1"})
    assert r.status_code == 422
    assert "Nothing to change" in r.json()["detail"]
    r = desk.dan.patch(path, json={"sumary": "typo"}, headers={"If-Match": "1"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "sumary"]
    r = desk.dan.patch(path, json={"summary": "x"}, headers={"If-Match": "v1"})
    assert r.status_code == 400
    assert "version number" in r.json()["detail"]


def test_appointment_moves_extended_deadline(desk: Desk) -> None:
    inc = desk.cathy.create(grade="E").json()
    assert inc["deadline"] is not None  # the policy default until one is agreed
    r = desk.cathy.patch(
        f"/incidents/{inc['id']}",
        json={"appointment_at": "2026-11-25T10:00:00+00:00"},
        headers={"If-Match": "1"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["deadline"].startswith("2026-11-25T10:00:00")


def test_old_idempotency_records_expire(desk: Desk, clock: FakeClock) -> None:
    desk.cathy.create(key="old")
    clock.advance(desk.settings.idempotency_retention + timedelta(days=1))
    desk.cathy = login(desk.client, "cathy")
    desk.cathy.create(key="trigger-pruning")
    r = desk.cathy.create(key="old", summary="A new command under a recycled key")
    assert r.status_code == 201
