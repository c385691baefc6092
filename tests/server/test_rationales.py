"""Every rationale and reason is checked by the server against every one accepted in the last
24 months, over HTTP: close, a supervisor's close of an owed incident, downgrade, divert,
divert review, scheme end. One lookback for all kinds; refusals name what was copied."""

from __future__ import annotations

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
from .helpers import cmd, key, make_scheme, new_unit

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
    return desk.cathy.patch(
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


PATHS = {
    "close": _close,
    "owed close": _owed_close,
    "downgrade": _downgrade,
    "divert": _divert,
    "divert review": _review,
    "scheme end": _scheme_end,
}


def test_a_downgrade_with_reason_nfa_is_refused(desk: Desk) -> None:
    inc = desk.cathy.create(grade="I").json()
    r = downgrade(desk, inc, "NFA")
    assert r.status_code == 409
    assert "downgrade reason is too short" in r.json()["detail"]
    r = downgrade(desk, inc, "No further police action required")
    assert r.status_code == 409 and "stock phrase" in r.json()["detail"]
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
    attempt = PATHS[path](desk, 21)
    clock.advance(timedelta(days=3))
    r = attempt(PASTED)
    assert r.status_code == 409, r.text
    detail = r.json()["detail"]
    assert f"the closing rationale of {first['ref']} on 23 Nov 2026 (identical)" in detail
    own = f"{path.capitalize()} in my own words: the hallway camera showed the man leave at 09:14"
    r = attempt(own)
    assert r.status_code in (200, 201), r.text
    # and what it accepted is now an earlier rationale too, for every other path
    again = close(desk, desk.cathy.create().json()["id"], own + "!")
    assert again.status_code == 409 and "on 26 Nov 2026 (identical)" in again.json()["detail"]


def test_a_near_copy_is_refused_with_how_similar_it_is(desk: Desk) -> None:
    first = desk.cathy.create().json()
    assert close(desk, first["id"], EARLIER).status_code == 200
    near = EARLIER.replace("medium", "standard")
    r = close(desk, desk.cathy.create().json()["id"], near)
    assert r.status_code == 409
    assert (
        f"the closing rationale of {first['ref']} on 23 Nov 2026 (95% similar)"
        in r.json()["detail"]
    )


def test_a_copy_from_18_months_ago_is_refused_one_from_25_months_ago_accepted(
    make_desk: Callable[..., Desk], clock: FakeClock
) -> None:
    desk = make_desk(token_ttl=timedelta(days=1000))
    sup = desk.cathy.create(grade="I").json()
    assert downgrade(desk, sup, EARLIER).status_code == 200  # the first supervisor's words
    clock.advance(timedelta(days=548))  # 18 months
    r = close(desk, desk.cathy.create().json()["id"], PASTED)
    assert r.status_code == 409
    assert f"the downgrade reason of {sup['ref']} on 23 Nov 2026" in r.json()["detail"]
    clock.advance(timedelta(days=213))  # 25 months after the first
    r = close(desk, desk.cathy.create().json()["id"], PASTED)
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
    assert r.status_code == 409
    detail = r.json()["detail"]
    assert f"the reason special scheme {scheme['id']} was ended" in detail
    assert "Victim of DA" not in detail  # never the scheme's own text
    r = _divert(desk, 30)(reason.upper())
    assert r.status_code == 409


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
    assert first.status_code == 200, first.text
    replay = desk.cathy.patch(f"/incidents/{b['id']}", json=body, headers=h)
    assert replay.status_code == 200 and replay.json() == first.json()
    # the same text under a new key is a new command: a copy
    c = desk.cathy.create(grade="I").json()
    assert downgrade(desk, c, body["reason"]).status_code == 409


def test_the_same_incident_may_repeat_itself_but_a_review_must_be_the_supervisors_own(
    desk: Desk,
) -> None:
    inc = desk.cathy.create(grade="I").json()
    reason = "Caller rang back at 09:40: her brother has gone home and she is not hurt"
    assert downgrade(desk, inc, reason).status_code == 200
    assert close(desk, inc["id"], reason).status_code == 200  # same incident: not a copy
    tag, _owed_one = _owed(desk, 40)
    r = desk.sue.post(f"/diverts/{tag['id']}/review", json={"note": tag["reason"]}, headers=key())
    assert r.status_code == 409
    assert "the reason for diverting LX40 away from" in r.json()["detail"]


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
    assert r.status_code == 409
    assert f"the closing rationale of {a['ref']}" in r.json()["detail"]
    r = _downgrade(restarted, 0)(tag["reason"] + ".")
    assert r.status_code == 409 and "the reason for diverting LX60" in r.json()["detail"]
    with engine.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(rationales)).scalar() == 2
    engine.dispose()
