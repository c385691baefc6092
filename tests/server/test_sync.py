"""Snapshot and the change feed: paging, cursor, pruning and 410."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from dispatchdesk.domain.clock import FakeClock
from dispatchdesk.protocol.schemas import ChangesPage, IncidentOut, Snapshot

from .conftest import Desk

RATIONALE = "Attended: {n} High Street, owner present, window repaired, report {n}{n}{n} made."


def _close(desk: Desk, inc: dict[str, object], n: int) -> None:
    r = desk.dan.post(
        f"/incidents/{inc['id']}/close",
        json={"rationale": RATIONALE.format(n=n)},
        headers={"Idempotency-Key": f"close-{inc['id']}"},
    )
    assert r.status_code == 200, r.text


def test_changes_paging_and_cursor(desk: Desk) -> None:
    made = [desk.cathy.create(summary=f"Call number {i}").json() for i in range(7)]
    desk.dan.patch(
        f"/incidents/{made[0]['id']}",
        json={"summary": "Caller rang back"},
        headers={"If-Match": "1"},
    )
    page = ChangesPage.model_validate(desk.dan.get("/changes?since=0&limit=3").json())
    assert [c.seq for c in page.changes] == [1, 2, 3]
    assert page.cursor == 3
    assert page.more
    seen = list(page.changes)
    while page.more:
        page = ChangesPage.model_validate(
            desk.dan.get(f"/changes?since={page.cursor}&limit=3").json()
        )
        seen.extend(page.changes)
    assert [c.seq for c in seen] == list(range(1, 9))
    assert page.cursor == 8
    assert all(c.entity == "incident" and c.op == "upsert" for c in seen)
    last = IncidentOut.model_validate(seen[-1].data)
    assert last.id == made[0]["id"]
    assert last.version == 2
    assert last.summary == "Caller rang back"
    # nothing new: empty page, cursor unchanged
    empty = desk.dan.get("/changes?since=8").json()
    assert empty == {"changes": [], "cursor": 8, "more": False}
    # the snapshot's cursor matches
    assert desk.dan.get("/snapshot").json()["cursor"] == 8


def test_changes_limit_bounds(desk: Desk) -> None:
    assert desk.dan.get("/changes?since=0&limit=5001").status_code == 422
    assert desk.dan.get("/changes?since=0&limit=0").status_code == 422
    assert desk.dan.get("/changes?since=-1").status_code == 422
    assert desk.dan.get("/changes").status_code == 422
    assert desk.dan.get("/changes?since=0&limit=5000").status_code == 200


def test_410_after_pruning(make_desk: Callable[..., Desk]) -> None:
    desk = make_desk(change_retention=3)
    for i in range(6):
        desk.cathy.create(summary=f"Call number {i}")
    r = desk.dan.get("/changes?since=0")
    assert r.status_code == 410
    assert "snapshot" in r.json()["detail"]
    r = desk.dan.get("/changes?since=2")
    assert r.status_code == 410
    page = desk.dan.get("/changes?since=3").json()
    assert [c["seq"] for c in page["changes"]] == [4, 5, 6]
    # a cursor from the future (another database) is also refused
    assert desk.dan.get("/changes?since=99").status_code == 410
    snap = desk.dan.get("/snapshot").json()
    assert snap["cursor"] == 6
    assert len(snap["incidents"]) == 6


def test_snapshot_contents(desk: Desk, clock: FakeClock) -> None:
    # 2026-11-23 09:00Z; London is on GMT in November
    yesterday = [desk.cathy.create(summary=f"Old call {i}").json() for i in range(2)]
    _close(desk, yesterday[0], 1)
    clock.set(datetime.fromisoformat("2026-11-23T23:59:00+00:00"))
    late = desk.cathy.create(summary="Late call").json()
    _close(desk, late, 2)
    clock.set(datetime.fromisoformat("2026-11-24T00:01:00+00:00"))
    today_open = desk.cathy.create(summary="Today open").json()
    today_closed = desk.cathy.create(summary="Today closed").json()
    _close(desk, today_closed, 3)
    r = desk.dan.get("/snapshot")
    snap = Snapshot.model_validate(r.json())
    ids = {i.id for i in snap.incidents}
    assert ids == {yesterday[1]["id"], today_open["id"], today_closed["id"]}
    assert snap.server_time == clock.now()
    assert snap.policy.targets["I"] == 15 * 60
    assert snap.policy.targets["R"] is None
    assert snap.policy.timezone == "Europe/London"
    assert snap.cursor == 8


def test_snapshot_day_is_the_london_day(desk: Desk, clock: FakeClock) -> None:
    # in summer London is UTC+1: 23:30Z on 1 July is already 2 July locally
    clock.set(datetime.fromisoformat("2026-07-01T22:50:00+00:00"))
    before = desk.cathy.create().json()
    _close(desk, before, 4)
    clock.advance(timedelta(minutes=20))  # 00:10 on 2 July, London
    after = desk.cathy.create().json()
    assert after["ref"].endswith("/02JUL26")
    _close(desk, after, 5)
    ids = {i["id"] for i in desk.dan.get("/snapshot").json()["incidents"]}
    assert ids == {after["id"]}
