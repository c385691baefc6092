"""Schemathesis against the real server on loopback (uvicorn in a thread, a real port):
every operation of the OpenAPI document, positive and negative examples, every check,
each example sent as each role. 0 failures.

CI-sized: ``--max-examples`` (default 25) per operation and generation mode on SQLite (about
90 s on 2 cores), a fifth as many on PostgreSQL; for a longer run:
``pytest tests/server/test_schemathesis.py --max-examples 500``.

``GET /events`` is left out: it is an endless stream (tests/server/test_events.py covers it).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup

from dispatchdesk.protocol import API_PREFIX
from dispatchdesk.server import EmbeddedServer, ServerSettings

from .conftest import PASSWORD, USERS

# Loaded now, at collection, not lazily deep inside a test: pytest rewrites schemathesis's
# modules (it is a plugin), and CPython 3.11's parser can fail on a big module parsed deep in
# a call stack ("AST constructor recursion depth mismatch").
importlib.import_module("schemathesis.specs.openapi.schemas")

SKIPPED = {("GET", f"{API_PREFIX}/events")}

#: Every check runs as schemathesis ships it, except that a schema-valid request may also be
#: refused by a rule the schema cannot state: 409 (a rule broken: unit not available,
#: rationale refused), 410 (a cursor outside the log), 412 (stale If-Match), 422 (a
#: cross-field or reference-list rule: "nothing to change", an unknown borough, a postcode
#: that is not a UK one, an Idempotency-Key reused for another request).
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "401", "403", "404", "409", "410", "412", "422"]
            }
        }
    }
)


@pytest.fixture
def live(settings: ServerSettings) -> Iterator[EmbeddedServer]:
    # Generous sign-in limits: the fuzzer signs in wrongly thousands of times.
    s = replace(settings, sign_in_failures_per_address=10**9, sign_in_failures_per_user=10**9)
    with EmbeddedServer(s) as srv:
        yield srv


def _token(url: str, user: str) -> str:
    r = httpx.post(f"{url}{API_PREFIX}/auth/token", json={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def _mutates_auth(case: Any) -> bool:
    """Whether a negative case is about the Authorization header (left out or mangled): it is
    then sent as generated, with no session of ours."""
    data = getattr(getattr(case.meta, "phase", None), "data", None)
    names = {getattr(data, "parameter", None)}
    names |= {getattr(m, "parameter", None) for m in getattr(data, "mutations", ()) or ()}
    return "Authorization" in names


def _run(case: Any, url: str, tokens: dict[str, str], failures: list[str]) -> None:
    for user in USERS:
        token = tokens[user]
        if case.path == "/api/v1/auth/logout":
            token = _token(url, user)  # logging out must not end the run's own session
        headers = {} if _mutates_auth(case) else {"Authorization": f"Bearer {token}"}
        try:
            case.call_and_validate(base_url=url, headers=headers, timeout=30)
        except FailureGroup as group:
            failures.append(f"as {user}: {group}")
            return
        except AssertionError as exc:
            failures.append(f"as {user}: {exc}")
            return


def _fuzz(
    operation: Any, mode: GenerationMode, max_examples: int, url: str, tokens: dict[str, str]
) -> list[str]:
    found: list[str] = []

    @settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=True,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        if not found:  # the first failure of an operation is enough
            _run(case, url, tokens, found)

    try:
        run()
    except Unsatisfiable:
        # no negative case of an operation with no parameter, body or sign-in to get wrong
        if mode is not GenerationMode.NEGATIVE or operation.path != f"{API_PREFIX}/health":
            raise
    return found


@pytest.mark.timeout(3600)  # a long --max-examples run
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_holds_as_every_role(
    live: EmbeddedServer, mode: GenerationMode, request: pytest.FixtureRequest
) -> None:
    max_examples = int(request.config.getoption("--max-examples"))
    if not live.settings.db_url.startswith("sqlite"):
        max_examples = max(5, max_examples // 5)  # CI-sized: PostgreSQL a fifth as many
    url = live.url
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json", config=CONFIG)
    tokens = {user: _token(url, user) for user in USERS}
    failures: list[str] = []
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if (result.ok().method.upper(), result.ok().path) not in SKIPPED
    ]
    assert len(operations) >= 30
    for operation in operations:
        found = _fuzz(operation, mode, max_examples, url, tokens)
        failures += [f"{operation.method.upper()} {operation.path}: {f}" for f in found[:1]]
    assert not failures, "\n\n".join(failures)
