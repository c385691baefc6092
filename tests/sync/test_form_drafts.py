"""The new-incident form's draft in the cache: kept as typed, through a restart, and dropped
in the very transaction that queues the incident."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatchdesk.cache import CacheStore, CacheWorker
from dispatchdesk.domain.drafts import NEW_INCIDENT_FORM, FormDraft
from dispatchdesk.domain.forms import IncidentFormValues
from dispatchdesk.domain.grades import Grade
from dispatchdesk.server import EmbeddedServer

from .conftest import Recorder, draft
from .test_engine import make_engine

pytestmark = pytest.mark.anyio

TYPED = FormDraft(
    values=IncidentFormValues(
        address="12 High Street",
        postcode="SW1A 1AA",
        type="Burglary",
        summary="Caller hears break-in",
        caller_name="Ann Smith",
        grade=Grade.IMMEDIATE,
        persons=(("John Doe", "01/02/1980"), ("Jane Roe", "")),
    ),
    anonymous=True,
    appointment_agreed=False,
)


async def test_a_draft_is_kept_through_a_restart_and_dropped_when_the_incident_is_queued(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    path = tmp_path / "desk" / "cache.sqlite3"
    worker = CacheWorker(CacheStore(path))
    engine = make_engine(server.url, worker, Recorder())
    engine.save_form_draft(NEW_INCIDENT_FORM, FormDraft())  # nothing typed: nothing kept
    engine.save_form_draft(NEW_INCIDENT_FORM, TYPED)
    await engine._ctx.drain()
    worker.close()  # as if the desk had died here: every save was committed

    worker = CacheWorker(CacheStore(path))
    rec = Recorder()
    engine = make_engine(server.url, worker, rec)
    try:
        kept = await engine.form_draft(NEW_INCIDENT_FORM)
        assert kept is not None and kept.saved_at is not None
        assert kept.values == TYPED.values and kept.anonymous, "every field, persons too"
        assert kept.headline() == "Burglary at 12 High Street (2 people named)"
        engine.create_incident(draft(1))
        await rec.wait_for(lambda: len(rec.commands) == 1)
        assert await engine.form_draft(NEW_INCIDENT_FORM) is None, "queued: the draft goes"
        engine.save_form_draft(NEW_INCIDENT_FORM, TYPED)
        engine.save_form_draft(NEW_INCIDENT_FORM, None)  # discarded by the operator
        await engine._ctx.drain()
        assert await engine.form_draft(NEW_INCIDENT_FORM) is None
    finally:
        await engine.stop()
        worker.close()


def test_a_draft_reads_back_what_was_typed_and_tolerates_other_versions() -> None:
    again = FormDraft.from_json(TYPED.to_json())
    assert again == TYPED
    older = FormDraft.from_json('{"address": "1 Mill Lane", "grade": "Q", "future": 1}')
    assert older.values.address == "1 Mill Lane" and older.values.grade is None
    assert FormDraft().has_input() is False and FormDraft(anonymous=True).has_input()
    assert FormDraft().headline() == "An incident"
    with pytest.raises(ValueError):
        FormDraft.from_json("[]")
