"""Reference lists and the checks of data that would spoil matching and statistics.

The boroughs and incident types a server accepts are server policy: the server refuses a value
outside its lists (ignoring case and extra spaces) and stores the list's spelling; the lists
travel to desks in the snapshot so the new-incident form offers them and checks first, with the
same sentences. An address with no letters ("!!", "123") and a date of birth after today are
refused everywhere too.

``LONDON_LISTS`` is what the reference server ships with (London's 32 boroughs and the City,
and the incident types the simulator and the Met's call handlers use). An empty list means the
server sent none (an older server): the desk then checks nothing there and the server decides.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

#: London's 32 boroughs and the City of London.
LONDON_BOROUGHS: tuple[str, ...] = (
    "Barking and Dagenham",
    "Barnet",
    "Bexley",
    "Brent",
    "Bromley",
    "Camden",
    "City of London",
    "Croydon",
    "Ealing",
    "Enfield",
    "Greenwich",
    "Hackney",
    "Hammersmith and Fulham",
    "Haringey",
    "Harrow",
    "Havering",
    "Hillingdon",
    "Hounslow",
    "Islington",
    "Kensington and Chelsea",
    "Kingston upon Thames",
    "Lambeth",
    "Lewisham",
    "Merton",
    "Newham",
    "Redbridge",
    "Richmond upon Thames",
    "Southwark",
    "Sutton",
    "Tower Hamlets",
    "Waltham Forest",
    "Wandsworth",
    "Westminster",
)

#: Incident types: those the simulator sends, and others a call handler commonly records.
INCIDENT_TYPES: tuple[str, ...] = (
    "Domestic",
    "ASB",
    "Burglary",
    "RTC",
    "Concern for welfare",
    "Theft",
    "Assault",
    "Robbery",
    "Suspicious person",
    "Missing person",
    "Criminal damage",
    "Sexual offence",
    "Harassment",
    "Stalking",
    "Hate crime",
    "Breach of order",
    "Public order",
    "Drugs",
    "Weapons",
    "Fraud",
    "Sudden death",
    "Alarm",
    "Lost property",
    "Civil dispute",
    "Advice",
)

#: How many close values a refusal suggests.
SUGGESTIONS = 3

FUTURE_DOB = "A date of birth cannot be in the future."


def list_key(text: str) -> str:
    """What two spellings of one list value share: case and runs of spaces ignored."""
    return " ".join(text.split()).casefold()


def _check_list(name: str, values: Sequence[str]) -> tuple[str, ...]:
    out = tuple(" ".join(v.split()) for v in values)
    if any(not v for v in out):
        raise ValueError(f"the {name} list has a blank entry")
    keys = [list_key(v) for v in out]
    if len(set(keys)) != len(keys):
        twice = sorted({k for k in keys if keys.count(k) > 1})
        raise ValueError(f"the {name} list names {', '.join(twice)} twice")
    return out


@dataclass(frozen=True)
class ReferenceLists:
    """The values a server accepts for an incident's (and a unit's) borough and an incident's
    type. Empty: no list, any value (an older server that sends none)."""

    boroughs: tuple[str, ...] = ()
    incident_types: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "boroughs", _check_list("borough", self.boroughs))
        object.__setattr__(
            self, "incident_types", _check_list("incident type", self.incident_types)
        )

    def borough(self, value: str) -> str:
        """The list's spelling of ``value``; :class:`ValueError` with the sentence to show
        when it is not on the list."""
        return pick(value, self.boroughs, "a borough")

    def incident_type(self, value: str) -> str:
        """As :meth:`borough`, for an incident type."""
        return pick(value, self.incident_types, "an incident type")


NO_LISTS = ReferenceLists()
LONDON_LISTS = ReferenceLists(LONDON_BOROUGHS, INCIDENT_TYPES)


def close_values(value: str, options: Sequence[str], n: int = SUGGESTIONS) -> list[str]:
    """Up to ``n`` values of ``options`` close to ``value``: those containing it or starting
    with one of its words first, then those spelt alike."""
    key = list_key(value)
    if not key:
        return []
    by_key = {list_key(o): o for o in options}
    words = key.split()
    found = [
        o
        for k, o in by_key.items()
        if key in k
        or any(w.startswith(word) for w in k.split() for word in words if len(word) >= 3)
    ]
    for k in difflib.get_close_matches(key, list(by_key), n=n, cutoff=0.5):
        if by_key[k] not in found:
            found.append(by_key[k])
    return found[:n]


def pick(value: str, options: Sequence[str], what: str) -> str:
    """The spelling in ``options`` of ``value`` (case and extra spaces ignored); ``value``
    tidied when there is no list. Raises :class:`ValueError` with a sentence naming a few
    close values, for ``what`` ("a borough")."""
    tidy = " ".join(value.split())
    if not options:
        return tidy
    key = list_key(tidy)
    for option in options:
        if list_key(option) == key:
            return option
    close = close_values(tidy, options)
    if close:
        hint = "Did you mean " + _or(close) + "?"
    else:
        hint = f"Choose one from the list ({len(options)} on it)."
    shown = tidy if len(tidy) <= 60 else tidy[:60] + "…"  # never echo a long value back
    raise ValueError(f"“{shown}” is not {what} this server knows. {hint}")


def _or(values: Sequence[str]) -> str:
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]


def address_problem(address: str) -> str | None:
    """A sentence when an address cannot be one (no letters at all: "!!", "123"), else None."""
    if address.strip() and not any(c.isalpha() for c in address):
        return (
            "An address needs a street, building or place name: "
            f"“{address.strip()}” has no letters."
        )
    return None


def dob_problem(dob: date | None, today: date) -> str | None:
    """A sentence when a date of birth is after ``today`` (the control room's date), else
    None."""
    if dob is not None and dob > today:
        return FUTURE_DOB
    return None
