"""Operational notices over HTTP: supervisors post them, every operator of the roles named gets
them through the snapshot and the change feed, reads are recorded once, and supervisors see who
has and has not read each one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dispatchdesk.domain.clock import FakeClock

from .conftest import START, Desk
from .helpers import changes_since, cursor, key


def notice_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Domestic abuse: contact the informant",
        "body": "From today every domestic incident needs the informant contacted, even when "
        "the caller stayed anonymous. Record the outcome as a task.",
        "roles": ["call_handler", "dispatcher"],
        "requires_ack": True,
        "expires_at": (START + timedelta(days=14)).isoformat(),
    }
    body.update(over)
    return body


def post(desk: Desk, **over: Any) -> dict[str, Any]:
    r = desk.sue.post("/notices", json=notice_body(**over), headers=key())
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_supervisor_posts_a_notice_that_every_desk_syncs(desk: Desk) -> None:
    before = cursor(desk.cathy)
    notice = post(desk)
    assert notice["version"] == 1 and notice["created_by"] == "sue"
    assert notice["roles"] == ["call_handler", "dispatcher"] and notice["requires_ack"] is True
    feed = [c for c in changes_since(desk.cathy, before) if c["entity"] == "notice"]
    assert [(c["op"], c["data"]["id"]) for c in feed] == [("upsert", notice["id"])]
    snap = desk.dan.get("/snapshot").json()
    assert [n["title"] for n in snap["notices"]] == ["Domestic abuse: contact the informant"]


def test_only_a_supervisor_posts_notices(desk: Desk) -> None:
    for api in (desk.cathy, desk.dan):
        r = api.post("/notices", json=notice_body(), headers=key())
        assert r.status_code == 403, r.text
        assert "supervisor" in r.json()["detail"]
    assert desk.sue.get("/snapshot").json()["notices"] == []


def test_a_notice_needs_a_title_a_role_and_a_future_expiry(desk: Desk) -> None:
    cases = [
        ({"title": "  "}, "title"),
        ({"roles": []}, "roles"),
        ({"roles": ["call_handler", "call_handler"]}, "roles"),
        ({"roles": ["cleaner"]}, "roles"),
        ({"expires_at": (START - timedelta(minutes=1)).isoformat()}, "expires_at"),
        ({"expires_at": "2026-12-24T10:00:00"}, "expires_at"),  # no offset: ambiguous
    ]
    for over, field in cases:
        r = desk.sue.post("/notices", json=notice_body(**over), headers=key())
        assert r.status_code == 422, (over, r.text)
        assert field in str(r.json()["detail"]), (over, r.text)
    r = desk.sue.post("/notices", json=notice_body(), headers={})
    assert r.status_code == 400, r.text
    assert "Idempotency-Key" in r.json()["detail"]


def test_the_same_key_posts_one_notice(desk: Desk) -> None:
    headers = key()
    first = desk.sue.post("/notices", json=notice_body(), headers=headers)
    again = desk.sue.post("/notices", json=notice_body(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(desk.sue.get("/snapshot").json()["notices"]) == 1


def test_reads_are_recorded_once_and_receipts_name_who_has_not_read(
    desk: Desk, clock: FakeClock
) -> None:
    notice = post(desk)
    r = desk.sue.get(f"/notices/{notice['id']}/receipts")
    assert r.status_code == 200, r.text
    assert r.json()["read"] == []
    assert {u["username"] for u in r.json()["not_read"]} == {"cathy", "dan"}
    first = desk.cathy.post(f"/notices/{notice['id']}/read", headers=key())
    assert first.status_code == 200, first.text
    clock.advance(timedelta(minutes=5))
    again = desk.cathy.post(f"/notices/{notice['id']}/read", headers=key())
    assert again.json()["read_at"] == first.json()["read_at"]  # the first read is kept
    receipts = desk.sue.get(f"/notices/{notice['id']}/receipts").json()
    assert [(u["username"], u["role"]) for u in receipts["read"]] == [("cathy", "call_handler")]
    assert [u["username"] for u in receipts["not_read"]] == ["dan"]
    audit = desk.sue.get("/audit").json()
    assert [a["username"] for a in audit if a["action"] == "notice_read"] == ["cathy"]


def test_receipts_are_for_supervisors(desk: Desk) -> None:
    notice = post(desk)
    for api in (desk.cathy, desk.dan):
        assert api.get(f"/notices/{notice['id']}/receipts").status_code == 403
    assert desk.sue.get("/notices/999/receipts").status_code == 404


def test_a_notice_for_other_roles_cannot_be_marked_read(desk: Desk) -> None:
    notice = post(desk, roles=["dispatcher"])
    r = desk.cathy.post(f"/notices/{notice['id']}/read", headers=key())
    assert r.status_code == 403, r.text
    assert desk.cathy.post("/notices/999/read", headers=key()).status_code == 404
    mine = desk.cathy.get("/notices").json()
    assert mine == []  # not listed for a call handler either
    assert [m["notice"]["id"] for m in desk.dan.get("/notices").json()] == [notice["id"]]


def test_my_notices_say_which_i_have_read_at_another_position(desk: Desk) -> None:
    notice = post(desk)
    assert desk.dan.get("/notices").json()[0]["read_at"] is None
    desk.dan.post(f"/notices/{notice['id']}/read", headers=key())
    assert desk.dan.get("/notices").json()[0]["read_at"] is not None
    assert desk.cathy.get("/notices").json()[0]["read_at"] is None


def test_an_expired_notice_leaves_the_snapshot_but_a_late_read_is_still_recorded(
    desk: Desk, clock: FakeClock
) -> None:
    notice = post(desk, expires_at=(START + timedelta(hours=1)).isoformat())
    clock.advance(timedelta(hours=2))
    assert desk.cathy.get("/snapshot").json()["notices"] == []
    assert desk.cathy.get("/notices").json() == []
    # a desk that was offline sends its read afterwards: it is kept, not refused
    r = desk.cathy.post(f"/notices/{notice['id']}/read", headers=key())
    assert r.status_code == 200, r.text
    receipts = desk.sue.get(f"/notices/{notice['id']}/receipts").json()
    assert [u["username"] for u in receipts["read"]] == ["cathy"]
