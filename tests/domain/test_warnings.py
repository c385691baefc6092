"""Pure warning rules: location and person matching, order severity and wording, scheme expiry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatchdesk.domain.addresses import one_typo
from dispatchdesk.domain.warnings import (
    LONDON_LOCALITIES,
    AddressParts,
    MatchKind,
    ParsedPlace,
    Person,
    Place,
    ReviewState,
    Severity,
    add_months,
    address_parts,
    expiry_wording,
    match_parsed,
    match_person,
    match_place,
    order_severity,
    postcode_district,
    scheme_expiry_problem,
    scheme_review_state,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 23 Nov, London on GMT


def test_uprn_then_block_then_child() -> None:
    block = Place(uprn="100", address="Rose House, Mill Lane")
    flat = Place(uprn="101", parent_uprn="100", address="Flat 1, Rose House, Mill Lane")
    assert match_place(block, Place(uprn="100")) is MatchKind.UPRN
    assert match_place(block, flat) is MatchKind.PARENT_UPRN  # marker on the block
    assert match_place(flat, block) is MatchKind.CHILD_UPRN  # marker on a flat, asked: block


def test_two_flats_are_only_a_possible_match() -> None:
    flat1 = Place(uprn="101", parent_uprn="100", usrn="900", address="Flat 1, 10 High Street")
    flat2 = Place(uprn="102", parent_uprn="100", usrn="900", address="Flat 2, 10 High Street")
    kind = match_place(flat1, flat2)
    assert kind is MatchKind.SAME_BLOCK and kind.possible
    # without UPRNs either, by street and number
    a = Place(usrn="900", address="Flat 1, 10 High Street")
    b = Place(usrn="900", address="Flat 2, 10 High Street")
    assert match_place(a, b) is MatchKind.SAME_BLOCK
    assert match_place(a, Place(usrn="900", address="Flat 1, 10 High St")) is (
        MatchKind.STREET_HOUSE
    )


def test_street_and_house_number() -> None:
    marker = Place(usrn="900", address="10 High Street")
    assert match_place(marker, Place(usrn="900", address="10, High St.")) is (
        MatchKind.STREET_HOUSE
    )
    assert match_place(marker, Place(usrn="900", address="12 High Street")) is None
    assert match_place(marker, Place(usrn="900", address="10a High Street")) is None


def test_no_uprn_and_a_typo_in_the_street_is_a_possible_match() -> None:
    marker = Place(uprn="555", address="22 Acacia Avenue", postcode="N1 9GU")
    typo = Place(address="22 Acaica Ave")
    kind = match_place(marker, typo)
    assert kind is MatchKind.ADDRESS and kind.possible
    assert match_place(marker, Place(address="22 Elm Grove")) is None
    assert match_place(marker, Place(address="24 Acacia Avenue")) is None
    # same postcode and number, street written differently
    assert match_place(marker, Place(address="22 Acacia Rd", postcode="n19gu")) is (
        MatchKind.ADDRESS
    )


def test_a_typo_in_the_street_matches_within_the_same_district() -> None:
    marker = Place(address="22 Acacia Avenue, London", postcode="N1 9GU")
    assert match_place(marker, Place(address="22 Acaica Avenue", postcode="N1 9ZZ")) is (
        MatchKind.ADDRESS
    )
    assert match_place(marker, Place(address="22 Acaica Avenue", postcode="N1")) is (
        MatchKind.ADDRESS
    )  # an outward code typed alone


def test_a_different_postcode_district_is_no_free_text_match() -> None:
    marker = Place(address="22 Acacia Avenue, London", postcode="N1 9GU")
    assert match_place(marker, Place(address="22 Acacia Avenue", postcode="E8 1AA")) is None
    assert match_place(marker, Place(address="22 Acaica Avenue", postcode="N19 3AA")) is None
    # without a postcode on one side the street alone decides, as before
    assert match_place(marker, Place(address="22 Acacia Avenue, Hackney")) is MatchKind.ADDRESS
    # the stronger rules do not look at the postcode
    assert match_place(
        Place(usrn="9", address="22 Acacia Avenue", postcode="N1 9GU"),
        Place(usrn="9", address="22 Acacia Avenue", postcode="E8 1AA"),
    ) is (MatchKind.STREET_HOUSE)
    assert (
        match_place(
            Place(uprn="5", address="x", postcode="N1 9GU"), Place(uprn="5", postcode="E8 1AA")
        )
        is MatchKind.UPRN
    )


def test_a_shared_town_no_longer_makes_streets_alike() -> None:
    # "acacia road london" v "amara road london" was 0.857, over the 0.82 threshold
    marker = Place(address="22 Acacia Road, London")
    assert match_place(marker, Place(address="22 Amara Road, London")) is None
    assert match_place(marker, Place(address="22 Acacia Road")) is MatchKind.ADDRESS
    assert match_place(marker, Place(address="22 Acacia Road, Islington, London N1")) is (
        MatchKind.ADDRESS
    )


def test_two_flats_in_a_block_without_uprns_by_postcode() -> None:
    a = Place(address="Flat 1, Cedar Court, 14 Mare Street, London", postcode="E8 1HR")
    b = Place(address="Flat 2, Cedar Court, 14 Mare St", postcode="E8 1HR")
    assert match_place(a, b) is MatchKind.SAME_BLOCK


def test_address_parts() -> None:
    parts = address_parts("Flat 2, 10 High St, SW1A 1AA")
    assert (parts.flat, parts.house, parts.street) == ("2", "10", "high street")
    assert address_parts("10 A high st").house == "10a"
    assert address_parts("Rose Cottage, Mill Lane, London") == address_parts(
        "rose cottage, mill lane"
    )
    assert address_parts("Rose Cottage, Mill Lane").house == "rose cottage"
    # the street proper: the words after the house in its part, else the next part
    assert address_parts("9 Elm Road, London").street == "elm road"
    assert address_parts("9 Elm Road London").street == "elm road"  # no commas: town dropped
    assert address_parts("10, High St., London").street == "high street"
    assert address_parts("Cedar Court, 14 Mare Street, Hackney").street == "mare street"


def test_postcode_district() -> None:
    assert postcode_district("sw1a 1aa") == "SW1A"
    assert postcode_district("N19GU") == "N1"
    assert postcode_district("N19 3AA") == "N19"
    assert postcode_district("e8") == "E8"
    assert postcode_district("not one") is None
    assert postcode_district(None) is None


def test_match_parsed_is_match_place() -> None:
    marker = Place(usrn="9", address="Flat 1, 10 High St", postcode="E8 1AA")
    query = Place(usrn="9", address="Flat 2, 10 High Street")
    assert (
        match_parsed(ParsedPlace.of(marker), ParsedPlace.of(query))
        is match_place(marker, query)
        is MatchKind.SAME_BLOCK
    )


def test_person_matching() -> None:
    known = Person("John SMITH", date(1980, 2, 1))
    assert match_person(known, Person("smith, john", date(1980, 2, 1))) is MatchKind.PERSON
    assert match_person(known, Person("John Smith")) is MatchKind.NAME
    assert match_person(known, Person("Jon Smith", date(1980, 2, 1))) is MatchKind.NAME
    assert match_person(known, Person("John Smith", date(1981, 2, 1))) is None
    assert match_person(known, Person("Jane Doe")) is None


@pytest.mark.parametrize(
    ("expires", "severity", "words"),
    [
        (date(2026, 11, 23), Severity.CRITICAL, "expires TODAY 23 Nov"),
        (date(2026, 11, 24), Severity.CRITICAL, "expires TOMORROW 24 Nov"),
        (date(2026, 11, 25), Severity.HEIGHTENED, "expires in 2 days, 25 Nov"),
        (date(2026, 11, 30), Severity.HEIGHTENED, "expires in 7 days, 30 Nov"),
        (date(2026, 12, 1), Severity.INFO, "expires 1 Dec"),
        (date(2026, 11, 22), Severity.HEIGHTENED, "EXPIRED YESTERDAY 22 Nov"),
        (date(2026, 10, 26), Severity.HEIGHTENED, "EXPIRED 28 days ago, 26 Oct"),
        (date(2026, 10, 25), Severity.INFO, "expired 25 Oct"),
        (date(2027, 3, 15), Severity.INFO, "expires 15 Mar 2027"),
        (None, Severity.INFO, "no expiry: until further order"),
    ],
)
def test_order_severity_and_wording(expires: date | None, severity: Severity, words: str) -> None:
    assert order_severity(expires, NOW) is severity
    assert expiry_wording(expires, NOW) == words


def test_order_day_is_the_london_day() -> None:
    # 23:30Z on 30 June is 00:30 on 1 July in London: an order ending 2 July is "tomorrow"
    late = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)
    assert expiry_wording(date(2026, 7, 2), late) == "expires TOMORROW 2 Jul"


def test_scheme_six_month_rule() -> None:
    # on the London calendar: 13:00 BST on 31 Aug + 6 months = 13:00 GMT on 28 Feb
    assert add_months(datetime(2026, 8, 31, 12, tzinfo=UTC), 6) == datetime(
        2027, 2, 28, 13, tzinfo=UTC
    )
    assert scheme_expiry_problem(NOW, add_months(NOW, 6)) is None
    problem = scheme_expiry_problem(NOW, add_months(NOW, 6) + timedelta(minutes=1))
    assert problem is not None and "at most 6 months" in problem
    assert scheme_expiry_problem(NOW, NOW) is not None


def test_review_states() -> None:
    expires = NOW + timedelta(days=30)
    assert scheme_review_state(expires, None, NOW) is ReviewState.ACTIVE
    assert scheme_review_state(expires, None, NOW + timedelta(days=16)) is ReviewState.REVIEW_DUE
    asked = NOW + timedelta(days=1)
    assert scheme_review_state(expires, asked, asked + timedelta(days=13, hours=23)) is (
        ReviewState.FIRST_STAGE
    )
    assert scheme_review_state(expires, asked, asked + timedelta(days=14)) is (
        ReviewState.SECOND_STAGE
    )


# --- addresses as call handlers type them (issue 9, item 11) ----------------------------------

ACRE_LANE = Place(address="30 Acre Lane, London", postcode="SW2 5SA")
ACRE_LANE_NO_POSTCODE = Place(address="30 Acre Lane, London")

#: (typed address, postcode typed in its own field): each finds the scheme on "30 Acre Lane,
#: London" as a possible (free-text) match, with or without the scheme's postcode.
TYPED_FORMS: list[tuple[str, str | None]] = [
    ("30 acre lane london", None),  # the case
    ("30 Acre Lane", None),
    ("30 ACRE LANE LONDON", None),
    ("30 aCRe LaNe", None),
    ("30 acre ln", None),
    ("30 Acre La", None),
    ("30 Acre Ln., London", None),
    ("30, Acre Lane", None),
    ("No. 30 Acre Lane", None),
    ("30 acre lane brixton london", None),
    ("30 acre lane, Brixton, London", None),
    ("30 acre lane brixton hill london", None),
    ("30 acre lane lambeth", None),
    ("30 acre lane sw2 5sa", None),
    ("30 acre lane SW25SA", None),
    ("30 Acre Lane London SW2 5SA", None),
    ("SW2 5SA 30 acre lane", None),
    ("30 acre lane london sw2", None),
    ("30 acre lane, sw2", None),
    ("30 Acre Lane", "sw2 5sa"),
    ("30 Acre Lane", "SW2 1AA"),  # the same district, another unit
    ("30 Acre Lane", "sw2"),
    ("30 acre london", None),  # no street type: the name alone
    ("30 acre", None),
    ("30 ACRE BRIXTON", None),
    ("30 acer lane", None),  # a typo
    ("30 acre lnae london", None),
    ("30 Acre Laen", None),
    ("30 acrelane", None),
    ("Flat 2, 30 Acre Lane", None),  # a flat in the marked building
    ("flat 2 30 acre lane london", None),
    ("2/30 acre lane", None),
    ("Flat 2/30 Acre Ln", None),
    ("30 Acre Lane Flat 2", None),
    ("Ground floor flat, 30 acre lane", None),
    ("2nd floor flat 30 acre lane", None),
]

#: Neighbours: another house, another street (type), another district. None may match.
NEIGHBOURS: list[tuple[str, str | None]] = [
    ("32 acre lane london", None),
    ("3 acre lane", None),
    ("300 acre lane", None),
    ("130 Acre Lane", None),
    ("30a acre lane", None),  # 30a is another house
    ("30 b acre lane", None),
    ("Flat 30, 2 Acre Lane", None),
    ("30 acre road london", None),  # another street type is another street
    ("30 acre rd", None),
    ("30 Acre Street", None),
    ("30 acre close", None),
    ("30 Acre Gardens", None),
    ("30 acre lane north", None),
    ("30 lane", None),
    ("30 london", None),
    ("30 cedar lane", None),
    ("30 mare lane", None),  # two letters off
    ("30 acre lane", "E8 1AA"),  # another district
    ("30 acre lane e8", None),
    ("30 acre lane N1 9GU", None),
    ("30 Acre Lane", "SW9 1AA"),
    ("30 acer lane sw9", None),
    ("acre lane london", None),  # no house number
    ("30 high street london", None),
]


#: The typed forms that are ACRE_LANE itself: the same house and street, no flat, and its full
#: postcode. Against the marker with its postcode these are the same address, not possible
#: matches (issue 15: "an exact address match is labelled exact").
SAME_AS_ACRE_LANE = {
    ("30 acre lane sw2 5sa", None),
    ("30 acre lane SW25SA", None),
    ("30 Acre Lane London SW2 5SA", None),
    ("SW2 5SA 30 acre lane", None),
    ("30 Acre Lane", "sw2 5sa"),
}


@pytest.mark.parametrize(("typed", "postcode"), TYPED_FORMS)
def test_a_typed_address_finds_the_marker_as_a_possible_match(
    typed: str, postcode: str | None
) -> None:
    query = Place(address=typed, postcode=postcode)
    for marker in (ACRE_LANE, ACRE_LANE_NO_POSTCODE):
        expected = (
            MatchKind.SAME_ADDRESS
            if marker is ACRE_LANE and (typed, postcode) in SAME_AS_ACRE_LANE
            else MatchKind.ADDRESS
        )
        kind = match_place(marker, query)
        assert kind is expected, (marker, typed)
        assert kind.possible is (expected is MatchKind.ADDRESS)
        # the other way round: the marker typed so, the query written out in full
        assert match_place(query, marker) is expected, (marker, typed)


def test_the_same_address_without_uprn_is_an_exact_match() -> None:
    marker = Place(address="Flat 3, 22 Acacia Avenue, London", postcode="N1 9GU")
    assert (
        match_place(marker, Place(address="flat 3 22 acacia avenue", postcode="n19gu"))
        is MatchKind.SAME_ADDRESS
    )
    # Another flat, no flat, no postcode, another postcode: still possible matches at most.
    for address, postcode in (
        ("Flat 4, 22 Acacia Avenue", "N1 9GU"),
        ("22 Acacia Avenue", "N1 9GU"),
        ("Flat 3, 22 Acacia Avenue", None),
        ("Flat 3, 22 Acacia Avenue", "N1 9GT"),
    ):
        kind = match_place(marker, Place(address=address, postcode=postcode))
        assert kind is not None and kind.possible, (address, postcode)


@pytest.mark.parametrize(("typed", "postcode"), NEIGHBOURS)
def test_no_neighbour_matches(typed: str, postcode: str | None) -> None:
    query = Place(address=typed, postcode=postcode)
    assert match_place(ACRE_LANE, query) is None
    assert match_place(query, ACRE_LANE) is None
    if postcode is None and not any(c.isdigit() for c in typed.split()[-1]):
        assert match_place(ACRE_LANE_NO_POSTCODE, query) is None


def test_typed_forms_with_a_street_reference_and_flats() -> None:
    marker = Place(usrn="21000099", address="30 Acre Lane, London")
    assert match_place(marker, Place(usrn="21000099", address="30 acre ln")) is (
        MatchKind.STREET_HOUSE
    )
    assert match_place(marker, Place(usrn="21000099", address="2/30 acre lane")) is (
        MatchKind.STREET_HOUSE
    )
    assert match_place(marker, Place(usrn="21000099", address="32 acre lane")) is None
    assert match_place(marker, Place(usrn="21000099", address="30a acre lane")) is None
    flat_1 = Place(address="Flat 1, 30 Acre Lane, London")
    assert match_place(flat_1, Place(address="2/30 acre lane london")) is MatchKind.SAME_BLOCK
    assert match_place(flat_1, Place(address="flat 1 30 acre ln")) is MatchKind.ADDRESS
    assert match_place(flat_1, Place(address="1/30 ACRE LANE")) is MatchKind.ADDRESS


@pytest.mark.parametrize(
    ("marker", "typed", "kind"),
    [
        ("10 St John's Road", "10 st johns rd", MatchKind.ADDRESS),
        ("10 La Plata Road", "10 la plata rd", MatchKind.ADDRESS),
        ("10 St John's Road", "10 saint john's road london", MatchKind.ADDRESS),
        ("10 St John's Road", "10 st johns", MatchKind.ADDRESS),
        ("10 St John's Road", "10 St John's Street", None),
        ("10 St John's Road", "10 St James's Road", None),
        ("10 High Street North, London", "10 high st north", MatchKind.ADDRESS),
        ("10 High Street North, London", "10 high street", None),
        ("10 High Street", "10 high st london", MatchKind.ADDRESS),
        ("10 High Street", "10 high st north", None),
        ("10 High Street", "10 high road", None),
        ("14 Mare Street, Hackney", "14 mare st e8", MatchKind.ADDRESS),
        ("14 Mare Street, Hackney", "14 marsh street", None),  # 0.87 alike, but two edits
        ("14 Mare Street, Hackney", "14 Mare Road", None),
        ("22 Acacia Avenue", "22 acacia av", MatchKind.ADDRESS),
        ("22 Acacia Avenue", "22 acaica ave", MatchKind.ADDRESS),
        ("22 Acacia Avenue", "22 amara avenue", None),
        ("22 Elm Grove", "22 elm gr", MatchKind.ADDRESS),
        ("22 Elm Grove", "22 elm gardens", None),
        ("5 Kings Cres", "5 kings crescent camden", MatchKind.ADDRESS),
        ("5 Oak Terr", "5 oak terrace", MatchKind.ADDRESS),
        ("5 Oak Ter", "5 oak tce", MatchKind.ADDRESS),
        ("30 Brixton Hill", "30 brixton hill london", MatchKind.ADDRESS),
        ("30 Brixton Hill", "30 brixton road", None),
        ("30 Brixton Road", "30 brixton london", MatchKind.ADDRESS),  # no street type given
        ("10 London Road, Croydon", "10 london rd croydon", MatchKind.ADDRESS),
        ("10 London Road, Croydon", "10 london", None),
    ],
)
def test_streets_typed_other_ways(marker: str, typed: str, kind: MatchKind | None) -> None:
    assert match_place(Place(address=marker), Place(address=typed)) is kind


def test_the_same_full_postcode_does_not_make_another_street_match() -> None:
    # a postcode unit can take in the corner of another street with the same numbers
    marker = Place(address="30 Acre Lane", postcode="SW2 5SA")
    assert match_place(marker, Place(address="30 Branksome Road", postcode="sw2 5sa")) is None
    assert match_place(marker, Place(address="30 Acre Road", postcode="SW25SA")) is (
        MatchKind.ADDRESS
    )  # the same name in the same unit: a possible match
    assert match_place(marker, Place(address="30", postcode="SW2 5SA")) is MatchKind.ADDRESS
    # an outward code alone on both sides is no shared postcode
    assert (
        match_place(
            Place(address="22 Elm Road", postcode="N1"),
            Place(address="22 Acacia Avenue", postcode="N1"),
        )
        is None
    )
    assert (
        match_place(
            Place(address="22 Elm Road", postcode="??"),
            Place(address="22 Acacia Avenue", postcode="??"),
        )
        is None
    )


@pytest.mark.parametrize(
    ("typed", "flat", "house", "street", "postcode"),
    [
        ("30 acre lane london", None, "30", "acre lane", None),
        ("30 ACRE LN BRIXTON LONDON SW2 5SA", None, "30", "acre lane", "SW25SA"),
        ("30 acre lane, london sw2", None, "30", "acre lane", "SW2"),
        ("SW2 5SA, 30 Acre Lane", None, "30", "acre lane", "SW25SA"),
        ("2/30 acre lane", "2", "30", "acre lane", None),
        ("Flat 2/30 Acre Lane", "2", "30", "acre lane", None),
        ("30 Acre Lane Flat 2", "2", "30", "acre lane", None),
        ("Flat B, 30 A Acre Lane", "b", "30a", "acre lane", None),
        ("10 St John's Rd London N1", None, "10", "saint johns road", "N1"),
        ("10 High St North", None, "10", "high street north", None),
        ("30 Brixton Hill London", None, "30", "brixton hill", None),
        ("30 acre lane brixton hill", None, "30", "acre lane", None),
        ("10 London Road Croydon", None, "10", "london road", None),
        ("10 A406", None, "10", "a406", None),  # not a London postcode area
        ("Block E1, 4 Mill Lane", None, "4", "mill lane", None),  # before the house: no postcode
        ("2nd Floor Flat, 30 Acre Lane", None, "30", "acre lane", None),
        ("first floor flat 30 acre lane", None, "30", "acre lane", None),
        ("Flat 2, Rose Cottage, Mill Lane", "2", "rose cottage", "mill lane", None),
        ("30, London", None, "30", "", None),  # London alone is no street
        ("30 Brixton", None, "30", "brixton", None),  # but a district alone may be
        ("Rose Cottage, Mill Ln, Barnet EN5", None, "rose cottage", "mill lane", "EN5"),
    ],
)
def test_address_parts_of_typed_addresses(
    typed: str, flat: str | None, house: str, street: str, postcode: str | None
) -> None:
    assert address_parts(typed) == AddressParts(flat, house, street, postcode)


def test_a_postcode_on_the_line_is_the_places_postcode() -> None:
    p = ParsedPlace.of(Place(address="30 acre lane sw2 5sa"))
    assert (p.postcode, p.district) == ("SW25SA", "SW2")
    p = ParsedPlace.of(Place(address="30 acre lane sw2"))
    assert (p.postcode, p.district) == (None, "SW2")
    # the postcode field, when readable, wins over the line
    p = ParsedPlace.of(Place(address="30 acre lane sw2 5sa", postcode="E8 1AA"))
    assert (p.postcode, p.district) == ("E81AA", "E8")
    p = ParsedPlace.of(Place(address="30 acre lane sw2 5sa", postcode="??"))
    assert p.postcode == "SW25SA"


def test_every_borough_the_server_knows_is_a_locality() -> None:
    from dispatchdesk.server.simulation.london import BOROUGHS

    for borough in BOROUGHS:
        assert borough.casefold() in LONDON_LOCALITIES
        assert address_parts(f"30 acre lane {borough}").street == "acre lane", borough


def _distance(a: str, b: str) -> int:
    """Optimal string alignment distance, the textbook way."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(
                d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])
            )
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


@settings(max_examples=400, deadline=None)
@given(a=st.text("abc ", max_size=6), b=st.text("abc ", max_size=6))
def test_one_typo_is_a_distance_of_one(a: str, b: str) -> None:
    assert one_typo(a, b) is (_distance(a, b) == 1)


def test_remembered_address_parts_share_their_words() -> None:
    """Of the queue's worth of parsed addresses remembered, those on one street share its
    street, house number and postcode strings (not a copy each: ~8 MB at 50,000 incidents)."""
    from dispatchdesk.domain.addresses import address_parts, read_postcode

    # Built at run time, so no two of them are the same constant.
    one = address_parts("".join(["12 Acre Lane, London ", "SW2 5SA"]))
    two = address_parts("".join(["Flat 3, 12 ", "Acre Lane, SW2 5SA"]))
    assert one.street == two.street == "acre lane"
    assert one.street is two.street and one.house is two.house
    assert one.postcode is two.postcode
    assert read_postcode("".join(["sw2 ", "5sa"]))[1] is read_postcode("SW2 5SB")[1]


def _street_as_before(words: list[str]) -> str:
    """``addresses._street`` as it was written first (every length of locality tried, longest
    first, after each one dropped): the reference for the table by last word."""
    from dispatchdesk.domain import addresses

    localities = {tuple(p.split()) for p in addresses.LONDON_LOCALITIES}
    most = max(len(p) for p in localities)
    words = list(words)
    dropped = bool(words) and words[-1] in {p[-1] for p in localities}
    while dropped:
        dropped = False
        for n in range(min(most, len(words) - 1), 0, -1):
            if tuple(words[-n:]) in localities:
                del words[-n:]
                dropped = True
                break
    return "" if tuple(words) in addresses._NO_STREET else addresses._spelt(words)


#: Localities whole and single words (theirs and a street's): runs of them end the way
#: typed streets do ("acre lane brixton hill london", "upon thames").
_STREET_CHUNKS = sorted(
    {tuple(p.split()) for p in LONDON_LOCALITIES}
    | {(w,) for p in LONDON_LOCALITIES for w in p.split()}
    | {(w,) for w in ("acre", "lane", "st", "high", "rd", "hill")}
)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_STREET_CHUNKS), max_size=6))
def test_trailing_localities_drop_as_they_did(chunks: list[tuple[str, ...]]) -> None:
    from dispatchdesk.domain.addresses import _street

    words = [w for chunk in chunks for w in chunk]
    assert _street(words) == _street_as_before(words)
