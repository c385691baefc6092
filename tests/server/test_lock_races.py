"""Walking around what the one log lock used to protect, now that create, edit, assign, divert,
arrive and clear lock their own rows and take the log lock only at their first change row.

Over real HTTP with real threads (on PostgreSQL the commands really run side by side): two
assigns of one unit, a close racing an assign, one Idempotency-Key sent several times at once,
two identical reasons at once, an arrival racing a clear, a divert racing a clear. Each race
has one winner and the other is refused with the right error; meanwhile a reader polling
``/changes`` must never see a seq before every smaller one has committed (commit order is seq
order), the log has no gap, and the audit chain still verifies.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from dispatchdesk.server import EmbeddedServer
from dispatchdesk.server.db import make_engine
from dispatchdesk.server.features.audit.verify import verify_chain

from .conftest import Api, login

ROUNDS = 4


def words() -> str:
    """A reason no earlier one resembles (the rationale check refuses near-copies)."""
    return "Noted " + " ".join(uuid.uuid4().hex[:7] for _ in range(10))


class Room:
    """A dispatcher and a supervisor on their own connections, and a log reader."""

    def __init__(self, server: EmbeddedServer) -> None:
        self.clients = [httpx.Client(base_url=server.url, timeout=60) for _ in range(4)]
        self.dan = login(self.clients[0], "dan")
        self.sue = login(self.clients[1], "sue")
        self.dan2 = Api(self.clients[2], self.dan.token)
        self.sue2 = Api(self.clients[3], self.sue.token)
        self.start = int(self.sue.get("/snapshot").json()["cursor"])

    def key(self) -> dict[str, str]:
        return {"Idempotency-Key": uuid.uuid4().hex}

    def unit(self) -> int:
        callsign = "LX" + uuid.uuid4().hex[:5].upper()
        r = self.sue.post(
            "/units",
            json={"callsign": callsign, "kind": "IRV", "borough": "Camden"},
            headers=self.key(),
        )
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    def incident(self) -> dict[str, Any]:
        r = self.dan.create(summary=f"Call {uuid.uuid4().hex[:6]}: disturbance in the street")
        assert r.status_code == 201, r.text
        return dict(r.json())

    def assign(self, api: Api, unit: int, incident: int) -> httpx.Response:
        return api.post(f"/units/{unit}/assign", json={"incident_id": incident}, headers=self.key())

    def close(self) -> None:
        for c in self.clients:
            c.close()


@pytest.fixture
def room(server: EmbeddedServer) -> Iterator[Room]:
    r = Room(server)
    yield r
    r.close()


class LogReader:
    """Polls ``/changes`` as a desk does: each page must start right after the last seq seen,
    with no hole (a hole that fills later is a seq committed after a bigger one)."""

    def __init__(self, server: EmbeddedServer, token: str | None, since: int) -> None:
        self.client = httpx.Client(base_url=server.url, timeout=60)
        self.api = Api(self.client, token)
        self.last = since
        self.problems: list[str] = []
        self.pages = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LogReader:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(60)
        self._read()  # everything committed by now
        self.client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._read()

    def _read(self) -> None:
        r = self.api.get("/changes", params={"since": self.last, "limit": 500})
        if r.status_code != 200:
            self.problems.append(f"/changes {r.status_code}: {r.text[:200]}")
            return
        seqs = [c["seq"] for c in r.json()["changes"]]
        if seqs and seqs != list(range(self.last + 1, self.last + 1 + len(seqs))):
            self.problems.append(f"after {self.last} read {seqs[:10]}")
        if seqs:
            self.last = seqs[-1]
            self.pages += 1


def race(*calls: Callable[[], httpx.Response]) -> list[httpx.Response]:
    barrier = threading.Barrier(len(calls), timeout=30)

    def go(call: Callable[[], httpx.Response]) -> httpx.Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(go, calls, timeout=120))


def test_races_leave_one_winner_and_the_log_in_commit_order(
    room: Room, server: EmbeddedServer
) -> None:
    with LogReader(server, room.sue.token, room.start) as reader:
        for n in range(ROUNDS):
            _two_assigns(room)
            _close_against_assign(room)
            _same_key_at_once(room)
            _same_reason_at_once(room)
            _arrive_against_clear(room)
            _divert_against_clear(room, n)
    assert reader.problems == []
    head = int(room.sue.get("/snapshot").json()["cursor"])
    assert reader.last == head, "the reader saw every change up to the head"
    engine = make_engine(server.settings.db_url)
    try:
        report = verify_chain(engine)
        assert report.ok, report.text()
    finally:
        engine.dispose()


def _two_assigns(room: Room) -> None:
    unit, a, b = room.unit(), room.incident(), room.incident()
    replies = race(
        lambda: room.assign(room.dan, unit, a["id"]), lambda: room.assign(room.dan2, unit, b["id"])
    )
    assert sorted(r.status_code for r in replies) == [200, 409], [r.text for r in replies]
    [won] = [inc for inc, r in zip((a, b), replies, strict=True) if r.status_code == 200]
    [lost] = [r for r in replies if r.status_code == 409]
    assert won["ref"] in lost.json()["detail"]
    got = room.dan.get(f"/units/{unit}").json()
    assert (got["status"], got["incident_id"]) == ("ASSIGNED", won["id"])


def _close_against_assign(room: Room) -> None:
    unit, inc = room.unit(), room.incident()
    closing = {"rationale": words(), "override_open_tasks": True}
    assign, close = race(
        lambda: room.assign(room.dan, unit, inc["id"]),
        lambda: room.sue.post(f"/incidents/{inc['id']}/close", json=closing, headers=room.key()),
    )
    assert close.status_code == 200, close.text
    assert assign.status_code in (200, 409), assign.text
    if assign.status_code == 409:
        assert "closed" in assign.json()["detail"]
    # Either way the unit is not left on a closed incident: the close stood it down.
    got = room.dan.get(f"/units/{unit}").json()
    assert (got["status"], got["incident_id"]) == ("AVAILABLE", None), (assign.text, got)
    assert room.dan.get(f"/incidents/{inc['id']}").json()["status"] == "CLOSED"


def _same_key_at_once(room: Room) -> None:
    key = uuid.uuid4().hex
    summary = f"Call {key[:6]}: sent three times by a desk that lost its connection"
    replies = race(
        *[
            lambda api=api: api.create(key=key, summary=summary)
            for api in (room.dan, room.dan2, room.dan)
        ]
    )
    assert [r.status_code for r in replies] == [201, 201, 201], [r.text for r in replies]
    assert len({r.json()["id"] for r in replies}) == 1
    snap = room.sue.get("/snapshot").json()
    assert [i["summary"] for i in snap["incidents"]].count(summary) == 1
    unit, inc = room.unit(), room.incident()
    akey = {"Idempotency-Key": uuid.uuid4().hex}
    assigns = race(
        *[
            lambda api=api: api.post(
                f"/units/{unit}/assign", json={"incident_id": inc["id"]}, headers=akey
            )
            for api in (room.dan, room.dan2)
        ]
    )
    assert [r.status_code for r in assigns] == [200, 200], [r.text for r in assigns]
    assert assigns[0].json() == assigns[1].json()
    # A key reused for another request at once: one applies, the other is refused (422).
    pairs = [(room.unit(), room.incident()["id"]) for _ in range(2)]
    mkey = {"Idempotency-Key": uuid.uuid4().hex}
    mixed = race(
        *[
            lambda api=api, unit=unit, inc=inc: api.post(
                f"/units/{unit}/assign", json={"incident_id": inc}, headers=mkey
            )
            for api, (unit, inc) in zip((room.dan, room.dan2), pairs, strict=True)
        ]
    )
    assert sorted(r.status_code for r in mixed) == [200, 422], [r.text for r in mixed]


def _same_reason_at_once(room: Room) -> None:
    pairs = [(room.unit(), room.incident()) for _ in range(2)]
    for unit, inc in pairs:
        assert room.assign(room.dan, unit, inc["id"]).status_code == 200
    reason = words()
    replies = race(
        *[
            lambda api=api, unit=unit: api.post(
                f"/units/{unit}/clear", json={"reason": reason}, headers=room.key()
            )
            for api, (unit, _inc) in zip((room.dan, room.dan2), pairs, strict=True)
        ]
    )
    assert sorted(r.status_code for r in replies) == [200, 422], [r.text for r in replies]
    [refused] = [r for r in replies if r.status_code == 422]
    assert refused.json()["detail"][0]["type"] == "rationale_refused"
    states = sorted(room.dan.get(f"/units/{u}").json()["status"] for u, _i in pairs)
    assert states == ["ASSIGNED", "AVAILABLE"]


def _arrive_against_clear(room: Room) -> None:
    unit, inc = room.unit(), room.incident()
    assert room.assign(room.dan, unit, inc["id"]).status_code == 200
    arrive, clear = race(
        lambda: room.dan.post(f"/units/{unit}/arrive", headers=room.key()),
        lambda: room.dan2.post(
            f"/units/{unit}/clear", json={"reason": words()}, headers=room.key()
        ),
    )
    assert clear.status_code == 200, clear.text
    got = room.dan.get(f"/incidents/{inc['id']}").json()
    if arrive.status_code == 200:  # arrived, then cleared from the scene
        assert got["status"] == "AT_SCENE" and got["attended_at"] is not None, got
    else:  # withdrawn before arriving: the arrival is refused, the incident owed
        assert arrive.status_code == 409, arrive.text
        assert got["status"] == "OPEN" and got["owed"], got
    assert room.dan.get(f"/units/{unit}").json()["status"] == "AVAILABLE"


def _divert_against_clear(room: Room, n: int) -> None:
    unit, source, target = room.unit(), room.incident(), room.incident()
    assert room.assign(room.dan, unit, source["id"]).status_code == 200
    first, second = (room.dan, room.dan2) if n % 2 else (room.dan2, room.dan)
    divert, clear = race(
        lambda: first.post(
            f"/units/{unit}/divert",
            json={"incident_id": target["id"], "reason": words()},
            headers=room.key(),
        ),
        lambda: second.post(f"/units/{unit}/clear", json={"reason": words()}, headers=room.key()),
    )
    assert clear.status_code == 200, clear.text
    got = room.dan.get(f"/units/{unit}").json()
    assert (got["status"], got["incident_id"]) == ("AVAILABLE", None), (divert.text, got)
    src = room.dan.get(f"/incidents/{source['id']}").json()
    tgt = room.dan.get(f"/incidents/{target['id']}").json()
    assert src["owed"], src  # diverted or withdrawn from it: owed either way
    assert tgt["status"] == "OPEN", tgt
    if divert.status_code != 200:
        assert divert.status_code == 409, divert.text
