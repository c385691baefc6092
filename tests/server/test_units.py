"""Units and dispatch: create, assign, divert, arrive, clear, status; owed incidents and their
escalation; the DIVERT tag list and its review. Replays the 2018 case with a fake clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from dispatchdesk.domain.clock import FakeClock
from dispatchdesk.domain.countdown import CountdownState, format_countdown
from dispatchdesk.domain.grades import DEFAULT_POLICY
from dispatchdesk.protocol.convert import incident_from_json
from dispatchdesk.protocol.schemas import Change, IncidentOut, Snapshot, UnitOut
from dispatchdesk.server.db import make_engine, units

from .conftest import START, Desk
from .helpers import changes_since, cmd, cursor, incident, key, new_unit, refused


def test_units_are_created_by_supervisors_and_synced(desk: Desk, clock: FakeClock) -> None:
    unit = new_unit(desk.sue, "lx21", kind="Area car", lat=51.5, lon=-0.12)
    assert unit["callsign"] == "LX21"
    assert unit["status"] == "AVAILABLE" and unit["incident_id"] is None
    assert unit["version"] == 1
    assert datetime.fromisoformat(unit["status_since"]) == START
    UnitOut.model_validate(unit)
    r = desk.sue.post(
        "/units", json={"callsign": "LX21", "kind": "IRV", "borough": "Camden"}, headers=key()
    )
    assert r.status_code == 409 and "LX21" in r.json()["detail"]
    for api in (desk.dan, desk.cathy):
        r = api.post(
            "/units", json={"callsign": "LX99", "kind": "IRV", "borough": "Camden"}, headers=key()
        )
        assert r.status_code == 403
    r = desk.sue.post(
        "/units", json={"callsign": "L X 2", "kind": "IRV", "borough": "x"}, headers=key()
    )
    assert r.status_code == 422
    snap = Snapshot.model_validate(desk.dan.get("/snapshot").json())
    assert [u.callsign for u in snap.units] == ["LX21"]
    [change] = changes_since(desk.dan, 0)
    assert change["entity"] == "unit" and change["data"] == unit
    assert desk.dan.get("/units").json() == [unit]
    assert desk.dan.get(f"/units/{unit['id']}").json() == unit
    assert desk.dan.get("/units/999").status_code == 404


def test_call_handler_cannot_dispatch(desk: Desk) -> None:
    unit = new_unit(desk.sue, "LX21")
    inc = desk.cathy.create().json()
    r = cmd(desk.cathy, unit, "assign", {"incident_id": inc["id"]})
    assert r.status_code == 403
    for action in ("arrive", "clear"):
        assert cmd(desk.cathy, unit, action).status_code == 403
    assert cmd(desk.sue, unit, "assign", {"incident_id": inc["id"]}).status_code == 200


def test_assign_writes_unit_and_incident_in_one_transaction(desk: Desk) -> None:
    unit = new_unit(desk.sue, "LX21")
    first = desk.cathy.create(summary="First call about a fight in the street").json()
    second = desk.cathy.create(summary="Second call about a car alarm sounding").json()
    before = cursor(desk.dan)
    headers = key()
    r = desk.dan.post(
        f"/units/{unit['id']}/assign", json={"incident_id": first["id"]}, headers=headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ASSIGNED" and r.json()["incident_id"] == first["id"]
    assert r.headers["ETag"] == '"2"'
    got = changes_since(desk.dan, before)
    assert [(c["entity"], c["data"]["id"]) for c in got] == [
        ("incident", first["id"]),
        ("unit", unit["id"]),
    ]
    assert got[0]["data"]["status"] == "ASSIGNED" and got[0]["data"]["version"] == 2
    # a replay applies nothing and returns the first result
    again = desk.dan.post(
        f"/units/{unit['id']}/assign", json={"incident_id": first["id"]}, headers=headers
    )
    assert again.status_code == 200 and again.json() == r.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(changes_since(desk.dan, before)) == 2
    # busy: 409 naming the incident it is on
    r = cmd(desk.dan, unit, "assign", {"incident_id": second["id"]})
    assert r.status_code == 409
    assert first["ref"] in r.json()["detail"] and "divert" in r.json()["detail"]
    assert "assigned by dan at" in r.json()["detail"]  # who put it there
    assert len(changes_since(desk.dan, before)) == 2
    # a stale If-Match is 412; a current one is fine
    r = cmd(desk.dan, unit, "arrive", **{"If-Match": "1"})
    assert r.status_code == 412
    r = cmd(desk.dan, unit, "arrive", **{"If-Match": "2"})
    assert r.status_code == 200 and r.json()["status"] == "AT_SCENE"
    inc = incident(desk.dan, first["id"])
    assert inc["status"] == "AT_SCENE" and inc["attended_at"] is not None
    # closed incidents take no unit; unknown ones are 404
    assert cmd(desk.dan, 999, "clear").status_code == 404
    assert cmd(desk.dan, unit, "clear").json()["status"] == "AVAILABLE"
    assert incident(desk.dan, first["id"])["status"] == "AT_SCENE"  # attended: waits to close
    r = cmd(desk.dan, unit, "assign", {"incident_id": 12345})
    assert r.status_code == 404
    audit = {row["action"] for row in desk.sue.get("/audit").json()}
    assert {
        "create_unit",
        "assign_unit",
        "arrive_unit",
        "clear_unit",
        "refused_assign_unit",
    } <= audit


def test_status_changes_and_close_stands_units_down(desk: Desk) -> None:
    unit = new_unit(desk.sue, "LX21")
    inc = desk.cathy.create().json()
    r = cmd(desk.dan, unit, "status", {"status": "OFF_DUTY"})
    assert r.status_code == 200 and r.json()["status"] == "OFF_DUTY"
    r = cmd(desk.dan, unit, "assign", {"incident_id": inc["id"]})
    assert r.status_code == 409 and "off duty" in r.json()["detail"]
    assert cmd(desk.dan, unit, "status", {"status": "ASSIGNED"}).status_code == 422
    assert cmd(desk.dan, unit, "status", {"status": "AVAILABLE"}).status_code == 200
    assert cmd(desk.dan, unit, "assign", {"incident_id": inc["id"]}).status_code == 200
    r = cmd(desk.dan, unit, "status", {"status": "COMMITTED"})
    assert r.status_code == 409 and inc["ref"] in r.json()["detail"]
    # clearing the only en-route unit (a withdrawal, with a reason) puts the incident back to
    # awaiting a unit, and owed
    assert (
        cmd(desk.dan, unit, "clear", {"reason": "Unit's car broke down on the way"}).status_code
        == 200
    )
    assert incident(desk.dan, inc["id"])["status"] == "OPEN"
    assert incident(desk.dan, inc["id"])["owed"] is True
    assert cmd(desk.dan, unit, "assign", {"incident_id": inc["id"]}).status_code == 200
    r = desk.dan.patch(
        f"/incidents/{inc['id']}",
        json={"status": "OPEN"},
        headers={"If-Match": str(incident(desk.dan, inc["id"])["version"])},
    )
    assert r.status_code == 409 and "unit" in r.json()["detail"]
    before = cursor(desk.dan)
    # owed since the withdrawal, so a supervisor closes it
    r = desk.sue.post(
        f"/incidents/{inc['id']}/close",
        headers=key(),
        json={
            "rationale": "Stood down: the caller rang back, the fight had ended before we arrived"
        },
    )
    assert r.status_code == 200, r.text
    got = changes_since(desk.dan, before)
    assert [(c["entity"], c["data"]["status"]) for c in got] == [
        ("unit", "AVAILABLE"),
        ("incident", "CLOSED"),
    ]
    assert cmd(desk.dan, unit, "assign", {"incident_id": inc["id"]}).status_code == 409


def queue_row(clock: FakeClock, *incidents: dict[str, Any]) -> tuple[str, str, str]:
    """What the desk's queue shows in its top row for these incidents: (ref, countdown,
    flags), through the real Qt model on the same fake clock."""
    from dispatchdesk.gui.queue.model import Column, IncidentTableModel

    model = IncidentTableModel(clock.now)
    model.set_incidents([incident_from_json(i) for i in incidents], DEFAULT_POLICY)
    return tuple(
        str(model.index(0, c).data())
        for c in (Column.REF, Column.COUNTDOWN, Column.FLAGS)  # type: ignore[return-value]
    )


def test_the_2018_case_diverted_unit_leaves_the_domestic_owed(
    make_desk: Any, clock: FakeClock, qapp: Any
) -> None:
    desk: Desk = make_desk(owed_escalation=timedelta(minutes=10))
    lx21 = new_unit(desk.sue, "LX21")
    lx22 = new_unit(desk.sue, "LX22")
    t0 = clock.now()
    # 1. an S-grade domestic: attend within 60 minutes
    domestic = desk.cathy.create(
        grade="S",
        type="Domestic",
        summary="Ex-partner turned up at the address earlier, has left, caller scared",
    ).json()
    assert datetime.fromisoformat(domestic["deadline"]) == t0 + timedelta(minutes=60)
    # 2. a unit is assigned
    clock.advance(timedelta(minutes=2))
    assert cmd(desk.dan, lx21, "assign", {"incident_id": domestic["id"]}).status_code == 200
    assert incident(desk.dan, domestic["id"])["status"] == "ASSIGNED"
    # 3. an I-grade call comes in; 4. the unit is diverted to it
    clock.advance(timedelta(minutes=8))
    urgent = desk.cathy.create(
        grade="I", type="Assault", summary="Male assaulted outside the pub, suspect nearby"
    ).json()
    reason = "Nearest unit to an I-grade assault in progress"
    r = cmd(desk.dan, lx21, "divert", {"incident_id": urgent["id"], "reason": reason})
    assert r.status_code == 200, r.text
    assert r.json()["incident_id"] == urgent["id"] and r.json()["status"] == "ASSIGNED"
    t_divert = clock.now()
    s = incident(desk.dan, domestic["id"])
    assert s["owed"] is True and s["status"] == "OPEN" and s["escalated_at"] is None
    [tag] = s["diverts"]
    assert (
        tag["callsign"],
        tag["from_incident_id"],
        tag["to_incident_id"],
        tag["by"],
        tag["reason"],
    ) == ("LX21", domestic["id"], urgent["id"], "dan", reason)
    assert datetime.fromisoformat(tag["at"]) == t_divert and tag["released_at"] is None
    assert (tag["from_ref"], tag["to_ref"]) == (domestic["ref"], urgent["ref"])
    assert incident(desk.dan, urgent["id"])["status"] == "ASSIGNED"
    # on the desk: the S domestic tops the queue above the I call, flagged DIVERT
    assert queue_row(clock, s, incident(desk.dan, urgent["id"])) == (
        domestic["ref"],
        "50:00",
        "DIVERT: NO UNIT",
    )
    # the DIVERT tag list shows it
    open_list = desk.sue.get("/diverts?state=open").json()
    assert [d["id"] for d in open_list] == [tag["id"]]
    # the countdown keeps running: still the 60-minute deadline, no attendance
    assert s["deadline"] == domestic["deadline"] and s["attended_at"] is None
    # 5. nine minutes on: not yet escalated; at ten: escalated to supervisors
    clock.advance(timedelta(minutes=9, seconds=59))
    assert incident(desk.dan, domestic["id"])["escalated_at"] is None
    clock.advance(timedelta(seconds=1))
    s = incident(desk.sue, domestic["id"])
    assert datetime.fromisoformat(s["escalated_at"]) == t_divert + timedelta(minutes=10)
    assert any(
        a["action"] == "escalate_owed" and a["entity_id"] == domestic["id"]
        for a in desk.sue.get("/audit").json()
    )
    # the unit arriving at the I-grade call does not release the domestic
    assert cmd(desk.dan, lx21, "arrive").status_code == 200
    assert incident(desk.dan, urgent["id"])["status"] == "AT_SCENE"
    assert incident(desk.dan, domestic["id"])["owed"] is True
    # 6. through the 60-minute deadline and on: still owed, counting up
    clock.set(t0 + timedelta(minutes=75))
    s = incident(desk.dan, domestic["id"])
    assert s["owed"] is True and s["escalated_at"] is not None
    cd = incident_from_json(s).countdown(clock.now(), DEFAULT_POLICY)
    assert cd.state is CountdownState.BREACHED
    assert format_countdown(cd) == "+15:00"
    assert queue_row(clock, s, incident(desk.dan, urgent["id"])) == (
        domestic["ref"],
        "+15:00",
        "DIVERT: ESCALATED, NO UNIT",
    )
    # a dispatcher cannot close it away
    r = desk.dan.post(
        f"/incidents/{domestic['id']}/close",
        headers=key(),
        json={"rationale": "Caller not answering on two callbacks, closing the domestic"},
    )
    assert r.status_code == 403 and "owed" in r.json()["detail"]
    # 7. another unit is assigned: no longer escalated, still owed
    assert cmd(desk.dan, lx22, "assign", {"incident_id": domestic["id"]}).status_code == 200
    s = incident(desk.dan, domestic["id"])
    assert s["owed"] is True and s["escalated_at"] is None and s["status"] == "ASSIGNED"
    # 8. ... and arrives: released, countdown stopped (late)
    clock.advance(timedelta(minutes=12))
    assert cmd(desk.dan, lx22, "arrive").status_code == 200
    s = incident(desk.dan, domestic["id"])
    assert s["owed"] is False and s["status"] == "AT_SCENE"
    assert datetime.fromisoformat(s["attended_at"]) == clock.now()
    [tag] = s["diverts"]
    assert datetime.fromisoformat(tag["released_at"]) == clock.now()
    assert tag["released_reason"] == "LX22 arrived"
    cd = incident_from_json(s).countdown(clock.now() + timedelta(hours=1), DEFAULT_POLICY)
    assert cd.state is CountdownState.ATTENDED and cd.seconds == -27 * 60
    # the tag stays open on the list until a supervisor reviews it, with a note
    assert [d["id"] for d in desk.sue.get("/diverts?state=open").json()] == [tag["id"]]
    r = desk.dan.post(
        f"/diverts/{tag['id']}/review",
        headers=key(),
        json={"note": "Divert justified, but no unit was re-sent for 60 min"},
    )
    assert r.status_code == 403
    r = desk.sue.post(f"/diverts/{tag['id']}/review", headers=key(), json={"note": "nfa"})
    assert "too short" in refused(r, "note")
    note = "Divert was justified by the I-grade assault; LX22 should have been sent sooner"
    r = desk.sue.post(f"/diverts/{tag['id']}/review", headers=key(), json={"note": note})
    assert r.status_code == 200, r.text
    assert r.json()["reviewed_by"] == "sue" and r.json()["review_note"] == note
    assert desk.sue.get("/diverts?state=open").json() == []
    assert [d["review_note"] for d in desk.sue.get("/diverts?state=all").json()] == [note]
    again = desk.sue.post(f"/diverts/{tag['id']}/review", headers=key(), json={"note": note})
    assert again.status_code == 409
    # the change feed carried every step, and folds to what the server now says
    folded: dict[tuple[str, int], dict[str, Any]] = {}
    versions: dict[tuple[str, int], int] = {}
    for c in changes_since(desk.dan, 0):
        Change.model_validate(c)
        k = (c["entity"], c["data"]["id"])
        assert c["data"]["version"] == versions.get(k, 0) + 1, c
        versions[k] = c["data"]["version"]
        folded[k] = c["data"]
    snap = desk.dan.get("/snapshot").json()
    for inc in snap["incidents"]:
        assert folded[("incident", inc["id"])] == inc
        IncidentOut.model_validate(inc)
    for u in snap["units"]:
        assert folded[("unit", u["id"])] == u
    owed_states = [
        c["data"]["owed"]
        for c in changes_since(desk.dan, 0)
        if c["entity"] == "incident" and c["data"]["id"] == domestic["id"]
    ]
    assert owed_states == [False, False, True, True, True, False, False]


def test_supervisor_closes_an_owed_incident_with_a_rationale(desk: Desk) -> None:
    lx21 = new_unit(desk.sue, "LX21")
    a = desk.cathy.create(grade="S").json()
    b = desk.cathy.create(grade="I", summary="Robbery in progress at the corner shop").json()
    cmd(desk.dan, lx21, "assign", {"incident_id": a["id"]})
    r = cmd(desk.dan, lx21, "divert", {"incident_id": b["id"], "reason": "  "})
    assert r.status_code == 422
    r = cmd(desk.dan, lx21, "divert", {"incident_id": a["id"], "reason": "same incident"})
    assert r.status_code == 409
    r = cmd(desk.dan, lx21, "divert", {"incident_id": b["id"], "reason": "I-grade robbery"})
    assert r.status_code == 200
    r = desk.sue.post(
        f"/incidents/{a['id']}/close", headers=key(), json={"rationale": "no further action"}
    )
    assert "stock phrase" in refused(r, "rationale")
    rationale = "Caller rang back: ex-partner arrested by BTP at the station, no risk now"
    r = desk.sue.post(f"/incidents/{a['id']}/close", headers=key(), json={"rationale": rationale})
    assert r.status_code == 200, r.text
    closed = r.json()
    assert closed["owed"] is False and closed["status"] == "CLOSED"
    assert closed["diverts"][0]["released_by"] == "sue"
    assert rationale in closed["diverts"][0]["released_reason"]
    # the tag stays for review; the diverted unit is untouched
    assert len(desk.sue.get("/diverts?state=open").json()) == 1
    assert desk.dan.get(f"/units/{lx21['id']}").json()["incident_id"] == b["id"]


def test_openapi_documents_the_unit_routes(desk: Desk) -> None:
    doc = desk.client.get("/openapi.json").json()
    paths = doc["paths"]
    for path in (
        "/api/v1/units",
        "/api/v1/units/{unit_id}/assign",
        "/api/v1/units/{unit_id}/divert",
        "/api/v1/units/{unit_id}/arrive",
        "/api/v1/units/{unit_id}/clear",
        "/api/v1/units/{unit_id}/status",
        "/api/v1/diverts",
        "/api/v1/diverts/{divert_id}/review",
    ):
        assert path in paths, path
    ok = paths["/api/v1/units/{unit_id}/assign"]["post"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["$ref"].endswith("/UnitOut")
    assert "409" in paths["/api/v1/units/{unit_id}/assign"]["post"]["responses"]
    schemas = doc["components"]["schemas"]
    assert {"owed", "diverts", "escalated_at"} <= set(schemas["IncidentOut"]["properties"])
    assert "units" in schemas["Snapshot"]["properties"]


def test_old_payloads_still_validate() -> None:
    old = {
        "id": 1,
        "ref": "CAD 0001/23NOV26",
        "version": 1,
        "grade": "S",
        "status": "OPEN",
        "created_at": "2026-11-23T09:00:00Z",
        "deadline": "2026-11-23T10:00:00Z",
        "type": "Burglary",
        "summary": "x",
        "location": {"address": "1 High St", "postcode": "SW1A 1AA", "borough": "Westminster"},
    }
    inc = IncidentOut.model_validate(old)
    assert inc.owed is False and inc.diverts == [] and inc.escalated_at is None
    snap = Snapshot.model_validate(
        {
            "cursor": 0,
            "server_time": "2026-11-23T09:00:00Z",
            "incidents": [old],
            "policy": {"targets": {"S": 3600}, "at_risk_fraction": 0.33, "timezone": "UTC"},
        }
    )
    assert snap.units == []


def test_the_database_refuses_a_unit_whose_status_and_incident_disagree(desk: Desk) -> None:
    unit = new_unit(desk.sue, "LX21")
    inc = desk.cathy.create().json()
    engine = make_engine(desk.settings.db_url)
    try:
        for values in (
            {"status": "ASSIGNED"},
            {"status": "AVAILABLE", "incident_id": inc["id"]},
            {"status": "OFF_DUTY", "incident_id": inc["id"]},
        ):
            with pytest.raises(IntegrityError), engine.begin() as conn:
                conn.execute(sa.update(units).where(units.c.id == unit["id"]).values(values))
    finally:
        engine.dispose()


def test_diverting_the_unit_at_scene_restarts_the_countdown(desk: Desk, clock: FakeClock) -> None:
    """The unit that attended is taken away: nobody is there, so the incident is waiting again
    (its countdown runs from the original deadline) and owed until another unit arrives."""
    lx21, lx30 = new_unit(desk.sue, "LX21"), new_unit(desk.sue, "LX30")
    domestic = desk.cathy.create(grade="S", summary="Domestic, shouting heard next door").json()
    robbery = desk.cathy.create(grade="I", summary="Robbery in progress at the shop").json()
    assert cmd(desk.dan, lx21, "assign", {"incident_id": domestic["id"]}).status_code == 200
    assert cmd(desk.dan, lx21, "arrive").status_code == 200
    assert incident(desk.dan, domestic["id"])["attended_at"] is not None
    r = cmd(
        desk.dan,
        lx21,
        "divert",
        {"incident_id": robbery["id"], "reason": "Robbery in progress at the shop, LX21 nearest"},
    )
    assert r.status_code == 200, r.text
    left = incident_from_json(incident(desk.dan, domestic["id"]))
    assert left.owed and left.needs_unit and left.attended_at is None
    clock.advance(timedelta(minutes=61))
    assert left.countdown(clock.now(), DEFAULT_POLICY).state is CountdownState.BREACHED
    assert cmd(desk.dan, lx30, "assign", {"incident_id": domestic["id"]}).status_code == 200
    assert cmd(desk.dan, lx30, "arrive").status_code == 200
    back = incident_from_json(incident(desk.dan, domestic["id"]))
    assert not back.owed and back.attended_at is not None
