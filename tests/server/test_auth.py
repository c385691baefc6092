"""Sign-in, tokens, rights, and the server-time header."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from dispatchdesk.domain.clock import FakeClock
from dispatchdesk.protocol import API_PREFIX
from dispatchdesk.server import create_app

from .conftest import PASSWORD, Api, Desk, incident_body


def test_token_carries_role_and_username(desk: Desk) -> None:
    r = desk.client.post(f"{API_PREFIX}/auth/token", json={"username": "dan", "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["role"] == "dispatcher"
    assert body["username"] == "dan"
    assert len(body["access_token"]) >= 32


def test_bad_credentials_are_401(desk: Desk) -> None:
    bad = ({"username": "dan", "password": "wrong"}, {"username": "nobody", "password": "x"})
    for creds in bad:
        r = desk.client.post(f"{API_PREFIX}/auth/token", json=creds)
        assert r.status_code == 401
        assert "password" in r.json()["detail"]


def test_no_token_or_bad_token_is_401(desk: Desk) -> None:
    for api in (Api(desk.client, None), Api(desk.client, "not-a-token")):
        for path in ("/snapshot", "/changes?since=0", "/incidents/1", "/audit", "/events"):
            r = api.get(path)
            assert r.status_code == 401, (path, r.text)
            assert r.json()["detail"]
        r = api.create()
        assert r.status_code == 401


def test_token_expires(desk: Desk, clock: FakeClock) -> None:
    assert desk.dan.get("/snapshot").status_code == 200
    clock.advance(desk.settings.token_ttl + timedelta(seconds=1))
    r = desk.dan.get("/snapshot")
    assert r.status_code == 401
    assert "expired" in r.json()["detail"]


def test_token_survives_a_restart(desk: Desk) -> None:
    with TestClient(create_app(desk.settings)) as other:
        assert Api(other, desk.dan.token).get("/snapshot").status_code == 200


def test_call_handler_cannot_close_or_change_status(desk: Desk) -> None:
    inc = desk.cathy.create().json()
    r = desk.cathy.patch(
        f"/incidents/{inc['id']}", json={"status": "ASSIGNED"}, headers={"If-Match": "1"}
    )
    assert r.status_code == 403
    assert "change_status" in r.json()["detail"]
    r = desk.cathy.post(
        f"/incidents/{inc['id']}/close",
        json={"rationale": "x" * 40},
        headers={"Idempotency-Key": "k1"},
    )
    assert r.status_code == 403
    assert "close_incident" in r.json()["detail"]
    # but a call handler may regrade and edit the summary
    r = desk.cathy.patch(
        f"/incidents/{inc['id']}",
        json={"grade": "I", "summary": "Now armed"},
        headers={"If-Match": "1"},
    )
    assert r.status_code == 200, r.text


def test_audit_is_for_supervisors(desk: Desk) -> None:
    assert desk.dan.get("/audit").status_code == 403
    assert desk.sue.get("/audit").status_code == 200


def test_every_response_carries_server_time(desk: Desk, clock: FakeClock) -> None:
    for r in (
        desk.dan.get("/snapshot"),
        desk.dan.get("/incidents/999"),
        Api(desk.client, None).get("/snapshot"),
        desk.dan.post(
            "/incidents", json=incident_body(grade="Q"), headers={"Idempotency-Key": "a"}
        ),
    ):
        assert r.headers["X-Server-Time"] == clock.now().isoformat(), r.status_code


def test_openapi_lists_the_paths(desk: Desk) -> None:
    doc = desk.client.get("/openapi.json").json()
    paths = set(doc["paths"])
    for p in (
        "/auth/token",
        "/snapshot",
        "/changes",
        "/events",
        "/incidents",
        "/incidents/{incident_id}",
        "/incidents/{incident_id}/close",
        "/audit",
    ):
        assert API_PREFIX + p in paths
    assert doc["paths"][f"{API_PREFIX}/snapshot"]["get"]["summary"]
