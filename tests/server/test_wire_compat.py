"""A desk of an earlier release reads this server, and this server still refuses a typo.

Every model a desk parses from the server (snapshot, changes, incidents, units, warnings,
notices, history, tasks, command replies) ignores fields it does not know, however deep; every
request body the server reads refuses them (422), however deep. Checked on the models, and with
the server's real answers, a field added to every object in them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from typing import Any, get_args

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter

from dispatchdesk.cache.entities import ENTITIES
from dispatchdesk.protocol.history import HistoryPage
from dispatchdesk.protocol.notices import NoticeForMe, NoticeReceipts
from dispatchdesk.protocol.schemas import (
    Change,
    ChangesPage,
    DivertModel,
    IncidentOut,
    Snapshot,
    TokenResponse,
    UnitOut,
)
from dispatchdesk.protocol.warnings import OrderOut, SchemeOut, WarningsPage
from dispatchdesk.sync.entities import decode_entity
from dispatchdesk.sync.routes import ROUTES

from .conftest import Api, Desk, incident_body
from .helpers import cmd, key, make_scheme, new_unit, order_body, scheme_body

#: What a newer server might add to any object it sends.
NEW = {"added_in_a_later_release": {"nested": [1, "two"]}}

#: Objects in a reply that are maps of values, not models (a newer key there is not a field).
MAPS = {"targets", "data", "ctx"}


def _routes(app: FastAPI) -> Iterator[APIRoute]:
    def walk(routes: Iterable[Any]) -> Iterator[APIRoute]:
        for r in routes:
            if hasattr(r, "original_router"):
                yield from walk(r.original_router.routes)
            elif isinstance(r, APIRoute):
                yield r

    yield from walk(app.routes)


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in get_args(annotation):
        yield from _models_in(arg)


def _reachable(roots: Iterable[Any]) -> set[type[BaseModel]]:
    seen: set[type[BaseModel]] = set()
    todo = [m for root in roots for m in _models_in(root)]
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for f in model.model_fields.values():
            todo.extend(_models_in(f.annotation))
    return seen


def _desk_reads(app: FastAPI) -> set[type[BaseModel]]:
    """Every model a desk parses: each route's reply (and error) models, what the sync client
    and the outbox parse, and each synced entity's wire model."""
    roots: list[Any] = [Snapshot, ChangesPage, Change, IncidentOut, UnitOut, TokenResponse]
    roots += [SchemeOut, OrderOut, WarningsPage, NoticeForMe, NoticeReceipts, HistoryPage]
    roots += [
        DivertModel,
        *(r.reply for r in ROUTES.values()),
        *(e.wire for e in ENTITIES.values()),
    ]
    for route in _routes(app):
        roots.append(route.response_model)
        roots += [v["model"] for v in route.responses.values() if "model" in v]
    return _reachable(r for r in roots if r is not None)


def _server_reads(app: FastAPI) -> set[type[BaseModel]]:
    bodies = [r.body_field.field_info.annotation for r in _routes(app) if r.body_field]
    return _reachable(bodies)


def test_every_model_a_desk_reads_ignores_fields_it_does_not_know(desk: Desk) -> None:
    app = desk.client.app
    assert isinstance(app, FastAPI)
    reads = _desk_reads(app)
    names = {m.__name__ for m in reads}
    # the nested ones that were strict before, and the ones every reply carries
    assert {"CallerOut", "LocationOut", "IncidentPersonOut", "PersonOut", "PlaceOut"} <= names
    assert {"TaskModel", "DivertModel", "LinkOut", "NoticeOut", "PolicyModel"} <= names
    strict = sorted(m.__name__ for m in reads if m.model_config.get("extra") == "forbid")
    assert strict == []


def test_every_request_body_refuses_fields_it_does_not_know(desk: Desk) -> None:
    app = desk.client.app
    assert isinstance(app, FastAPI)
    bodies = _server_reads(app)
    assert {"CallerModel", "LocationModel", "IncidentPersonModel", "PersonModel"} <= {
        m.__name__ for m in bodies
    }
    lenient = sorted(m.__name__ for m in bodies if m.model_config.get("extra") != "forbid")
    assert lenient == []


def _with_new_fields(value: Any, parent: str = "") -> Any:
    """``value`` with :data:`NEW` added to every JSON object in it (maps of values aside)."""
    if isinstance(value, list):
        return [_with_new_fields(v, parent) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _with_new_fields(v, k) for k, v in value.items()}
    if parent not in MAPS:
        out.update(NEW)
    return out


def _busy_incident(desk: Desk) -> tuple[int, int]:
    """Two incidents with all a reply can carry: a named caller with a role, people, tasks, a
    divert, a link, a downgrade request waiting, and the other closed."""
    cathy, dan, sue = desk.cathy, desk.dan, desk.sue
    caller = {"name": "Dawn Hollis", "phone": "07700 900123", "dob": "1986-07-21"}
    persons = [{"name": "Gary Hollis", "dob": "1984-03-09", "role": "SUSPECT"}]
    a = cathy.create(type="Domestic", caller={**caller, "role": "VICTIM"}, persons=persons)
    b = cathy.create(caller=caller, summary="Second caller about a fight in the street")
    assert a.status_code == b.status_code == 201, (a.text, b.text)
    ia, ib = a.json()["id"], b.json()["id"]
    unit = new_unit(sue, "LX21")
    assert cmd(dan, unit, "assign", {"incident_id": ia}).status_code == 200
    diverted = cmd(dan, unit, "divert", {"incident_id": ib, "reason": "Knife seen at the fight"})
    assert diverted.status_code == 200, diverted.text
    linked = dan.post(
        f"/incidents/{ia}/links",
        json={"incident_id": ib, "relation": "RELATED", "reason": "Same family, same evening"},
        headers=key(),
    )
    assert linked.status_code == 201, linked.text
    version = linked.json()["version"]
    request = cathy.patch(
        f"/incidents/{ia}",
        json={"grade": "E", "reason": "Suspect has left; she is safe at her mother's flat now"},
        headers={**key(), "If-Match": str(version)},
    )
    assert request.status_code == 202, request.text
    make_scheme(sue)
    assert sue.post("/orders", json=order_body(), headers=key()).status_code == 201
    notice = {
        "title": "Radio channel 3 down",
        "body": "Use channel 5 until told otherwise",
        "roles": ["call_handler", "dispatcher", "supervisor"],
        "expires_at": "2026-12-01T00:00:00+00:00",
    }
    assert sue.post("/notices", json=notice, headers=key()).status_code == 201
    return ia, ib


def _read(api: Api, path: str, model: Any) -> None:
    """``path``'s reply, with a field added everywhere, reads as the plain one does."""
    r = api.get(path)
    assert r.status_code == 200, r.text
    plain, newer = r.json(), _with_new_fields(r.json())
    assert newer != plain
    adapter = TypeAdapter(model)
    assert adapter.validate_python(newer) == adapter.validate_python(plain), path


def test_replies_of_a_newer_server_with_a_field_added_everywhere_are_read(desk: Desk) -> None:
    ia, ib = _busy_incident(desk)
    sue = desk.sue
    snapshot = sue.get("/snapshot").json()
    incident = next(i for i in snapshot["incidents"] if i["id"] == ia)
    assert incident["tasks"] and incident["diverts"] and incident["links"]
    assert incident["persons"] and incident["caller"]["role"] == "VICTIM"
    assert incident["pending_downgrade"] and snapshot["schemes"] and snapshot["orders"]
    _read(sue, "/snapshot", Snapshot)
    _read(sue, f"/incidents/{ia}", IncidentOut)
    _read(sue, f"/incidents/{ia}/history", HistoryPage)
    _read(sue, "/history?name=Gary%20Hollis&dob=1984-03-09", HistoryPage)
    _read(
        sue,
        "/warnings?address=22%20Acacia%20Avenue&postcode=N1%209GU&name=Gary%20Hollis",
        WarningsPage,
    )
    _read(sue, "/notices", list[NoticeForMe])
    _read(sue, "/diverts?state=all", list[DivertModel])
    _read(sue, "/units", list[UnitOut])
    # the change feed: each change, and each entity in it as the desk decodes it
    page = sue.get("/changes?since=0").json()
    newer = ChangesPage.model_validate(_with_new_fields(page))
    plain = ChangesPage.model_validate(page)
    no_data = {"changes": {"__all__": {"data"}}}  # a map: checked below, decoded
    assert newer.model_dump(exclude=no_data) == plain.model_dump(exclude=no_data)
    kinds = set()
    for new, old in zip(newer.changes, plain.changes, strict=True):
        if new.entity in ENTITIES and new.op == "upsert":
            kinds.add(new.entity)
            assert decode_entity(new.model_copy(update={"data": _with_new_fields(old.data)})) == (
                decode_entity(old)
            )
    assert {"incident", "unit", "scheme", "order", "notice"} <= kinds
    _read(sue, f"/incidents/{ib}", IncidentOut)


@pytest.mark.parametrize(
    "where",
    ["top", "caller", "location", "persons"],
)
def test_a_request_with_a_field_the_server_does_not_know_is_refused(desk: Desk, where: str) -> None:
    body = incident_body(
        caller={"name": "Dawn Hollis"}, persons=[{"name": "Gary Hollis", "role": "SUSPECT"}]
    )
    target = {
        "top": body,
        "caller": body["caller"],
        "location": body["location"],
        "persons": body["persons"][0],
    }[where]
    target["colour"] = "red"
    r = desk.cathy.post("/incidents", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 422, r.text
    (error,) = r.json()["detail"]
    assert error["type"] == "extra_forbidden" and error["loc"][-1] == "colour"
    assert desk.cathy.get("/snapshot").json()["incidents"] == []


@pytest.mark.parametrize("where", ["subject", "protected_persons", "locations"])
def test_an_order_with_a_field_the_server_does_not_know_is_refused(desk: Desk, where: str) -> None:
    body = order_body()
    target = body[where] if where == "subject" else body[where][0]
    target["colour"] = "red"
    r = desk.sue.post("/orders", json=body, headers=key())
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["type"] == "extra_forbidden"


def test_a_scheme_whose_location_has_a_field_the_server_does_not_know_is_refused(
    desk: Desk,
) -> None:
    body = scheme_body()
    body["location"] = {**body["location"], "colour": "red"}
    r = desk.sue.post("/schemes", json=body, headers=key())
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["type"] == "extra_forbidden"
