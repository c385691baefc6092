"""Data that spoils matching and statistics is refused by the server: a borough or incident
type not on its lists (sent in the snapshot; case aside, stored as the list spells it), an
address with no letters, a date of birth in the future (by the server's clock and zone)."""
# ruff: noqa: E501  (CSV fixtures are kept one record per line)

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dispatchdesk.domain.clock import FakeClock
from dispatchdesk.domain.reference import (
    INCIDENT_TYPES,
    LONDON_BOROUGHS,
    LONDON_LISTS,
    ReferenceLists,
)
from dispatchdesk.domain.roles import Role
from dispatchdesk.protocol.convert import policy_from_wire
from dispatchdesk.protocol.schemas import Snapshot, UnitCreate
from dispatchdesk.server import ServerSettings
from dispatchdesk.server.auth import User
from dispatchdesk.server.errors import Invalid
from dispatchdesk.server.imports import import_orders
from dispatchdesk.server.simulation.fleet import RowError, import_units

from .conftest import Api, Desk, incident_body
from .helpers import order_body

LOCATION = {"address": "1 High Street", "postcode": "SW1A 1AA", "borough": "Westminster"}
FUTURE = "A date of birth cannot be in the future."


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def refused(r: Any) -> dict[tuple[Any, ...], str]:
    """loc -> message of a 422."""
    assert r.status_code == 422, r.text
    return {tuple(e["loc"]): e["msg"] for e in r.json()["detail"]}


def nothing_created(desk: Desk) -> None:
    assert desk.dan.get("/snapshot").json()["incidents"] == []
    assert desk.dan.get("/changes?since=0").json()["changes"] == []


def test_the_snapshot_carries_the_lists(desk: Desk) -> None:
    snap = Snapshot.model_validate(desk.dan.get("/snapshot").json())
    assert snap.policy.boroughs == list(LONDON_BOROUGHS)
    assert len(snap.policy.boroughs) == 33 and "City of London" in snap.policy.boroughs
    assert snap.policy.incident_types == list(INCIDENT_TYPES)
    # the desk's policy holds them (and an older server's snapshot, without them, holds none)
    assert policy_from_wire(snap.policy).reference == LONDON_LISTS
    old = snap.policy.model_dump(exclude={"boroughs", "incident_types"})
    assert policy_from_wire(type(snap.policy).model_validate(old)).reference == ReferenceLists()


def test_the_simulator_types_and_boroughs_are_on_the_lists() -> None:
    from dispatchdesk.server.simulation.london import BOROUGH_CODES, BOROUGHS
    from dispatchdesk.server.simulation.scenario import TYPES

    assert {kind for kinds in TYPES.values() for kind, _ in kinds} <= set(INCIDENT_TYPES)
    assert set(BOROUGHS) <= set(LONDON_BOROUGHS) and set(BOROUGH_CODES) <= set(LONDON_BOROUGHS)


@pytest.mark.parametrize(
    ("over", "loc", "words"),
    [
        (
            {"location": {**LOCATION, "borough": "Narnia"}},
            ("body", "location", "borough"),
            ["“Narnia” is not a borough this server knows", "Did you mean Barnet"],
        ),
        (
            {"type": "Alien landing"},
            ("body", "type"),
            ["“Alien landing” is not an incident type this server knows"],
        ),
        (
            {"location": {**LOCATION, "address": "!!"}},
            ("body", "location", "address"),
            ["no letters"],
        ),
        (
            {"location": {**LOCATION, "address": "123"}},
            ("body", "location", "address"),
            ["“123” has no letters"],
        ),
        (
            {"caller": {"name": "Ann Smith", "dob": "2099-01-01"}},
            ("body", "caller", "dob"),
            [FUTURE],
        ),
        (
            {
                "persons": [
                    {"name": "Ann Smith", "dob": "1984-03-09"},
                    {"name": "Bob Smith", "dob": "2099-01-01"},
                ]
            },
            ("body", "persons", 1, "dob"),
            [FUTURE],
        ),
    ],
)
def test_create_refuses_bad_data_naming_the_field(
    desk: Desk, over: dict[str, Any], loc: tuple[Any, ...], words: list[str]
) -> None:
    errors = refused(desk.cathy.create(**over))
    assert list(errors) == [loc]
    for w in words:
        assert w in errors[loc]
    nothing_created(desk)
    # a refusal is audited, like every refused command
    first = desk.sue.get("/audit", params={"entity": "incident"}).json()[0]
    assert first["action"] == "refused_create_incident"


def test_every_problem_is_named_at_once_whoever_sends_it(desk: Desk) -> None:
    body: dict[str, Any] = {
        "type": "Alien landing",
        "caller": {"name": "A B", "dob": "2099-12-31"},
        "location": {**LOCATION, "address": "!!", "borough": "Narnia"},
    }
    for api in (desk.cathy, desk.dan, desk.sue):  # no role is let through
        errors = refused(api.create(**body))
        assert set(errors) == {
            ("body", "type"),
            ("body", "caller", "dob"),
            ("body", "location", "address"),
            ("body", "location", "borough"),
        }
    nothing_created(desk)


def test_case_and_spaces_are_ignored_and_the_list_spelling_is_stored(desk: Desk) -> None:
    r = desk.cathy.create(
        type="  concern   FOR welfare ",
        location={**LOCATION, "borough": "tower hamlets  ", "address": "Flat 1, 2 Roman Road"},
    )
    assert r.status_code == 201, r.text
    inc = r.json()
    assert (inc["type"], inc["location"]["borough"]) == ("Concern for welfare", "Tower Hamlets")
    [change] = desk.dan.get("/changes?since=0").json()["changes"]
    assert (change["data"]["type"], change["data"]["location"]["borough"]) == (
        "Concern for welfare",
        "Tower Hamlets",
    )
    snap = desk.dan.get("/snapshot").json()
    assert snap["incidents"][0]["location"]["borough"] == "Tower Hamlets"
    # an address with a letter anywhere is an address
    assert desk.cathy.create(location={**LOCATION, "address": "12a"}).status_code == 201


def test_a_date_of_birth_is_judged_by_the_server_clock_in_its_zone(
    desk: Desk, clock: FakeClock
) -> None:
    # 23:30 UTC on 30 June is 00:30 on 1 July in London (BST): born "today" is fine there,
    # though it is still tomorrow in UTC; the day after is refused
    clock.advance(datetime(2027, 6, 30, 23, 30, tzinfo=UTC) - clock.now())
    born_today = {"name": "Baby Smith", "dob": "2027-07-01"}
    r = desk.cathy.create(caller={"name": "Ann Smith", "dob": "2027-07-01"}, persons=[born_today])
    assert r.status_code == 201, r.text
    errors = refused(desk.cathy.create(persons=[{"name": "Baby Smith", "dob": "2027-07-02"}]))
    assert errors == {("body", "persons", 0, "dob"): FUTURE}


def test_patch_cannot_change_type_or_location(desk: Desk) -> None:
    inc = desk.cathy.create().json()
    path = f"/incidents/{inc['id']}"
    for body in (
        {"type": "Alien landing"},
        {"location": {**LOCATION, "borough": "Narnia"}},
        {"caller": {"name": "A B", "dob": "2099-01-01"}},
        {"persons": [{"name": "A B", "dob": "2099-01-01"}]},
    ):
        r = desk.sue.patch(path, json=body, headers={"If-Match": "1"})
        assert r.status_code == 422, body
    assert desk.dan.get(path).json() == inc


def test_a_force_configures_its_lists_and_a_stored_result_still_replays(
    desk: Desk, make_desk: Callable[..., Desk]
) -> None:
    k = key()
    first = desk.cathy.post("/incidents", json=incident_body(), headers=k)
    assert first.status_code == 201
    lists = ReferenceLists(boroughs=("North", "South"), incident_types=("Burglary", "Fire"))
    other = make_desk(reference_lists=lists)  # the same database, other lists
    snap = other.dan.get("/snapshot").json()["policy"]
    assert (snap["boroughs"], snap["incident_types"]) == (["North", "South"], ["Burglary", "Fire"])
    # the same command resent: its stored result, not a new check
    again = other.cathy.post("/incidents", json=incident_body(), headers=k)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    # a new one is checked against the new lists
    errors = refused(other.cathy.create(type="Domestic"))
    assert set(errors) == {("body", "location", "borough"), ("body", "type")}
    assert "Choose one from the list (2 on it)" in errors[("body", "location", "borough")]
    r = other.cathy.create(type="fire", location={**LOCATION, "borough": "NORTH"})
    assert (r.json()["type"], r.json()["location"]["borough"]) == ("Fire", "North")
    # an empty list accepts anything (a force without boroughs)
    free = make_desk(reference_lists=ReferenceLists(incident_types=("Burglary",)))
    assert free.dan.get("/snapshot").json()["policy"]["boroughs"] == []
    r = free.cathy.create(location={**LOCATION, "borough": "Anywhere  at all"})
    assert r.status_code == 201 and r.json()["location"]["borough"] == "Anywhere at all"


def new_unit(api: Api, callsign: str, borough: str) -> Any:
    return api.post(
        "/units", json={"callsign": callsign, "kind": "IRV", "borough": borough}, headers=key()
    )


def test_a_unit_borough_is_on_the_list(desk: Desk) -> None:
    errors = refused(new_unit(desk.sue, "LX21", "Narnia"))
    assert (
        list(errors) == [("body", "borough")]
        and "Did you mean Barnet" in errors[("body", "borough")]
    )
    r = new_unit(desk.sue, "LX21", " kensington AND chelsea")
    assert r.status_code == 201 and r.json()["borough"] == "Kensington and Chelsea"
    assert [u["callsign"] for u in desk.dan.get("/units").json()] == ["LX21"]


def test_a_bulk_fleet_made_without_http_is_checked_too(desk: Desk) -> None:
    units = desk.client.app.state.services.units  # type: ignore[attr-defined]
    bodies = [
        UnitCreate(callsign="LX21", kind="IRV", borough="Camden"),
        UnitCreate(callsign="LX22", kind="IRV", borough="Narnia"),
    ]
    with pytest.raises(Invalid) as err:
        units.create_units(User("setup", Role.SUPERVISOR), bodies)
    assert err.value.status_code == 422
    assert desk.dan.get("/units").json() == []  # all or nothing


def test_fleet_import_refuses_a_borough_off_the_list_and_applies_nothing(
    settings: ServerSettings, desk: Desk, tmp_path: Path
) -> None:
    path = tmp_path / "fleet.csv"
    path.write_text(
        "callsign,kind,borough\nLX21,IRV,westminster\nLX22,IRV,Narnia\nLX23,Van,Camdem\n",
        encoding="utf-8",
    )
    report = import_units(settings.db_url, path)
    assert not report.ok and report.created == []
    assert [(e.line, e.field) for e in report.errors] == [(3, "borough"), (4, "borough")]
    assert "Did you mean Camden?" in report.errors[1].reason
    assert desk.dan.get("/units").json() == []
    path.write_text("callsign,kind,borough\nLX21,IRV,westminster\n", encoding="utf-8")
    assert import_units(settings.db_url, path).ok
    assert [u["borough"] for u in desk.dan.get("/units").json()] == ["Westminster"]
    # the server's configured list, when given
    only = ServerSettings(
        db_url=settings.db_url, reference_lists=ReferenceLists(boroughs=("North",))
    )
    path.write_text("callsign,kind,borough\nLX31,IRV,Westminster\n", encoding="utf-8")
    report = import_units(settings.db_url, path, only)
    assert report.errors == [RowError(2, "borough", report.errors[0].reason)]
    assert "not a borough this server knows" in report.errors[0].reason


ORDERS_FUTURE_DOB = """order_type,subject_name,subject_dob,protected_persons,conditions,issued_on,expires_on,source_ref
NON_MOLESTATION,Gary Hollis,1984-03-09,Dawn Hollis (1986-07-21),Not to contact,2026-05-24,2026-11-24,FAM-1
NON_MOLESTATION,Ian Crow,2099-03-09,,Not to contact,2026-05-24,,FAM-2
NON_MOLESTATION,Ian Crow,,Amy Crow (2026-11-23); Baby Crow (2026-11-24),Not to contact,2026-05-24,,FAM-3
"""


def test_order_import_refuses_a_future_date_of_birth(
    desk: Desk, db_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS_FUTURE_DOB, encoding="utf-8")
    report = import_orders(db_url, path, clock=clock)  # today is 23 Nov 2026
    assert not report.ok and report.applied == 0
    assert [(p.line, p.field, p.reason) for p in report.problems] == [
        (3, "subject_dob", FUTURE),
        (4, "protected_persons", FUTURE),
    ]
    assert desk.dan.get("/snapshot").json()["orders"] == []


def test_order_api_refuses_a_future_date_of_birth(desk: Desk) -> None:
    bad = order_body(subject={"name": "Gary Hollis", "dob": "2099-03-09"})
    errors = refused(desk.sue.post("/orders", json=bad, headers=key()))
    assert errors == {("body", "subject", "dob"): FUTURE}
    r = desk.sue.post("/orders", json=order_body(), headers=key())
    assert r.status_code == 201, r.text
    # walked around by an edit: refused the same way, the order unchanged
    path = f"/orders/{r.json()['id']}"
    errors = refused(
        desk.sue.patch(
            path,
            json={
                "protected_persons": [
                    {"name": "Dawn Hollis", "dob": "1986-07-21"},
                    {"name": "Baby", "dob": "2099-01-01"},
                ]
            },
            headers={"If-Match": "1"},
        )
    )
    assert errors == {("body", "protected_persons", 1, "dob"): FUTURE}
    assert desk.sue.get(path).json()["version"] == 1
