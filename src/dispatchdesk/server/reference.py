"""The server's checks of data that would spoil matching and statistics: a borough or incident
type outside the server's lists, an address with no letters, a date of birth in the future.

Each check gives the body to store (the lists' spelling of a borough or type) and its problems
as ``(location, sentence)``, the location as FastAPI gives it without ``"body"``; callers turn
problems into a 422 (:func:`field_errors`) or into an import's line-by-line report.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from dispatchdesk.domain.reference import ReferenceLists, address_problem, dob_problem
from dispatchdesk.protocol.schemas import IncidentCreate, UnitCreate
from dispatchdesk.protocol.warnings import OrderCreate

#: Why ``caller.anonymous`` without ``caller.anonymity_requested`` is refused.
ANONYMITY_UNASKED = (
    "Anonymity is recorded only when the caller asks for it: never offer it. If the caller "
    "asked to stay anonymous, send anonymity_requested as well."
)

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]


def field_errors(problems: list[Problem]) -> list[dict[str, Any]]:
    """Problems as the ``detail`` of a 422, shaped like FastAPI's own."""
    return [{"loc": ["body", *loc], "msg": msg, "type": "value_error"} for loc, msg in problems]


def checked_incident(
    body: IncidentCreate, lists: ReferenceLists, today: date
) -> tuple[IncidentCreate, list[Problem]]:
    """The incident to store (borough and type spelt as on the lists) and its problems."""
    problems: list[Problem] = []
    location = body.location
    borough, kind = location.borough, body.type
    try:
        borough = lists.borough(location.borough)
    except ValueError as exc:
        problems.append((("location", "borough"), str(exc)))
    try:
        kind = lists.incident_type(body.type)
    except ValueError as exc:
        problems.append((("type",), str(exc)))
    if (problem := address_problem(location.address)) is not None:
        problems.append((("location", "address"), problem))
    if (problem := dob_problem(body.caller.dob, today)) is not None:
        problems.append((("caller", "dob"), problem))
    if body.caller.anonymous and not body.caller.anonymity_requested:
        problems.append((("caller", "anonymous"), ANONYMITY_UNASKED))
    for i, person in enumerate(body.persons):
        if (problem := dob_problem(person.dob, today)) is not None:
            problems.append((("persons", i, "dob"), problem))
    checked = body.model_copy(
        update={
            "type": kind,
            "location": location.model_copy(update={"borough": borough}),
        }
    )
    return checked, problems


def checked_unit(body: UnitCreate, lists: ReferenceLists) -> tuple[UnitCreate, list[Problem]]:
    """The unit to store (its borough spelt as on the list) and its problems."""
    try:
        return body.model_copy(update={"borough": lists.borough(body.borough)}), []
    except ValueError as exc:
        return body, [(("borough",), str(exc))]


def order_dob_problems(body: OrderCreate, today: date) -> list[Problem]:
    """Dates of birth after ``today`` of an order's subject and protected persons."""
    problems: list[Problem] = []
    if (problem := dob_problem(body.subject.dob, today)) is not None:
        problems.append((("subject", "dob"), problem))
    for i, person in enumerate(body.protected_persons):
        if (problem := dob_problem(person.dob, today)) is not None:
            problems.append((("protected_persons", i, "dob"), problem))
    return problems
