"""Anonymity only when the caller asks (issue 12), over HTTP against the real server."""

from __future__ import annotations

from datetime import datetime, timedelta

from dispatchdesk.domain.clock import FakeClock

from .conftest import START, Desk
from .helpers import changes_since, cursor, incident, key

ANON = {"phone": "07700 900123", "anonymous": True, "anonymity_requested": True}


def test_anonymous_without_the_callers_request_is_refused(desk: Desk) -> None:
    r = desk.cathy.create(caller={"phone": "07700 900123", "anonymous": True})
    assert r.status_code == 422, r.text
    [problem] = r.json()["detail"]
    assert problem["loc"] == ["body", "caller", "anonymous"]
    assert "only when the caller asks for it" in problem["msg"]
    assert desk.sue.get("/snapshot").json()["incidents"] == []
    # refused and audited, nothing created
    audit = desk.sue.get("/audit", params={"entity": "incident"}).json()
    assert [a["action"] for a in audit] == ["refused_create_incident"]


def test_anonymity_at_the_callers_request_is_recorded_with_who_and_when(
    desk: Desk, clock: FakeClock
) -> None:
    clock.advance(timedelta(minutes=2))
    since = cursor(desk.sue)
    r = desk.cathy.create(caller=ANON)
    assert r.status_code == 201, r.text
    caller = r.json()["caller"]
    assert caller["anonymous"] is True and caller["anonymity_requested"] is True
    assert caller["anonymity_recorded_by"] == "cathy"
    assert datetime.fromisoformat(caller["anonymity_recorded_at"]) == START + timedelta(minutes=2)
    # synced: the change feed and the snapshot carry the record
    [change] = changes_since(desk.dan, since)
    assert change["data"]["caller"]["anonymity_recorded_by"] == "cathy"
    snap = desk.dan.get("/snapshot").json()
    assert snap["incidents"][0]["caller"]["anonymity_recorded_by"] == "cathy"


def test_a_record_sent_by_the_client_is_replaced_by_the_servers(desk: Desk) -> None:
    forged = {
        **ANON,
        "anonymity_recorded_by": "sue",
        "anonymity_recorded_at": "2020-01-01T00:00:00+00:00",
    }
    caller = desk.cathy.create(caller=forged).json()["caller"]
    assert caller["anonymity_recorded_by"] == "cathy"
    assert caller["anonymity_recorded_at"].startswith("2026-11-23")
    # not anonymous: no record at all, whatever is sent
    plain = {"name": "Ann Smith", "anonymity_recorded_by": "sue"}
    caller = desk.cathy.create(caller=plain).json()["caller"]
    assert caller["anonymity_recorded_by"] is None and caller["anonymity_recorded_at"] is None


def test_old_clients_sending_anonymous_false_keep_working(desk: Desk) -> None:
    r = desk.cathy.create(caller={"name": "Ann Smith", "phone": "07700 900123", "anonymous": False})
    assert r.status_code == 201, r.text
    assert r.json()["caller"]["anonymous"] is False
    assert desk.cathy.create().status_code == 201  # no caller at all


def test_no_edit_makes_a_caller_anonymous_afterwards(desk: Desk) -> None:
    inc = desk.cathy.create(caller={"name": "Ann Smith", "phone": "07700 900123"}).json()
    path = f"/incidents/{inc['id']}"
    for body in (
        {"caller": {"anonymous": True}},
        {"caller": {"anonymous": True, "anonymity_requested": True}},
        {"anonymous": True},
    ):
        r = desk.sue.patch(path, json=body, headers={"If-Match": "1"})
        assert r.status_code == 422, r.text
    # nor by the close or a task command (bodies are strict)
    r = desk.sue.post(
        f"{path}/close",
        json={"rationale": "Ann Smith spoke to officers at length", "caller": ANON},
        headers=key(),
    )
    assert r.status_code == 422
    assert incident(desk.sue, inc["id"])["caller"]["anonymous"] is False
