"""The simulator with a fleet: it adds units, drives lives through the unit commands, diverts
units from S to new I incidents, and every owed incident is attended again in the end."""

from __future__ import annotations

import asyncio

import httpx

from dispatchdesk.protocol.schemas import UnitCreate
from dispatchdesk.server import EmbeddedServer
from dispatchdesk.server.simulation.scenario import Scenario
from dispatchdesk.server.simulation.simulator import Simulator

from .conftest import PASSWORD, login


def test_fleet_bodies_are_valid_and_unique() -> None:
    bodies = [UnitCreate.model_validate(b) for b in Scenario(seed=2).fleet(60)]
    assert len({b.callsign for b in bodies}) == 60
    assert {b.kind for b in bodies} >= {"IRV"}
    # the Met's borough codes ("CW21"), every borough, each unit near its borough's centre
    from dispatchdesk.server.simulation.london import BOROUGH_CODES, BOROUGHS

    assert set(BOROUGH_CODES) == set(BOROUGHS)
    assert len(set(BOROUGH_CODES.values())) == len(BOROUGH_CODES)
    assert {b.borough for b in bodies} == set(BOROUGHS)
    for b in bodies:
        assert b.callsign[:2] == BOROUGH_CODES[b.borough] and b.callsign[2:].isdigit()
        lat, lon = BOROUGHS[b.borough][1]
        assert b.lat is not None and b.lon is not None
        assert abs(b.lat - lat) < 0.02 and abs(b.lon - lon) < 0.03


class VirtualTime:
    """The simulator's monotonic clock and sleep: a whole shift runs in no real time, and the
    same seed gives the same run whatever the machine's speed."""

    def __init__(self) -> None:
        self.t = 0.0

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds
        await asyncio.sleep(0)


def test_simulator_runs_a_fleet_with_diverts(server: EmbeddedServer) -> None:
    vt = VirtualTime()
    sim = Simulator(
        server.url,
        "sue",
        PASSWORD,
        rate_per_minute=0.2,
        seed=5,
        units=10,
        speed=60,
        divert_chance=1.0,
        monotonic=vt.monotonic,
        sleep=vt.sleep,
    )

    async def run() -> None:
        try:
            await asyncio.wait_for(sim.run(max_incidents=20), timeout=30)
        finally:
            await sim.aclose()

    asyncio.run(run())
    assert sim.fleet and sim.created == 20
    assert sim.diverted >= 1
    with httpx.Client(base_url=server.url, timeout=30) as http:
        api = login(http, "dan")
        snap = api.get("/snapshot").json()
        tags = api.get("/diverts?state=all").json()
        entities = {c["entity"] for c in api.get("/changes?since=0&limit=5000").json()["changes"]}
    assert len(snap["units"]) == 10
    assert all(u["status"] == "AVAILABLE" for u in snap["units"]), snap["units"]
    assert len(tags) == sim.diverted
    assert all(t["released_at"] is not None for t in tags)
    for inc in snap["incidents"]:
        assert not inc["owed"]
        assert inc["status"] == ("OPEN" if inc["grade"] == "R" else "CLOSED"), inc
    assert entities == {"incident", "unit"}


def test_without_a_fleet_nothing_about_units_is_sent(server: EmbeddedServer) -> None:
    vt = VirtualTime()
    sim = Simulator(
        server.url,
        "dan",
        PASSWORD,
        rate_per_minute=1,
        seed=4,
        speed=60,
        monotonic=vt.monotonic,
        sleep=vt.sleep,
    )

    async def run() -> None:
        try:
            await asyncio.wait_for(sim.run(max_incidents=5), timeout=30)
        finally:
            await sim.aclose()

    asyncio.run(run())
    assert not sim.fleet
    with httpx.Client(base_url=server.url, timeout=30) as http:
        changes = login(http, "dan").get("/changes?since=0").json()["changes"]
    assert {c["entity"] for c in changes} == {"incident"}
