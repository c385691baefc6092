"""Incident commands: create, idempotent replay, PATCH preconditions, regrade, status, close."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from dispatchdesk.domain.clock import FakeClock

from .conftest import START, Desk, incident_body
from .helpers import refused


def _count(desk: Desk) -> tuple[int, int]:
    snap = desk.sue.get("/snapshot").json()
    return len(snap["incidents"]), snap["cursor"]


def test_create_incident(desk: Desk, clock: FakeClock) -> None:
    r = desk.cathy.create(grade="I")
    assert r.status_code == 201, r.text
    inc = r.json()
    assert isinstance(inc["id"], int)
    assert inc["ref"] == "CAD 0001/23NOV26"
    assert inc["version"] == 1
    assert inc["status"] == "OPEN"
    assert inc["grade"] == inc["original_grade"] == "I"
    assert datetime.fromisoformat(inc["created_at"]) == START
    assert datetime.fromisoformat(inc["deadline"]) == START + timedelta(minutes=15)
    assert r.headers["ETag"] == '"1"'
    assert desk.cathy.create().json()["ref"] == "CAD 0002/23NOV26"
    # the counter is per London day
    clock.set(datetime.fromisoformat("2026-11-24T00:30:00+00:00"))
    assert desk.cathy.create().json()["ref"] == "CAD 0001/24NOV26"


def test_extended_deadline_is_the_appointment(desk: Desk) -> None:
    appt = "2026-11-24T14:00:00+00:00"
    inc = desk.cathy.create(grade="E", appointment_at=appt).json()
    assert inc["deadline"] == "2026-11-24T14:00:00Z" or datetime.fromisoformat(
        inc["deadline"]
    ) == datetime.fromisoformat(appt)
    referred = desk.cathy.create(grade="R").json()
    assert referred["deadline"] is None


def test_create_needs_idempotency_key(desk: Desk) -> None:
    r = desk.cathy.post("/incidents", json=incident_body())
    assert r.status_code == 400
    assert "Idempotency-Key" in r.json()["detail"]


def test_create_replay_returns_first_result_and_applies_nothing(desk: Desk) -> None:
    first = desk.cathy.create(key="abc")
    before = _count(desk)
    again = desk.cathy.create(key="abc")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _count(desk) == before == (1, 1)
    changes = desk.sue.get("/changes?since=0").json()["changes"]
    assert len(changes) == 1
    # same key, different request
    r = desk.cathy.create(key="abc", summary="Something else entirely happened")
    assert r.status_code == 422
    assert "different request" in r.json()["detail"]
    # same key, other user
    assert desk.dan.create(key="abc").status_code == 422
    assert _count(desk) == before


def test_invalid_body_is_422_with_field_messages(desk: Desk) -> None:
    r = desk.cathy.create(grade="Q", location={"address": "x", "postcode": "nope", "borough": "y"})
    assert r.status_code == 422
    locs = {tuple(e["loc"]) for e in r.json()["detail"]}
    assert ("body", "grade") in locs
    assert ("body", "location", "postcode") in locs
    assert any("postcode" in e["msg"] for e in r.json()["detail"])


def test_patch_needs_if_match_and_rejects_stale(desk: Desk) -> None:
    inc = desk.cathy.create().json()
    path = f"/incidents/{inc['id']}"
    r = desk.dan.patch(path, json={"summary": "More detail from the caller"})
    assert r.status_code == 428
    assert "If-Match" in r.json()["detail"]
    r = desk.dan.patch(path, json={"summary": "More detail"}, headers={"If-Match": '"1"'})
    assert r.status_code == 200
    assert r.json()["version"] == 2
    r = desk.dan.patch(path, json={"summary": "Even more"}, headers={"If-Match": "1"})
    assert r.status_code == 412
    assert "version 2" in r.json()["detail"]
    assert desk.dan.get(path).json()["summary"] == "More detail"
    assert desk.dan.get("/incidents/999").status_code == 404


def test_replayed_patch_with_stale_if_match_returns_first_result(desk: Desk) -> None:
    inc = desk.cathy.create().json()
    path = f"/incidents/{inc['id']}"
    h = {"If-Match": "1", "Idempotency-Key": "p1"}
    first = desk.dan.patch(path, json={"summary": "Caller now says two men"}, headers=h)
    assert first.status_code == 200
    _, cursor = _count(desk)
    again = desk.dan.patch(path, json={"summary": "Caller now says two men"}, headers=h)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert _count(desk)[1] == cursor
    assert desk.dan.get(path).json()["version"] == 2


def test_downgrade_needs_reason(desk: Desk) -> None:
    inc = desk.cathy.create(grade="I").json()
    path = f"/incidents/{inc['id']}"
    r = desk.cathy.patch(path, json={"grade": "S"}, headers={"If-Match": "1"})
    assert r.status_code == 422
    [err] = r.json()["detail"]
    assert err["loc"] == ["body", "reason"]
    assert "reason" in err["msg"]
    r = desk.cathy.patch(path, json={"grade": "S", "reason": "  "}, headers={"If-Match": "1"})
    assert r.status_code == 422
    r = desk.sue.patch(
        path,
        json={"grade": "S", "reason": "Suspect has left, no injuries"},
        headers={"If-Match": "1"},
    )
    assert r.status_code == 200
    assert r.json()["downgrade_reason"] == "Suspect has left, no injuries"
    assert r.json()["original_grade"] == "I"


def test_regrade_recomputes_deadline_from_original_call_time(desk: Desk, clock: FakeClock) -> None:
    inc = desk.cathy.create(grade="S").json()
    clock.advance(timedelta(minutes=20))
    r = desk.cathy.patch(f"/incidents/{inc['id']}", json={"grade": "I"}, headers={"If-Match": "1"})
    assert r.status_code == 200
    out = r.json()
    assert datetime.fromisoformat(out["deadline"]) == START + timedelta(minutes=15)
    assert datetime.fromisoformat(out["created_at"]) == START
    assert datetime.fromisoformat(out["updated_at"]) == START + timedelta(minutes=20)


def test_status_moves_and_at_scene_sets_attended_at(desk: Desk, clock: FakeClock) -> None:
    """The status follows the units: an assignment makes it ASSIGNED, the first arrival
    AT_SCENE and sets attended_at (a later one keeps it); no edit moves it the other way."""
    inc = desk.cathy.create().json()
    path = f"/incidents/{inc['id']}"
    lx21 = desk.sue.post(
        "/units",
        json={"callsign": "LX21", "kind": "IRV", "borough": "Camden"},
        headers={"Idempotency-Key": "u1"},
    ).json()
    lx22 = desk.sue.post(
        "/units",
        json={"callsign": "LX22", "kind": "IRV", "borough": "Camden"},
        headers={"Idempotency-Key": "u2"},
    ).json()

    def unit(u: dict[str, Any], action: str, **body: Any) -> None:
        r = desk.dan.post(
            f"/units/{u['id']}/{action}",
            json=body or None,
            headers={"Idempotency-Key": f"{action}-{u['id']}"},
        )
        assert r.status_code == 200, r.text

    unit(lx21, "assign", incident_id=inc["id"])
    r = desk.dan.get(path)
    assert r.json()["status"] == "ASSIGNED" and r.json()["attended_at"] is None
    clock.advance(timedelta(minutes=7))
    unit(lx21, "arrive")
    r = desk.dan.get(path)
    assert r.json()["status"] == "AT_SCENE"
    assert datetime.fromisoformat(r.json()["attended_at"]) == START + timedelta(minutes=7)
    clock.advance(timedelta(minutes=7))
    unit(lx22, "assign", incident_id=inc["id"])
    unit(lx22, "arrive")
    r = desk.dan.get(path)
    assert datetime.fromisoformat(r.json()["attended_at"]) == START + timedelta(minutes=7)
    # AT_SCENE -> OPEN or ASSIGNED by an edit: the units say otherwise
    version = str(r.json()["version"])
    for status in ("OPEN", "ASSIGNED"):
        r = desk.dan.patch(path, json={"status": status}, headers={"If-Match": version})
        assert r.status_code == 409, status
        assert "LX21 and LX22" in r.json()["detail"]
    r = desk.dan.patch(path, json={"status": "CLOSED"}, headers={"If-Match": version})
    assert r.status_code == 422


def test_close_rationale_refused_then_accepted(desk: Desk, clock: FakeClock) -> None:
    a = desk.cathy.create().json()
    b = desk.cathy.create().json()
    close = f"/incidents/{a['id']}/close"
    r = desk.dan.post(
        close,
        json={"rationale": "No further police action required."},
        headers={"Idempotency-Key": "c1"},
    )
    assert "stock phrase" in refused(r, "rationale")
    r = desk.dan.post(close, json={"rationale": "no further"}, headers={"Idempotency-Key": "c1"})
    assert "too short" in refused(r)  # a refused key can be used again
    text = "Officers found the rear door forced; owner secured it, crime report 4410 raised."
    clock.advance(60)
    r = desk.dan.post(close, json={"rationale": text}, headers={"Idempotency-Key": "c2"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "CLOSED"
    assert out["version"] == 2
    assert out["rationale"] == text
    assert datetime.fromisoformat(out["closed_at"]) == START + timedelta(seconds=60)
    # another incident's near-identical rationale is refused
    r = desk.dan.post(
        f"/incidents/{b['id']}/close",
        json={"rationale": text + "."},
        headers={"Idempotency-Key": "c3"},
    )
    assert f"the closing rationale of {a['ref']} on 23 Nov 2026 (" in refused(r, "rationale")
    # closed is closed
    r = desk.dan.post(
        close,
        json={"rationale": "A different and specific reason here"},
        headers={"Idempotency-Key": "c4"},
    )
    assert r.status_code == 409
    r = desk.dan.patch(f"/incidents/{a['id']}", json={"summary": "x"}, headers={"If-Match": "2"})
    assert r.status_code == 409


def test_close_needs_key_and_honours_if_match(desk: Desk) -> None:
    inc = desk.cathy.create().json()
    close = f"/incidents/{inc['id']}/close"
    body = {"rationale": "Caller rang back: the noise was a smoke alarm test at number 3."}
    assert desk.dan.post(close, json=body).status_code == 400
    r = desk.dan.post(close, json=body, headers={"Idempotency-Key": "z", "If-Match": "7"})
    assert r.status_code == 412
    r = desk.dan.post(close, json=body, headers={"Idempotency-Key": "z", "If-Match": "1"})
    assert r.status_code == 200


def test_audit_rows_written(desk: Desk) -> None:
    inc = desk.cathy.create().json()
    desk.dan.patch(f"/incidents/{inc['id']}", json={"grade": "I"}, headers={"If-Match": "1"})
    desk.dan.post(
        f"/incidents/{inc['id']}/close",
        json={"rationale": "Unit attended, dispute settled, both parties separated."},
        headers={"Idempotency-Key": "k"},
    )
    rows = desk.sue.get("/audit?limit=10&entity=incident").json()
    assert [r["action"] for r in rows] == ["close_incident", "update_incident", "create_incident"]
    assert [r["username"] for r in rows] == ["dan", "dan", "cathy"]
    assert all(r["entity"] == "incident" and r["entity_id"] == inc["id"] for r in rows)
    assert "upgraded S→I" in rows[1]["detail"]
    assert inc["ref"] in rows[2]["detail"]


def test_refused_commands_are_audited_and_change_nothing(desk: Desk) -> None:
    inc = desk.cathy.create().json()
    r = desk.dan.post(
        f"/incidents/{inc['id']}/close",
        json={"rationale": "Words of advice given"},
        headers={"Idempotency-Key": "k"},
    )
    refused(r)
    r = desk.dan.patch(f"/incidents/{inc['id']}", json={"summary": "x"}, headers={"If-Match": "9"})
    assert r.status_code == 412
    rows = desk.sue.get("/audit?entity=incident").json()
    assert [r["action"] for r in rows] == [
        "refused_update_incident",
        "refused_close_incident",
        "create_incident",
    ]
    assert rows[1]["detail"].startswith("422: ")
    assert "stock phrase" in rows[1]["detail"]
    assert desk.dan.get("/changes?since=0").json()["cursor"] == 1
