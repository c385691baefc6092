"""Packed schemes and orders (issue 14, memory): what unpacks is what was packed, and the
warning index holding them packed answers as the reference matcher on the models."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import BaseModel

from dispatchdesk.cache.entities import ORDER, SCHEME, EntityChanges
from dispatchdesk.cache.packed import Packed, pack, unpack, unpack_as
from dispatchdesk.cache.store import CacheStore
from dispatchdesk.cache.warning_index import WarningIndex
from dispatchdesk.domain.grades import DEFAULT_POLICY
from dispatchdesk.domain.warnings import (
    DEFAULT_WARNING_POLICY,
    MatchKind,
    OrderType,
    Person,
    ReviewState,
    SchemeCategory,
    Severity,
    VictimContactOutcome,
)
from dispatchdesk.protocol.warnings import (
    OrderOut,
    PersonModel,
    PlaceModel,
    SchemeOut,
    VictimContactOut,
    WarningOut,
    find_warnings_for_people,
    order_warning_of,
    scheme_warning_of,
)
from tests.bench.bench_warnings import build_world, queries
from tests.bench.common import NOW

AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def full_scheme() -> SchemeOut:
    """Every field given, a contact log and all."""
    return SchemeOut(
        id=7,
        version=3,
        location=PlaceModel(
            address="Flat 2, Cedar Court, 14 Mare Street, London",
            postcode="E8 1HR",
            uprn="100021000282",
            parent_uprn="100021000280",
            usrn="21000300",
        ),
        category=SchemeCategory.OTHER,
        summary="Victim lives here.",
        officer_in_case="DC Okafor",
        starts_at=AT - timedelta(days=30),
        expires_at=AT + timedelta(days=60),
        extended_at=AT - timedelta(days=1),
        review_state=ReviewState.FIRST_STAGE,
        review_requested_at=AT,
        escalated_at=None,
        victim_informed_at=AT,
        victim_contacts=[
            VictimContactOut(
                outcome=VictimContactOutcome.INFORMED,
                note="Told at the outset.",
                at=AT - timedelta(days=30),
                by="sue",
                recorded_at=AT - timedelta(days=30),
                outset=True,
            ),
            VictimContactOut(
                outcome=VictimContactOutcome.INFORMED, at=AT, by="sue", recorded_at=AT
            ),
        ],
        removal_notice=True,
    )


def full_order() -> OrderOut:
    return OrderOut(
        id=9,
        version=2,
        order_type=OrderType.OTHER,
        subject=PersonModel(name="John Smith", dob=date(1980, 1, 2)),
        protected_persons=[PersonModel(name="Mary Smith"), PersonModel(name="Ann Smith")],
        locations=[
            PlaceModel(address="3 Acre Lane, London", postcode="SW2 5SG"),
            PlaceModel(address="9 Acre Lane, London", uprn="100000000009"),
        ],
        conditions="Not to go within 100 m.",
        issued_on=date(2026, 6, 1),
        expires_on=date(2026, 11, 24),
        source_ref="FAM/9",
    )


def same(a: BaseModel, b: BaseModel) -> None:
    """Equal, of the same types throughout (repr shows an enum member as its own), with the
    same fields given and the same JSON either way."""
    assert a == b
    assert repr(a) == repr(b)
    assert a.model_fields_set == b.model_fields_set
    assert a.model_dump_json(exclude_unset=True) == b.model_dump_json(exclude_unset=True)
    assert a.model_dump_json() == b.model_dump_json()


@pytest.mark.parametrize("model", [full_scheme(), full_order()], ids=["scheme", "order"])
def test_what_unpacks_is_what_was_packed(model: SchemeOut | OrderOut) -> None:
    packed = pack(model)
    assert isinstance(packed, Packed)
    again = unpack_as(type(model), packed)
    same(again, model)
    # The nested models too, and the fields given of each (a default stays not given).
    if isinstance(model, SchemeOut):
        assert isinstance(again, SchemeOut)
        same(again.location, model.location)
        assert (
            again.victim_contacts[1].model_fields_set == model.victim_contacts[1].model_fields_set
        )
    # Each unpacking gets its own lists: nothing one reader does reaches another's.
    other = unpack(packed)
    for name, value in again.__dict__.items():
        if isinstance(value, list):
            assert value is not other.__dict__[name]
    # A copy with changes leaves the packed one alone.
    changed = again.model_copy(update={"version": 99})
    assert "version" in changed.model_fields_set
    same(unpack(packed), model)


def test_a_model_read_from_the_cache_unpacks_the_same() -> None:
    world = build_world(200)
    for entity, models in ((SCHEME, world.schemes), (ORDER, world.orders)):
        read = entity.from_rows([m.model_dump_json() for m in models])
        for m in read:
            same(unpack(pack(m)), m)


def test_a_mutable_value_is_never_packed() -> None:
    class WithDict(BaseModel):
        values: dict[str, int]

    with pytest.raises(TypeError, match="cannot be packed"):
        pack(WithDict(values={"a": 1}))
    with pytest.raises(TypeError, match="Expected a packed OrderOut"):
        unpack_as(OrderOut, pack(full_scheme()))


def test_warnings_are_built_as_model_construct_builds_them() -> None:
    s, o = full_scheme(), full_order()
    w = scheme_warning_of(s, MatchKind.SAME_BLOCK, DEFAULT_WARNING_POLICY)
    ref = WarningOut.model_construct(
        kind="scheme",
        severity=Severity.INFO,
        match="same_block",
        possible=True,
        matched_on="location",
        scheme=s,
        text=w.text,
    )
    same(w, ref)
    assert type(w.match) is str and w.model_fields_set == ref.model_fields_set
    w = order_warning_of(o, MatchKind.PERSON, "subject", AT, DEFAULT_WARNING_POLICY)
    ref = WarningOut.model_construct(
        kind="order",
        severity=w.severity,
        match="person",
        possible=False,
        matched_on="subject",
        order=o,
        text=w.text,
    )
    same(w, ref)
    # The fields-given set is shared: a copy with changes gets its own.
    copied = w.model_copy(update={"match": "name"})
    assert copied.match == "name"
    assert order_warning_of(o, MatchKind.PERSON, "subject", AT, DEFAULT_WARNING_POLICY) == ref


def test_an_index_loaded_packed_from_the_cache_answers_as_the_reference(tmp_path: Path) -> None:
    """The desk's start: schemes and orders read packed from the cache, indexed; every lookup
    is what find_warnings gives on the models, the models in the warnings complete."""
    world = build_world(400)
    store = CacheStore(tmp_path / "cache.sqlite")
    store.replace_snapshot(
        [],
        DEFAULT_POLICY,
        1,
        NOW,
        entities=EntityChanges.of([(SCHEME, world.schemes), (ORDER, world.orders)]),
    )
    data = store.load_warning_data(NOW)
    store.close()
    assert all(isinstance(p, Packed) for p in (*data.schemes, *data.orders))
    index = WarningIndex()
    index.replace(data.schemes, data.orders)
    assert index.scheme_versions() == {s.id: s.version for s in world.schemes if s.expires_at > NOW}
    live = [s for s in world.schemes if s.expires_at > NOW]
    assert index.schemes(NOW) == sorted(live, key=lambda s: (s.expires_at, s.id))
    assert index.orders() == world.orders
    read: dict[tuple[str, int], BaseModel] = {}
    for kind, packed in (("scheme", data.schemes), ("order", data.orders)):
        read.update(
            {(kind, m.id): m for m in map(unpack, packed) if isinstance(m, SchemeOut | OrderOut)}
        )
    found = 0
    for _, place, people in queries(world, 400, seed=3):
        got = index.lookup(place, people, NOW)
        expected = find_warnings_for_people(live, world.orders, place, people, NOW)
        assert [w.as_wire() for w in got] == expected
        for w in got:
            entity = w.scheme or w.order
            assert entity is not None
            same(entity, read[w.kind, entity.id])  # complete: as the cache read it
        found += len(got)
    assert found > 100


def test_a_person_match_on_a_packed_order() -> None:
    o = full_order()
    index = WarningIndex()
    index.replace([], [pack(o)])
    day_before = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    (w,) = index.lookup(None, [Person("SMITH, John", date(1980, 1, 2))], day_before)
    assert w.match == "person" and w.matched_on == "subject" and w.order == o
    assert w.severity is Severity.CRITICAL  # expires tomorrow


def test_times_dates_and_enum_members_come_back_as_they_were() -> None:
    """A time's offset, zone and fold, a date, and an enum member equal to another enum's
    (SchemeCategory.OTHER and OrderType.OTHER are both "OTHER") each unpack as themselves."""
    london = ZoneInfo("Europe/London")
    times = [
        AT,
        AT.astimezone(timezone(timedelta(hours=1))),
        AT.astimezone(timezone(timedelta(0), "GMT")),
        datetime(2026, 10, 25, 1, 30, fold=1, tzinfo=london),
        datetime(2026, 10, 25, 1, 30, fold=0, tzinfo=london),
    ]
    for when in times:
        s = full_scheme().model_copy(update={"expires_at": when, "extended_at": None})
        again = unpack_as(SchemeOut, pack(s))
        assert repr(again.expires_at) == repr(when) and again.expires_at.fold == when.fold
        assert again.expires_at.utcoffset() == when.utcoffset()
        assert again.extended_at is None
        same(again, s)
    s, o = unpack_as(SchemeOut, pack(full_scheme())), unpack_as(OrderOut, pack(full_order()))
    assert s.category is SchemeCategory.OTHER and o.order_type is OrderType.OTHER
    assert o.expires_on == date(2026, 11, 24) and type(o.expires_on) is date
    assert s.victim_contacts[0].outcome is VictimContactOutcome.INFORMED
    # Packed small: a few hundred bytes where the model took some kilobytes.
    assert len(pack(full_scheme())) < 700 and len(pack(build_world(1).schemes[0])) < 400


def test_a_field_first_packed_plain_unpacks_a_later_time_or_model() -> None:
    """Unpacking looks only at the fields that ever held more than a plain value: a field
    packed as None first, and as a time or a model later, unpacks both ways."""

    class Inner(BaseModel):
        name: str

    class Late(BaseModel):
        at: datetime | None = None
        inner: Inner | None = None
        items: list[Inner] = []

    first = pack(Late())
    later = pack(Late(at=AT, inner=Inner(name="x"), items=[Inner(name="y")]))
    same(unpack(first), Late())
    same(unpack(later), Late(at=AT, inner=Inner(name="x"), items=[Inner(name="y")]))
    same(unpack(first), Late())
