"""Issue 9, items 1 and 2, walked around over HTTP: the status follows the units (no edit sets
a status the units contradict, only an arrival sets AT_SCENE and ``attended_at``), and a unit
cleared before it arrives, leaving its incident with no unit, is a *withdrawal*: it needs a
reason and tags the incident exactly like a divert (kind WITHDRAWN, owed, escalated, on the
DIVERT tag list) so a divert cannot be disguised as clear-then-assign."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from dispatchdesk.domain.clock import FakeClock
from dispatchdesk.protocol.schemas import IncidentOut
from dispatchdesk.server.db import diverts, incidents, make_engine

from .conftest import Api, Desk
from .helpers import changes_since, cmd, incident, key, new_unit

REASON = "Crew called to a collapse in the station concourse"


def patch_status(api: Api, incident_id: int, status: str) -> Any:
    version = incident(api, incident_id)["version"]
    return api.patch(
        f"/incidents/{incident_id}", json={"status": status}, headers={"If-Match": str(version)}
    )


def test_clear_then_assign_elsewhere_is_tagged_withdrawn_and_owed(
    desk: Desk, clock: FakeClock
) -> None:
    lx21 = new_unit(desk.sue, "LX21")
    domestic = desk.cathy.create(
        grade="S", type="Domestic", summary="Ex-partner at the door, caller frightened"
    ).json()
    robbery = desk.cathy.create(grade="I", summary="Robbery at the corner shop").json()
    assert cmd(desk.dan, lx21, "assign", {"incident_id": domestic["id"]}).status_code == 200
    clock.advance(timedelta(minutes=3))
    r = cmd(desk.dan, lx21, "clear", {"reason": REASON})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "AVAILABLE"
    t_withdrawn = clock.now()
    assert cmd(desk.dan, lx21, "assign", {"incident_id": robbery["id"]}).status_code == 200
    s = incident(desk.dan, domestic["id"])
    assert s["owed"] is True and s["status"] == "OPEN" and s["attended_at"] is None
    assert s["deadline"] == domestic["deadline"]  # the countdown keeps running
    [tag] = s["diverts"]
    assert (
        tag["kind"],
        tag["callsign"],
        tag["from_incident_id"],
        tag["to_incident_id"],
        tag["to_ref"],
        tag["by"],
        tag["reason"],
    ) == ("WITHDRAWN", "LX21", domestic["id"], None, None, "dan", REASON)
    assert datetime.fromisoformat(tag["at"]) == t_withdrawn and tag["released_at"] is None
    # on the DIVERT tag list, with its kind; a divert next to it says DIVERT
    lx30 = new_unit(desk.sue, "LX30")
    third = desk.cathy.create(grade="S", summary="Shed broken into overnight").json()
    cmd(desk.dan, lx30, "assign", {"incident_id": third["id"]})
    assert (
        cmd(
            desk.dan,
            lx30,
            "divert",
            {"incident_id": robbery["id"], "reason": "Second unit for the robbery"},
        ).status_code
        == 200
    )
    listed = desk.cathy.get("/diverts").json()
    assert [(d["kind"], d["from_ref"], d["to_ref"]) for d in listed] == [
        ("WITHDRAWN", domestic["ref"], None),
        ("DIVERT", third["ref"], robbery["ref"]),
    ]
    # the change feed carried the tag (a desk resuming its stream sees the same)
    last = [
        c["data"]
        for c in changes_since(desk.dan, 0)
        if c["entity"] == "incident" and c["data"]["id"] == domestic["id"]
    ][-1]
    assert IncidentOut.model_validate(last).diverts[0].kind == "WITHDRAWN"
    assert last == incident(desk.dan, domestic["id"])
    audit = desk.sue.get("/audit").json()
    assert any(a["action"] == "withdraw_unit" and REASON in a["detail"] for a in audit)
    # a dispatcher cannot close it away; a supervisor can, with a rationale
    r = desk.dan.post(
        f"/incidents/{domestic['id']}/close",
        headers=key(),
        json={"rationale": "Caller not answering on two callbacks, closing the domestic"},
    )
    assert r.status_code == 403 and "withdrawn" in r.json()["detail"]


def test_a_clear_before_arrival_needs_a_reason_and_applies_nothing_without(desk: Desk) -> None:
    lx21 = new_unit(desk.sue, "LX21")
    inc = desk.cathy.create().json()
    cmd(desk.dan, lx21, "assign", {"incident_id": inc["id"]})
    before = changes_since(desk.dan, 0)
    for body in (None, {}, {"reason": "   "}):
        r = cmd(desk.dan, lx21, "clear", body)
        assert r.status_code == 422, (body, r.text)
        [err] = r.json()["detail"]
        assert err["loc"] == ["body", "reason"]
        assert "owed" in err["msg"] and inc["ref"] in err["msg"]
    assert changes_since(desk.dan, 0) == before
    assert desk.dan.get(f"/units/{lx21['id']}").json()["status"] == "ASSIGNED"
    assert incident(desk.dan, inc["id"])["owed"] is False
    refused = [a for a in desk.sue.get("/audit").json() if a["action"] == "refused_clear_unit"]
    assert len(refused) == 3


def test_a_call_handler_cannot_clear_or_withdraw(desk: Desk) -> None:
    lx21 = new_unit(desk.sue, "LX21")
    inc = desk.cathy.create().json()
    cmd(desk.dan, lx21, "assign", {"incident_id": inc["id"]})
    r = cmd(desk.cathy, lx21, "clear", {"reason": REASON})
    assert r.status_code == 403
    assert incident(desk.dan, inc["id"])["status"] == "ASSIGNED"
    assert cmd(desk.sue, lx21, "clear", {"reason": REASON}).status_code == 200  # supervisors may


def test_a_replayed_withdrawal_tags_once(desk: Desk) -> None:
    lx21 = new_unit(desk.sue, "LX21")
    inc = desk.cathy.create().json()
    cmd(desk.dan, lx21, "assign", {"incident_id": inc["id"]})
    h = key()
    first = desk.dan.post(f"/units/{lx21['id']}/clear", json={"reason": REASON}, headers=h)
    assert first.status_code == 200, first.text
    n = len(changes_since(desk.dan, 0))
    again = desk.dan.post(f"/units/{lx21['id']}/clear", json={"reason": REASON}, headers=h)
    assert again.status_code == 200 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(changes_since(desk.dan, 0)) == n
    assert len(incident(desk.dan, inc["id"])["diverts"]) == 1
    # the same key with another reason is another request: refused, not replayed
    other = desk.dan.post(
        f"/units/{lx21['id']}/clear", json={"reason": "Something else"}, headers=h
    )
    assert other.status_code == 422 and "Idempotency-Key" in other.json()["detail"]


def test_a_withdrawn_incident_escalates_and_an_arrival_releases_it(
    make_desk: Any, clock: FakeClock
) -> None:
    desk: Desk = make_desk(owed_escalation=timedelta(minutes=10))
    lx21, lx22 = new_unit(desk.sue, "LX21"), new_unit(desk.sue, "LX22")
    inc = desk.cathy.create(grade="S").json()
    cmd(desk.dan, lx21, "assign", {"incident_id": inc["id"]})
    assert cmd(desk.dan, lx21, "clear", {"reason": REASON}).status_code == 200
    t0 = clock.now()
    clock.advance(timedelta(minutes=9, seconds=59))
    assert incident(desk.dan, inc["id"])["escalated_at"] is None
    clock.advance(timedelta(seconds=1))
    s = incident(desk.sue, inc["id"])
    assert datetime.fromisoformat(s["escalated_at"]) == t0 + timedelta(minutes=10)
    assert any(
        a["action"] == "escalate_owed" and a["entity_id"] == inc["id"]
        for a in desk.sue.get("/audit").json()
    )
    # another unit assigned: no longer escalated, still owed; it arrives: released
    assert cmd(desk.dan, lx22, "assign", {"incident_id": inc["id"]}).status_code == 200
    s = incident(desk.dan, inc["id"])
    assert s["owed"] is True and s["escalated_at"] is None and s["status"] == "ASSIGNED"
    clock.advance(timedelta(minutes=5))
    assert cmd(desk.dan, lx22, "arrive").status_code == 200
    s = incident(desk.dan, inc["id"])
    assert s["owed"] is False and s["status"] == "AT_SCENE"
    assert datetime.fromisoformat(s["attended_at"]) == clock.now()
    [tag] = s["diverts"]
    assert tag["released_reason"] == "LX22 arrived"
    # released, but on the open list until a supervisor reviews it
    [listed] = desk.sue.get("/diverts?state=open").json()
    assert listed["kind"] == "WITHDRAWN"
    note = "Withdrawal justified by the collapse; LX22 sent within five minutes"
    r = desk.sue.post(f"/diverts/{tag['id']}/review", headers=key(), json={"note": note})
    assert r.status_code == 200, r.text
    assert desk.sue.get("/diverts?state=open").json() == []


def test_clearing_at_scene_or_with_another_unit_left_is_not_a_withdrawal(desk: Desk) -> None:
    lx21, lx22 = new_unit(desk.sue, "LX21"), new_unit(desk.sue, "LX22")
    inc = desk.cathy.create().json()
    cmd(desk.dan, lx21, "assign", {"incident_id": inc["id"]})
    cmd(desk.dan, lx22, "assign", {"incident_id": inc["id"]})
    # LX22 has not arrived: a reason is still needed, though LX21 stays on the incident
    r = cmd(desk.dan, lx22, "clear")
    assert r.status_code == 422 and "not owed" in r.json()["detail"][0]["msg"]
    assert cmd(desk.dan, lx22, "clear", {"reason": "LX21 has it in hand"}).status_code == 200
    s = incident(desk.dan, inc["id"])
    assert s["owed"] is False and s["diverts"] == [] and s["status"] == "ASSIGNED"
    # a unit at scene is cleared without a reason (the body is optional); nothing owed
    cmd(desk.dan, lx21, "arrive")
    assert cmd(desk.dan, lx21, "clear").status_code == 200
    s = incident(desk.dan, inc["id"])
    assert s["owed"] is False and s["diverts"] == [] and s["status"] == "AT_SCENE"
    assert desk.dan.get("/diverts?state=all").json() == []


def test_a_withdrawal_from_an_attended_incident_reopens_it_like_a_divert(
    desk: Desk, clock: FakeClock
) -> None:
    """LX21 attended and left; LX22 is sent again and withdrawn before it gets there: nobody
    is there and nobody is going, so the incident is owed and its countdown runs again."""
    lx21, lx22 = new_unit(desk.sue, "LX21"), new_unit(desk.sue, "LX22")
    inc = desk.cathy.create().json()
    cmd(desk.dan, lx21, "assign", {"incident_id": inc["id"]})
    cmd(desk.dan, lx21, "arrive")
    cmd(desk.dan, lx21, "clear")
    cmd(desk.dan, lx22, "assign", {"incident_id": inc["id"]})
    assert incident(desk.dan, inc["id"])["status"] == "ASSIGNED"  # a unit en route again
    assert cmd(desk.dan, lx22, "clear", {"reason": REASON}).status_code == 200
    s = incident(desk.dan, inc["id"])
    assert s["owed"] is True and s["status"] == "OPEN" and s["attended_at"] is None


STATES = ("new", "en route", "at scene", "attended, no unit", "withdrawn")


def _set_up(desk: Desk, state: str) -> dict[str, Any]:
    inc: dict[str, Any] = desk.cathy.create(summary=f"Incident {state}").json()
    if state == "new":
        return inc
    unit = new_unit(desk.sue, f"LX{inc['id']}")
    assert cmd(desk.dan, unit, "assign", {"incident_id": inc["id"]}).status_code == 200
    if state in ("at scene", "attended, no unit"):
        assert cmd(desk.dan, unit, "arrive").status_code == 200
    if state == "attended, no unit":
        assert cmd(desk.dan, unit, "clear").status_code == 200
    if state == "withdrawn":
        assert cmd(desk.dan, unit, "clear", {"reason": REASON}).status_code == 200
    return inc


@pytest.mark.parametrize(
    "order",
    [
        ("OPEN", "ASSIGNED", "AT_SCENE"),
        ("AT_SCENE", "ASSIGNED", "OPEN"),
        ("ASSIGNED", "AT_SCENE", "OPEN"),
    ],
)
def test_a_status_edit_against_the_units_is_refused_in_every_order(
    desk: Desk, order: tuple[str, ...]
) -> None:
    for state in STATES:
        inc = _set_up(desk, state)
        first = incident(desk.dan, inc["id"])
        for status in order:
            before = incident(desk.dan, inc["id"])
            r = patch_status(desk.dan, inc["id"], status)
            now = incident(desk.dan, inc["id"])
            if status == before["status"]:
                assert r.status_code == 200, (state, status, r.text)  # no change asked
            else:
                assert r.status_code == 409, (state, status, r.text)
                detail = r.json()["detail"]
                assert inc["ref"] in detail and "/units/{id}/" in detail, detail
                assert now == before
            assert (now["status"], now["attended_at"], now["owed"]) == (
                first["status"],
                first["attended_at"],
                first["owed"],
            ), (state, status)
            assert (before["status"], before["attended_at"], before["owed"]) == (
                before["status"],
                before["attended_at"],
                before["owed"],
            ), (state, status)
    # the message names the command to use
    inc = _set_up(desk, "en route")
    r = patch_status(desk.dan, inc["id"], "AT_SCENE")
    assert "POST /units/{id}/arrive" in r.json()["detail"]
    assert "Mark unit at scene" in r.json()["detail"]


def test_an_edit_repairs_a_status_the_units_contradict(desk: Desk) -> None:
    """A row left ASSIGNED with no unit (an edit before this rule): OPEN is what the units say,
    so it is accepted; AT_SCENE still is not, and attended_at stays unset."""
    inc = desk.cathy.create().json()
    engine = make_engine(desk.settings.db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.update(incidents).where(incidents.c.id == inc["id"]).values(status="ASSIGNED")
            )
    finally:
        engine.dispose()
    assert patch_status(desk.dan, inc["id"], "AT_SCENE").status_code == 409
    r = patch_status(desk.dan, inc["id"], "OPEN")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "OPEN" and r.json()["attended_at"] is None


def test_openapi_documents_the_clear_body_and_the_divert_kind(desk: Desk) -> None:
    doc = desk.client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    assert "reason" in schemas["ClearRequest"]["properties"]
    assert "kind" in schemas["DivertModel"]["properties"]
    clear = doc["paths"]["/api/v1/units/{unit_id}/clear"]["post"]
    assert "requestBody" in clear and not clear["requestBody"].get("required", False)


def test_idempotency_key_is_still_required_for_clear(desk: Desk) -> None:
    lx21 = new_unit(desk.sue, "LX21")
    r = desk.dan.post(f"/units/{lx21['id']}/clear", json={"reason": REASON})
    assert r.status_code == 400


def _back_to_the_old_diverts_table(db_url: str) -> None:
    """Make ``diverts`` as the server before withdrawals wrote it: no ``kind``, and
    ``to_incident_id`` NOT NULL (the rows kept)."""
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql("ALTER TABLE diverts DROP COLUMN kind")
                conn.exec_driver_sql("ALTER TABLE diverts ALTER COLUMN to_incident_id SET NOT NULL")
                return
            ddl = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'diverts'"
            ).scalar_one()
            old = (
                ddl.replace("CREATE TABLE diverts", "CREATE TABLE diverts_v1")
                .replace("to_incident_id INTEGER,", "to_incident_id INTEGER NOT NULL,")
                .replace("kind VARCHAR(10) DEFAULT 'DIVERT' NOT NULL, ", "")
            )
            assert "kind" not in old and "to_incident_id INTEGER NOT NULL" in old, old
            conn.exec_driver_sql(old)
            columns = ", ".join(
                c.name if c.name != "by" else '"by"' for c in diverts.columns if c.name != "kind"
            )
            conn.exec_driver_sql(
                f"INSERT INTO diverts_v1 ({columns}) SELECT {columns} FROM diverts"
            )
            conn.exec_driver_sql("DROP TABLE diverts")
            conn.exec_driver_sql("ALTER TABLE diverts_v1 RENAME TO diverts")
    finally:
        engine.dispose()


def test_a_database_from_before_withdrawals_is_brought_up_to_date(
    make_desk: Any, db_url: str
) -> None:
    """An existing DIVERT tag reads as kind DIVERT, and a withdrawal (no target) can be
    written, once the server has started on the old table."""
    first: Desk = make_desk()
    lx21, lx22 = new_unit(first.sue, "LX21"), new_unit(first.sue, "LX22")
    a, b = first.cathy.create().json(), first.cathy.create(grade="I").json()
    cmd(first.dan, lx21, "assign", {"incident_id": a["id"]})
    cmd(first.dan, lx21, "divert", {"incident_id": b["id"], "reason": "Robbery, grade I"})
    first.client.__exit__(None, None, None)
    _back_to_the_old_diverts_table(db_url)
    desk: Desk = make_desk()  # starts on the old table: create_schema brings it up to date
    [old] = desk.dan.get("/diverts").json()
    assert (old["kind"], old["to_ref"]) == ("DIVERT", b["ref"])
    c = desk.cathy.create().json()
    cmd(desk.dan, lx22, "assign", {"incident_id": c["id"]})
    assert cmd(desk.dan, lx22, "clear", {"reason": REASON}).status_code == 200
    assert [(d["kind"], d["to_incident_id"]) for d in desk.dan.get("/diverts").json()] == [
        ("DIVERT", b["id"]),
        ("WITHDRAWN", None),
    ]
