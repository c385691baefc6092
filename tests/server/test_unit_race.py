"""The assignment race: 2 to 8 dispatchers assign the same unit at once, over real HTTP, on
SQLite and PostgreSQL, many times. Always exactly one winner; the others get 409 naming the
incident the unit went to; the database ends with the unit on exactly that incident."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from dispatchdesk.server import EmbeddedServer

from .conftest import Api, login

ROUNDS_PER_SIZE = 3
SIZES = range(2, 9)


def test_exactly_one_dispatcher_wins_the_unit(server: EmbeddedServer) -> None:
    clients = [httpx.Client(base_url=server.url, timeout=30) for _ in range(max(SIZES))]
    try:
        dan, sue = login(clients[0], "dan"), login(clients[1], "sue")
        apis = [Api(c, (dan if i % 2 else sue).token) for i, c in enumerate(clients)]
        r = sue.post(
            "/units",
            json={"callsign": "LX21", "kind": "IRV", "borough": "Camden"},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status_code == 201, r.text
        unit_id = r.json()["id"]
        with ThreadPoolExecutor(max_workers=max(SIZES)) as pool:
            for size in SIZES:
                for round_ in range(ROUNDS_PER_SIZE):
                    _race(pool, apis[:size], unit_id, f"{size}.{round_}")
    finally:
        for c in clients:
            c.close()


def _race(pool: ThreadPoolExecutor, apis: list[Api], unit_id: int, label: str) -> None:
    incidents = [
        apis[0].create(summary=f"Race {label}: call {n} needing the same unit").json()
        for n in range(len(apis))
    ]
    barrier = threading.Barrier(len(apis), timeout=20)

    def assign(i: int) -> httpx.Response:
        barrier.wait()
        return apis[i].post(
            f"/units/{unit_id}/assign",
            json={"incident_id": incidents[i]["id"]},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )

    replies = list(pool.map(assign, range(len(apis)), timeout=60))
    codes = sorted(r.status_code for r in replies)
    assert codes == [200] + [409] * (len(apis) - 1), (label, [r.text for r in replies])
    [winner] = [i for i, r in enumerate(replies) if r.status_code == 200]
    won = incidents[winner]
    for r in replies:
        if r.status_code == 409:
            assert won["ref"] in r.json()["detail"], (label, r.text)
    unit = apis[0].get(f"/units/{unit_id}").json()
    assert (unit["status"], unit["incident_id"]) == ("ASSIGNED", won["id"]), label
    for i, inc in enumerate(incidents):
        got = apis[0].get(f"/incidents/{inc['id']}").json()
        assert got["status"] == ("ASSIGNED" if i == winner else "OPEN"), (label, i)
    r = apis[0].post(
        f"/units/{unit_id}/clear",
        headers={"Idempotency-Key": uuid.uuid4().hex},
        json={"reason": f"Round {label} on {won['ref']} finished; stand it down"},
    )
    assert r.status_code == 200, r.text
