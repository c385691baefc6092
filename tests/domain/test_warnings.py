"""Pure warning rules: location and person matching, order severity and wording, scheme expiry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from dispatchdesk.domain.warnings import (
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
        MatchKind.STREET_HOUSE)


def test_street_and_house_number() -> None:
    marker = Place(usrn="900", address="10 High Street")
    assert match_place(marker, Place(usrn="900", address="10, High St.")) is (
        MatchKind.STREET_HOUSE)
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
        MatchKind.ADDRESS)


def test_a_typo_in_the_street_matches_within_the_same_district() -> None:
    marker = Place(address="22 Acacia Avenue, London", postcode="N1 9GU")
    assert match_place(marker, Place(address="22 Acaica Avenue", postcode="N1 9ZZ")) is (
        MatchKind.ADDRESS)
    assert match_place(marker, Place(address="22 Acaica Avenue", postcode="N1")) is (
        MatchKind.ADDRESS)  # an outward code typed alone


def test_a_different_postcode_district_is_no_free_text_match() -> None:
    marker = Place(address="22 Acacia Avenue, London", postcode="N1 9GU")
    assert match_place(marker, Place(address="22 Acacia Avenue", postcode="E8 1AA")) is None
    assert match_place(marker, Place(address="22 Acaica Avenue", postcode="N19 3AA")) is None
    # without a postcode on one side the street alone decides, as before
    assert match_place(marker, Place(address="22 Acacia Avenue, Hackney")) is MatchKind.ADDRESS
    # the stronger rules do not look at the postcode
    assert match_place(Place(usrn="9", address="22 Acacia Avenue", postcode="N1 9GU"),
                       Place(usrn="9", address="22 Acacia Avenue", postcode="E8 1AA")) is (
        MatchKind.STREET_HOUSE)
    assert match_place(Place(uprn="5", address="x", postcode="N1 9GU"),
                       Place(uprn="5", postcode="E8 1AA")) is MatchKind.UPRN


def test_a_shared_town_no_longer_makes_streets_alike() -> None:
    # "acacia road london" v "amara road london" was 0.857, over the 0.82 threshold
    marker = Place(address="22 Acacia Road, London")
    assert match_place(marker, Place(address="22 Amara Road, London")) is None
    assert match_place(marker, Place(address="22 Acacia Road")) is MatchKind.ADDRESS
    assert match_place(marker, Place(address="22 Acacia Road, Islington, London N1")) is (
        MatchKind.ADDRESS)


def test_two_flats_in_a_block_without_uprns_by_postcode() -> None:
    a = Place(address="Flat 1, Cedar Court, 14 Mare Street, London", postcode="E8 1HR")
    b = Place(address="Flat 2, Cedar Court, 14 Mare St", postcode="E8 1HR")
    assert match_place(a, b) is MatchKind.SAME_BLOCK


def test_address_parts() -> None:
    parts = address_parts("Flat 2, 10 High St, SW1A 1AA")
    assert (parts.flat, parts.house, parts.street) == ("2", "10", "high street")
    assert address_parts("10 A high st").house == "10a"
    assert address_parts("Rose Cottage, Mill Lane, London") == address_parts(
        "rose cottage, mill lane")
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
    assert match_parsed(ParsedPlace.of(marker), ParsedPlace.of(query)) is match_place(
        marker, query) is MatchKind.SAME_BLOCK


def test_person_matching() -> None:
    known = Person("John SMITH", date(1980, 2, 1))
    assert match_person(known, Person("smith, john", date(1980, 2, 1))) is MatchKind.PERSON
    assert match_person(known, Person("John Smith")) is MatchKind.NAME
    assert match_person(known, Person("Jon Smith", date(1980, 2, 1))) is MatchKind.NAME
    assert match_person(known, Person("John Smith", date(1981, 2, 1))) is None
    assert match_person(known, Person("Jane Doe")) is None


@pytest.mark.parametrize(("expires", "severity", "words"), [
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
])
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
        2027, 2, 28, 13, tzinfo=UTC)
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
        ReviewState.FIRST_STAGE)
    assert scheme_review_state(expires, asked, asked + timedelta(days=14)) is (
        ReviewState.SECOND_STAGE)
