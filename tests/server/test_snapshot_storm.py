"""A room reconnecting at once: one shared snapshot build, identical bytes, gzip, and the next
change reaching every desk (issue 14). Also the ways round the sharing: a commit between two
requests, a scheme expiring under a kept snapshot, a client that does not accept gzip."""

from __future__ import annotations

import asyncio
import gzip
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest

from dispatchdesk.domain.clock import FakeClock
from dispatchdesk.protocol import API_PREFIX
from dispatchdesk.server import EmbeddedServer
from dispatchdesk.server.features.sync import service as sync_service
from dispatchdesk.server.features.sync.shared import accepts_gzip

from .conftest import START, incident_body, login
from .helpers import key, scheme_body

DESKS = 20


def _count_builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    builds: list[int] = []
    real = sync_service.Sync.snapshot

    def counted(self: sync_service.Sync) -> Any:
        builds.append(1)
        return real(self)

    monkeypatch.setattr(sync_service.Sync, "snapshot", counted)
    return builds


async def _desk(url: str, token: str, go: asyncio.Event, live: asyncio.Queue[int]) -> Any:
    """One desk: snapshot (gzip), then the stream from its cursor until the next change."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url + API_PREFIX, headers=headers, timeout=30) as http:
        await go.wait()
        r = await http.get("/snapshot")
        assert r.status_code == 200, r.text
        assert r.headers["content-encoding"] == "gzip"  # httpx asks for it by default
        snap = r.json()
        async with http.stream("GET", "/events", params={"since": snap["cursor"]}) as events:
            lines = events.aiter_lines()
            assert (await anext(lines)).startswith(": connected")
            live.put_nowait(snap["cursor"])
            async for line in lines:
                if line.startswith("data: "):
                    return r.content, snap["cursor"], json.loads(line.removeprefix("data: "))
    raise AssertionError("the stream ended before the next change")


def test_twenty_desks_at_once_share_one_build_and_all_get_the_next_change(
    server: EmbeddedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        cathy, dan = login(http, "cathy"), login(http, "dan")
        for i in range(30):
            assert cathy.create(summary=f"Before the storm, call {i}").status_code == 201
    builds = _count_builds(monkeypatch)

    async def run() -> list[Any]:
        go, live = asyncio.Event(), asyncio.Queue[int]()
        desks = [
            asyncio.create_task(_desk(server.url, dan.token or "", go, live)) for _ in range(DESKS)
        ]
        go.set()
        for _ in range(DESKS):  # every desk holds its snapshot and is on the live stream
            await asyncio.wait_for(live.get(), 30)
        async with httpx.AsyncClient(base_url=server.url + API_PREFIX, timeout=10) as http:
            r = await http.post(
                "/incidents",
                json=incident_body(summary="The next change after the storm"),
                headers={"Authorization": f"Bearer {cathy.token}", **key()},
            )
            assert r.status_code == 201, r.text
        return await asyncio.wait_for(asyncio.gather(*desks), 30)

    results = asyncio.run(run())
    assert len({body for body, _cursor, _data in results}) == 1  # identical snapshots
    assert {cursor for _b, cursor, _d in results} == {30}
    assert len(builds) == 1  # built once for all twenty
    changes = [data for _b, _c, data in results]
    assert [c["seq"] for c in changes] == [31] * DESKS  # none missed
    assert {c["data"]["summary"] for c in changes} == {"The next change after the storm"}


def test_a_commit_after_a_shared_snapshot_is_in_the_next_one(desk: Any) -> None:
    first = desk.dan.get("/snapshot").json()
    assert desk.cathy.create(summary="Committed between two snapshots").status_code == 201
    second = desk.dan.get("/snapshot").json()
    assert second["cursor"] == first["cursor"] + 1
    assert "Committed between two snapshots" in {i["summary"] for i in second["incidents"]}


def test_a_kept_snapshot_is_not_served_once_a_scheme_in_it_expires(
    desk: Any, clock: FakeClock
) -> None:
    soon = START + timedelta(seconds=2)
    r = desk.sue.post("/schemes", json=scheme_body(expires_at=soon.isoformat()), headers=key())
    assert r.status_code == 201, r.text
    assert [s["id"] for s in desk.dan.get("/snapshot").json()["schemes"]] == [r.json()["id"]]
    clock.advance(timedelta(seconds=2))  # within the sharing time, but the scheme has expired
    assert desk.dan.get("/snapshot").json()["schemes"] == []


def test_a_client_that_does_not_accept_gzip_gets_the_same_json_plain(desk: Any) -> None:
    assert desk.cathy.create(summary="Plain or compressed").status_code == 201
    zipped = desk.dan.get("/snapshot", headers={"Accept-Encoding": "gzip"})
    plain = desk.dan.get("/snapshot", headers={"Accept-Encoding": "identity"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert zipped.headers["vary"] == plain.headers["vary"] == "Accept-Encoding"
    assert plain.content == zipped.content  # httpx decoded the gzip one
    assert len(gzip.compress(plain.content)) < len(plain.content)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ("", False),
        ("identity", False),
        ("gzip", True),
        ("gzip, deflate, br, zstd", True),
        ("br;q=1.0, gzip;q=0.5", True),
        ("gzip;q=0", False),
        ("*", True),
        ("*, gzip;q=0", False),
        ("x-gzip", True),
        ("gzip;q=nonsense", False),
    ],
)
def test_accept_encoding_is_read_as_rfc_9110_says(header: str | None, expected: bool) -> None:
    assert accepts_gzip(header) is expected
