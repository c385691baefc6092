"""The client's warning index: issue 4's cases, its housekeeping, and the same answers as the
server's linear ``find_warnings`` on generated schemes, orders, places and persons."""

from __future__ import annotations

import difflib
import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatchdesk.cache.indexed_warning import IndexedWarning
from dispatchdesk.cache.packed import encoded, fields, pack
from dispatchdesk.cache.warning_index import (
    ALL_STREETS,
    NO_DISTRICT,
    WarningIndex,
    _Streets,
    near_names,
    persons_match_packed,
)
from dispatchdesk.domain.addresses import one_typo, street_ratio, street_similar, street_type
from dispatchdesk.domain.grades import Grade
from dispatchdesk.domain.incident import Caller, Incident, IncidentStatus, Location
from dispatchdesk.domain.warnings import (
    DEFAULT_WARNING_POLICY,
    MatchKind,
    OrderType,
    Person,
    Place,
    ReviewState,
    SchemeCategory,
    Severity,
    WarningPolicy,
    normalise_name,
)
from dispatchdesk.protocol.warnings import (
    OrderOut,
    PersonModel,
    PlaceModel,
    SchemeOut,
    WarningOut,
    find_warnings,
    order_person_match,
    persons_match,
    scheme_warning_of,
    sort_warnings,
)
from dispatchdesk.protocol.warnings import place as place_of

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # Monday 23 Nov, London on GMT
TODAY = date(2026, 11, 23)
T = TypeVar("T")
W = TypeVar("W")


def scheme(
    sid: int,
    location: PlaceModel,
    *,
    expires_at: datetime = NOW + timedelta(days=90),
    category: SchemeCategory = SchemeCategory.VICTIM_AT_RISK,
    version: int = 1,
) -> SchemeOut:
    return SchemeOut(
        id=sid,
        version=version,
        location=location,
        category=category,
        summary=f"Scheme {sid}",
        officer_in_case="DC Patel",
        starts_at=NOW - timedelta(days=30),
        expires_at=expires_at,
        review_state=ReviewState.ACTIVE,
    )


def order(
    oid: int,
    subject: PersonModel,
    *,
    locations: Sequence[PlaceModel] = (),
    protected: Sequence[PersonModel] = (),
    expires_on: date | None = None,
    version: int = 1,
) -> OrderOut:
    return OrderOut(
        id=oid,
        version=version,
        order_type=OrderType.NON_MOLESTATION,
        subject=subject,
        protected_persons=list(protected),
        locations=list(locations),
        conditions="Not to contact the protected person.",
        issued_on=TODAY - timedelta(days=60),
        expires_on=expires_on,
        source_ref=f"FAM/{oid}",
    )


def only(found: list[W]) -> W:
    assert len(found) == 1, found
    return found[0]


def wire(found: Sequence[IndexedWarning]) -> list[WarningOut]:
    """The index's warnings as the reference matcher builds them (``WarningOut``)."""
    return [w.as_wire() for w in found]


BLOCK = PlaceModel(
    address="Cedar Court, 14 Mare Street, London",
    postcode="E8 1HR",
    uprn="100021000280",
    usrn="21000300",
)
FLAT_3 = Place(
    address="Flat 3, Cedar Court, 14 Mare Street, London",
    postcode="E8 1HR",
    uprn="100021000283",
    parent_uprn="100021000280",
    usrn="21000300",
)


# --- issue 4 ----------------------------------------------------------------------------------


def test_an_order_expiring_the_day_after_the_incident_is_critical() -> None:
    home = PlaceModel(address="22 Acacia Avenue, London", postcode="N1 9GU", uprn="555")
    index = WarningIndex()
    index.replace(
        [],
        [
            order(
                1,
                PersonModel(name="Dean Marsh"),
                locations=[home],
                expires_on=TODAY + timedelta(days=1),
            )
        ],
    )
    w = only(index.lookup(Place(uprn="555"), [], NOW))
    assert w.severity == Severity.CRITICAL
    assert "expires TOMORROW" in w.text
    assert w.match == MatchKind.UPRN and not w.possible


def test_a_scheme_on_a_block_shows_for_a_flat_in_it() -> None:
    index = WarningIndex()
    index.replace([scheme(1, BLOCK)], [])
    w = only(index.lookup(FLAT_3, [], NOW))
    assert w.match == MatchKind.PARENT_UPRN and w.scheme is not None and w.scheme.id == 1


def test_an_expired_scheme_is_never_returned_and_is_listed_to_purge() -> None:
    index = WarningIndex()
    index.replace(
        [
            scheme(1, BLOCK, expires_at=NOW - timedelta(minutes=1)),
            scheme(2, BLOCK, expires_at=NOW),  # expiry is the first instant not shown
            scheme(3, BLOCK, expires_at=NOW + timedelta(days=2)),
        ],
        [],
    )
    assert [w.scheme.id for w in index.lookup(FLAT_3, [], NOW) if w.scheme] == [3]
    assert index.expired_scheme_ids(NOW) == [1, 2]
    assert [s.id for s in index.schemes(NOW)] == [3]
    assert index.next_scheme_expiry() == NOW - timedelta(minutes=1)
    for sid in index.expired_scheme_ids(NOW):
        index.remove_scheme(sid)
    assert index.expired_scheme_ids(NOW) == []
    assert index.next_scheme_expiry() == NOW + timedelta(days=2)


# --- edge cases --------------------------------------------------------------------------------


def test_an_address_without_a_uprn_matches_by_postcode_and_house() -> None:
    index = WarningIndex()
    index.replace([scheme(1, BLOCK)], [])
    w = only(index.lookup(Place(address="14 Mare St", postcode="e8 1hr"), [], NOW))
    # The block's own house, street and postcode: the same address (issue 15), not possible.
    assert w.match == MatchKind.SAME_ADDRESS and not w.possible


def test_a_typo_in_the_street_is_a_possible_match() -> None:
    marker = PlaceModel(address="22 Acacia Avenue", postcode="N1 9GU", uprn="555")
    index = WarningIndex()
    index.replace([scheme(1, marker)], [])
    w = only(index.lookup(Place(address="22 Acaica Ave"), [], NOW))
    assert w.match == MatchKind.ADDRESS and w.possible
    assert index.lookup(Place(address="24 Acaica Ave"), [], NOW) == []  # not the same house
    assert index.lookup(Place(address="22 Arcadia Road"), [], NOW) == []


def test_a_typo_in_another_postcode_district_is_no_match() -> None:
    marker = PlaceModel(address="22 Acacia Avenue, London", postcode="N1 9GU")
    index = WarningIndex()
    index.replace([scheme(1, marker)], [])
    assert only(index.lookup(Place(address="22 Acaica Ave", postcode="N1 2AA"), [], NOW)).match == (
        MatchKind.ADDRESS
    )
    assert index.lookup(Place(address="22 Acaica Ave", postcode="E8 1AA"), [], NOW) == []
    assert index.lookup(Place(address="22 Amara Avenue, London"), [], NOW) == []


def test_the_other_flat_of_a_block_is_a_possible_same_block_match() -> None:
    flat_5 = PlaceModel(
        address="Flat 5, Cedar Court, 14 Mare Street, London",
        postcode="E8 1HR",
        uprn="100021000285",
        parent_uprn="100021000280",
        usrn="21000300",
    )
    index = WarningIndex()
    index.replace([scheme(1, flat_5)], [])
    w = only(index.lookup(FLAT_3, [], NOW))
    assert w.match == MatchKind.SAME_BLOCK and w.possible
    # asked about the block itself, a marker on one of its flats is a child match
    block = Place(uprn="100021000280", address="Cedar Court, 14 Mare Street")
    assert only(index.lookup(block, [], NOW)).match == MatchKind.CHILD_UPRN


def test_upsert_moving_a_scheme_drops_its_old_keys() -> None:
    index = WarningIndex()
    index.replace([scheme(1, BLOCK)], [])
    moved = PlaceModel(
        address="3 Rye Lane, London", postcode="SE15 5EW", uprn="777", usrn="21000900"
    )
    index.upsert_scheme(scheme(1, moved, version=2))
    assert index.lookup(FLAT_3, [], NOW) == []
    assert index.lookup(Place(address="14 Mare Street", postcode="E8 1HR"), [], NOW) == []
    w = only(index.lookup(Place(uprn="777"), [], NOW))
    assert w.scheme is not None and w.scheme.version == 2
    assert len(index) == 1 and [s.version for s in index.schemes(NOW)] == [2]


def test_upsert_and_remove_an_order() -> None:
    subject = PersonModel(name="Dean Marsh", dob=date(1990, 4, 1))
    index = WarningIndex()
    index.upsert_order(order(7, subject, locations=[BLOCK]))
    assert only(index.lookup(None, [Person("MARSH, Dean", date(1990, 4, 1))], NOW)).match == (
        MatchKind.PERSON
    )
    index.upsert_order(order(7, subject, version=2))  # the address is taken off the order
    assert index.lookup(Place(uprn=BLOCK.uprn), [], NOW) == []
    index.remove_order(7)
    index.remove_order(7)  # twice, or an unknown id: nothing happens
    assert index.lookup(None, [Person("Dean Marsh", date(1990, 4, 1))], NOW) == []
    assert len(index) == 0


@settings(max_examples=30, deadline=None)
@given(ids=st.lists(st.integers(0, 3), min_size=1, max_size=12), seed=st.integers(0, 2**16))
def test_schemes_and_orders_with_the_same_ids_share_one_place_index_apart(
    ids: list[int], seed: int
) -> None:
    """Schemes and orders are filed in one place index (orders by a key below zero): a
    scheme and an order with the same id (0 included) at the same place are both found, and
    upserting or removing one leaves the other; every answer is ``find_warnings``'s."""
    rng = random.Random(seed)
    index = WarningIndex()
    schemes: dict[int, SchemeOut] = {}
    orders: dict[int, OrderOut] = {}
    who = PersonModel(name="Dean Marsh", dob=date(1990, 4, 1))
    for eid in ids:
        roll = rng.random()
        if roll < 0.35:
            schemes[eid] = scheme(eid, rng.choice([BLOCK, place_model(FLAT_3)]))
            index.upsert_scheme(schemes[eid])
        elif roll < 0.7:
            orders[eid] = order(eid, who, locations=[rng.choice([BLOCK, place_model(FLAT_3)])])
            index.upsert_order(orders[eid])
        elif roll < 0.85:
            schemes.pop(eid, None)
            index.remove_scheme(eid)
        else:
            orders.pop(eid, None)
            index.remove_order(eid)
        for q in (FLAT_3, Place(uprn=BLOCK.uprn), Place(address="14 Mare St", postcode="E8 1HR")):
            expected = find_warnings(list(schemes.values()), list(orders.values()), q, None, NOW)
            assert wire(index.lookup(q, [], NOW)) == expected
        assert index.orders() == [orders[i] for i in sorted(orders)]
        assert index.scheme_versions() == {i: s.version for i, s in schemes.items()}
        assert len(index) == len(schemes) + len(orders)


def place_model(p: Place) -> PlaceModel:
    return PlaceModel(
        address=p.address, postcode=p.postcode, uprn=p.uprn, parent_uprn=p.parent_uprn, usrn=p.usrn
    )


def test_a_negative_id_is_refused_not_filed_among_the_orders() -> None:
    index = WarningIndex()
    with pytest.raises(ValueError, match="never negative"):
        index.upsert_scheme(scheme(-1, BLOCK))
    with pytest.raises(ValueError, match="never negative"):
        index.upsert_order(order(-1, PersonModel(name="Dean Marsh"), locations=[BLOCK]))
    assert index.lookup(Place(uprn=BLOCK.uprn), [], NOW) == []


def test_persons_a_near_identical_name_needs_the_same_dob() -> None:
    victim = PersonModel(name="Aisha Rahman", dob=date(1988, 2, 29))
    index = WarningIndex()
    index.replace([], [order(1, PersonModel(name="Dean Marsh"), protected=[victim])])
    w = only(index.lookup(None, [Person("Aisha Rahmen", date(1988, 2, 29))], NOW))
    assert (w.match, w.matched_on, w.possible) == (MatchKind.NAME, "protected_person", True)
    assert index.lookup(None, [Person("Aisha Rahmen", date(1988, 3, 1))], NOW) == []
    assert only(index.lookup(None, [Person("Aisha Rahman")], NOW)).match == MatchKind.NAME


def test_for_incident_uses_the_location_the_persons_and_the_caller() -> None:
    index = WarningIndex()
    index.replace(
        [scheme(1, BLOCK)],
        [
            order(1, PersonModel(name="Dean Marsh", dob=date(1990, 4, 1))),
            order(2, PersonModel(name="Kim Caller")),
        ],
    )
    incident = Incident(
        id=1,
        ref="CAD 1/23NOV26",
        version=1,
        grade=Grade.IMMEDIATE,
        status=IncidentStatus.OPEN,
        created_at=NOW,
        deadline=NOW + timedelta(minutes=15),
        type="Domestic",
        summary="Shouting.",
        location=Location(
            FLAT_3.address or "",
            FLAT_3.postcode or "",
            "Hackney",
            FLAT_3.uprn,
            FLAT_3.parent_uprn,
            FLAT_3.usrn,
        ),
        caller=Caller("Kim Caller", "07700 900123"),
        persons=(Person("Dean Marsh", date(1990, 4, 1)),),
    )
    found = index.for_incident(incident, NOW)
    assert {(w.kind, w.match) for w in found} == {
        ("scheme", "parent_uprn"),
        ("order", "person"),
        ("order", "name"),
    }
    # a caller who gave a date of birth is matched with it
    born = replace(incident, caller=Caller("Dean Marsh", dob=date(1990, 4, 1)), persons=())
    assert [w.match for w in index.for_incident(born, NOW) if w.order] == ["person"]


def test_a_person_match_stronger_than_the_location_match_wins() -> None:
    subject = PersonModel(name="Dean Marsh", dob=date(1990, 4, 1))
    index = WarningIndex()
    index.replace([], [order(1, subject, locations=[BLOCK])])
    w = only(
        index.lookup(
            Place(address="14 Mare St", postcode="E8 1HR"),
            [Person("Dean Marsh", date(1990, 4, 1))],
            NOW,
        )
    )
    assert (w.match, w.matched_on) == (MatchKind.PERSON, "subject")


# --- the same answers as find_warnings ---------------------------------------------------------

STREETS = [
    "High Street",
    "High Stret",
    "Hihg St",
    "Mare Street",
    "Mare St",
    "Marsh Street",
    "Church Road",
    "Chruch Rd",
    "Station Road",
    "Acacia Avenue",
    "Acaica Ave",
    "",
    # typed as call handlers type them: no type, abbreviations, Saint, a typo
    "Acre Lane",
    "acre ln",
    "ACRE",
    "Acer Lane",
    "Acre Road",
    "Acre Lnae",
    "Mare",
    "St John's Road",
    "st johns rd",
    "Saint Johns",
    "High Street North",
    "high st",
]
HOUSES = ["1", "2", "10", "10a", "10 A", "Rose Cottage", ""]
NAMES = [
    "John Smith",
    "SMITH, John",
    "Jon Smith",
    "John Smyth",
    "Mary Jones",
    "Mary-Jane Jones",
    "Mary Jone",
    "--",
]
DOBS = [None, date(1990, 1, 1), date(1985, 6, 30)]
NOWS = [NOW, NOW + timedelta(days=3), datetime(2026, 11, 23, 23, 30, tzinfo=UTC)]


def maybe(rng: random.Random, values: Sequence[T], none: float = 0.3) -> T | None:
    return None if rng.random() < none else rng.choice(values)


def random_address(rng: random.Random) -> str:
    """An address as a register holds it or as a call handler types it: with or without
    commas, a town or district at the end, a postcode on the line, a flat in any form, any
    case."""
    house, street = rng.choice(HOUSES), rng.choice(STREETS)
    flat = rng.choice(
        ["", "", "", "Flat 2, Cedar Court, ", "Flat 1, Cedar Court, ", "flat 3 ", "2/", "Flat 1/"]
    )
    if flat.endswith("/") and not house[:1].isdigit():
        flat = ""
    comma = rng.choice([", ", " "])
    town = rng.choice(
        [
            "",
            "",
            f"{comma}London",
            f"{comma}london",
            " Brixton london",
            f"{comma}Hackney, London",
            " Streatham Hill",
        ]
    )
    on_line = rng.choice(["", "", "", " SW2 5SA", " e81aa", " sw2", " E8", ", N1 9GU"])
    text = f"{flat}{house} {street}{town}{on_line}".strip() or "Unknown"
    roll = rng.random()
    return text.upper() if roll < 0.15 else text.casefold() if roll < 0.3 else text


def random_place_fields(rng: random.Random) -> dict[str, str | None]:
    return {
        "address": random_address(rng),
        "postcode": maybe(
            rng,
            ["E8 1AA", "E8 1AB", "e81aa", "N1 9GU", "E8", "N1 9GX", "??", "SW2 5SA", "sw2"],
            0.4,
        ),
        "uprn": maybe(rng, ["100", "101", "102", "103", "200"], 0.4),
        "parent_uprn": maybe(rng, ["200", "201", "100"], 0.6),
        "usrn": maybe(rng, ["300", "301"], 0.4),
    }


def random_person(rng: random.Random) -> PersonModel:
    return PersonModel(name=rng.choice(NAMES), dob=rng.choice(DOBS))


def random_scheme(rng: random.Random, sid: int) -> SchemeOut:
    expires = NOW + timedelta(hours=rng.choice([-24, -1, 0, 2, 30, 24 * 60]))
    return scheme(
        sid,
        PlaceModel(**random_place_fields(rng)),
        expires_at=expires,
        category=rng.choice(list(SchemeCategory)),
        version=rng.randint(1, 9),
    )


def random_order(rng: random.Random, oid: int) -> OrderOut:
    expires = maybe(rng, [TODAY + timedelta(days=d) for d in (-40, -3, 0, 1, 5, 200)])
    return order(
        oid,
        random_person(rng),
        expires_on=expires,
        version=rng.randint(1, 9),
        locations=[PlaceModel(**random_place_fields(rng)) for _ in range(rng.randint(0, 2))],
        protected=[random_person(rng) for _ in range(rng.randint(0, 2))],
    )


def random_query(rng: random.Random) -> tuple[Place | None, list[Person]]:
    place = None
    if rng.random() < 0.85:
        fields = random_place_fields(rng)
        if rng.random() < 0.1:
            fields["address"] = None
        place = Place(**fields)
    people = [Person(p.name, p.dob) for p in (random_person(rng) for _ in range(rng.randint(0, 3)))]
    return place, people


def strength(w: WarningOut) -> tuple[bool, int]:
    return MatchKind(w.match).possible, MatchKind(w.match).rank


def reference(
    schemes: list[SchemeOut],
    orders: list[OrderOut],
    place: Place | None,
    people: list[Person],
    now: datetime,
    policy: WarningPolicy,
) -> list[WarningOut]:
    """``find_warnings`` per person, merged: each warning once, its strongest match (the first
    person's on a tie)."""
    if not people:
        return find_warnings(schemes, orders, place, None, now, policy)
    best: dict[tuple[str, int], WarningOut] = {}
    for who in people:
        for w in find_warnings(schemes, orders, place, who, now, policy):
            entity = w.scheme or w.order
            assert entity is not None
            held = best.get((w.kind, entity.id))
            if held is None or strength(w) < strength(held):
                best[w.kind, entity.id] = w
    return sort_warnings(list(best.values()))


def build_by_updates(
    rng: random.Random, index: WarningIndex, n: int
) -> tuple[dict[int, SchemeOut], dict[int, OrderOut]]:
    """Upserts (new ids, and moves of existing ones) and removals, as a sync stream does."""
    schemes: dict[int, SchemeOut] = {}
    orders: dict[int, OrderOut] = {}
    for _ in range(n):
        eid, roll = rng.randint(1, n // 2 + 1), rng.random()
        if roll < 0.4:
            schemes[eid] = random_scheme(rng, eid)
            index.upsert_scheme(schemes[eid])
        elif roll < 0.8:
            orders[eid] = random_order(rng, eid)
            index.upsert_order(orders[eid])
        elif roll < 0.9:
            schemes.pop(eid, None)
            index.remove_scheme(eid)
        else:
            orders.pop(eid, None)
            index.remove_order(eid)
    return schemes, orders


def assert_same_as_find_warnings(
    seed: int, size: int, queries: int, by_updates: bool, policy: WarningPolicy
) -> None:
    rng = random.Random(seed)
    index = WarningIndex(policy)
    if by_updates:
        held_s, held_o = build_by_updates(rng, index, size)
        schemes, orders = list(held_s.values()), list(held_o.values())
    else:
        schemes = [random_scheme(rng, i) for i in range(1, size + 1)]
        orders = [random_order(rng, i) for i in range(1, size + 1)]
        if seed % 2:  # as the cache loads them: packed
            index.replace(map(pack, schemes), map(pack, orders), policy)
        else:
            index.replace(schemes, orders, policy)
    for _ in range(queries):
        place, people = random_query(rng)
        now = rng.choice(NOWS)
        expected = reference(schemes, orders, place, people, now, policy)
        assert wire(index.lookup(place, people, now)) == expected, (place, people, now)
    assert set(index.expired_scheme_ids(NOW)) == {s.id for s in schemes if s.expires_at <= NOW}
    assert index.scheme_versions() == {s.id: s.version for s in schemes}
    assert index.orders() == sorted(orders, key=lambda o: o.id)
    assert [s.id for s in index.schemes(NOW)] == [
        s.id for s in sorted(schemes, key=lambda s: (s.expires_at, s.id)) if s.expires_at > NOW
    ]


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    by_updates=st.booleans(),
    similarity=st.sampled_from([DEFAULT_WARNING_POLICY.address_similarity, 0.7, 0.9]),
)
def test_lookup_is_find_warnings(seed: int, by_updates: bool, similarity: float) -> None:
    policy = WarningPolicy(address_similarity=similarity)
    assert_same_as_find_warnings(seed, 40, 40, by_updates, policy)


def test_lookup_is_find_warnings_on_a_larger_world() -> None:
    assert_same_as_find_warnings(4, 250, 150, False, DEFAULT_WARNING_POLICY)
    assert_same_as_find_warnings(5, 250, 150, True, DEFAULT_WARNING_POLICY)


def test_warnings_built_without_validation_are_what_validation_gives() -> None:
    """``scheme_warning`` / ``order_warning`` use ``model_construct``: the same model, and the
    same JSON for ``GET /warnings``, as validating the same fields."""
    rng = random.Random(7)
    schemes = [random_scheme(rng, i) for i in range(1, 80)]
    orders = [random_order(rng, i) for i in range(1, 80)]
    seen = 0
    for _ in range(60):
        place, people = random_query(rng)
        for w in find_warnings(schemes, orders, place, people[0] if people else None, NOW):
            validated = WarningOut.model_validate(w.model_dump())
            assert validated == w
            assert validated.model_dump_json() == w.model_dump_json()
            assert type(validated.severity) is type(w.severity)
            assert type(validated.match) is type(w.match)
            seen += 1
    assert seen > 20


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_warnings_asked_for_again_and_again_are_what_the_builders_give(seed: int) -> None:
    """The same few places and persons asked again and again, in any order, at several
    times: each answer is the reference's, to the fields given and the JSON."""
    rng = random.Random(seed)
    schemes = [random_scheme(rng, i) for i in range(1, 30)]
    orders = [random_order(rng, i) for i in range(1, 30)]
    index = WarningIndex()
    index.replace(map(pack, schemes), map(pack, orders))
    asked = [random_query(rng) for _ in range(6)]
    # Each marker's own place, UPRN and all and by address alone: the strongest kinds.
    for marker in rng.sample([s.location for s in schemes], 3):
        asked.append((place_of(marker), []))
        asked.append((Place(address=marker.address), []))
    asked += [
        (None, [Person(o.subject.name, rng.choice([o.subject.dob, None]))]) for o in orders[:4]
    ]
    for _ in range(60):
        place, people = rng.choice(asked)
        now = rng.choice(NOWS)
        got = wire(index.lookup(place, people, now))
        expected = reference(schemes, orders, place, people, now, DEFAULT_WARNING_POLICY)
        assert got == expected, (place, people, now)
        assert [w.model_dump_json() for w in got] == [w.model_dump_json() for w in expected]
        assert [w.model_fields_set for w in got] == [w.model_fields_set for w in expected]


def test_an_orders_persons_read_packed_match_as_its_model_does() -> None:
    rng = random.Random(11)
    for i in range(1, 40):
        o = random_order(rng, i)
        who = Person(o.subject.name, o.subject.dob)
        assert persons_match(
            Person(o.subject.name, o.subject.dob),
            [Person(p.name, p.dob) for p in o.protected_persons],
            who,
            DEFAULT_WARNING_POLICY,
        ) == order_person_match(o, who, DEFAULT_WARNING_POLICY)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    threshold=st.sampled_from([0.5, DEFAULT_WARNING_POLICY.address_similarity, 0.95]),
)
def test_an_orders_persons_read_packed_match_as_order_person_match(
    seed: int, threshold: float
) -> None:
    """The index matches an order's persons from its packed fields, the name asked about
    normalised once and a person with another date of birth passed over unread: the same
    kind and "subject" / "protected_person" as the reference's ``order_person_match``."""
    rng = random.Random(seed)
    policy = WarningPolicy(address_similarity=threshold)
    for i in range(1, 30):
        o = random_order(rng, i)
        who = Person(rng.choice([*NAMES, "", "Smith John"]), rng.choice(DOBS))
        name = normalise_name(who.name)
        expected = order_person_match(o, who, policy)
        if not name:  # the index asks nothing for a blank name
            assert expected is None
            continue
        dob = None if who.dob is None else encoded(who.dob)
        assert persons_match_packed(fields(pack(o)), name, dob, policy) == expected, (o, who)


def test_a_schemes_expiry_reads_as_strftime_gives_it() -> None:
    """The expiry day's text is remembered per day: the same as formatting it each time."""
    rng = random.Random(3)
    for i in range(1, 200):
        s = random_scheme(rng, i).model_copy(
            update={"expires_at": NOW + timedelta(minutes=rng.randint(-(10**6), 10**6))}
        )
        local = s.expires_at.astimezone(DEFAULT_WARNING_POLICY.tz())
        text = scheme_warning_of(s, MatchKind.UPRN, DEFAULT_WARNING_POLICY).text
        assert text.endswith(f"; expires {local:%d %b %Y})")


def test_replace_with_another_policy_rematches_streets() -> None:
    marker = PlaceModel(address="22 Acacia Avenue")
    index = WarningIndex()
    index.replace([scheme(1, marker)], [])
    query = Place(address="22 Acaica Ave")
    assert len(index.lookup(query, [], NOW)) == 1
    index.replace([scheme(1, marker)], [], WarningPolicy(address_similarity=0.99))
    assert index.lookup(query, [], NOW) == []


# --- the street neighbourhood ------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), threshold=st.sampled_from([0.5, 0.7, 0.82, 0.9, 1.0]))
def test_the_street_neighbourhood_finds_what_one_typo_and_the_ratio_accept(
    seed: int, threshold: float
) -> None:
    """Against every known street compared one by one: the same street, or one typo away with
    the ratio reached; within a district's vocabulary, only its streets; after streets come
    and go."""
    rng = random.Random(seed)
    base = [s.casefold() for s in STREETS if s]
    known = {mutate(rng, rng.choice(base)) for _ in range(40)}
    known |= {typo(rng, k) for k in rng.sample(sorted(known), 10)}  # near neighbours
    known.discard("")
    in_e8 = set(rng.sample(sorted(known), len(known) // 2))
    gone = set(rng.sample(sorted(known), len(known) // 4))
    streets = _Streets(threshold)
    for street in known:
        streets.add(ALL_STREETS, street)
        streets.add("E8" if street in in_e8 else NO_DISTRICT, street)
    asked_before = [typo(rng, k) for k in rng.sample(sorted(known), 10)]
    for asked in asked_before:  # remembered now: the answers must not outlive the streets
        streets.similar(asked, threshold)
        streets.similar(asked, threshold, ("E8", NO_DISTRICT))
    for street in gone:
        streets.discard(ALL_STREETS, street)
        streets.discard("E8" if street in in_e8 else NO_DISTRICT, street)
    left = known - gone
    for n in range(40):
        if n < len(asked_before):
            asked = asked_before[n]
        else:
            asked = typo(rng, rng.choice(sorted(known))) if rng.random() < 0.7 else ""
            asked = asked or mutate(rng, rng.choice(base))
        if not asked:
            continue
        expected = {
            k
            for k in left
            if k == asked or (one_typo(k, asked) and street_ratio(k, asked) >= threshold)
        }
        assert streets.similar(asked, threshold) == expected, asked
        assert streets.similar(asked, threshold, ("E8",)) == expected & in_e8, asked
        assert streets.similar(asked, threshold, ("E8", NO_DISTRICT)) == expected, asked
        # Nothing street_similar accepts beyond a same name is left out.
        for k in left - expected:
            name_only = street_type(k)[0] == street_type(asked)[0]
            assert name_only or not street_similar(k, asked, threshold), (k, asked)


def typo(rng: random.Random, text: str) -> str:
    """``text`` with one typo: a letter inserted, dropped or changed, or two swapped."""
    chars = list(text)
    i = rng.randrange(len(chars) + 1)
    op = rng.random()
    if op < 0.25 and i < len(chars):
        del chars[i]
    elif op < 0.5 and i < len(chars):
        chars[i] = rng.choice("aeilnorst ")
    elif op < 0.75 and i + 1 < len(chars):
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    else:
        chars.insert(i, rng.choice("aeilnorst "))
    return "".join(chars)


def mutate(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(0, 4)):
        i = rng.randrange(len(chars) + 1)
        op = rng.random()
        if op < 0.4 and i < len(chars):
            del chars[i]
        elif op < 0.8:
            chars.insert(i, rng.choice("aeilnorst "))
        elif i + 1 < len(chars):
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


# --- addresses typed as call handlers type them (issue 9, item 11) -----------------------------


def test_typed_addresses_find_the_scheme_and_no_neighbour_as_find_warnings_does() -> None:
    from tests.domain.test_warnings import NEIGHBOURS, SAME_AS_ACRE_LANE, TYPED_FORMS

    schemes = [
        scheme(1, PlaceModel(address="30 Acre Lane, London", postcode="SW2 5SA")),
        scheme(2, PlaceModel(address="32 Acre Lane, London", postcode="SW2 5SA")),
        scheme(3, PlaceModel(address="30a acre ln", postcode="SW2 5SA")),
        scheme(4, PlaceModel(address="30 Acre Road, London")),
        scheme(5, PlaceModel(address="30 Acre Lane, London")),
    ]  # no postcode
    index = WarningIndex()
    index.replace(schemes, [])
    for typed, postcode in TYPED_FORMS:
        query = Place(address=typed, postcode=postcode)
        got = wire(index.lookup(query, [], NOW))
        assert got == find_warnings(schemes, [], query, None, NOW), typed
        found = {w.scheme.id: w.match for w in got if w.scheme is not None}
        exact = (typed, postcode) in SAME_AS_ACRE_LANE
        assert found.get(1) == (MatchKind.SAME_ADDRESS if exact else MatchKind.ADDRESS), (
            typed,
            found,
        )
        assert found.get(5) == MatchKind.ADDRESS, (typed, found)  # no postcode: possible
        assert 2 not in found and 3 not in found, (typed, found)
    for typed, postcode in NEIGHBOURS:
        query = Place(address=typed, postcode=postcode)
        got = wire(index.lookup(query, [], NOW))
        assert got == find_warnings(schemes, [], query, None, NOW), typed
        assert 1 not in {w.scheme.id for w in got if w.scheme is not None}, typed


def test_a_near_name_with_the_same_birth_date_stays_found_until_no_order_names_it() -> None:
    """Persons are filed by name alone (issue 14, memory); two orders naming the same person
    keep the near-name path finding the one left when the other goes, and another person of
    the same name but another date of birth is never a match."""
    born, other = date(1980, 3, 4), date(1991, 7, 8)
    index = WarningIndex()
    index.replace(
        [],
        [
            order(1, PersonModel(name="Jon Smith", dob=born)),
            order(2, PersonModel(name="Jon Smith", dob=born)),
            order(
                3,
                PersonModel(name="Dan Jones"),
                protected=[PersonModel(name="John Smith", dob=other)],
            ),
        ],
    )
    who = Person("John Smith", born)

    def found() -> list[tuple[int, str]]:
        return [(w.order.id, w.match) for w in index.lookup(None, [who], NOW) if w.order]

    assert found() == [(1, "name"), (2, "name")]
    index.remove_order(1)
    assert found() == [(2, "name")]
    index.remove_order(2)
    assert found() == []
    assert [w.order.id for w in index.lookup(None, [Person("John Smith")], NOW) if w.order] == [3]
    orders = [
        order(
            3, PersonModel(name="Dan Jones"), protected=[PersonModel(name="John Smith", dob=other)]
        )
    ]
    for who_asked in (who, Person("John Smith"), Person("Jon Smith", born)):
        assert wire(index.lookup(None, [who_asked], NOW)) == find_warnings(
            [], orders, None, who_asked, NOW
        )


def test_a_near_name_filed_after_a_lookup_is_found_by_the_next_one() -> None:
    """The near-name scan's answers are remembered: an order naming a near name, added or
    moved to another date of birth after a lookup, is what the next lookup finds."""
    born = date(1980, 3, 4)
    index = WarningIndex()
    index.replace([], [order(1, PersonModel(name="Jon Smith", dob=born))])
    who = Person("John Smith", born)

    def found() -> list[int]:
        return [w.order.id for w in index.lookup(None, [who], NOW) if w.order]

    assert found() == [1]
    index.upsert_order(order(2, PersonModel(name="Jonn Smith", dob=born)))
    assert found() == [1, 2]
    index.upsert_order(order(1, PersonModel(name="Jon Smith", dob=date(1980, 3, 5))))
    assert found() == [2]
    index.remove_order(2)
    assert found() == []


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), threshold=st.sampled_from([0.0, 0.5, 0.7, 0.82, 0.9, 1.0]))
def test_the_near_name_scan_is_difflibs_ratio_name_by_name(seed: int, threshold: float) -> None:
    """rapidfuzz's Indel bound first, then difflib: the same names as difflib's ratio
    (``match_person``'s) over every name, near names and far ones, long ones included (over
    200 letters difflib junks popular letters: its ratio only falls, the bound still holds)."""
    rng = random.Random(seed)
    name = mutate(rng, rng.choice(NAMES)).strip() or "x"
    if rng.random() < 0.1:
        name = " ".join([name] * rng.randint(20, 40))
    known = [typo(rng, name) for _ in range(10)] + [mutate(rng, name) for _ in range(10)]
    known += [mutate(rng, rng.choice(NAMES)) for _ in range(10)] + [name]
    known = [k for k in dict.fromkeys(known) if k]
    expected = [
        k
        for k in known
        if k != name and difflib.SequenceMatcher(None, k, name).ratio() >= threshold
    ]
    found = near_names(name, known, threshold)
    assert sorted(found) == sorted(expected)  # each once, in no particular order
