"""What a newcomer sees in the demo: a fleet, diverts, special schemes and protective orders on
incidents in the queue, and a simulator that moves the units on."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from dispatchdesk.app.demo import DemoBackend
from dispatchdesk.domain.roles import Role
from dispatchdesk.server import EmbeddedServer, ServerSettings, add_user
from dispatchdesk.server.simulation.seeding import demo_fleet_size, play_history, resume_lives
from dispatchdesk.server.simulation.simulator import Simulator

PASSWORD = "demo-test-password"


def _sign_in(url: str, username: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=url + "/api/v1", timeout=30)
    reply = client.post("/auth/token", json={"username": username, "password": password})
    assert reply.status_code == 200, reply.text
    client.headers["Authorization"] = f"Bearer {reply.json()['access_token']}"
    return client


def test_fresh_demo_has_a_fleet_diverts_schemes_and_orders(tmp_path: Path) -> None:
    demo = DemoBackend(tmp_path, rate_per_minute=3, history_hours=0.75, seed=8)
    demo.start()
    try:
        sign_in = demo.sign_in_for(Role.SUPERVISOR)
        api = _sign_in(sign_in.url, sign_in.username, sign_in.password)
        units = api.get("/units").json()
        snapshot = api.get("/snapshot").json()
        tags = api.get("/diverts?state=open").json()
        open_ids = [i["id"] for i in snapshot["incidents"] if i["status"] != "CLOSED"]
        warned = {i: api.get(f"/warnings?incident_id={i}").json()["warnings"] for i in open_ids}
    finally:
        demo.stop()
    # a restart hands the simulator the units on incidents and the marked addresses
    again = resume_lives(demo.db_url, seed=8)
    assert again.sent and again.steps and again.marked
    assert len(units) == demo_fleet_size(3)
    assert {u["callsign"][:2] for u in units} >= {"CW", "HT", "LX"}
    statuses = Counter(u["status"] for u in units)
    assert statuses["AVAILABLE"] and statuses["ASSIGNED"] + statuses["AT_SCENE"], statuses
    on = {u["incident_id"] for u in units if u["incident_id"] is not None}
    assert all(i["status"] != "CLOSED" for i in snapshot["incidents"] if i["id"] in on)
    assert tags, "the DIVERT tag list is empty"
    assert any(i["owed"] for i in snapshot["incidents"])
    review = Counter(s["review_state"] for s in snapshot["schemes"])
    # a scheme entering its review window has its first-stage review requested at once
    assert len(snapshot["schemes"]) >= 4 and review["FIRST_STAGE"] >= 1, review
    assert review["SECOND_STAGE"] >= 1, review
    assert len(snapshot["orders"]) == 3
    # a notice from the duty supervisor that call handlers and dispatchers must acknowledge
    [notice] = snapshot["notices"]
    assert notice["requires_ack"] and notice["roles"] == ["call_handler", "dispatcher"]
    severities = {w["severity"] for found in warned.values() for w in found}
    assert sum(1 for found in warned.values() if found) >= 5
    assert {"critical", "heightened", "info"} <= severities, severities
    matches = {w["match"] for found in warned.values() for w in found}
    assert "parent_uprn" in matches or "child_uprn" in matches, matches


class VirtualTime:
    """The simulator's clock and sleep: minutes of a shift in no real time."""

    def __init__(self) -> None:
        self.t = 0.0

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds
        await asyncio.sleep(0)


def _units(api: httpx.Client) -> dict[int, tuple[str, Any]]:
    return {u["id"]: (u["status"], u["incident_id"]) for u in api.get("/units").json()}


def test_the_simulator_moves_the_demo_fleet_on(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    add_user(url, "sim", Role.DISPATCHER, PASSWORD)
    playback = play_history(url, "sim", timedelta(minutes=40), rate=2, seed=6, units=40)
    assert playback.sent and playback.steps and len(playback.marked) >= 6
    vt = VirtualTime()
    with EmbeddedServer(ServerSettings(db_url=url)) as server:
        api = _sign_in(server.url, "sim", PASSWORD)
        before = _units(api)
        sim = Simulator(
            server.url,
            "sim",
            PASSWORD,
            rate_per_minute=2,
            seed=6,
            marked=playback.marked,
            monotonic=vt.monotonic,
            sleep=vt.sleep,
        )
        sim.schedule(playback.steps, playback.sent)

        async def run() -> None:
            try:
                await asyncio.wait_for(sim.run(duration=10 * 60), timeout=60)
            finally:
                await sim.aclose()

        asyncio.run(run())
        after = _units(api)
    assert sim.fleet and sim.created > 0 and sim.closed > 0
    moved = [u for u in before if before[u] != after[u]]
    assert len(moved) >= 5, (before, after)
    # the units history sent arrive, rather than others being sent as well
    assert sum(1 for status, _ in after.values() if status == "AT_SCENE") >= 1
