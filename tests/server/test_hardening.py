"""Bad input refused before it costs anything or reaches the database: bodies over the limit
(413), values the database cannot hold (422), replies that never echo much and always encode,
and the If-Match and Last-Event-ID headers read strictly."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import httpx
import pytest

from dispatchdesk.protocol import API_PREFIX
from dispatchdesk.server import EmbeddedServer, ServerSettings, create_app

from .conftest import PASSWORD, Desk, incident_body

BIG = 2**63  # one past the largest signed 64-bit integer
TOKEN = f"{API_PREFIX}/auth/token"


def _raw(body: str) -> dict[str, Any]:
    return {"content": body.encode("utf-8", "surrogatepass")}


# --- request bodies over the limit -----------------------------------------------------------


def test_a_body_over_the_limit_is_413_from_its_content_length(desk: Desk) -> None:
    limit = desk.settings.max_body_bytes
    assert limit == 1024 * 1024
    r = desk.client.post(TOKEN, content=b"x" * (limit + 1), headers={"Content-Type": "text/plain"})
    assert r.status_code == 413
    assert "larger than this server accepts" in r.json()["detail"]
    assert len(r.content) < 200  # nothing echoed
    # and a command, signed in, the same
    r = desk.cathy.post("/incidents", content=b"{" + b" " * limit + b"}")
    assert r.status_code == 413


def test_a_body_at_the_limit_is_read(desk: Desk) -> None:
    body = json.dumps({"username": "dan", "password": PASSWORD})
    padded = body + " " * (desk.settings.max_body_bytes - len(body))
    r = desk.client.post(TOKEN, content=padded, headers={"Content-Type": "application/json"})
    assert r.status_code == 200


def _stream_scope(path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8700),
    }


def test_a_streamed_body_without_length_is_cut_off_at_the_limit(settings: ServerSettings) -> None:
    """No Content-Length: the app stops reading at the limit (an endless body is never held)
    and answers 413."""
    app = create_app(settings)
    chunk = b" " * 65536
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": True}  # never ends

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(_stream_scope(TOKEN), receive, send))
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 413
    assert pulled * len(chunk) <= settings.max_body_bytes + len(chunk)
    assert [m for m in sent if m["type"] == "http.response.start"] == sent[:1]  # one answer


def test_a_chunked_body_over_the_limit_is_413_over_a_real_socket(
    settings: ServerSettings,
) -> None:
    from dataclasses import replace

    with EmbeddedServer(replace(settings, max_body_bytes=1024)) as srv:
        assert srv.port is not None
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
            data = b"x" * 3000
            sock.sendall(
                f"POST {TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Transfer-Encoding: chunked\r\n\r\n{len(data):x}\r\n".encode()
                + data
                + b"\r\n0\r\n\r\n"
            )
            reply = b""
            while b"\r\n\r\n" not in reply:
                got = sock.recv(4096)
                if not got:
                    break
                reply += got
        assert reply.startswith(b"HTTP/1.1 413"), reply[:200]


# --- replies never echo much, and always encode ----------------------------------------------


def test_a_validation_reply_never_echoes_a_long_value(desk: Desk) -> None:
    huge = "A" * 500_000
    r = desk.client.post(TOKEN, json={"username": huge, "password": "x", "extra": huge})
    assert r.status_code == 422
    assert len(r.content) < 2000
    for e in r.json()["detail"]:
        assert len(json.dumps(e.get("input", ""))) <= 110
    r = desk.cathy.create(type="B" * 100_000)
    assert r.status_code == 422
    assert len(r.content) < 3000


@pytest.mark.parametrize(
    "body",
    [
        '{"username": "\\ud800", "password": "x"}',
        '{"username": "dan", "password": "\\udfff"}',
        '{"\\ud800": 1, "username": "dan", "password": "x"}',
        '["\\ud800"]',
    ],
)
def test_a_lone_surrogate_before_sign_in_is_422_not_500(desk: Desk, body: str) -> None:
    r = desk.client.post(TOKEN, headers={"Content-Type": "application/json"}, **_raw(body))
    assert r.status_code == 422, r.text
    assert r.json()["detail"]


def test_a_lone_surrogate_in_a_command_is_422(desk: Desk) -> None:
    body = json.dumps(incident_body(summary="Caller says \ud83d only"))
    r = desk.cathy.post(
        "/incidents",
        headers={"Idempotency-Key": "s1", "Content-Type": "application/json"},
        content=body.encode(),
    )
    assert r.status_code == 422, r.text
    assert desk.dan.get("/changes?since=0").json()["changes"] == []


# --- values the database cannot hold ---------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        f"/incidents/{BIG}",
        f"/incidents/-{BIG + 1}",
        f"/changes?since={BIG}",
        f"/units/{BIG}",
        f"/orders/{BIG}",
        f"/schemes/{BIG}",
        f"/audit?before={BIG}",
        f"/warnings?incident_id={BIG}",
        "/warnings?name=Bob%00Smith",
        "/warnings?address=1%00High",
    ],
)
def test_integers_beyond_64_bits_and_nul_in_path_or_query_are_422(desk: Desk, path: str) -> None:
    for api in (desk.sue, desk.cathy):
        r = api.get(path)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["detail"][0]["msg"]


def test_integers_beyond_64_bits_in_a_body_are_422(desk: Desk) -> None:
    inc = desk.cathy.create().json()
    desk.sue.post(
        "/units",
        json={"callsign": "LX21", "kind": "IRV", "borough": "Westminster"},
        headers={"Idempotency-Key": "u1"},
    )
    r = desk.dan.post(
        "/units/1/assign",
        json={"incident_id": BIG},
        headers={"Idempotency-Key": "a1"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][-1] == "incident_id"
    r = desk.dan.post(
        "/units/1/assign",
        json={"incident_id": inc["id"], "warnings_passed": [{"kind": "scheme", "id": BIG}]},
        headers={"Idempotency-Key": "a2"},
    )
    assert r.status_code == 422, r.text


@pytest.mark.parametrize(
    "over",
    [
        {"summary": "Break-in\x00 at the rear"},
        {"type": "Burglary\x00"},
        {"location": {"address": "1 High\x00 Street", "postcode": "SW1A 1AA", "borough": "x"}},
        {"caller": {"name": "Bob\x00"}},
        {"persons": [{"name": "Bob\x00 Smith"}]},
    ],
)
def test_nul_in_any_text_field_is_422(desk: Desk, over: dict[str, Any]) -> None:
    r = desk.cathy.create(**over)
    assert r.status_code == 422, r.text
    assert "NUL" in json.dumps(r.json())
    assert desk.dan.get("/changes?since=0").json()["changes"] == []


def test_nul_in_sign_in_is_422_and_in_a_scheme_too(desk: Desk) -> None:
    r = desk.client.post(TOKEN, json={"username": "dan\x00", "password": PASSWORD})
    assert r.status_code == 422
    r = desk.client.post(TOKEN, json={"username": "dan", "password": PASSWORD + "\x00"})
    assert r.status_code == 422


# --- headers ---------------------------------------------------------------------------------


def test_if_match_star_matches_any_version(desk: Desk) -> None:
    inc = desk.cathy.create().json()
    url = f"/incidents/{inc['id']}"
    assert (
        desk.dan.patch(url, json={"summary": "One"}, headers={"If-Match": "1"}).status_code == 200
    )
    r = desk.dan.patch(url, json={"summary": "Two"}, headers={"If-Match": "*"})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 3
    # a stale number is still 412
    assert desk.dan.patch(url, json={"summary": "3"}, headers={"If-Match": "1"}).status_code == 412


@pytest.mark.parametrize("value", ["1_0", "-1", "1.0", "3, 4", "", "   ", "²", str(BIG), "W/x"])
def test_if_match_that_is_not_a_version_is_refused(desk: Desk, value: str) -> None:
    inc = desk.cathy.create().json()
    url = f"/incidents/{inc['id']}"
    sent: Any = value.encode("latin-1")  # headers are bytes: "²" goes as one latin-1 byte
    r = desk.dan.patch(url, json={"summary": "Changed"}, headers={"If-Match": sent})
    if value.strip() == "":
        assert r.status_code == 428  # blank is as good as missing
        return
    assert r.status_code == 400, (value, r.text)
    assert "If-Match must be the version number" in r.json()["detail"]
    assert desk.dan.get(url).json()["version"] == 1
    # "1_0" was read as 10 once; on a close (If-Match optional) too
    r = desk.dan.post(
        f"{url}/close",
        json={"rationale": "Attended and resolved by words of advice to both"},
        headers={"If-Match": sent, "Idempotency-Key": "c-1"},
    )
    assert r.status_code == 400


@pytest.mark.parametrize("value", ["-5", "1_0", "+3", "abc", "²", str(BIG)])
def test_last_event_id_that_is_not_a_seq_is_400(desk: Desk, value: str) -> None:
    sent: Any = value.encode("latin-1")
    r = desk.dan.get("/events", headers={"Last-Event-ID": sent})
    assert r.status_code == 400, (value, r.text)
    assert "Last-Event-ID must be a change seq number" in r.json()["detail"]


# --- the OpenAPI document --------------------------------------------------------------------


def test_openapi_marks_required_headers_and_documents_every_status(desk: Desk) -> None:
    doc = desk.client.get("/openapi.json").json()
    ops = {(m.upper(), p): op for p, item in doc["paths"].items() for m, op in item.items()}
    assert len(ops) >= 31

    def header(op: dict[str, Any], name: str) -> dict[str, Any]:
        return next(p for p in op["parameters"] if p["in"] == "header" and p["name"] == name)

    create = ops[("POST", f"{API_PREFIX}/incidents")]
    assert header(create, "Idempotency-Key")["required"] is True
    patch = ops[("PATCH", f"{API_PREFIX}/incidents/{{incident_id}}")]
    assert header(patch, "If-Match")["required"] is True
    assert {"400", "404", "412", "422", "428"} <= set(patch["responses"])
    shown = ops[("POST", f"{API_PREFIX}/warnings/{{kind}}/{{entity_id}}/shown")]
    assert header(shown, "Idempotency-Key")["required"] is False
    for (method, path), op in ops.items():
        assert "422" in op["responses"], (method, path)
        if path.startswith(f"{API_PREFIX}/schemes") or path.startswith(f"{API_PREFIX}/orders"):
            assert {"401", "403"} <= set(op["responses"]), (method, path)
    warnings = ops[("GET", f"{API_PREFIX}/warnings")]
    assert {"200", "401", "403", "404", "422"} <= set(warnings["responses"])
    token = ops[("POST", f"{API_PREFIX}/auth/token")]
    assert "Retry-After" in token["responses"]["429"]["headers"]
    # one error shape, described
    ref = {"$ref": "#/components/schemas/ErrorBody"}
    assert patch["responses"]["409"]["content"]["application/json"]["schema"] == ref
    assert patch["responses"]["422"]["content"]["application/json"]["schema"] == ref
    assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_both_error_shapes_match_the_documented_body(desk: Desk) -> None:
    from dispatchdesk.protocol.schemas import ErrorBody

    inc = desk.cathy.create().json()
    r409 = desk.dan.post(
        f"/incidents/{inc['id']}/close",
        json={"rationale": "Words of advice given"},
        headers={"Idempotency-Key": "k"},
    )
    r422 = desk.cathy.create(grade="Q")
    for r in (r409, r422):
        assert r.status_code in (409, 422)
        ErrorBody.model_validate_json(r.content)
    assert isinstance(ErrorBody.model_validate_json(r422.content).detail, list)


def test_real_server_answers_the_same_over_loopback(server: EmbeddedServer) -> None:
    with httpx.Client(base_url=server.url) as http:
        r = http.post(TOKEN, content=b'{"username": "\\ud800", "password": "x"}')
        assert r.status_code == 422
        r = http.get(f"{API_PREFIX}/incidents/{BIG}")
        assert r.status_code == 422


# --- found by schemathesis -------------------------------------------------------------------


def test_a_scheme_dated_in_year_one_is_422_not_500(desk: Desk) -> None:
    from .helpers import scheme_body

    body = scheme_body(starts_at="0001-01-01T00:00:00Z", expires_at="0001-01-01T00:04:00Z")
    r = desk.sue.post("/schemes", json=body, headers={"Idempotency-Key": "y1"})
    assert r.status_code == 422, r.text
    assert "a date must be from 1900-01-01" in r.text
    r = desk.cathy.create(caller={"name": "Bob", "dob": "9999-12-31"})
    assert r.status_code == 422


def test_an_order_patch_nulling_a_required_field_is_422_not_500(desk: Desk) -> None:
    from .helpers import order_body

    r = desk.sue.post("/orders", json=order_body(), headers={"Idempotency-Key": "o1"})
    assert r.status_code == 201, r.text
    order = r.json()
    for field in ("order_type", "subject", "conditions", "issued_on", "source_ref"):
        r = desk.sue.patch(f"/orders/{order['id']}", json={field: None}, headers={"If-Match": "*"})
        assert r.status_code == 422, (field, r.text)
        assert r.json()["detail"][0]["loc"][:2] == ["body", field]
    assert desk.sue.get(f"/orders/{order['id']}").json()["version"] == order["version"]


def test_ids_beyond_32_bits_are_refused_not_500(desk: Desk) -> None:
    """PostgreSQL's id and version columns are 32-bit: a larger value the schema allows is a
    422 there (not found on SQLite), never a 500. Found by schemathesis on PostgreSQL."""
    big = 5_050_117_595
    inc = desk.cathy.create().json()
    for path in (f"/incidents/{big}", f"/units/{big}", f"/orders/{big}", f"/audit?before={big}"):
        r = desk.sue.get(path)
        assert r.status_code in (200, 404, 422), (path, r.text)
    r = desk.dan.patch(
        f"/incidents/{inc['id']}", json={"summary": "x"}, headers={"If-Match": str(big)}
    )
    assert r.status_code in (412, 422), r.text
    desk.sue.post(
        "/units",
        json={"callsign": "LX21", "kind": "IRV", "borough": "Westminster"},
        headers={"Idempotency-Key": "u1"},
    )
    r = desk.dan.post(
        "/units/1/assign", json={"incident_id": big}, headers={"Idempotency-Key": "a"}
    )
    assert r.status_code in (404, 409, 422), r.text
