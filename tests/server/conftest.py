"""Fixtures for the reference server: a real database (SQLite file, and PostgreSQL when
``DISPATCHDESK_TEST_PG_URL`` is set; required when ``CI=true``), users of each role, a
TestClient per test. Each PostgreSQL test gets a fresh schema, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from dispatchdesk.domain.clock import FakeClock
from dispatchdesk.domain.roles import Role
from dispatchdesk.protocol import API_PREFIX
from dispatchdesk.server import EmbeddedServer, ServerSettings, create_app
from dispatchdesk.server.auth import hash_password
from dispatchdesk.server.db import create_schema, make_engine, users

PASSWORD = "correct horse battery"
USERS = {"cathy": Role.CALL_HANDLER, "dan": Role.DISPATCHER, "sue": Role.SUPERVISOR}
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _pg_url(schema: str) -> str:
    base = os.environ.get("DISPATCHDESK_TEST_PG_URL")
    if not base:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI must test PostgreSQL: set DISPATCHDESK_TEST_PG_URL")
        pytest.skip("DISPATCHDESK_TEST_PG_URL is not set")
    url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'server.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    url = _pg_url(schema)
    admin = sa.create_engine(os.environ["DISPATCHDESK_TEST_PG_URL"])
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture(scope="session")
def password_hash() -> str:
    """scrypt is deliberately slow: hash the test password once per session."""
    return hash_password(PASSWORD)


@pytest.fixture
def settings(db_url: str, clock: FakeClock, password_hash: str) -> ServerSettings:
    engine = make_engine(db_url)
    create_schema(engine)
    with engine.begin() as conn:
        conn.execute(
            users.insert(),
            [
                {"username": name, "role": role.value, "password_hash": password_hash}
                for name, role in USERS.items()
            ],
        )
    engine.dispose()
    # tokens outlive the FakeClock's jumps across days; test_token_expires uses this ttl
    return ServerSettings(
        db_url=db_url, clock=clock, heartbeat_seconds=0.2, port=0, token_ttl=timedelta(days=30)
    )


class Api:
    """A signed-in user's view of the API (paths relative to /api/v1)."""

    def __init__(self, client: TestClient | httpx.Client, token: str | None) -> None:
        self.client = client
        self.token = token

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        h.update(extra or {})
        return h

    def get(self, path: str, headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        return self.client.get(API_PREFIX + path, headers=self._headers(headers), **kw)

    def post(self, path: str, headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        return self.client.post(API_PREFIX + path, headers=self._headers(headers), **kw)

    def patch(self, path: str, headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        return self.client.patch(API_PREFIX + path, headers=self._headers(headers), **kw)

    def create(self, key: str | None = None, **body: Any) -> httpx.Response:
        return self.post(
            "/incidents",
            json=incident_body(**body),
            headers={"Idempotency-Key": key or uuid.uuid4().hex},
        )


def login(client: TestClient | httpx.Client, username: str) -> Api:
    r = client.post(f"{API_PREFIX}/auth/token", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return Api(client, r.json()["access_token"])


def incident_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "grade": "S",
        "type": "Burglary",
        "summary": "Caller reports a break-in at the rear of the property",
        "location": {"address": "1 High Street", "postcode": "SW1A 1AA", "borough": "Westminster"},
    }
    body.update(over)
    return body


class Desk:
    """A TestClient on a fresh app and one signed-in Api per role."""

    def __init__(self, client: TestClient, settings: ServerSettings) -> None:
        self.client = client
        self.settings = settings

    # signed in on first use (each sign-in costs an scrypt)
    @cached_property
    def cathy(self) -> Api:  # call handler
        return login(self.client, "cathy")

    @cached_property
    def dan(self) -> Api:  # dispatcher
        return login(self.client, "dan")

    @cached_property
    def sue(self) -> Api:  # supervisor
        return login(self.client, "sue")


@pytest.fixture
def make_desk(settings: ServerSettings) -> Iterator[Callable[..., Desk]]:
    clients: list[TestClient] = []

    def make(**over: Any) -> Desk:
        s = replace(settings, **over)
        client = TestClient(create_app(s))
        client.__enter__()
        clients.append(client)
        return Desk(client, s)

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def desk(make_desk: Callable[..., Desk]) -> Desk:
    return make_desk()


@pytest.fixture
def server(settings: ServerSettings) -> Iterator[EmbeddedServer]:
    """The app on loopback (uvicorn in a thread, a real port), stopped after the test."""
    with EmbeddedServer(settings) as srv:
        yield srv
