"""Sign-in hardened: throttled per name and per address (429 + Retry-After, never for good),
every attempt audited, the password used exactly as typed, the hash outside any write
transaction; sign-out; disabling and enabling a sign-in; expired tokens purged."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from dispatchdesk.app.cli import main
from dispatchdesk.domain.clock import FakeClock
from dispatchdesk.domain.roles import Role
from dispatchdesk.protocol import API_PREFIX
from dispatchdesk.server import EmbeddedServer, ServerSettings, add_user, auth
from dispatchdesk.server.db import make_engine, sign_in_failures, tokens
from dispatchdesk.server.users import list_users, set_disabled

from .conftest import PASSWORD, Api, Desk

TOKEN = f"{API_PREFIX}/auth/token"


def _sign_in(client: TestClient, user: str, password: str) -> Any:
    return client.post(TOKEN, json={"username": user, "password": password})


def _sessions(desk: Desk) -> list[dict[str, Any]]:
    return desk.sue.get("/audit", params={"entity": "session", "limit": 500}).json()  # type: ignore[no-any-return]


def test_a_user_name_is_throttled_then_let_in_again(make_desk: Any, clock: FakeClock) -> None:
    desk: Desk = make_desk(sign_in_failures_per_user=3, sign_in_window=timedelta(minutes=5))
    for _ in range(3):
        assert _sign_in(desk.client, "dan", "guess").status_code == 401
    r = _sign_in(desk.client, "dan", PASSWORD)  # even the right password waits
    assert r.status_code == 429
    assert 1 <= int(r.headers["Retry-After"]) <= 300
    assert "Try again in" in r.json()["detail"]
    # another name from the same address is not held up by dan's failures
    assert _sign_in(desk.client, "cathy", PASSWORD).status_code == 200
    clock.advance(timedelta(minutes=5, seconds=1))  # not locked out for good
    assert _sign_in(desk.client, "dan", PASSWORD).status_code == 200


def test_retry_after_counts_down_to_the_oldest_failure(make_desk: Any, clock: FakeClock) -> None:
    desk: Desk = make_desk(sign_in_failures_per_user=2, sign_in_window=timedelta(minutes=5))
    _sign_in(desk.client, "dan", "a")
    clock.advance(timedelta(minutes=2))
    _sign_in(desk.client, "dan", "b")
    r = _sign_in(desk.client, "dan", PASSWORD)
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) == 180
    clock.advance(timedelta(seconds=181))  # the first failure left the window
    assert _sign_in(desk.client, "dan", PASSWORD).status_code == 200


def test_a_success_forgives_the_name_s_earlier_failures(make_desk: Any) -> None:
    desk: Desk = make_desk(sign_in_failures_per_user=3)
    for _ in range(2):
        _sign_in(desk.client, "dan", "typo")
    assert _sign_in(desk.client, "dan", PASSWORD).status_code == 200
    for _ in range(2):
        assert _sign_in(desk.client, "dan", "typo").status_code == 401
    assert _sign_in(desk.client, "dan", PASSWORD).status_code == 200


def test_an_address_is_throttled_across_names(make_desk: Any, clock: FakeClock) -> None:
    desk: Desk = make_desk(sign_in_failures_per_address=4, sign_in_failures_per_user=100)
    for i in range(4):
        assert _sign_in(desk.client, f"nobody{i}", "x").status_code == 401
    r = _sign_in(desk.client, "sue", PASSWORD)
    assert r.status_code == 429
    assert "Retry-After" in r.headers
    clock.advance(desk.settings.sign_in_window + timedelta(seconds=1))
    assert _sign_in(desk.client, "sue", PASSWORD).status_code == 200


def test_case_of_the_name_does_not_dodge_the_throttle(make_desk: Any) -> None:
    desk: Desk = make_desk(sign_in_failures_per_user=2, sign_in_failures_per_address=100)
    _sign_in(desk.client, "dan", "a")
    _sign_in(desk.client, "DAN", "b")
    assert _sign_in(desk.client, "Dan", "c").status_code == 429


def test_every_sign_in_is_audited(make_desk: Any) -> None:
    desk: Desk = make_desk(sign_in_failures_per_user=2)
    _sign_in(desk.client, "dan", "wrong")
    _sign_in(desk.client, "ghost", "whatever")
    _sign_in(desk.client, "dan", "wrong again")  # trips the limit
    _sign_in(desk.client, "dan", PASSWORD)  # 429: not a new audit row
    rows = _sessions(desk)  # sue's own sign-in is the newest
    assert [(r["action"], r["username"]) for r in rows] == [
        ("sign_in", "sue"),
        ("sign_in_failed", "dan"),
        ("sign_in_failed", "ghost"),
        ("sign_in_failed", "dan"),
    ]
    assert rows[0]["detail"] == "from testclient"
    assert "wrong password" in rows[3]["detail"]
    assert "unknown user name" in rows[2]["detail"]
    assert "further sign-ins refused" in rows[1]["detail"]


def test_a_long_user_name_is_audited_cut_not_a_500(desk: Desk) -> None:
    r = _sign_in(desk.client, "x" * 1500, "guess")
    assert r.status_code == 401
    assert _sessions(desk)[1]["username"] == "x" * 100


def test_the_password_is_used_exactly_as_typed(desk: Desk) -> None:
    add_user(desk.settings.db_url, "pat", Role.DISPATCHER, "  two spaces each side  ")
    assert _sign_in(desk.client, "pat", "  two spaces each side  ").status_code == 200
    assert _sign_in(desk.client, "pat", "two spaces each side").status_code == 401
    assert _sign_in(desk.client, "pat", " two spaces each side ").status_code == 401
    # and through the CLI, which reads the line as typed
    add_user(desk.settings.db_url, "tab", Role.DISPATCHER, "\tpass word\t")
    assert _sign_in(desk.client, "tab", "\tpass word\t").status_code == 200


def test_a_user_added_before_the_fix_signs_in_as_created(desk: Desk) -> None:
    """``users add`` always stored the password with its spaces; sign-in now matches it."""
    engine = make_engine(desk.settings.db_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO users (username, role, password_hash) VALUES (:u, :r, :h)"),
            {"u": "old", "r": "dispatcher", "h": auth.hash_password(" old secret ")},
        )
    engine.dispose()
    assert _sign_in(desk.client, "old", " old secret ").status_code == 200


def test_the_hash_runs_outside_any_write_transaction(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = desk.settings.db_url
    if not url.startswith("sqlite"):
        pytest.skip("SQLite's single write lock is what a held transaction blocks")
    path = url.removeprefix("sqlite:///")
    real = auth.check_password
    seen: list[str] = []

    def check(account: Any, password: str) -> bool:
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # fails at once if sign-in holds the write lock
            other.execute("ROLLBACK")
            seen.append("free")
        finally:
            other.close()
        return real(account, password)

    monkeypatch.setattr(auth, "check_password", check)
    assert _sign_in(desk.client, "dan", PASSWORD).status_code == 200
    assert _sign_in(desk.client, "dan", "wrong").status_code == 401
    assert seen == ["free", "free"]


def test_logout_revokes_the_callers_token_only(desk: Desk) -> None:
    other = Api(desk.client, _sign_in(desk.client, "dan", PASSWORD).json()["access_token"])
    r = desk.dan.post("/auth/logout")
    assert r.status_code == 204
    assert desk.dan.get("/snapshot").status_code == 401
    assert desk.dan.post("/auth/logout").status_code == 401
    assert other.get("/snapshot").status_code == 200  # dan's other session lives on
    assert any(r["action"] == "sign_out" and r["username"] == "dan" for r in _sessions(desk))


def test_a_disabled_user_is_out_at_once_and_back_when_enabled(desk: Desk) -> None:
    url = desk.settings.db_url
    assert desk.dan.get("/snapshot").status_code == 200
    set_disabled(url, "dan", True)
    assert desk.dan.get("/snapshot").status_code == 401  # the token stops at once
    r = _sign_in(desk.client, "dan", PASSWORD)
    assert r.status_code == 403
    assert "disabled" in r.json()["detail"]
    assert _sign_in(desk.client, "dan", "wrong").status_code == 401  # no hint without it
    info = {u.username: u for u in list_users(url)}
    assert info["dan"].disabled and not info["cathy"].disabled
    set_disabled(url, "dan", False)
    assert _sign_in(desk.client, "dan", PASSWORD).status_code == 200
    with pytest.raises(LookupError):
        set_disabled(url, "nobody", True)


def test_users_commands(desk: Desk, capsys: pytest.CaptureFixture[str]) -> None:
    url = desk.settings.db_url
    assert desk.cathy.get("/snapshot").status_code == 200
    assert main(["users", "disable", "cathy", "--db", url]) == 0
    assert desk.cathy.get("/snapshot").status_code == 401
    assert main(["users", "list", "--db", url]) == 0
    out = capsys.readouterr().out
    assert "cathy\tcall_handler\tdisabled\t0 live session(s)" in out
    assert "sue\tsupervisor\tenabled" in out
    assert main(["users", "enable", "cathy", "--db", url]) == 0
    assert main(["users", "disable", "ghost", "--db", url]) == 1
    assert "no user 'ghost'" in capsys.readouterr().err
    actions = [r["action"] for r in desk.sue.get("/audit", params={"entity": "user"}).json()]
    assert actions == ["enable_user", "disable_user"]


def test_expired_tokens_are_purged(desk: Desk, clock: FakeClock) -> None:
    assert desk.dan.get("/snapshot").status_code == 200
    clock.advance(desk.settings.token_ttl + timedelta(seconds=1))
    _sign_in(desk.client, "cathy", PASSWORD)
    engine = make_engine(desk.settings.db_url)
    with engine.connect() as conn:
        names = conn.execute(sa.select(tokens.c.username)).scalars().all()
    engine.dispose()
    assert names == ["cathy"]


def test_token_lifetime_is_a_server_setting(make_desk: Any, clock: FakeClock) -> None:
    desk: Desk = make_desk(token_ttl=timedelta(minutes=10))
    assert desk.dan.get("/snapshot").status_code == 200
    clock.advance(timedelta(minutes=9))
    assert desk.dan.get("/snapshot").status_code == 200
    clock.advance(timedelta(minutes=2))
    assert desk.dan.get("/snapshot").status_code == 401


def test_a_burst_of_concurrent_guesses_gets_only_the_limit_hashed(
    settings: ServerSettings,
) -> None:
    """Attempts count as failures from the moment they start, so a burst sent at once is
    bounded too: at most the limit are checked (and hashed), the rest are 429 at once."""
    s = replace(settings, sign_in_failures_per_user=5, sign_in_failures_per_address=1000)
    with EmbeddedServer(s) as srv:
        statuses = _guesses_at_once([srv.url], 20)
    assert len(statuses) == 20
    assert statuses.count(401) == 5
    assert statuses.count(429) == 15


def _guesses_at_once(urls: list[str], n: int) -> list[int]:
    """``n`` wrong passwords for dan sent at once, spread over ``urls``: their statuses."""
    statuses: list[int] = []

    def guess(i: int) -> None:
        with httpx.Client(base_url=urls[i % len(urls)], timeout=30) as http:
            r = http.post(TOKEN, json={"username": "dan", "password": f"guess{i}"})
            statuses.append(r.status_code)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def test_failures_through_one_node_count_on_every_other_and_across_a_restart(
    make_desk: Any, clock: FakeClock
) -> None:
    # Guesses spread over the nodes (or workers) of a deployment, or sent either side of a
    # restart, get no more tries than guesses sent to one node.
    node_a: Desk = make_desk(sign_in_failures_per_user=3, sign_in_window=timedelta(minutes=5))
    node_b: Desk = make_desk(sign_in_failures_per_user=3, sign_in_window=timedelta(minutes=5))
    assert _sign_in(node_a.client, "dan", "guess 1").status_code == 401
    assert _sign_in(node_b.client, "dan", "guess 2").status_code == 401
    assert _sign_in(node_a.client, "dan", "guess 3").status_code == 401
    assert _sign_in(node_b.client, "dan", PASSWORD).status_code == 429
    restarted: Desk = make_desk(sign_in_failures_per_user=3, sign_in_window=timedelta(minutes=5))
    assert _sign_in(restarted.client, "dan", PASSWORD).status_code == 429
    clock.advance(timedelta(minutes=5, seconds=1))
    assert _sign_in(restarted.client, "dan", PASSWORD).status_code == 200
    # the success forgave the name on every node
    assert _sign_in(node_a.client, "dan", "typo").status_code == 401


def test_a_burst_of_guesses_spread_over_two_nodes_gets_only_the_limit_hashed(
    settings: ServerSettings,
) -> None:
    s = replace(settings, sign_in_failures_per_user=5, sign_in_failures_per_address=1000)
    with EmbeddedServer(s) as node_a, EmbeddedServer(s) as node_b:
        statuses = _guesses_at_once([node_a.url, node_b.url], 20)
    assert sorted(statuses) == [401] * 5 + [429] * 15


def test_failures_that_left_the_window_are_dropped(make_desk: Any, clock: FakeClock) -> None:
    desk: Desk = make_desk(sign_in_window=timedelta(minutes=5))
    for _ in range(3):
        _sign_in(desk.client, "dan", "typo")
    engine = make_engine(desk.settings.db_url)
    count = sa.select(sa.func.count()).select_from(sign_in_failures)
    try:
        with engine.connect() as conn:
            assert conn.execute(count).scalar_one() == 6  # three for the name, three the address
        clock.advance(timedelta(minutes=5, seconds=1))
        assert _sign_in(desk.client, "cathy", PASSWORD).status_code == 200
        with engine.connect() as conn:
            assert conn.execute(count).scalar_one() == 0
    finally:
        engine.dispose()
