"""The index's warnings (``IndexedWarning``): built without unpacking their scheme or order,
unpacked only when read, the same as the reference matcher's once converted, sorted and
referred to as the reference's are, and holding the version they were built from."""

from __future__ import annotations

import dataclasses
import random
from datetime import date, timedelta
from typing import Any

import pytest

from dispatchdesk.cache import packed as packed_module
from dispatchdesk.cache.indexed_warning import IndexedWarning
from dispatchdesk.cache.packed import pack
from dispatchdesk.cache.warning_index import WarningIndex
from dispatchdesk.domain.warnings import (
    DEFAULT_WARNING_POLICY,
    Person,
    Place,
    SchemeCategory,
    WarningPolicy,
    WarningRef,
)
from dispatchdesk.protocol.warnings import (
    OrderOut,
    PersonModel,
    SchemeOut,
    WarningOut,
    WarningView,
    find_warnings,
    sort_warnings,
)
from tests.cache.test_warning_index import (
    BLOCK,
    FLAT_3,
    NOW,
    NOWS,
    TODAY,
    order,
    random_order,
    random_query,
    random_scheme,
    reference,
    scheme,
    wire,
)


def world(seed: int, size: int = 60) -> tuple[list[SchemeOut], list[OrderOut], WarningIndex]:
    rng = random.Random(seed)
    schemes = [random_scheme(rng, i) for i in range(1, size)]
    orders = [random_order(rng, i) for i in range(1, size)]
    index = WarningIndex()
    index.replace(map(pack, schemes), map(pack, orders))
    return schemes, orders, index


def lookups(seed: int, index: WarningIndex, n: int = 200) -> list[IndexedWarning]:
    """Every warning of ``n`` random lookups (a few hundred, of every kind of match)."""
    rng = random.Random(seed)
    found: list[IndexedWarning] = []
    for _ in range(n):
        place, people = random_query(rng)
        found += index.lookup(place, people, rng.choice(NOWS))
    return found


class Unpacks:
    """Counts the models unpacked (``cache.packed.unpack``: ``unpack_as`` calls it)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = packed_module.unpack

        def counted(packed: Any) -> Any:
            self.count += 1
            return real(packed)

        monkeypatch.setattr(packed_module, "unpack", counted)


def test_a_lookup_unpacks_nothing_until_scheme_or_order_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, _, index = world(1)
    unpacks = Unpacks(monkeypatch)
    found = lookups(2, index)
    assert len({w.kind for w in found}) == 2 and len(found) > 100
    # Everything the queue's flags, the sort and an acknowledgement read.
    for w in sort_warnings(found):
        assert w.severity and w.match and w.matched_on and w.text and w.kind in w.text.lower()
        assert WarningRef(w.kind, w.entity_id).entity_id > 0 and w.version > 0
    assert unpacks.count == 0
    for w in found:
        entity = w.scheme if w.kind == "scheme" else w.order
        assert entity is not None and entity.id == w.entity_id
        assert (w.order if w.kind == "scheme" else w.scheme) is None  # the other: nothing
    assert unpacks.count == len(found)
    for w in found:  # read again: the model unpacked the first time
        assert (w.scheme or w.order) is (w.scheme or w.order)
    assert unpacks.count == len(found)


def test_the_model_unpacked_is_the_reference_matchers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Of the same class, equal, with the same fields given and the same JSON; and the whole
    warning converted is the reference's, field for field."""
    schemes, orders, index = world(3)
    rng = random.Random(4)
    seen = 0
    for _ in range(150):
        place, people = random_query(rng)
        now = rng.choice(NOWS)
        got = index.lookup(place, people, now)
        expected = reference(schemes, orders, place, people, now, DEFAULT_WARNING_POLICY)
        assert wire(got) == expected
        for mine, theirs in zip(got, expected, strict=True):
            for a, b in ((mine.scheme, theirs.scheme), (mine.order, theirs.order)):
                assert type(a) is type(b) and a == b
                if a is not None and b is not None:
                    assert a.model_fields_set == b.model_fields_set
                    assert a.model_dump_json() == b.model_dump_json()
            assert mine.as_wire().model_dump_json() == theirs.model_dump_json()
            assert mine.as_wire().model_fields_set == theirs.model_fields_set
            assert (mine.entity_id, mine.version) == (theirs.entity_id, theirs.version)
            seen += 1
    assert seen > 100


def test_sorted_and_referred_to_as_the_reference_matchers_are() -> None:
    """``sort_warnings`` orders the index's warnings as their ``WarningOut`` (severity,
    definite first, match, kind, then id on a tie); an acknowledgement names the same
    ``WarningRef``."""
    _, _, index = world(5)
    found = lookups(6, index)
    rng = random.Random(7)
    for _ in range(30):
        shuffled = rng.sample(found, min(len(found), 25))
        assert wire(sort_warnings(shuffled)) == sort_warnings(wire(shuffled))
    ties = [w for w in found if w.kind == "order" and w.match == "name"]
    assert len({w.entity_id for w in ties}) > 3  # the id breaks ties among these
    for w in found:
        theirs = w.as_wire()
        entity = theirs.scheme or theirs.order
        assert entity is not None
        assert WarningRef(w.kind, w.entity_id) == WarningRef(theirs.kind, entity.id)
        assert w.version == entity.version


def test_a_warning_keeps_the_version_it_was_built_from() -> None:
    """A warning on the panel still reads the scheme or order it was found for after the
    index has taken another version, or dropped it."""
    subject = PersonModel(name="Dean Marsh", dob=date(1990, 4, 1))
    index = WarningIndex()
    index.replace([scheme(1, BLOCK, version=1)], [order(7, subject, locations=[BLOCK])])
    before = index.lookup(FLAT_3, [], NOW)
    assert [(w.kind, w.version) for w in before] == [("scheme", 1), ("order", 1)]
    changed = scheme(1, BLOCK, version=2, category=SchemeCategory.OFFICER_SAFETY)
    index.upsert_scheme(changed)
    index.upsert_order(order(7, subject, version=2, expires_on=TODAY + timedelta(days=1)))
    index.remove_order(7)
    old_scheme, old_order = before
    assert old_scheme.scheme is not None and old_scheme.scheme.version == 1
    assert old_scheme.scheme.category == SchemeCategory.VICTIM_AT_RISK
    assert old_order.order is not None and old_order.order.version == 1
    assert old_order.order.expires_on is None
    now = index.lookup(FLAT_3, [], NOW)
    assert [(w.kind, w.version) for w in now] == [("scheme", 2)]
    assert now[0].scheme == changed and now[0].text != old_scheme.text


def test_frozen_compared_by_value_and_typed_as_a_warning() -> None:
    _, _, index = world(8, 20)
    found = lookups(9, index, 60)
    w = found[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        w.text = "changed"  # type: ignore[misc]
    twin = dataclasses.replace(w)
    assert twin == w and hash(twin) == hash(w) and twin is not w
    assert w.scheme is not None or w.order is not None  # a cache filled: still equal
    assert twin == w
    assert w != w.as_wire()  # never mistaken for the wire model: convert it
    assert "packed" not in repr(w)
    view: WarningView = w  # both satisfy what the GUI reads
    view = w.as_wire()
    assert view.entity_id == w.entity_id


def test_the_wire_models_entity_id_and_version_are_never_sent() -> None:
    s = scheme(3, BLOCK, version=4)
    w = WarningOut(
        kind="scheme",
        severity="critical",
        match="uprn",
        possible=False,
        matched_on="location",
        text="x",
        scheme=s,
    )
    assert (w.entity_id, w.version) == (3, 4)
    assert "entity_id" not in w.model_dump() and "version" not in w.model_dump()
    assert "entity_id" not in WarningOut.model_json_schema()["properties"]
    bare = w.model_copy(update={"scheme": None})
    assert (bare.entity_id, bare.version) == (0, 0)
    assert WarningOut.model_validate_json(w.model_dump_json()) == w


def test_a_persons_order_is_built_from_the_fields_read_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The person path reads an order's packed fields once, for matching and building."""
    subject = PersonModel(name="Dean Marsh", dob=date(1990, 4, 1))
    index = WarningIndex()
    index.replace([], [order(7, subject, expires_on=TODAY)])
    who = Person("Dean Marsh", date(1990, 4, 1))
    index.lookup(None, [who], NOW)  # anything imported on first use, imported
    reads = 0
    real = packed_module.marshal.loads

    def counted(data: bytes) -> Any:
        nonlocal reads
        reads += 1
        return real(data)

    monkeypatch.setattr(packed_module.marshal, "loads", counted)
    (w,) = index.lookup(None, [who], NOW)
    assert reads == 1 and w.severity == "critical" and "expires TODAY" in w.text
    assert index.lookup(Place(uprn="1"), [], NOW) == []


@pytest.mark.parametrize("timezone", ["Europe/London", "Pacific/Auckland", "America/New_York"])
def test_an_orders_severity_and_wording_turn_with_the_local_day(timezone: str) -> None:
    """Remembered per local day (``Expiries``): asked on one index through the hours around
    local midnight, forwards and back, and under another policy, each answer is the
    reference's."""
    policy = WarningPolicy(timezone=timezone)
    rng = random.Random(12)
    subject = PersonModel(name="Dean Marsh")
    orders = [
        order(i, subject, locations=[BLOCK], expires_on=TODAY + timedelta(days=d))
        for i, d in enumerate((-8, -2, -1, 0, 1, 2, 3, 6, 8, 400), start=1)
    ]
    orders.append(order(99, subject, locations=[BLOCK]))  # until further order
    index = WarningIndex(policy)
    index.replace([], orders, policy)
    times = [NOW + timedelta(hours=h) for h in range(-30, 60, 5)]
    for now in [*times, *reversed(times), *rng.sample(times, len(times))]:
        expected = find_warnings([], orders, FLAT_3, None, now, policy)
        assert wire(index.lookup(FLAT_3, [], now)) == expected, now
    other = WarningPolicy(timezone=timezone, order_heightened_before_days=1)
    index.replace([], orders, other)
    for now in times:
        assert wire(index.lookup(FLAT_3, [], now)) == find_warnings(
            [], orders, FLAT_3, None, now, other
        )


def test_a_built_warning_is_what_the_dataclass_builds() -> None:
    """The index builds warnings without the frozen dataclass's ``__init__`` (for speed):
    the same class, fields, equality, hash, repr and immutability as one it builds."""
    _, _, index = world(8, 20)
    for w in lookups(9, index, 60)[:10]:
        given = {f.name: getattr(w, f.name) for f in dataclasses.fields(w) if f.init}
        twin = IndexedWarning(**given)
        assert type(w) is IndexedWarning
        assert w == twin and hash(w) == hash(twin) and repr(w) == repr(twin)
        with pytest.raises(dataclasses.FrozenInstanceError):
            del w.text
