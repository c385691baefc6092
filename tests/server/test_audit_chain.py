"""The audit hash chain: every row chained to the one before; ``audit verify`` names the first
edited, inserted or deleted row; an older database is chained at upgrade; concurrent writers
keep one chain; ``GET /audit`` pages."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from dispatchdesk.app.cli import main
from dispatchdesk.protocol import API_PREFIX
from dispatchdesk.server import EmbeddedServer
from dispatchdesk.server.db import audit, audit_hash, create_schema, make_engine
from dispatchdesk.server.features.audit.verify import verify_chain

from .conftest import START, Desk, incident_body, login


def _busy(desk: Desk) -> list[int]:
    """A few commands, refusals and sign-ins: audit rows of every kind; their ids."""
    inc = desk.cathy.create().json()
    desk.dan.patch(f"/incidents/{inc['id']}", json={"grade": "I"}, headers={"If-Match": "1"})
    desk.dan.patch(f"/incidents/{inc['id']}", json={"summary": "x"}, headers={"If-Match": "9"})
    desk.client.post(f"{API_PREFIX}/auth/token", json={"username": "dan", "password": "no"})
    desk.cathy.create()
    engine = make_engine(desk.settings.db_url)
    with engine.connect() as conn:
        ids = list(conn.execute(sa.select(audit.c.id).order_by(audit.c.id)).scalars())
    engine.dispose()
    assert len(ids) >= 7
    return ids


def _sql(desk: Desk, statement: Any) -> None:
    engine = make_engine(desk.settings.db_url)
    with engine.begin() as conn:
        conn.execute(statement)
    engine.dispose()


def _verify(desk: Desk) -> str:
    engine = make_engine(desk.settings.db_url)
    try:
        report = verify_chain(engine)
    finally:
        engine.dispose()
    return report.text()


def test_an_untouched_chain_verifies(desk: Desk, capsys: pytest.CaptureFixture[str]) -> None:
    ids = _busy(desk)
    assert _verify(desk) == f"audit chain intact: {len(ids)} rows"
    assert main(["audit", "verify", "--db", desk.settings.db_url]) == 0
    assert "intact" in capsys.readouterr().out
    served = desk.sue.get("/audit").json()
    assert all(len(r["hash"]) == 64 for r in served)


@pytest.mark.parametrize("column", ["detail", "username", "at", "action", "hash"])
def test_an_edited_row_is_named(desk: Desk, column: str) -> None:
    ids = _busy(desk)
    victim = ids[3]
    new: Any = START + timedelta(seconds=1) if column == "at" else "tampered"
    if column == "hash":
        new = "f" * 64
    _sql(desk, audit.update().where(audit.c.id == victim).values({column: new}))
    assert _verify(desk) == (
        f"audit chain broken: row {victim} was edited: its content no longer matches its hash"
    )


def test_an_edit_with_its_hash_recomputed_still_shows(desk: Desk) -> None:
    ids = _busy(desk)
    victim = ids[2]
    engine = make_engine(desk.settings.db_url)
    with engine.begin() as conn:
        row = conn.execute(sa.select(audit).where(audit.c.id == victim)).one()
        digest = audit_hash(
            row.prev_hash, row.at, row.username, row.action, row.entity, row.entity_id, "nothing"
        )
        conn.execute(
            audit.update().where(audit.c.id == victim).values(detail="nothing", hash=digest)
        )
    engine.dispose()
    text = _verify(desk)
    assert f"before row {ids[3]}" in text and f"row {victim} was edited" in text


def test_an_inserted_row_is_named(desk: Desk, capsys: pytest.CaptureFixture[str]) -> None:
    ids = _busy(desk)
    _sql(
        desk,
        audit.insert().values(
            at=START,
            username="mallory",
            action="close_incident",
            entity="incident",
            entity_id=1,
            detail="closed by nobody",
        ),
    )
    assert _verify(desk) == f"audit chain broken: row {ids[-1] + 1} was inserted: it has no hash"
    assert main(["audit", "verify", "--db", desk.settings.db_url]) == 1
    assert f"row {ids[-1] + 1} was inserted" in capsys.readouterr().err


def test_a_row_inserted_with_a_forged_link_is_named(desk: Desk) -> None:
    ids = _busy(desk)
    engine = make_engine(desk.settings.db_url)
    with engine.begin() as conn:
        last = conn.execute(sa.select(audit).where(audit.c.id == ids[-1])).one()
        fake = {
            "at": START,
            "username": "m",
            "action": "a",
            "entity": "e",
            "entity_id": None,
            "detail": "d",
        }
        conn.execute(
            audit.insert().values(**fake, prev_hash=last.hash, hash=audit_hash(last.hash, **fake))
        )
    engine.dispose()
    assert _verify(desk) == (
        f"audit chain broken: row {ids[-1] + 1} was inserted after the chain's head (row {ids[-1]})"
    )


def test_a_deleted_row_is_named(desk: Desk) -> None:
    ids = _busy(desk)
    _sql(desk, audit.delete().where(audit.c.id == ids[4]))
    text = _verify(desk)
    assert text.startswith(f"audit chain broken: rows were deleted after row {ids[3]}, ")
    assert f"before row {ids[5]}" in text


def test_deleting_the_first_or_the_newest_rows_shows(desk: Desk) -> None:
    ids = _busy(desk)
    _sql(desk, audit.delete().where(audit.c.id >= ids[-2]))
    assert _verify(desk) == (
        f"audit chain broken: the newest rows were deleted: the chain's head is row "
        f"{ids[-1]}, the last row left is {ids[-3]}"
    )
    _sql(desk, audit.delete().where(audit.c.id == ids[0]))
    assert "rows were deleted at the start, before row" in _verify(desk)


def test_an_older_database_is_chained_at_upgrade(db_url: str) -> None:
    """The audit table as the previous version made it (no hash columns, no head)."""
    old = sa.MetaData()
    old_audit = sa.Table(
        "audit",
        old,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("entity", sa.String(30), nullable=False),
        sa.Column("entity_id", sa.Integer),
        sa.Column("detail", sa.Text, nullable=False),
    )
    engine = make_engine(db_url)
    old.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            old_audit.insert(),
            [
                {
                    "at": START.replace(tzinfo=None) + timedelta(minutes=i),
                    "username": "sue",
                    "action": "create_incident",
                    "entity": "incident",
                    "entity_id": i,
                    "detail": f"row {i}",
                }
                for i in range(5)
            ],
        )
    create_schema(engine)
    assert verify_chain(engine).text() == "audit chain intact: 5 rows"
    create_schema(engine)  # again: nothing changes
    assert verify_chain(engine).ok
    with engine.begin() as conn:
        conn.execute(audit.update().where(audit.c.id == 3).values(detail="changed"))
    assert "row 3 was edited" in verify_chain(engine).text()
    engine.dispose()


def test_concurrent_writers_keep_one_chain(server: EmbeddedServer) -> None:
    with httpx.Client(base_url=server.url) as http:
        cathy = login(http, "cathy")
        tokens = [cathy.token]
    errors: list[str] = []

    def work(n: int) -> None:
        with httpx.Client(base_url=server.url + API_PREFIX, timeout=30) as http:
            for i in range(6):
                r = http.post(
                    "/incidents",
                    json=incident_body(),
                    headers={
                        "Authorization": f"Bearer {tokens[0]}",
                        "Idempotency-Key": uuid.uuid4().hex,
                    },
                )
                if r.status_code != 201:
                    errors.append(r.text)
                http.post("/auth/token", json={"username": f"x{n}", "password": str(i)})

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    engine = make_engine(server.settings.db_url)
    try:
        report = verify_chain(engine)
    finally:
        engine.dispose()
    assert report.ok, report.text()
    assert report.rows == 1 + 4 * 6 * 2


def test_get_audit_pages_back_through_every_row(desk: Desk) -> None:
    ids = _busy(desk)
    seen: list[int] = []
    before: int | None = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if before is not None:
            params["before"] = before
        page = desk.sue.get("/audit", params=params).json()
        seen += [r["id"] for r in page]
        if len(page) < 3:
            break
        before = page[-1]["id"]
    # sue's own sign-in came after _busy counted
    assert sorted(seen) == sorted(set(seen))
    assert set(ids) <= set(seen)
    assert seen == sorted(seen, reverse=True)
    assert desk.sue.get("/audit", params={"before": 0}).status_code == 422
    assert desk.dan.get("/audit", params={"before": 5}).status_code == 403
