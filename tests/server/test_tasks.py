"""Tasks for the attending officers, checked before closing (issue 12), over HTTP against the
real server: made from policy, recorded done or not done, a close refused while one is open,
a supervisor's override, and the ways around them tried."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dispatchdesk.domain.clock import FakeClock

from .conftest import Api, Desk, login
from .helpers import cmd, incident, key, new_unit

ANN = {"name": "Ann Smith", "phone": "07700 900123"}
ANON = {"phone": "07700 900456", "anonymous": True, "anonymity_requested": True}
#: The status of a refused rationale or reason (the rationale check's; issue 12 moves it to 422).
RATIONALE_REFUSED = 422


def refusal(r: Any) -> str:
    """The sentence of a refused rationale (a field error) or of any other refusal."""
    detail = r.json()["detail"]
    return str(detail[0]["msg"]) if isinstance(detail, list) else str(detail)


DOMESTIC = [
    "CONTACT_INFORMANT",
    "CHECK_LINKED",
    "HISTORY_CHECK",
    "HOUSE_TO_HOUSE",
    "CONTACT_REPORTING_PERSON",
]


def _create(api: Api, **body: Any) -> dict[str, Any]:
    r = api.create(**body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _task(inc: dict[str, Any], kind: str) -> dict[str, Any]:
    [task] = [t for t in inc["tasks"] if t["kind"] == kind]
    return dict(task)


def _done(api: Api, inc: dict[str, Any], task: dict[str, Any], outcome: str) -> Any:
    return api.post(
        f"/incidents/{inc['id']}/tasks/{task['id']}/done", json={"outcome": outcome}, headers=key()
    )


def _not_done(api: Api, inc: dict[str, Any], task: dict[str, Any], reason: str) -> Any:
    return api.post(
        f"/incidents/{inc['id']}/tasks/{task['id']}/not-done",
        json={"reason": reason},
        headers=key(),
    )


def _close(api: Api, inc: dict[str, Any], rationale: str, **more: Any) -> Any:
    return api.post(
        f"/incidents/{inc['id']}/close", json={"rationale": rationale, **more}, headers=key()
    )


def test_a_domestic_gets_the_policys_tasks_and_its_informant_contact(desk: Desk) -> None:
    inc = _create(desk.cathy, type="Domestic", caller=ANN)
    assert [t["kind"] for t in inc["tasks"]] == DOMESTIC
    assert all(t["state"] == "OPEN" and t["by"] is None for t in inc["tasks"])
    assert _task(inc, "CONTACT_INFORMANT")["detail"] == "Ann Smith, 07700 900123"
    # in the snapshot too, and the policy travels with it
    snap = desk.dan.get("/snapshot").json()
    assert [t["kind"] for t in snap["incidents"][0]["tasks"]] == DOMESTIC
    policy = snap["policy"]["tasks"]
    assert "Domestic" in policy["domestic_types"] and "Domestic" in policy["informant_types"]
    assert policy["overdue_after_seconds"] == 24 * 3600


def test_an_anonymous_caller_is_still_an_informant(desk: Desk) -> None:
    inc = _create(desk.cathy, type="Domestic", caller=ANON)
    assert _task(inc, "CONTACT_INFORMANT")["detail"] == "Anon, 07700 900456"
    welfare = _create(desk.cathy, type="Concern for welfare", caller=ANON)
    assert [(t["kind"], t["detail"]) for t in welfare["tasks"]] == [
        ("CONTACT_INFORMANT", "Anon, 07700 900456")
    ]


def test_informants_are_the_caller_unless_the_victim_and_persons_named_informant(
    desk: Desk,
) -> None:
    victim_calling = _create(
        desk.cathy,
        type="Domestic",
        caller={**ANN, "role": "VICTIM"},
        persons=[
            {"name": "Joe Bloggs", "role": "INFORMANT"},
            {"name": "Gary Hollis", "role": "SUSPECT"},
        ],
    )
    contacts = [t["detail"] for t in victim_calling["tasks"] if t["kind"] == "CONTACT_INFORMANT"]
    assert contacts == ["Joe Bloggs, no phone given"]
    # a type off the policy's list: no task, whoever called
    assert _create(desk.cathy, type="Burglary", caller=ANN)["tasks"] == []
    # nothing recorded of the caller: nobody to contact
    assert _create(desk.cathy, type="Concern for welfare")["tasks"] == []


def test_close_is_refused_naming_each_open_task_then_allowed_once_all_recorded(
    desk: Desk,
) -> None:
    inc = _create(desk.cathy, type="Domestic", caller=ANON)
    r = _close(desk.dan, inc, "Officers separated the couple; suspect left for his brother's")
    assert r.status_code == 409, r.text
    said = r.json()["detail"]
    assert "5 tasks" in said
    for name in (
        "Contact the informant (Anon, 07700 900456)",
        "Check linked incidents",
        "History check",
        "House-to-house enquiries",
        "Contact the reporting person",
    ):
        assert name in said
    assert incident(desk.dan, inc["id"])["status"] == "OPEN"

    for kind, outcome in (
        ("CONTACT_INFORMANT", "Rang 07700 900456: neighbour heard shouting, saw nothing"),
        ("CHECK_LINKED", "No linked incidents on CAD for this address or the couple"),
        ("CONTACT_REPORTING_PERSON", "Victim seen at home by PC 123, safety plan agreed"),
    ):
        r = _done(desk.dan, inc, _task(inc, kind), outcome)
        assert r.status_code == 200, r.text
    r = _not_done(
        desk.dan, inc, _task(inc, "HOUSE_TO_HOUSE"), "Flats 1-4 empty at 02:00, retry by day shift"
    )
    assert r.status_code == 200, r.text
    out = r.json()
    h2h = _task(out, "HOUSE_TO_HOUSE")
    assert h2h["state"] == "NOT_DONE" and h2h["by"] == "dan" and h2h["reason"].startswith("Flats")
    informant = _task(out, "CONTACT_INFORMANT")
    assert informant["state"] == "DONE" and informant["outcome"].startswith("Rang")
    # the history check is the one still open
    r = _close(desk.dan, inc, "Officers separated the couple; suspect left for his brother's")
    assert r.status_code == 409
    assert "1 task " in r.json()["detail"] and "History check" in r.json()["detail"]
    assert "Check linked" not in r.json()["detail"]


def test_not_done_needs_a_reason_of_the_incidents_own(desk: Desk, clock: FakeClock) -> None:
    first = _create(desk.cathy, type="Domestic", caller=ANN)
    second = _create(desk.cathy, type="Domestic", caller=ANN)
    task = _task(first, "HOUSE_TO_HOUSE")
    r = _not_done(desk.dan, first, task, "no further action")
    assert r.status_code == RATIONALE_REFUSED and "stock phrase" in refusal(r)
    r = _not_done(desk.dan, first, task, "   ")
    assert r.status_code == 422
    reason = "Street cordoned off by fire brigade, no access to neighbours until noon"
    assert _not_done(desk.dan, first, task, reason).status_code == 200
    clock.advance(timedelta(days=548))  # eighteen months on, the same words elsewhere
    dan = login(desk.client, "dan")  # a new shift's sign-in
    r = _not_done(dan, second, _task(second, "HOUSE_TO_HOUSE"), reason)
    assert r.status_code == RATIONALE_REFUSED, r.text
    assert first["ref"] in refusal(r)
    assert _task(incident(dan, second["id"]), "HOUSE_TO_HOUSE")["state"] == "OPEN"


def test_a_supervisor_may_close_with_tasks_open_saying_why(desk: Desk) -> None:
    inc = _create(desk.cathy, type="Domestic", caller=ANN)
    why = "Victim moved to refuge tonight; tasks passed to the DA unit, ref DAU/4411"
    # a dispatcher may not override; a supervisor must ask for it
    r = _close(desk.dan, inc, why, override_open_tasks=True)
    assert r.status_code == 403 and "Only a supervisor" in r.json()["detail"]
    assert _close(desk.sue, inc, why).status_code == 409
    # the rationale is checked like any other
    r = _close(desk.sue, inc, "words of advice given", override_open_tasks=True)
    assert r.status_code == RATIONALE_REFUSED and "stock phrase" in refusal(r)
    # ... and a refused close leaves every task as it was
    assert {t["state"] for t in incident(desk.sue, inc["id"])["tasks"]} == {"OPEN"}
    r = _close(desk.sue, inc, why, override_open_tasks=True)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "CLOSED"
    assert {t["state"] for t in out["tasks"]} == {"NOT_DONE"}
    assert all(t["by"] == "sue" and why in t["reason"] for t in out["tasks"])
    [row] = [a for a in desk.sue.get("/audit").json() if a["action"] == "close_incident"]
    assert "closed by supervisor with tasks open" in row["detail"]
    assert "House-to-house enquiries" in row["detail"]


def test_an_owed_close_still_needs_the_tasks_or_the_override(desk: Desk) -> None:
    a = _create(desk.cathy, type="Domestic", caller=ANN)
    b = _create(desk.cathy, grade="I", type="Burglary")
    unit = new_unit(desk.sue, "LX21")
    assert cmd(desk.dan, unit, "assign", {"incident_id": a["id"]}).status_code == 200
    divert = {"incident_id": b["id"], "reason": "Burglary in progress two streets away"}
    assert cmd(desk.dan, unit, "divert", divert).status_code == 200
    assert incident(desk.sue, a["id"])["owed"] is True
    why = "Couple reconciled per phone call at 03:10, victim declined a visit"
    r = _close(desk.sue, a, why)
    assert r.status_code == 409 and "tasks" in r.json()["detail"]
    r = _close(desk.sue, a, why, override_open_tasks=True)
    assert r.status_code == 200, r.text
    assert r.json()["owed"] is False


def test_retyping_adds_the_new_types_tasks_and_never_removes_any(desk: Desk) -> None:
    inc = _create(desk.cathy, type="Burglary", caller=ANN)
    assert inc["tasks"] == []
    path = f"/incidents/{inc['id']}"
    r = desk.cathy.patch(path, json={"type": "domestic"}, headers={"If-Match": "1"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["type"] == "Domestic"
    assert [t["kind"] for t in out["tasks"]] == DOMESTIC
    done = _done(desk.dan, out, _task(out, "CHECK_LINKED"), "Two linked CADs read, no risk found")
    assert done.status_code == 200
    version = str(done.json()["version"])
    # back to burglary (to dodge the tasks?): every task stays, the close is still refused
    r = desk.cathy.patch(path, json={"type": "Burglary"}, headers={"If-Match": version})
    assert r.status_code == 200, r.text
    out = r.json()
    assert [(t["kind"], t["state"]) for t in out["tasks"]] == [
        ("CONTACT_INFORMANT", "OPEN"),
        ("CHECK_LINKED", "DONE"),
        ("HISTORY_CHECK", "OPEN"),
        ("HOUSE_TO_HOUSE", "OPEN"),
        ("CONTACT_REPORTING_PERSON", "OPEN"),
    ]
    r = _close(desk.dan, out, "Burglary of the shed, nothing taken, owner has CCTV footage")
    assert r.status_code == 409
    # domestic again: nothing doubled
    r = desk.cathy.patch(path, json={"type": "Domestic"}, headers={"If-Match": str(out["version"])})
    assert len(r.json()["tasks"]) == 5
    # a type off the server's list is refused
    v = str(r.json()["version"])
    r = desk.cathy.patch(path, json={"type": "Nonsense type"}, headers={"If-Match": v})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "type"]


def test_walking_around_the_task_commands(desk: Desk) -> None:
    a = _create(desk.cathy, type="Domestic", caller=ANN)
    b = _create(desk.cathy, type="Domestic", caller=ANN)
    task = _task(a, "HOUSE_TO_HOUSE")
    outcome = "Spoke to three neighbours, one heard a row at 22:00"
    # a call handler may not record tasks
    assert _done(desk.cathy, a, task, outcome).status_code == 403
    # a task of another incident is not this incident's
    r = _done(desk.dan, b, task, outcome)
    assert r.status_code == 404 and b["ref"] in r.json()["detail"]
    assert _done(desk.dan, {"id": 9999}, task, outcome).status_code == 404
    # done once; a replay of the same command returns the same answer, a second one is refused
    path = f"/incidents/{a['id']}/tasks/{task['id']}/done"
    first = desk.dan.post(path, json={"outcome": outcome}, headers={"Idempotency-Key": "t1"})
    again = desk.dan.post(path, json={"outcome": outcome}, headers={"Idempotency-Key": "t1"})
    assert first.status_code == again.status_code == 200
    assert again.headers.get("Idempotent-Replayed") == "true"
    r = _done(desk.sue, a, task, "Another outcome written over the first one")
    assert r.status_code == 409 and "already recorded done by dan" in r.json()["detail"]
    r = _not_done(desk.sue, a, task, "Changing my mind about the neighbours after all")
    assert r.status_code == 409
    assert _task(incident(desk.dan, a["id"]), "HOUSE_TO_HOUSE")["outcome"] == outcome
    # a closed incident's tasks are no longer recorded
    why = "Suspect arrested at scene, victim with family, DA unit taking over the case"
    assert _close(desk.sue, b, why, override_open_tasks=True).status_code == 200
    r = _done(desk.dan, b, _task(b, "CHECK_LINKED"), "Looked at linked incidents afterwards")
    assert r.status_code == 409 and "closed" in r.json()["detail"]
    # each recorded task is audited
    actions = [row["action"] for row in desk.sue.get("/audit?limit=50").json()]
    assert "task_done" in actions and "refused_task_done" in actions


def test_the_history_check_is_done_only_after_the_history_was_opened(desk: Desk) -> None:
    inc = _create(desk.cathy, type="Domestic", caller=ANN)
    other = _create(desk.cathy, type="Domestic", caller=ANN)
    check = _task(inc, "HISTORY_CHECK")
    found = "Two earlier domestics at the address in 2024, same couple, no weapons"
    r = _done(desk.dan, inc, check, found)
    assert r.status_code == 409, r.text
    assert "Nobody has opened the history" in r.json()["detail"]
    # opening another incident's history proves nothing about this one
    assert desk.dan.get(f"/incidents/{other['id']}/history").status_code == 200
    assert _done(desk.dan, inc, check, found).status_code == 409
    # anyone opening it (the audit row is the proof), then what was found is recorded
    assert desk.cathy.get(f"/incidents/{inc['id']}/history").status_code == 200
    r = _done(desk.dan, inc, check, found)
    assert r.status_code == 200, r.text
    assert _task(r.json(), "HISTORY_CHECK")["outcome"] == found
    opened = [a for a in desk.sue.get("/audit").json() if a["action"] == "history_viewed"]
    assert {a["entity_id"] for a in opened} == {inc["id"], other["id"]}
    # not done needs no opening, but a reason of its own
    r = _not_done(desk.dan, other, _task(other, "HISTORY_CHECK"), "History system down all night")
    assert r.status_code == 200, r.text
