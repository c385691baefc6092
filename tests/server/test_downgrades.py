"""Downgrades with a second pair of eyes, over HTTP: a call handler's or dispatcher's downgrade
is a request (202, ``pending_downgrade``) while the grade and countdown stay; a supervisor
approves or rejects it with a note; a supervisor's own downgrade applies at once. And the
ways around it: a second request, an upgrade, a supervisor's downgrade or a close while one
waits, a decision by another role, of nothing, on a stale version, a replay, the flag off."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx

from dispatchdesk.domain.clock import FakeClock
from dispatchdesk.domain.grades import GradePolicy

from .conftest import START, Api, Desk
from .helpers import changes_since, cursor, incident, key, refused

REASON = "Caller rang back at 09:10: the man has left in a taxi and she is with a neighbour"
NOTE = "Agreed after speaking to the caller myself; the neighbour stays until officers come"


def request(api: Api, inc: dict[str, Any], to: str = "S", reason: str = REASON) -> httpx.Response:
    return api.patch(
        f"/incidents/{inc['id']}",
        json={"grade": to, "reason": reason},
        headers={**key(), "If-Match": str(inc["version"])},
    )


def decide(
    api: Api, inc: dict[str, Any], verdict: str, note: str = NOTE, **headers: str
) -> httpx.Response:
    return api.post(
        f"/incidents/{inc['id']}/downgrade/{verdict}",
        json={"note": note},
        headers={**key(), **headers},
    )


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_a_call_handlers_downgrade_waits_and_the_countdown_stays(
    desk: Desk, clock: FakeClock
) -> None:
    inc = desk.cathy.create(grade="I").json()
    since = cursor(desk.dan)
    clock.advance(timedelta(minutes=2))
    r = request(desk.cathy, inc)
    assert r.status_code == 202, r.text
    out = r.json()
    assert out["pending_downgrade"] == {
        "to": "S",
        "reason": REASON,
        "by": "cathy",
        "at": out["pending_downgrade"]["at"],
    }
    assert at(out["pending_downgrade"]["at"]) == START + timedelta(minutes=2)
    assert (out["grade"], out["deadline"], out["downgrade_reason"]) == (
        "I",
        inc["deadline"],
        None,
    )
    assert out["version"] == inc["version"] + 1 and r.headers["ETag"] == f'"{out["version"]}"'
    # every desk hears of it (the change feed carries the request)
    [change] = changes_since(desk.dan, since)
    assert change["data"]["pending_downgrade"]["by"] == "cathy"
    row = desk.sue.get("/audit?limit=1&entity=incident").json()[0]
    assert (
        row["action"] == "update_incident" and "requested, awaiting a supervisor" in (row["detail"])
    )


def test_approval_applies_it_from_the_original_call_time(desk: Desk, clock: FakeClock) -> None:
    inc = desk.cathy.create(grade="I").json()
    clock.advance(timedelta(minutes=5))
    asked = request(desk.dan, inc).json()  # a dispatcher's is a request too
    clock.advance(timedelta(minutes=7))
    r = decide(desk.sue, asked, "approve", **{"If-Match": str(asked["version"])})
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["grade"], out["original_grade"], out["downgrade_reason"]) == ("S", "I", REASON)
    assert at(out["deadline"]) == START + timedelta(minutes=60)  # from the call, not the approval
    assert out["pending_downgrade"] is None
    decision = out["downgrade_decision"]
    assert (decision["outcome"], decision["decided_by"], decision["note"]) == (
        "APPROVED",
        "sue",
        NOTE,
    )
    assert (decision["to"], decision["by"], decision["reason"]) == ("S", "dan", REASON)
    assert at(decision["decided_at"]) == START + timedelta(minutes=12)
    assert out["version"] == asked["version"] + 1
    assert incident(desk.cathy, inc["id"]) == out  # what every desk reads
    row = desk.sue.get("/audit?limit=1&entity=incident").json()[0]
    assert (row["action"], row["username"]) == ("approve_downgrade", "sue")
    assert "requested by dan" in row["detail"] and NOTE in row["detail"]


def test_rejection_keeps_the_grade_and_says_why(desk: Desk) -> None:
    inc = desk.cathy.create(grade="I").json()
    asked = request(desk.cathy, inc).json()
    note = "Not agreed: he has a knife marker and may come back; keep it Immediate"
    r = decide(desk.sue, asked, "reject", note)
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["grade"], out["deadline"], out["downgrade_reason"]) == ("I", inc["deadline"], None)
    assert out["pending_downgrade"] is None
    assert out["downgrade_decision"]["outcome"] == "REJECTED"
    assert out["downgrade_decision"]["note"] == note
    assert desk.sue.get("/audit?limit=1&entity=incident").json()[0]["action"] == "reject_downgrade"
    # decided: a new request may be made (in other words), and waits again
    again = request(
        desk.cathy, out, reason="Officer on scene nearby confirms the man is in custody"
    )
    assert again.status_code == 202, again.text
    assert again.json()["downgrade_decision"]["outcome"] == "REJECTED"  # the last one stays


def test_a_supervisors_own_downgrade_applies_at_once(desk: Desk) -> None:
    inc = desk.cathy.create(grade="I").json()
    r = request(desk.sue, inc)
    assert r.status_code == 200, r.text
    assert (r.json()["grade"], r.json()["pending_downgrade"]) == ("S", None)


def test_a_second_request_while_one_waits_is_refused(desk: Desk) -> None:
    inc = desk.cathy.create(grade="I").json()
    asked = request(desk.cathy, inc).json()
    r = request(desk.dan, asked, to="E", reason="Appointment agreed with the caller tomorrow")
    assert r.status_code == 409
    assert "already has a downgrade to S requested by cathy at 09:00" in r.json()["detail"]
    assert incident(desk.dan, inc["id"])["pending_downgrade"]["to"] == "S"


def test_an_upgrade_is_never_held_up_and_overtakes_the_request(desk: Desk) -> None:
    inc = desk.cathy.create(grade="S").json()
    asked = request(desk.cathy, inc, to="E").json()
    r = request(desk.dan, asked, to="I", reason="")
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["grade"], out["pending_downgrade"]) == ("I", None)
    assert at(out["deadline"]) == START + timedelta(minutes=15)
    assert out["downgrade_decision"]["outcome"] == "SUPERSEDED"
    assert "upgraded to I by dan" in out["downgrade_decision"]["note"]
    r = decide(desk.sue, out, "approve")  # nothing waits now: the supervisor cannot apply it
    assert r.status_code == 409
    assert "no downgrade request awaiting" in r.json()["detail"]
    assert "overtaken by dan" in r.json()["detail"]
    assert incident(desk.sue, inc["id"])["grade"] == "I"


def test_a_supervisors_downgrade_overtakes_a_waiting_request(desk: Desk) -> None:
    inc = desk.cathy.create(grade="I").json()
    asked = request(desk.cathy, inc).json()
    r = request(desk.sue, asked, to="E", reason="Spoke to the caller: appointment at 10:00 suits")
    assert r.status_code == 200, r.text
    assert (r.json()["grade"], r.json()["pending_downgrade"]) == ("E", None)
    assert r.json()["downgrade_decision"]["outcome"] == "SUPERSEDED"


def test_a_close_while_a_request_waits_ends_it(desk: Desk) -> None:
    inc = desk.cathy.create(grade="I").json()
    asked = request(desk.cathy, inc).json()
    r = desk.dan.post(
        f"/incidents/{inc['id']}/close",
        json={"rationale": "Caller rang to say the police are no longer needed, confirmed by PC"},
        headers=key(),
    )
    assert r.status_code == 200, r.text
    closed = r.json()
    assert (closed["status"], closed["grade"], closed["pending_downgrade"]) == ("CLOSED", "I", None)
    assert closed["downgrade_decision"]["outcome"] == "SUPERSEDED"
    assert closed["downgrade_decision"]["note"] == "closed by dan"
    assert decide(desk.sue, asked, "approve").status_code == 409


def test_only_a_supervisor_decides(desk: Desk) -> None:
    inc = desk.cathy.create(grade="I").json()
    asked = request(desk.cathy, inc).json()
    for api in (desk.cathy, desk.dan):
        for verdict in ("approve", "reject"):
            r = decide(api, asked, verdict)
            assert r.status_code == 403, r.text
            assert "decide_downgrades" in r.json()["detail"]
    assert incident(desk.sue, inc["id"]) == asked  # nothing changed


def test_deciding_nothing_is_refused(desk: Desk) -> None:
    inc = desk.cathy.create(grade="I").json()
    for verdict in ("approve", "reject"):
        r = decide(desk.sue, inc, verdict)
        assert r.status_code == 409
        assert f"{inc['ref']} has no downgrade request awaiting a decision." in r.json()["detail"]
    assert decide(desk.sue, {"id": 999}, "approve").status_code == 404


def test_a_decision_on_a_stale_version_is_refused(desk: Desk) -> None:
    inc = desk.cathy.create(grade="I").json()
    asked = request(desk.cathy, inc).json()
    r = desk.dan.patch(
        f"/incidents/{inc['id']}",
        json={"summary": "Caller now says he had a knife"},
        headers={"If-Match": str(asked["version"])},
    )
    assert r.status_code == 200
    r = decide(desk.sue, asked, "approve", **{"If-Match": str(asked["version"])})
    assert r.status_code == 412
    assert "has changed since you loaded it" in r.json()["detail"]
    assert incident(desk.sue, inc["id"])["grade"] == "I"
    r = decide(desk.sue, asked, "reject", **{"If-Match": str(asked["version"] + 1)})
    assert r.status_code == 200, r.text


def test_a_replayed_decision_applies_once(desk: Desk) -> None:
    inc = desk.cathy.create(grade="I").json()
    asked = request(desk.cathy, inc).json()
    headers = {"Idempotency-Key": "approve-1"}
    first = desk.sue.post(
        f"/incidents/{inc['id']}/downgrade/approve", json={"note": NOTE}, headers=headers
    )
    replay = desk.sue.post(
        f"/incidents/{inc['id']}/downgrade/approve", json={"note": NOTE}, headers=headers
    )
    assert first.status_code == replay.status_code == 200
    assert replay.json() == first.json() and replay.headers["Idempotent-Replayed"] == "true"
    assert incident(desk.sue, inc["id"])["version"] == asked["version"] + 1


def test_the_note_is_the_supervisors_own(desk: Desk) -> None:
    inc = desk.cathy.create(grade="I").json()
    asked = request(desk.cathy, inc).json()
    r = decide(desk.sue, asked, "approve", REASON)  # the request's words back
    assert "the downgrade reason of" in refused(r, "note")
    assert "too short" in refused(decide(desk.sue, asked, "approve", "ok"), "note")
    assert incident(desk.sue, inc["id"])["pending_downgrade"] is not None


def test_a_request_reason_is_checked_at_once(desk: Desk) -> None:
    inc = desk.cathy.create(grade="I").json()
    r = request(desk.cathy, inc, reason="No further action")
    assert "stock phrase" in refused(r, "reason")
    r = request(desk.cathy, inc, reason="")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "reason"]
    assert incident(desk.cathy, inc["id"])["pending_downgrade"] is None


def test_with_the_flag_off_a_downgrade_applies_at_once(make_desk: Callable[..., Desk]) -> None:
    desk = make_desk(policy=GradePolicy(downgrade_needs_approval=False))
    assert desk.cathy.get("/snapshot").json()["policy"]["downgrade_needs_approval"] is False
    inc = desk.cathy.create(grade="I").json()
    r = request(desk.cathy, inc)
    assert r.status_code == 200, r.text
    assert (r.json()["grade"], r.json()["pending_downgrade"]) == ("S", None)


def test_the_snapshot_says_downgrades_need_approval(desk: Desk) -> None:
    assert desk.cathy.get("/snapshot").json()["policy"]["downgrade_needs_approval"] is True


def test_the_routes_are_in_the_openapi_document(desk: Desk) -> None:
    paths = desk.client.get("/openapi.json").json()["paths"]
    for verdict in ("approve", "reject"):
        assert f"/api/v1/incidents/{{incident_id}}/downgrade/{verdict}" in paths
