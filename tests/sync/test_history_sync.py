"""History and links through the sync engine, against the real server: the history asked of
the server and its last answer kept for an open incident, shown "as of" offline (and "nothing
held" said plainly); a link, or a link's removal, issued offline survives a restart of the
desk and is sent once the server is back; a refused removal keeps its reason."""

from __future__ import annotations

from datetime import UTC, date, datetime

import anyio
import pytest

from dispatchdesk.cache import CacheWorker
from dispatchdesk.cache.history import CachedHistory, history_table
from dispatchdesk.domain.commands import CommandKind, CommandState, ConnectionState
from dispatchdesk.domain.grades import Grade
from dispatchdesk.domain.history import IncidentPerson, LinkRelation, PersonRole
from dispatchdesk.domain.incident import Caller, Location
from dispatchdesk.domain.roles import Role
from dispatchdesk.domain.warnings import Person, Place
from dispatchdesk.protocol.convert import incident_from_wire
from dispatchdesk.protocol.schemas import (
    IncidentCreate,
    IncidentOut,
    IncidentPersonModel,
    LocationModel,
)
from dispatchdesk.server import EmbeddedServer, ServerSettings, add_user
from dispatchdesk.sync.api import DraftLink, IncidentDraft
from dispatchdesk.sync.client import ApiClient

from .conftest import PASSWORD, Recorder
from .test_engine import make_engine, signed_in_engine

pytestmark = pytest.mark.anyio

REASON = "The neighbour reports the same shouting at the same flat"
GARY = IncidentPersonModel(name="Gary HOLLIS", dob=date(1984, 3, 9), role=PersonRole.SUSPECT)


async def domestic(client: ApiClient, address: str, n: int, *, weapons: bool = False):
    body = IncidentCreate(
        grade="S",
        type="Domestic",
        summary=f"Domestic number {n}",
        location=LocationModel(address=address, postcode="E3 2AA", borough="Tower Hamlets"),
        persons=[GARY],
        weapons=weapons,
    )
    return await client.create_incident(body, idempotency_key=f"history-{n}-{address}")


async def test_history_is_asked_of_the_server_and_kept_for_the_open_incident(
    server: EmbeddedServer, other: ApiClient, worker: CacheWorker
) -> None:
    earlier = await domestic(other, "4 Mill Lane", 1, weapons=True)
    now = await domestic(other, "9 Bow Road", 2)
    rec = Recorder()
    engine = await signed_in_engine(server, worker, rec)
    await engine.start()
    try:
        await rec.wait_for(lambda: engine.online and now.id in rec.incidents)
        result = await engine.incident_history(now.id)
        assert result.problem is None and not result.cached
        [page] = result.pages
        assert result.as_of == page.server_time
        found = {e.incident.id: e for e in page.incidents}
        assert earlier.id in found and now.id not in found
        assert found[earlier.id].incident.weapons
        assert found[earlier.id].person is not None
        assert found[earlier.id].person.role is PersonRole.SUSPECT
        held = await worker.call(worker.store.load_history, now.id)
        assert held is not None and held.fetched_at == page.server_time
        # The form's question: the location and each person, together.
        form = await engine.history(
            Place(address="4 Mill Lane", postcode="E3 2AA"),
            [Person("Gary HOLLIS", date(1984, 3, 9))],
        )
        assert len(form.pages) == 2 and form.problem is None
        assert earlier.id in {e.incident.id for e in form.pages[0].incidents}
        assert {earlier.id, now.id} <= {e.incident.id for e in form.pages[1].incidents}
    finally:
        await engine.stop()


async def test_offline_the_last_answer_is_shown_as_of_and_nothing_held_is_said(
    server: EmbeddedServer, other: ApiClient, worker: CacheWorker
) -> None:
    await domestic(other, "4 Mill Lane", 1, weapons=True)
    asked = await domestic(other, "4 Mill Lane", 2)
    never = await domestic(other, "4 Mill Lane", 3)
    rec = Recorder()
    engine = await signed_in_engine(server, worker, rec)
    await engine.start()
    try:
        await rec.wait_for(lambda: engine.online and never.id in rec.incidents)
        fresh = await engine.incident_history(asked.id)
    finally:
        await engine.stop()
    url = server.url
    await anyio.to_thread.run_sync(server.stop)
    # An answer the desk cannot read back is never shown as if it were one.
    broken = await hold_unreadable_answer(worker, never.id)

    rec2 = Recorder()
    engine2 = make_engine(url, worker, rec2)
    await engine2.start()
    try:
        await rec2.wait_for(lambda: rec2.connection is ConnectionState.OFFLINE)
        assert broken
        unreadable = await engine2.incident_history(never.id)
        assert unreadable.pages == () and "no history is held" in (unreadable.problem or "")
        cached = await engine2.incident_history(asked.id)
        assert cached.cached and cached.as_of == fresh.as_of
        assert cached.pages == fresh.pages
        assert cached.problem is not None and cached.problem.startswith("OFFLINE")
        await worker.call(_forget, worker, never.id)
        nothing = await engine2.incident_history(never.id)
        assert nothing.cached and nothing.pages == ()
        assert nothing.problem is not None and "no history is held on this desk" in nothing.problem
        form = await engine2.history(Place(address="4 Mill Lane"), [])
        assert form.pages == () and "cannot be checked now" in (form.problem or "")
    finally:
        await engine2.stop()


async def hold_unreadable_answer(worker: CacheWorker, incident_id: int) -> bool:
    held = CachedHistory(incident_id, datetime.now(UTC), '{"not": "a history page"}')
    return bool(await worker.call(worker.store.save_history, held))


def _forget(worker: CacheWorker, incident_id: int) -> None:
    with worker.store._engine.begin() as conn:
        conn.execute(history_table.delete().where(history_table.c.incident_id == incident_id))


async def test_a_link_issued_offline_survives_a_restart_and_is_sent(
    server_settings: ServerSettings, server: EmbeddedServer, other: ApiClient, worker: CacheWorker
) -> None:
    first = incident_from_wire(await domestic(other, "4 Mill Lane", 1))
    second = incident_from_wire(await domestic(other, "4 Mill Lane", 2))
    port, url = server.port, server.url
    await anyio.to_thread.run_sync(server.stop)
    rec = Recorder()
    engine = make_engine(url, worker, rec)
    await engine.start()
    try:
        await rec.wait_for(lambda: rec.connection is ConnectionState.OFFLINE)
        command_id = engine.link_incident(
            second, first, LinkRelation.DUPLICATE, "The same call from the neighbour"
        )
        await rec.wait_for(lambda: [c.id for c in rec.commands] == [command_id])
        assert rec.commands[0].state is CommandState.QUEUED
        assert rec.commands[0].kind is CommandKind.LINK_INCIDENT
    finally:
        await engine.stop()
    back = EmbeddedServer(
        ServerSettings(db_url=server_settings.db_url, port=port, heartbeat_seconds=0.2)
    )
    await anyio.to_thread.run_sync(back.start)
    rec2 = Recorder()
    engine2 = make_engine(url, worker, rec2)
    try:
        assert [e.id for e in worker.store.list_commands()] == [command_id], "kept on disk"
        await engine2._client.sign_in("alice", PASSWORD)
        await engine2.start()
        await rec2.wait_for(lambda: second.id in rec2.incidents and rec2.incidents[second.id].links)
        await rec2.wait_for(lambda: rec2.commands == [])  # sent, then confirmed by the feed
        [link] = rec2.incidents[second.id].links
        assert (link.incident_id, link.relation) == (first.id, LinkRelation.DUPLICATE)
        await rec2.wait_for(lambda: rec2.incidents[first.id].links)
        assert rec2.incidents[first.id].links[0].relation is LinkRelation.DUPLICATE
        # Removed again, with a reason (a dispatcher's right; alice is a supervisor).
        removal = engine2.unlink_incident(
            rec2.incidents[second.id], first.id, first.ref, "Not the same call after all"
        )
        await rec2.wait_for(lambda: not rec2.incidents[second.id].links)
        await rec2.wait_for(lambda: all(c.id != removal for c in rec2.commands))
    finally:
        await engine2.stop()
        await anyio.to_thread.run_sync(back.stop)


async def test_a_refused_link_keeps_its_reason_and_says_why(
    server: EmbeddedServer, other: ApiClient, worker: CacheWorker
) -> None:
    first = incident_from_wire(await domestic(other, "4 Mill Lane", 1))
    rec = Recorder()
    engine = await signed_in_engine(server, worker, rec)
    await engine.start()
    try:
        await rec.wait_for(lambda: engine.online and first.id in rec.incidents)
        command_id = engine.link_incident(first, first, LinkRelation.RELATED, "Itself")
        await rec.wait_for(
            lambda: any(c.id == command_id and c.state is CommandState.FAILED for c in rec.commands)
        )
        [refused] = [c for c in rec.commands if c.id == command_id]
        assert refused.message and refused.body == {
            "incident_id": first.id,
            "relation": "RELATED",
            "reason": "Itself",
        }
    finally:
        await engine.stop()


async def test_roles_and_weapons_typed_in_the_form_reach_the_server(
    server: EmbeddedServer, worker: CacheWorker
) -> None:
    rec = Recorder()
    engine = await signed_in_engine(server, worker, rec)
    await engine.start()
    try:
        await rec.wait_for(lambda: engine.online)
        engine.create_incident(
            IncidentDraft(
                grade=Grade.SIGNIFICANT,
                type="Domestic",
                summary="Husband threatening his wife with a knife",
                location=Location("9 Bow Road", "E3 2AA", "Tower Hamlets"),
                caller=Caller(name="Jane HOLLIS", role=PersonRole.VICTIM),
                persons=(IncidentPerson("Gary HOLLIS", date(1984, 3, 9), PersonRole.SUSPECT),),
                weapons=True,
            )
        )
        await rec.wait_for(lambda: any(i.weapons for i in rec.incidents.values()))
        [made] = [i for i in rec.incidents.values() if i.weapons]
        assert made.caller.role is PersonRole.VICTIM
        assert made.persons == (
            IncidentPerson("Gary HOLLIS", date(1984, 3, 9), PersonRole.SUSPECT),
        )
    finally:
        await engine.stop()


async def test_a_link_chosen_in_the_form_is_made_once_the_incident_has_its_id(
    server: EmbeddedServer, other: ApiClient, worker: CacheWorker
) -> None:
    earlier = await domestic(other, "9 Bow Road", 1)
    rec = Recorder()
    engine = await signed_in_engine(server, worker, rec)
    await engine.start()
    try:
        await rec.wait_for(lambda: engine.online and earlier.id in rec.incidents)
        engine.create_incident(
            IncidentDraft(
                grade=Grade.SIGNIFICANT,
                type="Domestic",
                summary="The neighbour calls about the same shouting",
                location=Location("9 Bow Road", "E3 2AA", "Tower Hamlets"),
                links=(DraftLink(earlier.id, earlier.ref, LinkRelation.DUPLICATE, REASON),),
            )
        )
        await rec.wait_for(
            lambda: any(i.links and i.id != earlier.id for i in rec.incidents.values())
        )
        [made] = [i for i in rec.incidents.values() if i.id != earlier.id]
        [link] = made.links
        assert (link.incident_id, link.relation, link.reason) == (
            earlier.id,
            LinkRelation.DUPLICATE,
            REASON,
        )
        await rec.wait_for(lambda: rec.incidents[earlier.id].links)
        await rec.wait_for(lambda: rec.commands == [])
    finally:
        await engine.stop()


async def bob_links(other: ApiClient, incident_id: int, other_id: int, reason: str) -> IncidentOut:
    """Another desk (bob, a supervisor) links two incidents on the server."""
    return await other.command(
        "POST",
        f"/incidents/{incident_id}/links",
        {"incident_id": other_id, "relation": "DUPLICATE", "reason": reason},
        idempotency_key=f"link-{incident_id}-{other_id}",
        reply=IncidentOut,
        what="incident",
    )


async def test_a_link_removal_issued_offline_survives_a_restart_and_is_sent(
    server_settings: ServerSettings, server: EmbeddedServer, other: ApiClient, worker: CacheWorker
) -> None:
    first = await domestic(other, "4 Mill Lane", 1)
    second = await domestic(other, "4 Mill Lane", 2)
    linked = incident_from_wire(await bob_links(other, second.id, first.id, REASON))
    assert [link.incident_id for link in linked.links] == [first.id]
    port, url = server.port, server.url
    await anyio.to_thread.run_sync(server.stop)
    rec = Recorder()
    engine = make_engine(url, worker, rec)
    await engine.start()
    why = "The neighbour's call was about number 6, a different flat"
    try:
        await rec.wait_for(lambda: rec.connection is ConnectionState.OFFLINE)
        removal = engine.unlink_incident(linked, first.id, first.ref, why)
        await rec.wait_for(lambda: [c.id for c in rec.commands] == [removal])
        [queued] = rec.commands
        assert queued.state is CommandState.QUEUED and queued.kind is CommandKind.UNLINK_INCIDENT
    finally:
        await engine.stop()
    back = EmbeddedServer(
        ServerSettings(db_url=server_settings.db_url, port=port, heartbeat_seconds=0.2)
    )
    await anyio.to_thread.run_sync(back.start)
    rec2 = Recorder()
    engine2 = make_engine(url, worker, rec2)
    try:
        [kept] = worker.store.list_commands()
        assert kept.id == removal, "kept on disk through the restart"
        await engine2._client.sign_in("alice", PASSWORD)
        await engine2.start()
        await rec2.wait_for(lambda: rec2.commands == [] and second.id in rec2.incidents)
        await rec2.wait_for(lambda: not rec2.incidents[second.id].links)
        await rec2.wait_for(
            lambda: first.id in rec2.incidents and not rec2.incidents[first.id].links
        )
        on_server = await other.get_incident(second.id)
        assert on_server.links == []
    finally:
        await engine2.stop()
        await anyio.to_thread.run_sync(back.stop)


async def test_a_refused_link_removal_keeps_its_reason_and_the_link(
    server_settings: ServerSettings, server: EmbeddedServer, other: ApiClient, worker: CacheWorker
) -> None:
    """A reason copied from an earlier removal (a copy only the server can see) is refused,
    422; so is a call handler's removal (403): both stay in the outbox with the reason typed,
    and the link stays on both incidents."""
    first = await domestic(other, "4 Mill Lane", 1)
    second = await domestic(other, "4 Mill Lane", 2)
    third = await domestic(other, "4 Mill Lane", 3)
    await bob_links(other, second.id, first.id, REASON)
    linked = incident_from_wire(
        await bob_links(other, third.id, first.id, "Third call about the same shouting")
    )
    why = "The neighbour's call was about number 6, a different flat"
    await other.command(
        "POST",
        f"/incidents/{second.id}/links/{first.id}/remove",
        {"reason": why},
        idempotency_key="bob-removes",
        reply=IncidentOut,
        what="incident",
    )
    add_user(server_settings.db_url, "cathy", Role.CALL_HANDLER, PASSWORD)
    rec = Recorder()
    engine = await signed_in_engine(server, worker, rec)
    await engine.start()
    try:
        await rec.wait_for(lambda: engine.online and third.id in rec.incidents)
        copied = engine.unlink_incident(linked, first.id, first.ref, why)
        await rec.wait_for(
            lambda: any(c.id == copied and c.state is CommandState.FAILED for c in rec.commands)
        )
        [refused] = [c for c in rec.commands if c.id == copied]
        assert refused.body == {"reason": why}
        assert refused.message and second.ref in refused.message, refused.message
    finally:
        await engine.stop()
    cathy_rec = Recorder()
    cathy = make_engine(server.url, worker, cathy_rec)
    await cathy._client.sign_in("cathy", PASSWORD)
    await cathy.start()
    try:
        why = "Checked with the caller again: number 6 is a different flat"
        await cathy_rec.wait_for(lambda: cathy.online and third.id in cathy_rec.incidents)
        forbidden = cathy.unlink_incident(linked, first.id, first.ref, why)
        await cathy_rec.wait_for(
            lambda: any(
                c.id == forbidden and c.state is CommandState.FAILED for c in cathy_rec.commands
            )
        )
        [no_right] = [c for c in cathy_rec.commands if c.id == forbidden]
        assert no_right.body == {"reason": why}
        assert no_right.message and "does not have the right" in no_right.message
        kept = {e.id: e for e in worker.store.list_commands()}
        assert set(kept) == {copied, forbidden}, "both kept, reasons and all"
    finally:
        await cathy.stop()
    assert [link.incident_id for link in (await other.get_incident(third.id)).links] == [first.id]
    assert [link.incident_id for link in (await other.get_incident(first.id)).links] == [third.id]
