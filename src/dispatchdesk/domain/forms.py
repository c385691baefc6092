"""The new-incident form's checks, free of Qt: what the form's fields hold, as text, and what
is wrong with it, in the sentences the form shows under each field.

:class:`IncidentFormValues` is a snapshot of the fields as typed. :meth:`~IncidentFormValues.errors`
names every field that is not acceptable (required fields, postcode, UPRNs, phone, dates of
birth, the grade, the server's reference lists and the address rule the server applies too);
:meth:`~IncidentFormValues.place` and :meth:`~IncidentFormValues.people` are what the form
matches warnings on while the call is being typed; :meth:`~IncidentFormValues.location`,
:meth:`~IncidentFormValues.caller` and :meth:`~IncidentFormValues.persons` what it sends.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from dispatchdesk.domain.grades import Grade
from dispatchdesk.domain.incident import Caller, Location
from dispatchdesk.domain.reference import FUTURE_DOB, ReferenceLists, address_problem, dob_problem
from dispatchdesk.domain.warnings import Person, Place

POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")
UPRN = re.compile(r"^[0-9]{1,12}$")
PHONE = re.compile(r"^\+?[0-9 ()-]{6,20}$")
#: 09/03/1984, 9/3/1984, 09.03.1984, 09-03-1984 (day first, as callers say it in the UK).
_DMY = re.compile(r"^(\d{1,2})[/.\- ](\d{1,2})[/.\- ](\d{2}|\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
#: Older than this is taken for a mistyped year rather than a caller's age.
_EARLIEST_DOB = date(1900, 1, 1)
DOB_FORMAT_HINT = "dd/mm/yyyy, for example 09/03/1984"
#: The letter that picks each grade in the form's grade field.
GRADE_LETTERS: dict[str, Grade] = {
    "I": Grade.IMMEDIATE,
    "S": Grade.SIGNIFICANT,
    "E": Grade.EXTENDED,
    "R": Grade.REFERRED,
}
CHOOSE_GRADE = "Choose a grade: press I, S, E or R."


def grade_for_letter(letter: str) -> Grade | None:
    """The grade a key picks in the grade field (``i`` or ``I``), None for any other key."""
    return GRADE_LETTERS.get(letter.upper()) if len(letter) == 1 else None


#: Keys typed in the grade field closer together than this (seconds) are a word being typed.
GRADE_WORD_GAP = 0.6


def grade_word_refused(typed: str) -> str:
    return (
        f"“{typed}…” is not a grade: a word is not read by its first letter. "
        "Press one letter: I, S, E or R."
    )


def grade_key_refused(typed: str) -> str:
    return f"“{typed}” is not a grade. Press one letter: I, S, E or R."


class GradeTyping:
    """Reads the keys typed in the grade field: one letter on its own picks a grade; a word
    (keys in quick succession) or any other character is refused, never read by its first
    letter. :meth:`key` returns (the grade to show, or None for none; the refusal, if any)."""

    def __init__(self, gap: float = GRADE_WORD_GAP) -> None:
        self._gap = gap
        self._last: float | None = None
        self._typed = ""

    def key(
        self, text: str, at: float, grade: Grade | None = None
    ) -> tuple[Grade | None, str | None]:
        """``text`` typed at ``at`` (seconds); ``grade``: the grade its key stands for when
        the keyboard layout types something else (else read from ``text``)."""
        in_word = self._last is not None and at - self._last < self._gap
        self._last = at
        self._typed = self._typed + text if in_word else text
        if in_word:
            return None, grade_word_refused(self._typed)
        grade = grade or grade_for_letter(text)
        return (grade, None) if grade is not None else (None, grade_key_refused(text))

    def pause(self) -> None:
        """Another key or the focus left: the next letter starts afresh."""
        self._last = None
        self._typed = ""


def normalise_postcode(text: str) -> str:
    """``nw17aa`` → ``NW1 7AA``; returns the text upper-cased when it is not a postcode."""
    compact = re.sub(r"\s+", "", text.upper())
    candidate = f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact
    return candidate if POSTCODE.match(candidate) else text.strip().upper()


def parse_dob(text: str, today: date) -> date | None:
    """A date of birth as typed (``09/03/1984``, ``9.3.1984`` or ISO ``1984-03-09``);
    None when empty. Raises :class:`ValueError` with the message to show for anything else,
    including a date after ``today`` (the control room's date)."""
    text = text.strip()
    if not text:
        return None
    if m := _ISO.match(text):
        year, month, day = (int(g) for g in m.groups())
    elif m := _DMY.match(text):
        day, month, year = (int(g) for g in m.groups())
        if len(m.group(3)) == 2:
            # 09/03/84 could be 1984 or 2084 to a parser, and a wrong century silently
            # stops an order matching: ask for the year in full instead of guessing.
            raise ValueError(f"Give the year in full ({DOB_FORMAT_HINT}).")
    else:
        raise ValueError(f"Not a date: type the date of birth as {DOB_FORMAT_HINT}.")
    try:
        dob = date(year, month, day)
    except ValueError:
        raise ValueError(f"No such date: {text} (day first: {DOB_FORMAT_HINT}).") from None
    if dob_problem(dob, today) is not None:
        raise ValueError(FUTURE_DOB)
    if dob < _EARLIEST_DOB:
        raise ValueError(f"Before {_EARLIEST_DOB.year}: check the year.")
    return dob


def dob_text_problem(text: str, today: date) -> str | None:
    """The sentence for a date of birth as typed, None when it is empty or fine."""
    try:
        parse_dob(text, today)
    except ValueError as e:
        return str(e)
    return None


def dob_or_none(text: str, today: date) -> date | None:
    """The date of birth typed, or None while it is empty or not (yet) a valid date: a
    person is then matched by name alone, shown as a possible match, never hidden."""
    try:
        return parse_dob(text, today)
    except ValueError:
        return None


def person_name(text: str) -> str:
    """The name as typed, with runs of spaces made one (a double space is a typing slip)."""
    return " ".join(text.split())


def off_list(pick: Callable[[str], str], text: str) -> str | None:
    """The sentence for a value not on its list (blank is "Required.", said elsewhere)."""
    if not text.strip():
        return None
    try:
        pick(text)
    except ValueError as exc:
        return str(exc)
    return None


@dataclass(frozen=True)
class IncidentFormValues:
    """The new-incident form's fields as typed (``persons``: each named person's name and
    date of birth, in the form's order)."""

    address: str = ""
    postcode: str = ""
    uprn: str = ""
    parent_uprn: str = ""
    borough: str = ""
    type: str = ""
    summary: str = ""
    caller_name: str = ""
    caller_phone: str = ""
    caller_dob: str = ""
    grade: Grade | None = None
    persons: tuple[tuple[str, str], ...] = ()

    def has_input(self) -> bool:
        texts = (
            self.address,
            self.postcode,
            self.uprn,
            self.parent_uprn,
            self.borough,
            self.type,
            self.summary,
            self.caller_name,
            self.caller_phone,
            self.caller_dob,
            *(t for person in self.persons for t in person),
        )
        return any(t.strip() for t in texts) or self.grade is not None

    def errors(self, reference: ReferenceLists, today: date) -> dict[str, str]:
        """Field name → message, for every field that is not acceptable (the persons' fields
        are ``person1_name``, ``person1_dob``, ... by position)."""
        errors: dict[str, str] = {}
        for name, problem in (
            ("address", address_problem(self.address)),
            ("borough", off_list(reference.borough, self.borough)),
            ("type", off_list(reference.incident_type, self.type)),
        ):
            if problem is not None:
                errors[name] = problem
        required = {
            "address": self.address,
            "borough": self.borough,
            "type": self.type,
            "summary": self.summary,
            "postcode": self.postcode,
        }
        for name, text in required.items():
            if not text.strip():
                errors[name] = "Required."
        postcode = self.postcode.strip()
        if postcode and not POSTCODE.match(normalise_postcode(postcode)):
            errors["postcode"] = "Not a UK postcode (for example NW1 7AA)."
        for name, text in (("uprn", self.uprn), ("parent_uprn", self.parent_uprn)):
            if text.strip() and not UPRN.match(text.strip()):
                errors[name] = "A UPRN is digits only, up to 12."
        phone = self.caller_phone.strip()
        if phone and not PHONE.match(phone):
            errors["caller_phone"] = "Digits, spaces and a leading + only."
        errors.update(self.dob_errors(today))
        if self.grade is None:
            errors["grade"] = CHOOSE_GRADE
        return errors

    def dob_errors(self, today: date) -> dict[str, str]:
        """The dates of birth, and the names they need."""
        errors: dict[str, str] = {}
        problem = dob_text_problem(self.caller_dob, today)
        if problem:
            errors["caller_dob"] = problem
        if self.caller_dob.strip() and not self.caller_name.strip():
            # On the name: that is what is missing (a DOB alone matches nobody).
            errors["caller_name"] = "Give the caller's name with the date of birth."
        for n, (name, dob) in enumerate(self.persons, 1):
            problem = dob_text_problem(dob, today)
            if problem:
                errors[f"person{n}_dob"] = problem
            if dob.strip() and not name.strip():
                errors[f"person{n}_name"] = "A name is required with a date of birth."
        return errors

    def place(self) -> Place | None:
        """The location as typed so far, or None while there is nothing to match on."""
        address = self.address.strip() or None
        uprn, parent = self.uprn.strip(), self.parent_uprn.strip()
        postcode = self.postcode.strip()
        place = Place(
            uprn=uprn if UPRN.match(uprn) else None,
            parent_uprn=parent if UPRN.match(parent) else None,
            address=address,
            postcode=normalise_postcode(postcode) if postcode else None,
        )
        return place if place.address or place.uprn or place.parent_uprn else None

    def people(self, today: date) -> list[Person]:
        """The persons to match: the caller and everyone named, each with the date of birth
        when one is typed (and valid), so an order's subject matches exactly."""
        people = []
        name = self.caller_name.strip()
        if name:
            people.append(Person(name=name, dob=dob_or_none(self.caller_dob, today)))
        for typed, dob in self.persons:
            name = person_name(typed)
            if name:
                people.append(Person(name=name, dob=dob_or_none(dob, today)))
        return people

    # -- what is sent (after validation) -------------------------------------------------------

    def location(self, reference: ReferenceLists) -> Location:
        return Location(
            address=self.address.strip(),
            postcode=normalise_postcode(self.postcode),
            borough=reference.borough(self.borough),
            uprn=self.uprn.strip() or None,
            parent_uprn=self.parent_uprn.strip() or None,
        )

    def caller(self, today: date, *, anonymous: bool) -> Caller:
        """``anonymous``: the caller asked to stay anonymous (the only way it is recorded)."""
        return Caller(
            name=self.caller_name.strip() or None,
            phone=self.caller_phone.strip() or None,
            anonymous=anonymous,
            dob=parse_dob(self.caller_dob, today),
            anonymity_requested=anonymous,
        )

    def named_persons(self, today: date) -> tuple[Person, ...]:
        return tuple(
            Person(name=name, dob=parse_dob(dob, today))
            for typed, dob in self.persons
            if (name := person_name(typed))
        )
