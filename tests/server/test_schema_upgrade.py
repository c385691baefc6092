"""A database written by an earlier server version is brought up to date in place."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
import sqlalchemy as sa

from dispatchdesk.server.db import create_schema, make_engine, upgrade_tables


def _old_and_new() -> tuple[sa.MetaData, sa.MetaData]:
    """Version 1 and version 2 of two tables: v2 relaxes a NOT NULL and adds two columns."""
    old, new = sa.MetaData(), sa.MetaData()
    for md in (old, new):
        sa.Table("parents", md, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table(
        "tags",
        old,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("parents.id"), nullable=False, index=True),
        sa.Column("target_id", sa.Integer, sa.ForeignKey("parents.id"), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )
    sa.Table(
        "tags",
        new,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("parents.id"), nullable=False, index=True),
        sa.Column("target_id", sa.Integer, sa.ForeignKey("parents.id"), nullable=True),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False, server_default="DIVERT", index=True),
        sa.Column("extra", sa.Text),
    )
    return old, new


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield eng
        eng.dispose()
        return
    base = os.environ.get("DISPATCHDESK_TEST_PG_URL")
    if not base:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must test PostgreSQL: set DISPATCHDESK_TEST_PG_URL")
        pytest.skip("DISPATCHDESK_TEST_PG_URL is not set")
    schema = f"t_{uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    eng = sa.create_engine(base, connect_args={"options": f"-csearch_path={schema}"})
    yield eng
    eng.dispose()
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    admin.dispose()


def test_old_tables_gain_columns_and_lose_not_null_keeping_rows(engine: sa.Engine) -> None:
    old, new = _old_and_new()
    old.create_all(engine)
    with engine.begin() as conn:
        conn.execute(old.tables["parents"].insert(), [{"id": 1}, {"id": 2}])
        conn.execute(
            old.tables["tags"].insert(),
            [{"id": 7, "parent_id": 1, "target_id": 2, "note": "kept"}],
        )

    steps = upgrade_tables(engine, new)

    assert steps[:3] == [
        "tags: added column kind",
        "tags: added column extra",
        "tags: target_id may now be null",
    ]  # then the new column's index, where the rebuild did not already make it
    assert set(steps[3:]) <= {"tags: added index ix_tags_kind"}
    tags = new.tables["tags"]
    with engine.begin() as conn:
        row = conn.execute(sa.select(tags)).one()
        assert (row.id, row.parent_id, row.target_id, row.note, row.kind, row.extra) == (
            7,
            1,
            2,
            "kept",
            "DIVERT",
            None,
        )
        conn.execute(tags.insert().values(id=8, parent_id=2, target_id=None, note="withdrawn"))
    inspector = sa.inspect(engine)
    indexed = {tuple(ix["column_names"]) for ix in inspector.get_indexes("tags")}
    assert {("parent_id",), ("kind",)} <= indexed
    assert upgrade_tables(engine, new) == []  # a second start has nothing to do


def test_foreign_keys_still_hold_after_a_sqlite_rebuild(tmp_path: Path) -> None:
    eng = make_engine(f"sqlite:///{tmp_path / 'fk.db'}")
    old, new = _old_and_new()
    old.create_all(eng)
    upgrade_tables(eng, new)
    with pytest.raises(sa.exc.IntegrityError), eng.begin() as conn:
        conn.execute(new.tables["tags"].insert().values(id=1, parent_id=99, note="orphan"))
    eng.dispose()


def test_current_schema_needs_no_upgrade(tmp_path: Path) -> None:
    eng = make_engine(f"sqlite:///{tmp_path / 'now.db'}")
    create_schema(eng)
    assert upgrade_tables(eng) == []
    eng.dispose()
