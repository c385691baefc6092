"""Units, special schemes and protective orders through the sync engine, against the real
reference server on loopback: they reach the listener and the cache, unit commands go through
the outbox (a clear before arrival with its reason: a withdrawal), warnings are looked up
offline, acknowledgements from the new-incident form follow the incident, and an expired scheme
is purged from every cache file by server time."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from dispatchdesk.cache import CacheStore, CacheWorker
from dispatchdesk.domain.clock import ServerClock
from dispatchdesk.domain.commands import CommandKind, CommandState, ConnectionState
from dispatchdesk.domain.incident import DivertKind, IncidentStatus
from dispatchdesk.domain.unit import UnitStatus
from dispatchdesk.domain.warnings import (
    Place,
    VictimContactOutcome,
    WarningRef,
    scheme_latest_expiry,
)
from dispatchdesk.protocol import API_PREFIX
from dispatchdesk.server import EmbeddedServer
from dispatchdesk.sync.client import ApiClient
from dispatchdesk.sync.engine import SyncEngine

from .conftest import PASSWORD, Recorder, draft, other_desk_creates

pytestmark = pytest.mark.anyio

SECRET = "Zebedee Quartermaine is not to attend this address"


class ShiftedMonotonic:
    """A monotonic clock the test can move forward (server time moves with it)."""

    def __init__(self) -> None:
        self.shift = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.shift


@dataclass
class Desk:
    engine: SyncEngine
    rec: Recorder
    mono: ShiftedMonotonic


async def admin(server: EmbeddedServer) -> httpx.AsyncClient:
    # generous: the suite shares two cores, and a set-up request timing out proves nothing
    http = httpx.AsyncClient(base_url=server.url + API_PREFIX, timeout=30.0)
    token = (await http.post("/auth/token", json={"username": "bob", "password": PASSWORD})).json()[
        "access_token"
    ]
    http.headers["Authorization"] = f"Bearer {token}"
    return http


async def post(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await http.post(path, json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


async def open_desk(server: EmbeddedServer, worker: CacheWorker) -> Desk:
    mono = ShiftedMonotonic()
    rec = Recorder()
    engine = SyncEngine(
        ApiClient(server.url, timeout=5.0),
        worker,
        rec,
        ServerClock(monotonic=mono),
        heartbeat_timeout=3.0,
        backoff_initial=0.01,
        backoff_max=0.1,
    )
    await engine._client.sign_in("alice", PASSWORD)
    await engine.start()
    await rec.wait_for(lambda: rec.connection is ConnectionState.ONLINE)
    return Desk(engine, rec, mono)


@pytest.fixture
async def http(server: EmbeddedServer) -> AsyncIterator[httpx.AsyncClient]:
    client = await admin(server)
    try:
        yield client
    finally:
        await client.aclose()


def scheme_body(
    expires_in: timedelta, summary: str = SECRET, address: str = "Flat 3, Holly Court, 9 Elm Road"
) -> dict[str, Any]:
    elsewhere = address != "Flat 3, Holly Court, 9 Elm Road"
    return {
        "location": {
            "address": address,
            "postcode": "E2 2BB" if elsewhere else "N1 1AA",
            "uprn": "8000001" if elsewhere else "9000003",
            "parent_uprn": None if elsewhere else "9000000",
        },
        "category": "VICTIM_AT_RISK",
        "summary": summary,
        "officer_in_case": "DC 99 Okafor",
        "expires_at": (datetime.now(UTC) + expires_in).isoformat(),
    }


def files_holding(directory: Path, text: str) -> list[str]:
    return [p.name for p in directory.iterdir() if p.is_file() and text.encode() in p.read_bytes()]


def order_body(expires_on: str) -> dict[str, Any]:
    return {
        "order_type": "NON_MOLESTATION",
        "subject": {"name": "Gary Hollis", "dob": "1984-03-09"},
        "protected_persons": [{"name": "Dawn Hollis", "dob": "1986-07-21"}],
        "locations": [{"address": "22 Acacia Avenue", "postcode": "N1 9GU", "uprn": "5550001"}],
        "conditions": "Not to contact Dawn Hollis",
        "issued_on": "2026-05-24",
        "expires_on": expires_on,
        "source_ref": f"FAM-{uuid.uuid4().hex[:8]}",
    }


async def test_units_arrive_and_unit_commands_go_through_the_outbox(
    server: EmbeddedServer, other: ApiClient, worker: CacheWorker, http: httpx.AsyncClient
) -> None:
    first = await other_desk_creates(other, 1)
    second = await other_desk_creates(other, 2)
    lx21 = await post(http, "/units", {"callsign": "LX21", "kind": "IRV", "borough": "Camden"})
    desk = await open_desk(server, worker)
    rec, engine = desk.rec, desk.engine
    try:
        assert rec.units[lx21["id"]].status is UnitStatus.AVAILABLE
        lx30 = await post(http, "/units", {"callsign": "LX30", "kind": "Van", "borough": "Camden"})
        await rec.wait_for(lambda: lx30["id"] in rec.units)  # live, from the feed
        engine.assign_unit(rec.units[lx21["id"]], rec.incidents[first.id])
        await rec.wait_for(
            lambda: (
                rec.units[lx21["id"]].status is UnitStatus.ASSIGNED
                and rec.incidents[first.id].status is IncidentStatus.ASSIGNED
                and not rec.commands
            )
        )
        assert rec.units[lx21["id"]].incident_id == first.id
        # the same unit to the second incident: refused, saying where it is and who sent it
        engine.assign_unit(rec.units[lx21["id"]], rec.incidents[second.id])
        await rec.wait_for(lambda: rec.commands and rec.commands[0].state is CommandState.FAILED)
        message = rec.commands[0].message or ""
        assert first.ref in message and "assigned by alice" in message
        engine.discard(rec.commands[0].id)
        # divert it with a reason: the first incident is owed
        engine.divert_unit(rec.units[lx21["id"]], rec.incidents[second.id], "Robbery, grade I")
        await rec.wait_for(lambda: rec.incidents[first.id].owed and not rec.commands)
        owed = rec.incidents[first.id]
        assert owed.needs_unit and owed.diverts[0].callsign == "LX21"
        history = await engine.divert_history("open")
        assert [d.from_incident_id for d in history] == [first.id]
        engine.review_divert(owed.diverts[0], "Diverted to a grade I robbery; LX30 sent back")
        await rec.wait_for(lambda: rec.incidents[first.id].diverts[0].reviewed_at is not None)
    finally:
        await engine.stop()
    state = worker.store.load()
    assert {u.callsign for u in state.units} == {"LX21", "LX30"}
    assert rec.problems[-1].startswith("Assign LX21")  # the refusal was shown


async def test_warnings_offline_and_an_expired_scheme_leaves_no_trace(
    server: EmbeddedServer, worker: CacheWorker, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    """Issue 4's case: a scheme six months and one day old is shown nowhere, and its text is
    in no file the desk wrote — found by server time while offline."""
    longest = scheme_latest_expiry(datetime.now(UTC)) - datetime.now(UTC) - timedelta(minutes=1)
    scheme = await post(http, "/schemes", scheme_body(longest))
    # another scheme, expiring sooner: both go, their pages live on in the files
    other = await post(
        http, "/schemes", scheme_body(timedelta(days=90), "Another scheme", "40 Far Lane")
    )
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    await post(http, "/orders", order_body(tomorrow))
    desk = await open_desk(server, worker)
    engine, rec = desk.engine, desk.rec
    try:
        await rec.wait_for(lambda: rec.index is not None)
        assert rec.index is not None
        flat = Place(uprn="9000004", parent_uprn="9000000", address="Flat 4, Holly Court")
        now = engine._clock.now()
        [w] = rec.index.lookup(flat, [], now)
        assert (w.kind, w.possible) == ("scheme", True)  # another flat in the block
        [w] = rec.index.lookup(Place(uprn="9000000", address="Holly Court"), [], now)
        assert w.match == "child_uprn"
        [o] = rec.index.lookup(Place(uprn="5550001", address="22 Acacia Avenue"), [], now)
        assert o.severity == "critical" and "TOMORROW" in o.text
        server.stop()  # offline from here on
        await rec.wait_for(lambda: rec.connection is ConnectionState.OFFLINE)
        # six months and a day later, by server time (the desk is offline)
        desk.mono.shift = (longest + timedelta(days=1)).total_seconds()
        assert files_holding(tmp_path / "client", SECRET)  # the test can see it
        assert sorted(await engine.purge_expired()) == sorted([scheme["id"], other["id"]])
        assert rec.index.lookup(flat, [], engine._clock.now()) == []
        assert files_holding(tmp_path / "client", SECRET) == []  # gone at once, still open
    finally:
        await engine.stop()
    worker.close()
    assert files_holding(tmp_path / "client", SECRET) == []
    reopened = CacheStore(tmp_path / "client" / "cache.sqlite3")
    try:
        data = reopened.load_warning_data(datetime.now(UTC))
        assert data.schemes == [] and len(data.orders) == 1
    finally:
        reopened.close()


async def test_acknowledgements_in_the_form_follow_the_new_incident(
    server: EmbeddedServer, worker: CacheWorker, http: httpx.AsyncClient
) -> None:
    order = await post(http, "/orders", order_body("2030-01-01"))
    desk = await open_desk(server, worker)
    engine, rec = desk.engine, desk.rec
    ref = WarningRef("order", order["id"])
    try:
        engine.create_incident(
            draft(7).__class__(
                **{**draft(7).__dict__, "shown_warnings": (ref,), "acknowledged_warnings": (ref,)}
            )
        )

        def audited() -> bool:  # the follow-up audit was queued, and everything has gone
            kinds = {c.kind for batch in rec.command_lists for c in batch}
            return CommandKind.WARNING_ACKNOWLEDGED in kinds and not rec.commands

        await rec.wait_for(lambda: len(rec.incidents) == 1 and audited())
        [incident_id] = rec.incidents
        assert rec.acknowledged == frozenset({(incident_id, ref)})
    finally:
        await engine.stop()
    audit = (await http.get("/audit")).json()
    actions = [(a["action"], a["entity_id"]) for a in audit if a["entity"] == "order"]
    assert ("warning_acknowledged", order["id"]) in actions
    again = worker.store.load_warning_data(datetime.now(UTC))
    assert again.acknowledged == frozenset({(incident_id, ref)})


async def test_ending_a_scheme_needs_a_victim_contact_and_then_leaves_no_trace(
    server: EmbeddedServer, worker: CacheWorker, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    scheme = await post(http, "/schemes", scheme_body(timedelta(days=90)))
    desk = await open_desk(server, worker)
    engine, rec = desk.engine, desk.rec

    def live() -> list[Any]:
        assert rec.index is not None
        return [s for s in rec.index.schemes(engine._clock.now()) if s.id == scheme["id"]]

    try:
        await rec.wait_for(lambda: rec.index is not None and live())
        [held] = live()
        assert held.removal_notice is False
        # not told of the removal: refused by the server, with what to do
        engine.end_scheme(held, "Perpetrator remanded in custody")
        await rec.wait_for(lambda: rec.commands and rec.commands[0].state is CommandState.FAILED)
        assert "Tell the victim the scheme is being removed" in (rec.commands[0].message or "")
        engine.discard(rec.commands[0].id)
        engine.scheme_victim_contact(
            held, VictimContactOutcome.NO_CONTACT, None, "No answer; card left at the address"
        )
        await rec.wait_for(
            lambda: bool(live()) and live()[0].removal_notice is True and not rec.commands
        )
        [held] = live()
        assert [(c.outcome, c.note) for c in held.victim_contacts] == [
            (VictimContactOutcome.NO_CONTACT, "No answer; card left at the address")
        ]
        assert files_holding(tmp_path / "client", SECRET)  # the test can see it
        engine.end_scheme(held, "Perpetrator remanded in custody")
        await rec.wait_for(lambda: not live() and not rec.commands)
        assert files_holding(tmp_path / "client", SECRET) == []
    finally:
        await engine.stop()
    worker.close()
    assert files_holding(tmp_path / "client", SECRET) == []


async def test_a_withdrawal_goes_through_the_outbox_with_its_reason(
    server: EmbeddedServer, other: ApiClient, worker: CacheWorker, http: httpx.AsyncClient
) -> None:
    inc = await other_desk_creates(other, 1)
    lx21 = await post(http, "/units", {"callsign": "LX21", "kind": "IRV", "borough": "Camden"})
    desk = await open_desk(server, worker)
    rec, engine = desk.rec, desk.engine
    try:
        engine.assign_unit(rec.units[lx21["id"]], rec.incidents[inc.id])
        await rec.wait_for(
            lambda: rec.units[lx21["id"]].status is UnitStatus.ASSIGNED and not rec.commands
        )
        engine.clear_unit(rec.units[lx21["id"]])
        await rec.wait_for(lambda: rec.commands and rec.commands[0].state is CommandState.FAILED)
        assert "reason" in (rec.commands[0].message or "")
        assert rec.units[lx21["id"]].status is UnitStatus.ASSIGNED  # nothing applied
        engine.discard(rec.commands[0].id)
        engine.clear_unit(rec.units[lx21["id"]], "Crew called to a collapse at the station")
        await rec.wait_for(lambda: rec.incidents[inc.id].owed and not rec.commands)
        left = rec.incidents[inc.id]
        assert left.status is IncidentStatus.OPEN and left.needs_unit
        [tag] = left.diverts
        assert (tag.kind, tag.to_incident_id, tag.to_ref, tag.reason) == (
            DivertKind.WITHDRAWN,
            None,
            None,
            "Crew called to a collapse at the station",
        )
        assert [d.kind for d in await engine.divert_history("open")] == [DivertKind.WITHDRAWN]
    finally:
        await engine.stop()
    cached = {i.id: i for i in worker.store.load().incidents}
    assert cached[inc.id].diverts[0].kind is DivertKind.WITHDRAWN
