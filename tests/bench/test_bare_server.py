"""The bare server (the throughput bench's ceiling) must deliver what the bench counts: every
change to every desk, in seq order, under the key the writer's reply names, across workers;
otherwise its figures would flatter the stack."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import uuid
from array import array
from pathlib import Path

import httpx
import pytest

from dispatchdesk.protocol import API_PREFIX
from tests.bench.bare_server import BareServeProcess
from tests.bench.bench_throughput import LOCATION, raw_desk
from tests.bench.common import ServeProcess, fresh_pg_database

PG_URL = os.environ.get("DISPATCHDESK_TEST_PG_URL")


def commands(srv: ServeProcess, token: str, n: int) -> list[str]:
    """``n`` rounds of the writers' command shapes; the entity/id/version key of each reply."""
    keys = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=srv.url + API_PREFIX, headers=headers) as http:
        for i in range(n):
            body = {"grade": "S", "type": "Burglary", "summary": f"call {i}", "location": LOCATION}
            sent: list[tuple[str, str, object]] = [
                ("POST", "/incidents", body),
                ("PATCH", "/incidents/7", {"summary": f"edit {i}"}),
                ("POST", "/units/3/assign", {"incident_id": 7}),
                ("POST", "/units/3/arrive", None),
                ("POST", "/units/3/clear", {}),
            ]
            for method, path, json in sent:
                r = http.request(
                    method, path, json=json, headers={"Idempotency-Key": uuid.uuid4().hex}
                )
                assert r.status_code in (200, 201), r.text
                entity = "unit" if path.startswith("/units") else "incident"
                keys.append(f"{entity}/{r.json()['id']}/{r.json()['version']}")
    return keys


def check_delivery(db_url: str, workers: int) -> None:
    with BareServeProcess(db_url, workers=workers) as srv:
        r = httpx.post(
            srv.url + API_PREFIX + "/auth/token",
            json={"username": "desk", "password": "bench-password"},
        )
        token = r.json()["access_token"]
        bad = httpx.get(srv.url + API_PREFIX + "/snapshot", headers={"Authorization": "Bearer x"})
        assert bad.status_code == 401
        host, port = srv.url.removeprefix("http://").split(":")
        target = multiprocessing.get_context("spawn").Value("q", 0)

        async def run() -> tuple[list[str], list[tuple[array[int], array[float], dict[int, str]]]]:
            early = [
                asyncio.create_task(raw_desk(host, int(port), token, 0, target, True))
                for _ in range(4)
            ]
            keys = await asyncio.to_thread(commands, srv, token, 4)
            late = asyncio.create_task(raw_desk(host, int(port), token, 0, target, True))
            keys += await asyncio.to_thread(commands, srv, token, 2)
            snap = httpx.get(
                srv.url + API_PREFIX + "/snapshot", headers={"Authorization": f"Bearer {token}"}
            )
            target.value = snap.json()["cursor"]
            assert target.value == len(keys)
            return keys, list(await asyncio.gather(*early, late))

        keys, desks = asyncio.run(run())
    assert len(desks) == 5
    for seqs, _times, seen in desks:
        assert list(seqs) == list(range(1, len(keys) + 1))
        assert sorted(seen.values()) == sorted(keys)


def test_every_desk_gets_every_change_in_order_on_sqlite(tmp_path: Path) -> None:
    check_delivery(f"sqlite:///{tmp_path / 'bare.db'}", 1)


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="DISPATCHDESK_TEST_PG_URL is not set")
def test_every_desk_gets_every_change_in_order_across_two_workers_on_postgresql() -> None:
    assert PG_URL is not None
    check_delivery(fresh_pg_database(PG_URL, "dd_test_bare_server"), 2)
