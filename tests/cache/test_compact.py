"""share_equal_values (issue 14, memory): loaded schemes and orders share their equal strings,
times and fields-given sets, and nothing a reader can tell changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from dispatchdesk.cache.compact import share_equal_values
from dispatchdesk.cache.entities import ORDER, SCHEME
from tests.bench.bench_warnings import build_world


def test_shared_values_change_nothing_a_reader_can_tell() -> None:
    world = build_world(300)
    rows = [s.model_dump_json() for s in world.schemes], [o.model_dump_json() for o in world.orders]
    schemes, orders = SCHEME.from_rows(rows[0]), ORDER.from_rows(rows[1])
    before = [m.model_dump_json(exclude_unset=True) for m in (*schemes, *orders)]
    shown = [repr(m) for m in (*schemes, *orders)]  # types too: an enum member stays its own
    pool: dict[object, object] = {}
    share_equal_values(schemes, pool)
    share_equal_values(orders, pool)
    after = [m.model_dump_json(exclude_unset=True) for m in (*schemes, *orders)]
    assert after == before
    assert [repr(m) for m in (*schemes, *orders)] == shown
    assert schemes == SCHEME.from_rows(rows[0]) and orders == ORDER.from_rows(rows[1])
    # Shared: the same summary text, the same fields-given set, nested models' too.
    assert schemes[0].summary is schemes[1].summary
    assert schemes[0].__pydantic_fields_set__ is schemes[1].__pydantic_fields_set__
    assert schemes[0].location.__pydantic_fields_set__ is (
        schemes[1].location.__pydantic_fields_set__
    )
    # A copy with changes leaves the models it shared with alone.
    changed = schemes[0].model_copy(update={"summary": "Changed"})
    assert "summary" in changed.__pydantic_fields_set__
    assert changed.__pydantic_fields_set__ is not schemes[1].__pydantic_fields_set__
    assert schemes[1].summary != "Changed"


def test_a_time_is_shared_only_with_the_same_instant_and_offset() -> None:
    world = build_world(2)
    a, b = (SCHEME.from_rows([world.schemes[0].model_dump_json()])[0] for _ in range(2))
    when = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    same_instant = when.astimezone(timezone(timedelta(hours=1)))
    a = a.model_copy(update={"expires_at": when})
    b = b.model_copy(update={"expires_at": same_instant})
    share_equal_values([a, b])
    assert a.expires_at is not b.expires_at  # equal instants, but they read differently
    assert b.model_dump_json() != a.model_dump_json()
    assert b.expires_at.utcoffset() == timedelta(hours=1)
