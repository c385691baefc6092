"""Every rationale and reason is checked by the server against every one accepted in the last
24 months, over HTTP: close, a supervisor's close of an owed incident, downgrade, divert,
divert review, scheme end. One lookback for all kinds; refusals name what was copied."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from dispatchdesk.domain.clock import FakeClock
from dispatchdesk.server.db import make_engine
from dispatchdesk.server.rationales import rationale_tokens, rationales

from .conftest import Desk
from .helpers import cmd, key, make_scheme, new_unit, refused

#: The earlier text, and the same words as someone else would paste them.
EARLIER = (
    "Dean Morris had left before officers arrived; his ex-partner was safe, door secured "
    "and DASH done as medium risk with BWV running"
)
PASTED = (
    "dean morris had left before officers arrived, his ex-partner was safe; door secured "
    "and DASH done as medium risk with BWV running."
)


def close(desk: Desk, incident_id: int, text: str, **headers: str) -> httpx.Response:
    return desk.dan.post(
        f"/incidents/{incident_id}/close", json={"rationale": text}, headers={**key(), **headers}
    )


def downgrade(desk: Desk, incident: dict[str, Any], text: str) -> httpx.Response:
    """A supervisor's downgrade (applied at once; a call handler's is a request, checked the
    same way: tests/server/test_downgrades.py)."""
    return desk.sue.patch(
        f"/incidents/{incident['id']}",
        json={"grade": "S", "reason": text},
        headers={**key(), "If-Match": str(incident["version"])},
    )


def _close(desk: Desk, n: int) -> Callable[[str], httpx.Response]:
    inc = desk.cathy.create().json()
    return lambda text: close(desk, inc["id"], text)


def _owed(desk: Desk, n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A unit diverted from an incident (now owed) to another: (divert tag, the owed one)."""
    unit = new_unit(desk.sue, f"LX{n}")
    owed = desk.cathy.create(grade="S").json()
    urgent = desk.cathy.create(grade="I", summary="Robbery in progress").json()
    assert cmd(desk.dan, unit, "assign", {"incident_id": owed["id"]}).status_code == 200
    r = cmd(
        desk.dan,
        unit,
        "divert",
        {
            "incident_id": urgent["id"],
            "reason": f"LX{n} nearest to the I-grade robbery at the bookmaker's, {urgent['ref']}",
        },
    )
    assert r.status_code == 200, r.text
    tag = desk.dan.get(f"/incidents/{owed['id']}").json()["diverts"][0]
    return tag, owed


def _owed_close(desk: Desk, n: int) -> Callable[[str], httpx.Response]:
    _tag, owed = _owed(desk, n)
    return lambda text: desk.sue.post(
        f"/incidents/{owed['id']}/close", json={"rationale": text}, headers=key()
    )


def _downgrade(desk: Desk, n: int) -> Callable[[str], httpx.Response]:
    inc = desk.cathy.create(grade="I").json()
    return lambda text: downgrade(desk, inc, text)


def _divert(desk: Desk, n: int) -> Callable[[str], httpx.Response]:
    unit = new_unit(desk.sue, f"LX{n}")
    a = desk.cathy.create(grade="S").json()
    b = desk.cathy.create(grade="I").json()
    assert cmd(desk.dan, unit, "assign", {"incident_id": a["id"]}).status_code == 200
    return lambda text: cmd(desk.dan, unit, "divert", {"incident_id": b["id"], "reason": text})


def _review(desk: Desk, n: int) -> Callable[[str], httpx.Response]:
    tag, _owed_one = _owed(desk, n)
    return lambda text: desk.sue.post(
        f"/diverts/{tag['id']}/review", json={"note": text}, headers=key()
    )


def _scheme_end(desk: Desk, n: int) -> Callable[[str], httpx.Response]:
    scheme = make_scheme(desk.sue)
    told = desk.sue.post(
        f"/schemes/{scheme['id']}/victim-contact",
        headers=key(),
        json={"outcome": "INFORMED", "note": "Told by phone of the removal"},
    )
    assert told.status_code == 200, told.text  # so the end is refused for its reason only
    return lambda text: desk.sue.post(
        f"/schemes/{scheme['id']}/end", json={"reason": text}, headers=key()
    )


def _withdrawal(desk: Desk, n: int) -> Callable[[str], httpx.Response]:
    unit = new_unit(desk.sue, f"LX{n}")
    inc = desk.cathy.create(grade="S").json()
    assert cmd(desk.dan, unit, "assign", {"incident_id": inc["id"]}).status_code == 200
    return lambda text: cmd(desk.dan, unit, "clear", {"reason": text})


def _scheme_override(desk: Desk, n: int) -> Callable[[str], httpx.Response]:
    scheme = make_scheme(desk.sue)  # the victim not told: the end needs the override
    return lambda text: desk.sue.post(
        f"/schemes/{scheme['id']}/end",
        json={
            "reason": f"Attempt {uuid.uuid4().hex[:8]}: the OIC confirms the risk has passed",
            "override_rationale": text,
        },
        headers=key(),
    )


def _downgrade_request(desk: Desk, n: int) -> Callable[[str], httpx.Response]:
    inc = desk.cathy.create(grade="I").json()
    return lambda text: desk.cathy.patch(
        f"/incidents/{inc['id']}",
        json={"grade": "S", "reason": text},
        headers={**key(), "If-Match": str(inc["version"])},
    )


def _downgrade_decision(verdict: str) -> Callable[[Desk, int], Callable[[str], httpx.Response]]:
    def make(desk: Desk, n: int) -> Callable[[str], httpx.Response]:
        inc = desk.cathy.create(grade="I").json()
        asked = desk.cathy.patch(
            f"/incidents/{inc['id']}",
            json={"grade": "S", "reason": f"Request {n}: the caller's son is home with her now"},
            headers={**key(), "If-Match": "1"},
        )
        assert asked.status_code == 202, asked.text
        return lambda text: desk.sue.post(
            f"/incidents/{inc['id']}/downgrade/{verdict}", json={"note": text}, headers=key()
        )

    return make


#: Every path a rationale or reason comes in by, and the body field that carries it.
PATHS = {
    "close": (_close, "rationale"),
    "owed close": (_owed_close, "rationale"),
    "downgrade": (_downgrade, "reason"),
    "downgrade request": (_downgrade_request, "reason"),
    "downgrade approval": (_downgrade_decision("approve"), "note"),
    "downgrade rejection": (_downgrade_decision("reject"), "note"),
    "divert": (_divert, "reason"),
    "withdrawal": (_withdrawal, "reason"),
    "divert review": (_review, "note"),
    "scheme end": (_scheme_end, "reason"),
    "scheme end override": (_scheme_override, "override_rationale"),
}


def test_a_downgrade_with_reason_nfa_is_refused(desk: Desk) -> None:
    inc = desk.cathy.create(grade="I").json()
    r = downgrade(desk, inc, "NFA")
    assert "downgrade reason is too short" in refused(r, "reason")
    assert r.json()["detail"][0]["ctx"] == {"reason": "too_short", "min_chars": 15}
    r = downgrade(desk, inc, "No further police action required")
    assert "stock phrase" in refused(r, "reason")
    assert r.json()["detail"][0]["ctx"] == {
        "reason": "template",
        "similarity": 1.0,
        "template": "no further police action required",
    }
    now = desk.dan.get(f"/incidents/{inc['id']}").json()
    assert (now["grade"], now["version"], now["downgrade_reason"]) == ("I", 1, None)
    r = downgrade(desk, inc, "Caller rang back: the man has gone and she is at her mother's")
    assert r.status_code == 200, r.text
    assert r.json()["grade"] == "S"


@pytest.mark.parametrize("path", list(PATHS))
def test_each_path_refuses_a_copy_of_an_earlier_rationale_and_accepts_its_own(
    desk: Desk, clock: FakeClock, path: str
) -> None:
    first = desk.cathy.create().json()
    assert close(desk, first["id"], EARLIER).status_code == 200
    make, field = PATHS[path]
    attempt = make(desk, 21)
    clock.advance(timedelta(days=3))
    assert "stock phrase" in refused(attempt("Words of advice given."), field)
    r = attempt(PASTED)
    detail = refused(r, field)
    assert f"the closing rationale of {first['ref']} on 23 Nov 2026 (identical)" in detail
    copies = r.json()["detail"][0]["ctx"]["copies"]
    assert (copies["kind"], copies["incident_id"], copies["incident_ref"]) == (
        "close",
        first["id"],
        first["ref"],
    )
    own = f"{path.capitalize()} in my own words: the hallway camera showed the man leave at 09:14"
    r = attempt(own)
    assert r.status_code in (200, 201, 202), r.text
    # and what it accepted is now an earlier rationale too, for every other path
    again = close(desk, desk.cathy.create().json()["id"], own + "!")
    assert "on 26 Nov 2026 (identical)" in refused(again)


def test_a_near_copy_is_refused_with_how_similar_it_is(desk: Desk) -> None:
    first = desk.cathy.create().json()
    assert close(desk, first["id"], EARLIER).status_code == 200
    near = EARLIER.replace("medium", "standard")
    r = close(desk, desk.cathy.create().json()["id"], near)
    assert f"the closing rationale of {first['ref']} on 23 Nov 2026 (95% similar)" in refused(
        r, "rationale"
    )
    ctx = r.json()["detail"][0]["ctx"]
    assert ctx["reason"] == "copy" and 0.95 <= ctx["similarity"] < 0.96


def test_a_copy_from_18_months_ago_is_refused_one_from_25_months_ago_accepted(
    make_desk: Callable[..., Desk], clock: FakeClock
) -> None:
    desk = make_desk(token_ttl=timedelta(days=1000))
    sup = desk.cathy.create(grade="I").json()
    assert downgrade(desk, sup, EARLIER).status_code == 200  # the first supervisor's words
    clock.advance(timedelta(days=548))  # 18 months
    r = close(desk, desk.cathy.create().json()["id"], PASTED)
    assert f"the downgrade reason of {sup['ref']} on 23 Nov 2026" in refused(r)
    clock.advance(timedelta(days=213))  # 25 months after the first
    r = close(desk, desk.cathy.create().json()["id"], PASTED)
    assert r.status_code == 200, r.text


def test_the_lookback_ends_24_months_back_to_the_second(
    make_desk: Callable[..., Desk], clock: FakeClock
) -> None:
    desk = make_desk(token_ttl=timedelta(days=1000))
    first = desk.cathy.create().json()
    assert close(desk, first["id"], EARLIER).status_code == 200
    lookback = desk.settings.rationale_lookback
    assert lookback == timedelta(days=730)  # the server's default: 24 months
    clock.advance(timedelta(days=548))  # 18 months on: a copy, and an own text accepted
    assert f"the closing rationale of {first['ref']}" in refused(_close(desk, 0)(PASTED))
    own = "Neighbour at no. 12 confirmed the shouting was a television; resident seen well"
    assert _close(desk, 0)(own).status_code == 200
    clock.advance(lookback - timedelta(days=548) - timedelta(seconds=1))
    assert "(identical)" in refused(_close(desk, 0)(PASTED))  # a second inside
    clock.advance(timedelta(seconds=1))
    assert "(identical)" in refused(_close(desk, 0)(PASTED))  # exactly 24 months: still inside
    clock.advance(timedelta(seconds=1))
    r = _close(desk, 0)(PASTED)  # a second past 24 months: no longer compared
    assert r.status_code == 200, r.text


def test_the_templates_are_server_policy(make_desk: Callable[..., Desk]) -> None:
    desk = make_desk(rationale_templates=("attended and all in order on arrival",))
    inc = desk.cathy.create().json()
    r = close(desk, inc["id"], "Attended, and all in order on arrival!")
    assert "stock phrase “attended and all in order on arrival”" in refused(r, "rationale")
    # a phrase of the built-in list is not refused when the force's list leaves it out
    r = close(desk, inc["id"], "All parties spoken to and advised")
    assert r.status_code == 200, r.text


def test_another_role_on_another_path_cannot_reuse_a_scheme_end_reason(desk: Desk) -> None:
    scheme = make_scheme(desk.sue)
    reason = "Victim rehoused by the council in another borough on 1 December, OIC agreed"
    told = desk.sue.post(
        f"/schemes/{scheme['id']}/victim-contact",
        headers=key(),
        json={"outcome": "INFORMED", "note": "Told in person of the removal"},
    )
    assert told.status_code == 200, told.text
    r = desk.sue.post(f"/schemes/{scheme['id']}/end", json={"reason": reason}, headers=key())
    assert r.status_code == 200, r.text
    inc = desk.cathy.create(grade="I").json()
    r = downgrade(desk, inc, reason)
    detail = refused(r)
    assert f"the reason special scheme {scheme['id']} was ended" in detail
    assert "Victim of DA" not in r.text  # never the scheme's own text
    r = _divert(desk, 30)(reason.upper())
    refused(r, "reason")


def test_a_replayed_command_returns_its_first_result(desk: Desk) -> None:
    a = desk.cathy.create().json()
    headers = {"Idempotency-Key": "close-a"}
    first = close(desk, a["id"], EARLIER, **headers)
    assert first.status_code == 200
    replay = close(desk, a["id"], EARLIER, **headers)
    assert replay.status_code == 200 and replay.json() == first.json()
    b = desk.cathy.create(grade="I").json()
    body = {"grade": "S", "reason": "Suspect detained by store security, no threat now"}
    h = {"Idempotency-Key": "down-b", "If-Match": "1"}
    first = desk.cathy.patch(f"/incidents/{b['id']}", json=body, headers=h)
    assert first.status_code == 202, first.text  # a call handler's downgrade is a request
    replay = desk.cathy.patch(f"/incidents/{b['id']}", json=body, headers=h)
    assert replay.status_code == 202 and replay.json() == first.json()
    # the same text under a new key is a new command: a copy
    c = desk.cathy.create(grade="I").json()
    refused(downgrade(desk, c, body["reason"]))


def test_the_same_incident_may_repeat_itself_but_a_review_must_be_the_supervisors_own(
    desk: Desk,
) -> None:
    inc = desk.cathy.create(grade="I").json()
    reason = "Caller rang back at 09:40: her brother has gone home and she is not hurt"
    assert downgrade(desk, inc, reason).status_code == 200
    assert close(desk, inc["id"], reason).status_code == 200  # same incident: not a copy
    tag, _owed_one = _owed(desk, 40)
    r = desk.sue.post(f"/diverts/{tag['id']}/review", json={"note": tag["reason"]}, headers=key())
    assert "the reason for diverting LX40 away from" in refused(r, "note")


def test_a_refused_command_records_nothing(desk: Desk) -> None:
    unit = new_unit(desk.sue, "LX50")
    inc = desk.cathy.create(grade="I").json()
    assert cmd(desk.dan, unit, "assign", {"incident_id": inc["id"]}).status_code == 200
    reason = "Suspect seen boarding a bus on CCTV, the victim is with her sister now"
    r = desk.dan.patch(
        f"/incidents/{inc['id']}",
        headers={**key(), "If-Match": "2"},
        json={"grade": "S", "reason": reason, "status": "OPEN"},
    )
    assert r.status_code == 409 and "has LX50 on it" in r.json()["detail"]
    other = desk.cathy.create(grade="I").json()
    assert downgrade(desk, other, reason).status_code == 200


def test_rationales_already_in_the_database_are_loaded_at_start(
    make_desk: Callable[..., Desk],
) -> None:
    desk = make_desk()
    a = desk.cathy.create().json()
    assert close(desk, a["id"], EARLIER).status_code == 200
    tag, _owed_one = _owed(desk, 60)
    engine = make_engine(desk.settings.db_url)
    with engine.begin() as conn:  # a database from before the store: texts on their rows only
        for table in (rationale_tokens, rationales):
            conn.execute(table.delete())
    restarted = make_desk()
    r = close(restarted, restarted.cathy.create().json()["id"], PASTED)
    assert f"the closing rationale of {a['ref']}" in refused(r)
    r = _downgrade(restarted, 0)(tag["reason"] + ".")
    assert "the reason for diverting LX60" in refused(r)
    with engine.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(rationales)).scalar() == 2
    engine.dispose()
