"""The sign-in check runs in the route's own worker-thread call (``SignedInRoute``), and a
command's reply is sent from the JSON the runner already has. Walked around: a token revoked,
a user disabled or a role changed between two commands of one session (refused at once, nothing
written); a refused body sent with a bad token or by a role lacking the right (401 and 403 still
come before 422); a route that takes ``require()`` without the route class (refused, never run
unchecked); a reply's bytes against the replay's and against what encoding the body gives."""

import json
import uuid
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient

from dispatchdesk.domain.roles import Right, Role
from dispatchdesk.server.db import make_engine, users
from dispatchdesk.server.http_common import SignedInRoute, install_error_handler, reply_bytes
from dispatchdesk.server.users import set_disabled

from .conftest import Api, Desk, incident_body, login
from .helpers import cmd, cursor, key, new_unit

REFUSED_TOKEN = "Your session token is not valid or has expired: sign in again."


def _dispatch_state(desk: Desk) -> tuple[int, int]:
    """The log's cursor and the number of incidents: what a refused command must not move."""
    return cursor(desk.sue), len(desk.sue.get("/snapshot").json()["incidents"])


def _set_role(desk: Desk, username: str, role: Role) -> None:
    engine = make_engine(desk.settings.db_url)
    with engine.begin() as conn:
        conn.execute(users.update().where(users.c.username == username).values(role=role.value))
    engine.dispose()


def test_a_revoked_token_stops_the_next_command_at_once(desk: Desk) -> None:
    dan = login(desk.client, "dan")
    assert dan.create().status_code == 201
    assert dan.post("/auth/logout").status_code == 204
    before = _dispatch_state(desk)
    r = dan.create()
    assert r.status_code == 401
    assert r.json()["detail"] == REFUSED_TOKEN
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert _dispatch_state(desk) == before


def test_a_disabled_user_s_commands_stop_at_once(desk: Desk) -> None:
    unit = new_unit(desk.sue, "A1")
    inc = desk.dan.create().json()
    set_disabled(desk.settings.db_url, "dan", True)
    before = _dispatch_state(desk)
    r = cmd(desk.dan, unit, "assign", {"incident_id": inc["id"]})
    assert r.status_code == 401
    assert r.json()["detail"] == REFUSED_TOKEN
    assert (
        desk.dan.patch(
            f"/incidents/{inc['id']}", json={"grade": "I"}, headers={"If-Match": "1", **key()}
        ).status_code
        == 401
    )
    assert _dispatch_state(desk) == before
    assert desk.sue.get(f"/units/{unit['id']}").json()["status"] == "AVAILABLE"


def test_a_changed_role_is_refused_at_once_with_the_same_sentence(desk: Desk) -> None:
    unit = new_unit(desk.sue, "A1")
    inc = desk.dan.create().json()
    _set_role(desk, "dan", Role.CALL_HANDLER)  # demoted, the same session
    before = _dispatch_state(desk)
    r = cmd(desk.dan, unit, "assign", {"incident_id": inc["id"]})
    assert r.status_code == 403
    assert r.json()["detail"] == (
        "Your role (Call handler) does not have the right 'dispatch_units' needed for this. "
        "Ask a supervisor."
    )
    assert _dispatch_state(desk) == before
    _set_role(desk, "dan", Role.DISPATCHER)  # and back, at once
    assert cmd(desk.dan, unit, "assign", {"incident_id": inc["id"]}).status_code == 200


def test_sign_in_refusals_come_before_a_refused_body(desk: Desk) -> None:
    unit = new_unit(desk.sue, "A1")
    bad = {"incident_id": "not a number"}
    for api, status in ((Api(desk.client, None), 401), (Api(desk.client, "not-a-token"), 401)):
        assert cmd(api, unit, "assign", bad).status_code == status
        assert api.post("/incidents", json={"grade": 7}, headers=key()).status_code == status
        assert api.get("/incidents/not-a-number").status_code == status
    r = cmd(desk.cathy, unit, "assign", bad)  # no right to dispatch: 403, not 422
    assert r.status_code == 403
    assert "dispatch_units" in r.json()["detail"]
    r = cmd(desk.dan, unit, "assign", bad)  # signed in with the right: the body is refused
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "incident_id"]


def test_an_async_route_checks_its_sign_in_too(desk: Desk) -> None:
    dan = login(desk.client, "dan")
    assert dan.get("/snapshot").status_code == 200
    set_disabled(desk.settings.db_url, "dan", True)
    assert dan.get("/snapshot").status_code == 401
    assert dan.post("/auth/logout").status_code == 401
    assert dan.get("/events").status_code == 401


def _encoded(body: Any) -> bytes:
    """What FastAPI's JSONResponse sends for ``body``."""
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


@pytest.mark.parametrize("summary", ["Break-in at the rear", "Café on Ünter Straße – “quote”"])
def test_a_reply_is_the_bytes_of_its_body_and_of_its_replay(desk: Desk, summary: str) -> None:
    unit = new_unit(desk.sue, "A1")
    inc_key = key()
    inc = desk.dan.post("/incidents", json=incident_body(summary=summary), headers=inc_key).json()
    sent: list[tuple[str, str, dict[str, Any] | None, dict[str, str]]] = [
        ("POST", "/incidents", incident_body(summary=summary), inc_key),
        ("PATCH", f"/incidents/{inc['id']}", {"summary": f"{summary} (edited)"}, {"If-Match": "1"}),
        ("POST", f"/units/{unit['id']}/assign", {"incident_id": inc["id"]}, {}),
        ("POST", f"/units/{unit['id']}/arrive", None, {}),
        ("POST", f"/units/{unit['id']}/clear", None, {}),
    ]
    sent = [(m, p, b, {**h, **key()}) if p != "/incidents" else (m, p, b, h) for m, p, b, h in sent]

    def send(method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
        call = desk.dan.patch if method == "PATCH" else desk.dan.post
        return call(path, json=body, headers=headers)

    replies = [send(*s) for s in sent]  # the create is sent a second time: a replay already
    assert replies[0].headers["Idempotent-Replayed"] == "true"
    for r in replies[1:]:
        assert r.status_code == 200, r.text
        assert r.content == _encoded(r.json())
        assert r.headers["content-type"] == "application/json"
        assert r.headers["content-length"] == str(len(r.content))
        assert "Idempotent-Replayed" not in r.headers
        assert r.headers["ETag"] == f'"{r.json()["version"]}"'
    for first, s in zip(replies, sent, strict=True):
        replay = send(*s)
        assert replay.status_code == first.status_code
        assert replay.content == first.content
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert replay.headers["ETag"] == first.headers["ETag"]


def test_reply_bytes_only_when_they_match_the_encoded_body() -> None:
    assert reply_bytes('{"id":1,"summary":"a, b: c"}') == b'{"id":1,"summary":"a, b: c"}'
    assert reply_bytes(None) is None
    assert reply_bytes('{"summary":"Caf\\u00e9"}') is None  # JSONResponse sends the é itself
    assert reply_bytes('{"x":NaN}') is None
    assert reply_bytes('{"x":-Infinity}') is None


def _app_with(router: APIRouter) -> TestClient:
    app = FastAPI()
    install_error_handler(app)
    app.include_router(router)
    return TestClient(app, raise_server_exceptions=False)


def test_a_route_without_the_route_class_never_runs_unchecked(desk: Desk) -> None:
    from dispatchdesk.server.signed_in import requirer

    require = requirer(desk.client.app.state.services.runner)  # type: ignore[attr-defined]
    ran: list[Any] = []
    plain = APIRouter()

    @plain.get("/plain")
    def unchecked(user: Annotated[Any, Depends(require(Right.VIEW))]) -> dict[str, str]:
        ran.append(user)
        return {}

    client = _app_with(plain)
    r = client.get("/plain", headers={"Authorization": f"Bearer {uuid.uuid4().hex}"})
    assert r.status_code == 500
    assert ran == []

    checked = APIRouter(route_class=SignedInRoute)

    @checked.get("/checked")
    def fine(user: Annotated[Any, Depends(require(Right.VIEW))]) -> dict[str, str]:
        ran.append(user)
        return {"user": user.username}

    client = _app_with(checked)
    assert client.get("/checked", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert ran == []
    r = client.get("/checked", headers={"Authorization": f"Bearer {desk.dan.token}"})
    assert r.json() == {"user": "dan"}


def test_require_other_than_as_an_endpoint_parameter_is_refused(desk: Desk) -> None:
    from dispatchdesk.server.signed_in import requirer

    require = requirer(desk.client.app.state.services.runner)  # type: ignore[attr-defined]
    r = APIRouter(route_class=SignedInRoute)
    with pytest.raises(TypeError, match="parameter of the endpoint"):

        @r.get("/x", dependencies=[Depends(require(Right.VIEW))])
        def hidden() -> None: ...

    def nested(user: Annotated[Any, Depends(require(Right.VIEW))]) -> Any:
        return user

    with pytest.raises(TypeError, match="parameter of the endpoint"):

        @r.get("/y")
        def deeper(user: Annotated[Any, Depends(nested)]) -> None: ...
