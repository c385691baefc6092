"""History over HTTP against the real server: earlier incidents at a location and involving
the same people (the Mr A case end to end, loaded with ``import incidents``), block and flat,
possible and refused person matches, the window, links both ways, roles and rights, and the
bulk load's refusals."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dispatchdesk.app import cli
from dispatchdesk.domain.clock import FakeClock
from dispatchdesk.protocol.history import HistoryPage
from dispatchdesk.server import ServerSettings
from dispatchdesk.server.db import incidents, make_engine
from dispatchdesk.server.features.history.imports import import_incidents

from .conftest import START, Api, Desk
from .helpers import changes_since, cursor, incident, key

YEAR = timedelta(days=365.25)

MR_A = {"name": "Adam ASHWORTH", "dob": "1979-05-14"}
WIFE = {"name": "Beth Ashworth", "dob": "1982-10-02"}
BROTHERS = [{"name": "Carl Ashworth", "dob": "1975-01-30"}, {"name": "Dean Ashworth"}]
HOME = {
    "address": "14 Larch Road",
    "postcode": "SE15 4QT",
    "borough": "Southwark",
    "uprn": "200003375001",
    "usrn": "21500101",
}
BROTHERS_HOME = {
    "address": "3 Heron Way",
    "postcode": "SE8 3BB",
    "borough": "Lewisham",
    "uprn": "100021966002",
    "usrn": "21400777",
}


def past(
    ref: str,
    age: timedelta,
    *,
    persons: list[dict[str, Any]],
    location: dict[str, Any] = BROTHERS_HOME,
    weapons: bool = False,
    kind: str = "Domestic",
    summary: str = "Argument between brothers, one threatened with a kitchen knife",
) -> dict[str, Any]:
    created = START - age
    return {
        "ref": ref,
        "grade": "I",
        "type": kind,
        "summary": summary,
        "location": location,
        "caller": {"name": "Neighbour at no 5", "role": "INFORMANT"},
        "persons": persons,
        "weapons": weapons,
        "created_at": created.isoformat(),
        "closed_at": (created + timedelta(hours=3)).isoformat(),
        "rationale": f"Officers attended {ref}; parties separated, crime report raised",
    }


def write_jsonl(path: Path, lines: list[dict[str, Any] | str]) -> Path:
    path.write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n",
        encoding="utf-8",
    )
    return path


def load(desk: Desk, clock: FakeClock, path: Path) -> None:
    report = import_incidents(desk.settings.db_url, path, clock=clock, settings=desk.settings)
    assert report.ok, report.problems
    assert report.applied == report.rows


def history_of(api: Api, incident_id: int) -> HistoryPage:
    r = api.get(f"/incidents/{incident_id}/history")
    assert r.status_code == 200, r.text
    return HistoryPage.model_validate(r.json())


def search(api: Api, **params: Any) -> HistoryPage:
    r = api.get("/history", params=params)
    assert r.status_code == 200, r.text
    return HistoryPage.model_validate(r.json())


def suspect(p: dict[str, Any]) -> dict[str, Any]:
    return {**p, "role": "SUSPECT"}


def victim(p: dict[str, Any]) -> dict[str, Any]:
    return {**p, "role": "VICTIM"}


def test_mr_a_three_past_domestics_with_his_brothers_are_found_from_a_new_one(
    desk: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    brothers = [victim(b) for b in BROTHERS]
    path = write_jsonl(
        tmp_path / "old.jsonl",
        [
            past("OLD-1", 4 * YEAR, persons=[suspect(MR_A), brothers[0]], weapons=True),
            past("OLD-2", 4.5 * YEAR, persons=[suspect(MR_A), brothers[1]], weapons=True),
            past(
                "OLD-3",
                4.9 * YEAR,
                persons=[suspect(MR_A), *brothers],
                summary="Shouting between brothers, no injuries; words of advice",
            ),
            # six and a half years ago: outside the six-year window
            past("OLD-4", 6.5 * YEAR, persons=[suspect(MR_A), brothers[0]], weapons=True),
            # someone else of the same name, born another day: never his
            past(
                "OLD-5",
                2 * YEAR,
                persons=[suspect({"name": "Adam Ashworth", "dob": "1990-12-01"})],
                location={**BROTHERS_HOME, "address": "40 Quay Street", "uprn": None},
                kind="Assault",
            ),
        ],
    )
    # loaded as a force would: the command line, against the server's database
    assert cli.main(["import", "incidents", str(path), "--db", desk.settings.db_url]) == 0
    assert "5 incidents imported" in capsys.readouterr().out
    r = desk.cathy.create(
        grade="I",
        type="Domestic",
        summary="Woman screaming, man heard threatening her, children in the house",
        location=HOME,
        caller={"name": "Beth Ashworth", "dob": "1982-10-02", "role": "VICTIM"},
        persons=[suspect(MR_A), victim(WIFE)],
        weapons=True,
    )
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["weapons"] is True
    assert new["caller"]["role"] == "VICTIM"
    assert [p["role"] for p in new["persons"]] == ["SUSPECT", "VICTIM"]

    page = history_of(desk.cathy, new["id"])
    assert page.incident_id == new["id"]
    assert page.since == START.replace(year=START.year - 6)  # six calendar years
    refs = [e.incident.ref for e in page.incidents]
    assert refs == ["OLD-1", "OLD-2", "OLD-3"]  # most recent first; OLD-4 too old, OLD-5 not him
    assert not page.truncated
    for e in page.incidents:
        assert (e.matched_on, e.match, e.possible) == ("person", "person", False)
        assert e.person is not None and e.person.name == "Adam ASHWORTH"
        assert e.person.role == "SUSPECT"  # his role there
        assert e.query_person is not None and e.query_person.role == "SUSPECT"
        others = {p.name: p.role for p in e.incident.persons if p.name != "Adam ASHWORTH"}
        assert others and set(others.values()) == {"VICTIM"}
        assert e.incident.status == "CLOSED" and e.incident.rationale
    assert [e.incident.weapons for e in page.incidents] == [True, True, False]
    # the brothers are the other parties, by name
    assert {p.name for e in page.incidents for p in e.incident.persons} >= {
        "Carl Ashworth",
        "Dean Ashworth",
    }
    # opening it is audited: who, which incident
    audit = desk.sue.get("/audit", params={"limit": 20}).json()
    opened = [a for a in audit if a["action"] == "history_viewed"]
    assert opened and opened[0]["username"] == "cathy" and opened[0]["entity_id"] == new["id"]
    assert "3 incidents" in opened[0]["detail"]

    # a longer window (asked for) reaches the old one; the refs were kept as imported
    wide = search(desk.dan, name="Adam Ashworth", dob="1979-05-14", years=7)
    assert [e.incident.ref for e in wide.incidents] == [
        new["ref"],  # a search is no incident's own: the new one is found too
        "OLD-1",
        "OLD-2",
        "OLD-3",
        "OLD-4",
    ]


def test_window_never_below_five_years(desk: Desk, make_desk: Any) -> None:
    r = desk.cathy.get("/history", params={"name": "Adam Ashworth", "years": 4})
    assert r.status_code == 422
    assert "at least 5" in r.text
    with pytest.raises(ValueError, match="at least 5"):
        ServerSettings(db_url="sqlite://", history_years=4)
    snap = desk.cathy.get("/snapshot").json()
    assert snap["policy"]["history_years"] == 6
    other = make_desk(history_years=8)
    assert other.cathy.get("/snapshot").json()["policy"]["history_years"] == 8


def test_block_and_flat_match_both_ways(desk: Desk, clock: FakeClock, tmp_path: Path) -> None:
    block = {
        "address": "Rose House, Mill Lane",
        "postcode": "E1 6AN",
        "borough": "Tower Hamlets",
        "uprn": "100023336956",
    }
    flat = {
        "address": "Flat 4, Rose House, Mill Lane",
        "postcode": "E1 6AN",
        "borough": "Tower Hamlets",
        "uprn": "100023336960",
        "parent_uprn": "100023336956",
    }
    other_flat = {**flat, "address": "Flat 9, Rose House, Mill Lane", "uprn": "100023336965"}
    path = write_jsonl(
        tmp_path / "block.jsonl",
        [
            past("BLK-1", 1 * YEAR, persons=[], location=block, kind="ASB"),
            past("FLT-4", 2 * YEAR, persons=[], location=flat, kind="Domestic"),
            past("FLT-9", 3 * YEAR, persons=[], location=other_flat, kind="Concern for welfare"),
        ],
    )
    load(desk, clock, path)
    at_flat = search(desk.cathy, uprn=flat["uprn"], parent_uprn=flat["parent_uprn"])
    how = {e.incident.ref: (e.match, e.possible) for e in at_flat.incidents}
    assert how == {
        "BLK-1": ("parent_uprn", False),  # the block the flat is in
        "FLT-4": ("uprn", False),
        "FLT-9": ("same_block", True),  # another flat of the block: possible
    }
    at_block = search(desk.cathy, uprn=block["uprn"])
    how = {e.incident.ref: e.match for e in at_block.incidents}
    assert how == {"BLK-1": "uprn", "FLT-4": "child_uprn", "FLT-9": "child_uprn"}
    # free text as typed, no UPRN: a one-letter typo is a possible match (with the postcode
    # or without), another flat of the block too; another building is none
    for typed in ("Flat 4, Rose House, Mil Lane, E1 6AN", "Flat 4, Rose House, Mil Lane"):
        how = {
            e.incident.ref: (e.match, e.possible)
            for e in search(desk.cathy, address=typed).incidents
        }
        assert how == {
            "FLT-4": ("address", True),
            "BLK-1": ("address", True),  # the building written out: the matcher's say
            "FLT-9": ("same_block", True),
        }, typed
    none = search(desk.cathy, address="Flat 4, Lily House, Mill Lane, E1 6AN")
    assert none.incidents == []


def test_street_and_house_and_free_text(desk: Desk, clock: FakeClock, tmp_path: Path) -> None:
    here = {"address": "22 Acre Lane", "postcode": "SW2 5SA", "borough": "Lambeth", "usrn": "9001"}
    path = write_jsonl(
        tmp_path / "street.jsonl",
        [
            past("ST-1", YEAR, persons=[], location=here, kind="Burglary"),
            past(
                "ST-2",
                YEAR,
                persons=[],
                location={**here, "address": "24 Acre Lane"},
                kind="Burglary",
            ),
            past(
                "ST-3",
                YEAR,
                persons=[],
                location={
                    "address": "22 Acer Lane, Brixton",
                    "postcode": "SW2 5SA",
                    "borough": "Lambeth",
                },
                kind="Burglary",
            ),
        ],
    )
    load(desk, clock, path)
    found = search(desk.cathy, usrn="9001", address="22 Acre Lane, London SW2 5SA")
    how = {e.incident.ref: (e.match, e.possible) for e in found.incidents}
    assert how["ST-1"] == ("street_house", False)
    assert "ST-2" not in how  # another house number never matches
    assert how["ST-3"][1] is True or how["ST-3"][0] == "same_address"


def test_person_missing_dob_is_possible_other_dob_is_not(
    desk: Desk, clock: FakeClock, tmp_path: Path
) -> None:
    path = write_jsonl(
        tmp_path / "people.jsonl",
        [
            past("P-NODOB", YEAR, persons=[suspect({"name": "Gary HOLLIS"})]),
            past(
                "P-SAME", 2 * YEAR, persons=[victim({"name": "hollis, gary", "dob": "1984-03-09"})]
            ),
            past("P-OTHER", YEAR, persons=[suspect({"name": "Gary Hollis", "dob": "1961-08-20"})]),
            past("P-NEAR", 3 * YEAR, persons=[{"name": "Garry Hollis", "dob": "1984-03-09"}]),
        ],
    )
    load(desk, clock, path)
    page = search(desk.cathy, name="Gary Hollis", dob="1984-03-09")
    how = {
        e.incident.ref: (e.match, e.possible, e.person.role if e.person else None)
        for e in page.incidents
    }
    assert how == {
        "P-NODOB": ("name", True, "SUSPECT"),
        "P-SAME": ("person", False, "VICTIM"),
        "P-NEAR": ("name", True, "OTHER"),
    }
    # without a date of birth asked, every Gary Hollis is a possible match
    loose = search(desk.cathy, name="GARY HOLLIS")
    assert {e.incident.ref for e in loose.incidents} == {"P-NODOB", "P-SAME", "P-OTHER"}
    assert all(e.possible for e in loose.incidents)


def test_links_both_ways_and_their_removal(desk: Desk) -> None:
    a = desk.cathy.create(summary="Fight outside the pub, two men").json()
    b = desk.cathy.create(summary="Second caller about the fight outside the pub").json()
    since = cursor(desk.dan)
    reason = "Second call about the same fight, caller on the other side of the road"
    r = desk.cathy.post(
        f"/incidents/{b['id']}/links",
        json={"incident_id": a["id"], "relation": "CHILD", "reason": reason},
        headers=key(),
    )
    assert r.status_code == 201, r.text
    assert r.json()["links"][0]["incident_id"] == a["id"]
    assert r.json()["links"][0]["relation"] == "CHILD"
    assert r.json()["links"][0]["by"] == "cathy"
    parent = incident(desk.dan, a["id"])
    assert parent["version"] == a["version"] + 1
    [link] = parent["links"]
    assert (link["incident_id"], link["ref"], link["relation"]) == (b["id"], b["ref"], "PARENT")
    # both changed in the log, so desks sync them
    changed = {(c["entity"], c["data"]["id"]) for c in changes_since(desk.dan, since)}
    assert {("incident", a["id"]), ("incident", b["id"])} <= changed
    # and the snapshot carries them
    snap = {i["id"]: i for i in desk.dan.get("/snapshot").json()["incidents"]}
    assert snap[a["id"]]["links"][0]["relation"] == "PARENT"
    # the incident's history lists the linked one (whatever matched)
    hist = history_of(desk.dan, a["id"])
    linked = [e for e in hist.incidents if e.incident.id == b["id"]]
    assert linked and linked[0].matched_on == "link" and linked[0].match == "PARENT"
    # a second link between them is refused, as is a link to itself
    again = desk.dan.post(
        f"/incidents/{a['id']}/links",
        json={"incident_id": b["id"], "relation": "RELATED", "reason": reason + " again"},
        headers=key(),
    )
    assert again.status_code == 409 and "already linked" in again.text
    itself = desk.dan.post(
        f"/incidents/{a['id']}/links",
        json={"incident_id": a["id"], "relation": "RELATED", "reason": reason},
        headers=key(),
    )
    assert itself.status_code == 422
    # a call handler may link but not remove a link
    removal = {"reason": "Linked in error: CAD for the pub fight is another night's"}
    r = desk.cathy.post(f"/incidents/{a['id']}/links/{b['id']}/remove", json=removal, headers=key())
    assert r.status_code == 403
    # a stock phrase is refused
    r = desk.dan.post(
        f"/incidents/{a['id']}/links/{b['id']}/remove",
        json={"reason": "No further action"},
        headers=key(),
    )
    assert r.status_code == 422
    since = cursor(desk.dan)
    r = desk.dan.post(f"/incidents/{a['id']}/links/{b['id']}/remove", json=removal, headers=key())
    assert r.status_code == 200, r.text
    assert r.json()["links"] == []
    assert incident(desk.dan, b["id"])["links"] == []
    changed = {(c["entity"], c["data"]["id"]) for c in changes_since(desk.dan, since)}
    assert {("incident", a["id"]), ("incident", b["id"])} <= changed
    audit = desk.sue.get("/audit", params={"limit": 50}).json()
    actions = [(x["action"], x["entity_id"]) for x in audit]
    assert ("unlink_incident", a["id"]) in actions and ("unlink_incident", b["id"]) in actions
    assert ("link_incident", a["id"]) in actions and ("link_incident", b["id"]) in actions
    # removing again: nothing to remove
    r = desk.dan.post(
        f"/incidents/{a['id']}/links/{b['id']}/remove",
        json={"reason": "Second attempt at removing the link made for the pub fight"},
        headers=key(),
    )
    assert r.status_code == 404


def test_link_reason_must_say_something(desk: Desk) -> None:
    a = desk.cathy.create().json()
    b = desk.cathy.create().json()
    for reason, status in (("", 422), ("   ", 422), ("dup", 422), ("Duplicate incident", 422)):
        r = desk.cathy.post(
            f"/incidents/{a['id']}/links",
            json={"incident_id": b["id"], "relation": "DUPLICATE", "reason": reason},
            headers=key(),
        )
        assert r.status_code == status, (reason, r.text)
    assert incident(desk.cathy, a["id"])["links"] == []


def test_weapons_patch_and_rights(desk: Desk) -> None:
    inc = desk.cathy.create().json()
    assert inc["weapons"] is False
    r = desk.cathy.patch(
        f"/incidents/{inc['id']}", json={"weapons": True}, headers={"If-Match": "1"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["weapons"] is True and r.json()["version"] == 2


def test_an_old_clients_create_without_roles_still_works(desk: Desk) -> None:
    r = desk.cathy.create(
        caller={"name": "Ann Smith", "phone": "07700 900123"},
        persons=[{"name": "John Smith", "dob": "1980-02-01"}],
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["caller"]["role"] == "INFORMANT"
    assert body["persons"] == [{"name": "John Smith", "dob": "1980-02-01", "role": "OTHER"}]
    assert body["weapons"] is False and body["links"] == []
    # an unknown role is refused, naming the field
    r = desk.cathy.create(persons=[{"name": "John Smith", "role": "PERPETRATOR"}])
    assert r.status_code == 422 and "persons" in r.text


def test_every_role_reads_history_and_anyone_signed_out_does_not(desk: Desk) -> None:
    inc = desk.cathy.create().json()
    for api in (desk.cathy, desk.dan, desk.sue):
        assert api.get(f"/incidents/{inc['id']}/history").status_code == 200
        assert api.get("/history", params={"address": "1 High Street"}).status_code == 200
    anon = Api(desk.client, None)
    assert anon.get(f"/incidents/{inc['id']}/history").status_code == 401
    assert anon.get("/history", params={"name": "x"}).status_code == 401
    assert desk.cathy.get("/history").status_code == 422  # nothing asked
    assert desk.cathy.get("/incidents/999999/history").status_code == 404


def test_import_with_bad_lines_applies_nothing(
    desk: Desk, clock: FakeClock, tmp_path: Path
) -> None:
    good = past("GOOD-1", YEAR, persons=[suspect(MR_A)])
    lines: list[dict[str, Any] | str] = [
        good,
        "{not json",
        {**past("BAD-2", YEAR, persons=[]), "grade": "Z"},
        {**past("BAD-3", YEAR, persons=[]), "closed_at": None},  # rationale but not closed
        {**past("BAD-4", -YEAR, persons=[])},  # created in the future
        {**past("BAD-5", YEAR, persons=[]), "rationale": None},  # closed without rationale
        {**past("GOOD-1", 2 * YEAR, persons=[])},  # ref twice
        {**past("BAD-7", YEAR, persons=[{"name": "X", "role": "BYSTANDER"}])},
        {**past("BAD-8", YEAR, persons=[]), "type": "Spaceship"},
        {**past("BAD-9", YEAR, persons=[]), "colour": "red"},
    ]
    path = write_jsonl(tmp_path / "bad.jsonl", lines)
    before = cursor(desk.dan)
    report = import_incidents(desk.settings.db_url, path, clock=clock, settings=desk.settings)
    assert not report.ok and report.applied == 0
    where = {(p.line, p.field.split(".")[0]) for p in report.problems}
    assert {
        (2, "line"),
        (3, "grade"),
        (4, "closed_at"),
        (5, "created_at"),
        (6, "rationale"),
        (7, "ref"),
        (8, "persons"),
        (9, "type"),
        (10, "colour"),
    } <= where
    assert 1 not in {p.line for p in report.problems}
    engine = make_engine(desk.settings.db_url)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(incidents)).scalar() == 0
    engine.dispose()
    assert cursor(desk.dan) == before
    # a ref already stored is refused on a later load, and nothing of that file applied
    load(desk, clock, write_jsonl(tmp_path / "one.jsonl", [good]))
    again = import_incidents(
        desk.settings.db_url,
        write_jsonl(tmp_path / "two.jsonl", [past("NEW-1", YEAR, persons=[]), good]),
        clock=clock,
        settings=desk.settings,
    )
    assert [(p.line, p.field) for p in again.problems] == [(2, "ref")]
    assert search(desk.dan, name="Adam Ashworth", dob="1979-05-14").incidents[0].incident.ref == (
        "GOOD-1"
    )
    assert search(desk.dan, address=BROTHERS_HOME["address"]).incidents[0].incident.ref == "GOOD-1"


def test_an_imported_open_incident_reaches_running_desks(
    desk: Desk, clock: FakeClock, tmp_path: Path
) -> None:
    still_open = past("LIVE-1", timedelta(hours=1), persons=[])
    del still_open["closed_at"], still_open["rationale"]
    old = past("OLD-9", YEAR, persons=[])
    before = cursor(desk.dan)
    load(desk, clock, write_jsonl(tmp_path / "mix.jsonl", [still_open, old]))
    refs = [c["data"].get("ref") for c in changes_since(desk.dan, before)]
    assert refs == ["LIVE-1"]  # a five-year load never floods the desks' feed
    snap = [i["ref"] for i in desk.dan.get("/snapshot").json()["incidents"]]
    assert "LIVE-1" in snap and "OLD-9" not in snap
    audit = [a["detail"] for a in desk.sue.get("/audit", params={"limit": 10}).json()]
    assert any("Imported OLD-9" in d and "line 2" in d for d in audit)


def test_own_refs_imported_for_today_are_not_handed_out_again(
    desk: Desk, clock: FakeClock, tmp_path: Path
) -> None:
    today = START.strftime("%d%b%y").upper()
    line = past(f"CAD 0007/{today}", timedelta(hours=5), persons=[])
    load(desk, clock, write_jsonl(tmp_path / "today.jsonl", [line]))
    r = desk.cathy.create()
    assert r.status_code == 201, r.text
    assert r.json()["ref"] == f"CAD 0008/{today}"


def test_history_survives_an_upgrade_of_a_database_without_its_keys(
    settings: ServerSettings, make_desk: Any
) -> None:
    """Incidents stored before the search tables existed get their keys at start-up."""
    first = make_desk()
    inc = first.cathy.create(persons=[suspect(MR_A)]).json()
    engine = make_engine(settings.db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM incident_people")
        conn.exec_driver_sql("DELETE FROM incident_places")
        conn.exec_driver_sql("DELETE FROM history_keys_state")  # as an older version left it
    engine.dispose()
    second = make_desk()
    page = search(second.dan, name=MR_A["name"], dob=MR_A["dob"])
    assert [e.incident.id for e in page.incidents] == [inc["id"]]


def test_links_cannot_be_walked_around(desk: Desk) -> None:
    """A replayed link applies once; the call handler cannot remove from the other side
    either; a link to an incident that does not exist is refused; linking a closed incident
    from a new one works (history found on the phone is linked while the caller waits)."""
    a = desk.cathy.create(summary="Caller's ex-partner at the door, shouting").json()
    b = desk.cathy.create(summary="Neighbour reports shouting at the same door").json()
    body = {
        "incident_id": a["id"],
        "relation": "RELATED",
        "reason": "Neighbour's call is about the same shouting at the caller's door",
    }
    same = key()
    first = desk.cathy.post(f"/incidents/{b['id']}/links", json=body, headers=same)
    replay = desk.cathy.post(f"/incidents/{b['id']}/links", json=body, headers=same)
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert len(incident(desk.dan, a["id"])["links"]) == 1
    assert incident(desk.dan, a["id"])["version"] == a["version"] + 1
    removal = {"reason": "Linked in error: the neighbour meant the house opposite"}
    for x, y in ((a, b), (b, a)):
        r = desk.cathy.post(
            f"/incidents/{x['id']}/links/{y['id']}/remove", json=removal, headers=key()
        )
        assert r.status_code == 403
    missing = desk.cathy.post(
        f"/incidents/{b['id']}/links", json={**body, "incident_id": 999999}, headers=key()
    )
    assert missing.status_code == 404
    r = desk.dan.post(
        f"/incidents/{a['id']}/close",
        json={"rationale": "Ex-partner left before officers arrived; safeguarding referral made"},
        headers=key(),
    )
    assert r.status_code == 200, r.text
    c = desk.cathy.create(summary="Ex-partner back at the door, kicking it").json()
    r = desk.cathy.post(
        f"/incidents/{c['id']}/links",
        json={
            "incident_id": a["id"],
            "relation": "RELATED",
            "reason": "Same ex-partner at the same door as this morning's call",
        },
        headers=key(),
    )
    assert r.status_code == 201, r.text
    closed = incident(desk.dan, a["id"])
    assert closed["status"] == "CLOSED" and {x["incident_id"] for x in closed["links"]} == {
        b["id"],
        c["id"],
    }


def test_at_most_200_most_recent_first_then_truncated(
    desk: Desk, clock: FakeClock, tmp_path: Path
) -> None:
    """A busy address: the 200 most recent, newest first, and ``truncated`` says there are
    more; the incident's own history never lists the incident itself."""
    lines: list[dict[str, Any] | str] = [
        past(f"BUSY-{i:03d}", timedelta(days=i + 1), persons=[], kind="ASB") for i in range(205)
    ]
    load(desk, clock, write_jsonl(tmp_path / "busy.jsonl", lines))
    page = search(desk.dan, uprn=BROTHERS_HOME["uprn"])
    assert len(page.incidents) == 200 and page.truncated
    assert [e.incident.ref for e in page.incidents] == [f"BUSY-{i:03d}" for i in range(200)]
    mine = desk.cathy.create(location=BROTHERS_HOME, type="ASB").json()
    hist = history_of(desk.dan, mine["id"])
    assert len(hist.incidents) == 200 and hist.truncated
    assert mine["id"] not in {e.incident.id for e in hist.incidents}
    quiet = search(desk.dan, uprn="999999999999")
    assert quiet.incidents == [] and not quiet.truncated


def test_a_search_the_server_cannot_answer_is_422_not_500(desk: Desk) -> None:
    """Found by schemathesis: a date of birth outside 1900-2999 and a window of centuries."""
    for params in (
        {"name": "Gary Hollis", "dob": "0276-06-28"},
        {"uprn": "9958", "years": "20435711"},
        {"name": "Gary Hollis\x00", "dob": "1984-03-09"},
    ):
        r = desk.cathy.get("/history", params=params)
        assert r.status_code == 422, (params, r.text)
