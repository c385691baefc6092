"""Reference lists: case and spaces aside, the list's spelling; close values suggested."""

from __future__ import annotations

from datetime import date

import pytest

from dispatchdesk.domain.reference import (
    LONDON_BOROUGHS,
    LONDON_LISTS,
    NO_LISTS,
    ReferenceLists,
    address_problem,
    close_values,
    dob_problem,
)


def test_london_has_32_boroughs_and_the_city() -> None:
    assert len(LONDON_BOROUGHS) == 33 and "City of London" in LONDON_BOROUGHS


@pytest.mark.parametrize(
    ("typed", "spelt"),
    [
        ("westminster", "Westminster"),
        ("  TOWER   hamlets ", "Tower Hamlets"),
        ("city of london", "City of London"),
    ],
)
def test_a_borough_is_spelt_as_on_the_list(typed: str, spelt: str) -> None:
    assert LONDON_LISTS.borough(typed) == spelt


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("Narnia", ["Barnet"]),
        ("Camdem", ["Camden"]),
        ("Westminister", ["Westminster"]),
        ("kensington", ["Kensington and Chelsea"]),
        ("Richmond", ["Richmond upon Thames"]),
    ],
)
def test_close_boroughs_are_suggested(typed: str, suggested: list[str]) -> None:
    assert close_values(typed, LONDON_BOROUGHS)[: len(suggested)] == suggested
    with pytest.raises(ValueError) as err:
        LONDON_LISTS.borough(typed)
    assert f"“{typed}” is not a borough this server knows. Did you mean {suggested[0]}" in str(
        err.value
    )


def test_nothing_close_names_the_list() -> None:
    with pytest.raises(ValueError, match=r"not an incident type this server knows\. Choose one"):
        ReferenceLists(incident_types=("Fire",)).incident_type("Alien landing")


def test_no_list_takes_any_value_tidied() -> None:
    assert NO_LISTS.borough("  Anywhere   at all ") == "Anywhere at all"


@pytest.mark.parametrize(
    "lists",
    [
        {"boroughs": ("Camden", " camden ")},
        {"incident_types": ("Fire", "")},
    ],
)
def test_a_list_with_a_value_twice_or_blank_is_refused(lists: dict[str, tuple[str, ...]]) -> None:
    with pytest.raises(ValueError):
        ReferenceLists(**lists)


def test_address_and_date_of_birth() -> None:
    for bad in ("!!", "123", " 12-14 ", "#"):
        assert address_problem(bad) is not None, bad
    for good in ("12a High Street", "Flat 2", "Çatalhöyük Road", ""):
        assert address_problem(good) is None, good
    today = date(2026, 11, 23)
    assert dob_problem(date(2026, 11, 24), today) == "A date of birth cannot be in the future."
    assert dob_problem(today, today) is None and dob_problem(None, today) is None
