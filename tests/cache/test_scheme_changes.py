"""WarningIndex.changed_schemes_since: which schemes changed after a revision (a reader such
as the schemes view touches only those), None when the index can no longer tell."""

from __future__ import annotations

from datetime import timedelta

from dispatchdesk.cache import warning_index
from dispatchdesk.cache.warning_index import WarningIndex
from tests.gui.test_warning_panel import NOW, make_order, make_scheme


def test_upserts_and_removals_are_told_orders_are_not():
    index = WarningIndex()
    index.replace([make_scheme(1), make_scheme(2)], [make_order(7)])
    start = index.revision
    assert index.changed_schemes_since(start) == set()
    index.upsert_order(make_order(7).model_copy(update={"version": 2}))
    index.remove_order(7)
    assert index.changed_schemes_since(start) == set()
    index.upsert_scheme(make_scheme(2).model_copy(update={"version": 2}))
    middle = index.revision
    index.remove_scheme(1)
    index.upsert_scheme(make_scheme(3))
    index.remove_scheme(99)  # unknown: nothing
    assert index.changed_schemes_since(start) == {1, 2, 3}
    assert index.changed_schemes_since(middle) == {1, 3}
    assert index.changed_schemes_since(index.revision) == set()


def test_one_scheme_and_the_live_ids_without_unpacking_them_all():
    index = WarningIndex()
    index.replace(
        [
            make_scheme(1, expires_at=NOW + timedelta(days=9)),
            make_scheme(2, expires_at=NOW - timedelta(hours=1)),  # expired, not yet purged
            make_scheme(3, expires_at=NOW + timedelta(days=2)),
        ],
        [],
    )
    assert index.live_scheme_ids(NOW) == [3, 1]  # soonest expiry first
    assert index.scheme(3) == make_scheme(3, expires_at=NOW + timedelta(days=2))
    assert index.scheme(2) is not None and index.scheme(4) is None


def test_a_replaced_index_or_a_reader_too_far_behind_reads_everything_again(monkeypatch):
    monkeypatch.setattr(warning_index, "_SCHEME_LOG_LIMIT", 4)
    index = WarningIndex()
    index.replace([make_scheme(1)], [])
    before = index.revision
    index.replace([make_scheme(1), make_scheme(2)], [])
    assert index.changed_schemes_since(before) is None
    start = index.revision
    for version in range(2, 6):  # 8 entries: a removal and an addition each
        index.upsert_scheme(make_scheme(1).model_copy(update={"version": version}))
    assert index.changed_schemes_since(start) == {1}
    index.upsert_scheme(make_scheme(2).model_copy(update={"version": 2}))  # 10: trimmed to 6
    assert index.changed_schemes_since(start) is None
    recent = index.revision - 1
    assert index.changed_schemes_since(recent) == {2}
