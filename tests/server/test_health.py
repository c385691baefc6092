"""``GET /api/v1/health`` for load balancers: no sign-in, a real round trip to the database,
and an answer within its limit whatever the database does (refuses, hangs, is gone)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from dispatchdesk.protocol import API_PREFIX
from dispatchdesk.server import EmbeddedServer
from dispatchdesk.server.features.health.service import HEALTH_TIMEOUT, Health, health_engine

from .conftest import PASSWORD, Desk

HEALTH = f"{API_PREFIX}/health"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that takes connections (the kernel completes them) and never says a word: a
    database host that hangs."""
    with socket.create_server(("127.0.0.1", 0), backlog=16) as server:
        yield int(server.getsockname()[1])


def _use(desk: Desk, health: Health) -> None:
    app = desk.client.app
    app.state.health.engine = health.engine  # type: ignore[attr-defined]
    app.state.health.timeout = health.timeout  # type: ignore[attr-defined]


def test_health_is_a_round_trip_to_the_database_without_sign_in(desk: Desk) -> None:
    r = desk.client.get(HEALTH)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    assert r.json() == {"status": "ok", "database": "ok", "seq": 0}
    assert desk.cathy.create().status_code == 201
    cursor = desk.cathy.get("/snapshot").json()["cursor"]
    assert cursor > 0
    assert desk.client.get(HEALTH).json() == {"status": "ok", "database": "ok", "seq": cursor}


def test_health_answers_although_failed_sign_ins_throttle_the_address(
    make_desk: Callable[..., Desk],
) -> None:
    desk = make_desk(sign_in_failures_per_address=2, sign_in_failures_per_user=2)
    wrong = {"username": "cathy", "password": PASSWORD + "!"}
    codes = [desk.client.post(f"{API_PREFIX}/auth/token", json=wrong).status_code for _ in range(3)]
    assert codes == [401, 401, 429]
    r = desk.client.get(HEALTH)
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_postgresql_not_listening_is_503_with_retry_after(desk: Desk) -> None:
    port = _closed_port()
    _use(desk, Health(health_engine(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres")))
    r = desk.client.get(HEALTH)
    assert r.status_code == 503, r.text
    assert r.json() == {"status": "unavailable", "database": "error"}
    assert r.headers["retry-after"] == "2" and r.headers["cache-control"] == "no-store"


def test_a_database_that_hangs_is_503_within_the_limit_and_checks_do_not_pile_up(
    desk: Desk, silent_port: int
) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{silent_port}/postgres"
    _use(desk, Health(health_engine(url), timeout=0.3))
    started = time.monotonic()
    answers = [desk.client.get(HEALTH) for _ in range(3)]  # the first check still hangs
    elapsed = time.monotonic() - started
    assert [a.status_code for a in answers] == [503, 503, 503]
    assert {a.json()["database"] for a in answers} == {"timeout"}
    assert elapsed < 3 * 0.3 + 1.5, elapsed


def test_the_default_limit_answers_a_hanging_database_in_about_two_seconds(
    desk: Desk, silent_port: int
) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{silent_port}/postgres"
    _use(desk, Health(health_engine(url)))
    started = time.monotonic()
    r = desk.client.get(HEALTH)
    elapsed = time.monotonic() - started
    assert r.status_code == 503 and r.json()["database"] == "timeout"
    assert HEALTH_TIMEOUT - 0.1 <= elapsed < HEALTH_TIMEOUT + 1.5, elapsed


def test_a_sqlite_file_that_cannot_be_opened_is_503(desk: Desk, tmp_path: Path) -> None:
    _use(desk, Health(health_engine(f"sqlite:///{tmp_path / 'gone' / 'server.db'}")))
    r = desk.client.get(HEALTH)
    assert r.status_code == 503 and r.json() == {"status": "unavailable", "database": "error"}


def test_health_comes_back_when_the_database_does(desk: Desk) -> None:
    good = desk.client.app.state.health.engine  # type: ignore[attr-defined]
    _use(desk, Health(health_engine(f"sqlite:///{Path('/nonexistent/dir/x.db')}")))
    assert desk.client.get(HEALTH).status_code == 503
    _use(desk, Health(good))
    assert desk.client.get(HEALTH).status_code == 200


def test_health_is_documented_without_sign_in(desk: Desk) -> None:
    doc = desk.client.get("/openapi.json").json()
    op = doc["paths"][HEALTH]["get"]
    assert "security" not in op
    assert {"200", "503"} <= set(op["responses"])
    assert "Retry-After" in op["responses"]["503"]["headers"]
    schema = doc["components"]["schemas"]["HealthOut"]
    assert set(schema["properties"]) == {"status", "database", "seq"}


def test_health_over_a_real_socket(server: EmbeddedServer) -> None:
    """The same over uvicorn on loopback (what a balancer talks to)."""
    r = httpx.get(server.url + HEALTH, timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "ok", r.text
