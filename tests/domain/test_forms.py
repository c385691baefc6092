"""The new-incident form's checks without Qt: required fields, postcode, UPRNs, phone, dates
of birth, the grade letters, the reference lists, and what is matched and sent."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from dispatchdesk.domain.forms import (
    IncidentFormValues,
    dob_or_none,
    dob_text_problem,
    grade_for_letter,
    normalise_postcode,
    off_list,
    parse_dob,
    person_name,
)
from dispatchdesk.domain.grades import Grade
from dispatchdesk.domain.incident import Caller, Location
from dispatchdesk.domain.reference import FUTURE_DOB, LONDON_LISTS, NO_LISTS
from dispatchdesk.domain.warnings import Person, Place

TODAY = date(2026, 11, 23)
GOOD = IncidentFormValues(
    address="Flat 2, 14 Mare Street",
    postcode="e8 4rp",
    borough="hackney",
    type="domestic",
    summary="Shouting heard",
    grade=Grade.IMMEDIATE,
)


def test_normalise_postcode():
    assert normalise_postcode(" sw1a2aa ") == "SW1A 2AA"
    assert normalise_postcode("e8 1ab") == "E8 1AB"
    assert normalise_postcode("nonsense") == "NONSENSE"


def test_parse_dob_formats():
    today = date(2026, 11, 23)
    for typed in ("09/03/1984", "9/3/1984", " 09.03.1984 ", "09-03-1984", "1984-03-09"):
        assert parse_dob(typed, today) == date(1984, 3, 9), typed
    assert parse_dob("", today) is None
    assert parse_dob("23/11/2026", today) == today  # born today is not the future


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("09/03/84", "Give the year in full"),
        ("3/13/1984", "No such date"),
        ("yesterday", "Not a date"),
        ("24/11/2026", FUTURE_DOB),
        ("01/01/1899", "Before 1900"),
    ],
)
def test_a_dob_that_cannot_be_used_says_why(typed: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_dob(typed, TODAY)
    assert words in (dob_text_problem(typed, TODAY) or "")
    assert dob_or_none(typed, TODAY) is None, "matched by name alone, never hidden"


def test_grade_letters_either_case_and_nothing_else() -> None:
    assert [grade_for_letter(k) for k in "iSeR"] == [
        Grade.IMMEDIATE,
        Grade.SIGNIFICANT,
        Grade.EXTENDED,
        Grade.REFERRED,
    ]
    assert grade_for_letter("x") is None and grade_for_letter("") is None
    assert grade_for_letter("IS") is None


def test_complete_values_have_no_errors_and_send_the_lists_spelling() -> None:
    assert GOOD.errors(LONDON_LISTS, TODAY) == {}
    assert GOOD.location(LONDON_LISTS) == Location("Flat 2, 14 Mare Street", "E8 4RP", "Hackney")
    assert GOOD.caller(TODAY, anonymous=False) == Caller()


def test_every_required_field_and_the_grade() -> None:
    errors = IncidentFormValues(summary="   ").errors(LONDON_LISTS, TODAY)
    assert errors == {
        "address": "Required.",
        "borough": "Required.",
        "type": "Required.",
        "summary": "Required.",
        "postcode": "Required.",
        "grade": "Choose a grade: press I, S, E or R.",
    }


def test_malformed_fields_each_get_their_sentence() -> None:
    values = replace(
        GOOD, postcode="XYZ 123", uprn="12a", parent_uprn="1" * 13, caller_phone="call me"
    )
    assert values.errors(LONDON_LISTS, TODAY) == {
        "postcode": "Not a UK postcode (for example NW1 7AA).",
        "uprn": "A UPRN is digits only, up to 12.",
        "parent_uprn": "A UPRN is digits only, up to 12.",
        "caller_phone": "Digits, spaces and a leading + only.",
    }


def test_the_reference_lists_and_the_address_rule() -> None:
    values = replace(GOOD, borough="Gotham", type="Alien landing", address="123")
    errors = values.errors(LONDON_LISTS, TODAY)
    assert "not a borough this server knows" in errors["borough"]
    assert "type" in errors and "has no letters" in errors["address"]
    assert set(values.errors(NO_LISTS, TODAY)) == {"address"}, "no lists: the server decides"
    assert off_list(LONDON_LISTS.borough, "  ") is None, "blank is said as Required."


def test_dates_of_birth_need_names_and_persons_are_named_by_position() -> None:
    values = replace(
        GOOD, caller_dob="09/03/1984", persons=(("Gary Hollis", "2027-01-01"), ("", "09/03/1984"))
    )
    assert values.errors(LONDON_LISTS, TODAY) == {
        "caller_name": "Give the caller's name with the date of birth.",
        "person1_dob": FUTURE_DOB,
        "person2_name": "A name is required with a date of birth.",
    }


def test_what_is_matched_while_typing() -> None:
    assert IncidentFormValues(postcode="e8 4rp").place() is None, "nothing to match on yet"
    assert IncidentFormValues(uprn="100023", parent_uprn="12x", postcode="e84rp").place() == Place(
        uprn="100023", address=None, postcode="E8 4RP"
    )
    values = IncidentFormValues(
        caller_name=" Ann ",
        caller_dob="31/02/1980",
        persons=(("John   SMITH", "01/02/1980"), ("", "")),
    )
    assert values.people(TODAY) == [Person("Ann", None), Person("John SMITH", date(1980, 2, 1))]
    assert values.named_persons(TODAY) == (Person("John SMITH", date(1980, 2, 1)),)
    assert person_name("  Kim   Lee ") == "Kim Lee"


def test_has_input() -> None:
    assert not IncidentFormValues(address="  ", persons=(("", ""),)).has_input()
    assert IncidentFormValues(persons=(("", "1"),)).has_input()
    assert IncidentFormValues(grade=Grade.REFERRED).has_input()
