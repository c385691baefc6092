"""Warnings passed to the unit sent (issue 9, item 9): assign and divert carry
``warnings_passed`` and the server audits them with the command, so "the unit was told" is on
record. Over HTTP against the real server."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from dispatchdesk.domain.clock import FakeClock

from .conftest import Desk
from .helpers import cmd, make_scheme, new_unit, order_body


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def _setup(desk: Desk) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    scheme = make_scheme(desk.sue)
    r = desk.sue.post("/orders", json=order_body(), headers=key())
    assert r.status_code == 201, r.text
    inc = desk.cathy.create(
        location={
            "address": "22 Acacia Avenue",
            "postcode": "N1 9GU",
            "borough": "Islington",
            "uprn": "5550001",
        }
    ).json()
    return scheme, dict(r.json()), inc


def _audit(desk: Desk, action: str) -> list[dict[str, Any]]:
    return [a for a in desk.sue.get("/audit?limit=500").json() if a["action"] == action]


def test_assign_and_divert_record_the_warnings_passed_to_the_unit(desk: Desk) -> None:
    scheme, order, inc = _setup(desk)
    lx21 = new_unit(desk.sue, "LX21")
    passed = [{"kind": "scheme", "id": scheme["id"]}, {"kind": "order", "id": order["id"]}]
    r = cmd(desk.dan, lx21, "assign", {"incident_id": inc["id"], "warnings_passed": passed})
    assert r.status_code == 200, r.text
    [row] = _audit(desk, "assign_unit")
    assert row["detail"] == (
        f"LX21 assigned to {inc['ref']}; warnings passed to LX21: scheme {scheme['id']} "
        f"(VICTIM_AT_RISK), order {order['id']} (NON_MOLESTATION)"
    )
    # Schemes by id and category only: never the address or the summary.
    every = " ".join(
        a["detail"]
        for a in desk.sue.get("/audit?limit=500").json()
        if a["action"] != "create_scheme"
    )
    assert "Mill Lane" not in every and "bail" not in every
    # The scheme's and the order's own history: which unit was told, for which incident.
    told = {(a["entity"], a["entity_id"]): a["detail"] for a in _audit(desk, "warning_passed")}
    assert told[("scheme", scheme["id"])] == (
        f"scheme {scheme['id']} v1 passed to LX21 for incident {inc['ref']} (id {inc['id']})"
    )
    assert ("order", order["id"]) in told and all(
        a["username"] == "dan" for a in _audit(desk, "warning_passed")
    )

    # Divert LX21 to another incident at the order's address, passing the order only.
    other = desk.cathy.create(
        location={
            "address": "22 Acacia Avenue",
            "postcode": "N1 9GU",
            "borough": "Islington",
            "uprn": "5550001",
        }
    ).json()
    r = cmd(
        desk.dan,
        lx21,
        "divert",
        {
            "incident_id": other["id"],
            "reason": "Knife seen at the Acacia Avenue address",
            "warnings_passed": [{"kind": "order", "id": order["id"]}],
        },
    )
    assert r.status_code == 200, r.text
    [row] = _audit(desk, "divert_unit")
    assert row["detail"].endswith(
        f"is owed attendance; warnings passed to LX21: order {order['id']} (NON_MOLESTATION)"
    )


def test_older_desks_send_no_warnings_passed_and_still_assign(desk: Desk) -> None:
    _scheme, _order, inc = _setup(desk)
    lx21 = new_unit(desk.sue, "LX21")
    r = cmd(desk.dan, lx21, "assign", {"incident_id": inc["id"]})
    assert r.status_code == 200, r.text
    [row] = _audit(desk, "assign_unit")
    assert row["detail"] == f"LX21 assigned to {inc['ref']}"
    assert _audit(desk, "warning_passed") == []


def test_malformed_or_unknown_warnings_are_refused_and_nothing_moves(desk: Desk) -> None:
    scheme, _order, inc = _setup(desk)
    lx21 = new_unit(desk.sue, "LX21")
    for bad in (
        [{"kind": "person", "id": 1}],
        [{"kind": "scheme", "id": 0}],
        [{"kind": "scheme"}],
        [{"kind": "scheme", "id": scheme["id"], "text": "x"}],
        [{"kind": "scheme", "id": scheme["id"]}, {"kind": "scheme", "id": scheme["id"]}],
        "scheme 1",
    ):
        r = cmd(desk.dan, lx21, "assign", {"incident_id": inc["id"], "warnings_passed": bad})
        assert r.status_code == 422, (bad, r.text)
    # Well-formed, but a scheme the server never had: refused, and the unit did not move.
    r = cmd(
        desk.dan,
        lx21,
        "assign",
        {"incident_id": inc["id"], "warnings_passed": [{"kind": "scheme", "id": 9999}]},
    )
    assert r.status_code == 422
    assert (
        "no special scheme 9999" in r.json()["detail"]
        and "Nothing was changed" in r.json()["detail"]
    )
    assert desk.dan.get(f"/units/{lx21['id']}").json()["status"] == "AVAILABLE"
    assert _audit(desk, "assign_unit") == [] and _audit(desk, "warning_passed") == []
    assert len(_audit(desk, "refused_assign_unit")) == 1


def test_a_scheme_that_expired_before_the_command_arrived_is_still_recorded(
    desk: Desk, clock: FakeClock
) -> None:
    """The desk was offline: the unit was told of a scheme that expired before the queued
    assignment reached the server. The record of what the unit was told is kept, and says so."""
    scheme = make_scheme(desk.sue, expires_at=(clock.now() + timedelta(hours=1)).isoformat())
    inc = desk.cathy.create().json()
    lx21 = new_unit(desk.sue, "LX21")
    clock.advance(timedelta(hours=2))
    desk.dan.get("/snapshot")  # the sweep removes the expired scheme
    r = cmd(
        desk.dan,
        lx21,
        "assign",
        {"incident_id": inc["id"], "warnings_passed": [{"kind": "scheme", "id": scheme["id"]}]},
    )
    assert r.status_code == 200, r.text
    [row] = _audit(desk, "assign_unit")
    assert row["detail"].endswith(
        f"warnings passed to LX21: scheme {scheme['id']} (VICTIM_AT_RISK, no longer live)"
    )


def test_a_resent_assignment_records_the_warnings_once(desk: Desk) -> None:
    scheme, _order, inc = _setup(desk)
    lx21 = new_unit(desk.sue, "LX21")
    body = {"incident_id": inc["id"], "warnings_passed": [{"kind": "scheme", "id": scheme["id"]}]}
    headers = key()
    first = desk.dan.post(f"/units/{lx21['id']}/assign", json=body, headers=headers)
    again = desk.dan.post(f"/units/{lx21['id']}/assign", json=body, headers=headers)
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    assert len(_audit(desk, "warning_passed")) == 1
