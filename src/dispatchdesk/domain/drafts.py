"""A half-typed form, kept through a crash: what the new-incident form holds, as text.

:class:`FormDraft` is the form's fields as typed (:class:`IncidentFormValues`, the people named
included) plus the anonymity tick and the appointment, in a JSON shape the cache keeps
(``drafts`` table) while the operator types, and offers back at the next start. Nothing in it
is checked: it is what was typed, valid or not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dispatchdesk.domain.forms import IncidentFormValues
from dispatchdesk.domain.grades import Grade

#: The cache's key for the new-incident form's draft.
NEW_INCIDENT_FORM = "new_incident"

_TEXTS = (
    "address",
    "postcode",
    "uprn",
    "parent_uprn",
    "borough",
    "type",
    "summary",
    "caller_name",
    "caller_phone",
    "caller_dob",
)


@dataclass(frozen=True)
class FormDraft:
    """The new-incident form as typed; ``saved_at`` is when the cache got it (local wall)."""

    values: IncidentFormValues = field(default_factory=IncidentFormValues)
    anonymous: bool = False
    appointment_agreed: bool = False
    #: The appointment field's local date and time, ISO (``None``: left as the form set it).
    appointment: str | None = None
    saved_at: datetime | None = None

    def has_input(self) -> bool:
        return self.values.has_input() or self.anonymous or self.appointment_agreed

    def to_json(self) -> str:
        v = self.values
        data: dict[str, Any] = {name: getattr(v, name) for name in _TEXTS}
        data["grade"] = v.grade.value if v.grade is not None else None
        data["persons"] = [list(p) for p in v.persons]
        data["anonymous"] = self.anonymous
        data["appointment_agreed"] = self.appointment_agreed
        data["appointment"] = self.appointment
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str, saved_at: datetime | None = None) -> FormDraft:
        """Read a saved draft; a field this version does not know is ignored, a missing one
        is blank (a draft outlives an upgrade)."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("a form draft is a JSON object")
        grade = data.get("grade")
        values = IncidentFormValues(
            **{name: str(data.get(name) or "") for name in _TEXTS},
            grade=Grade(grade) if grade in {g.value for g in Grade} else None,
            persons=tuple((str(n), str(d)) for n, d in data.get("persons") or ()),
        )
        appointment = data.get("appointment")
        return cls(
            values=values,
            anonymous=bool(data.get("anonymous")),
            appointment_agreed=bool(data.get("appointment_agreed")),
            appointment=str(appointment) if appointment else None,
            saved_at=saved_at,
        )

    def headline(self) -> str:
        """A line naming the draft for the operator: "Burglary at 12 High Street (2 people
        named)", from whatever was typed."""
        v = self.values
        what = v.type.strip() or (f"Grade {v.grade.value}" if v.grade else "An incident")
        where = v.address.strip() or v.postcode.strip() or (f"UPRN {v.uprn}" if v.uprn else "")
        text = f"{what} at {where}" if where else what
        named = sum(1 for name, dob in v.persons if name.strip() or dob.strip())
        if named:
            text += f" ({named} {'person' if named == 1 else 'people'} named)"
        return text
