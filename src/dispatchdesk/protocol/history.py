"""Wire models of history: the earlier incidents at a location and involving the same people
(``GET /history`` and ``GET /incidents/{id}/history``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from dispatchdesk.protocol.base import Wire
from dispatchdesk.protocol.schemas import IncidentCreate, IncidentOut, IncidentPersonOut

#: What an earlier incident matched: the location asked about, a person asked about, or (for
#: an incident's history) a link to it.
MatchedOn = Literal["location", "person", "link"]


class HistoryMatch(Wire):
    """One way an earlier incident matched."""

    matched_on: MatchedOn
    #: How: for a location uprn, parent_uprn, child_uprn, street_house, same_block, address,
    #: same_address; for a person person (name and date of birth) or name; for a link the
    #: relation as seen from the incident asked about (RELATED, DUPLICATE, PARENT, CHILD).
    match: str
    #: A weak match (same_block, address, name), shown as a *possible match*, never hidden.
    possible: bool = False
    #: The person on the earlier incident who matched, with their role there.
    person: IncidentPersonOut | None = None
    #: ``GET /incidents/{id}/history``: which of that incident's people this matched (with
    #: their role on it); null for the location and links. ``GET /history``: the person asked.
    query_person: IncidentPersonOut | None = None


class HistoryEntry(Wire):
    """An earlier incident, with its strongest match flattened (``matched_on``, ``match``,
    ``possible``, ``person``, ``query_person``) and every match in ``matches``, strongest
    first (an incident at the address involving the same person matches twice)."""

    incident: IncidentOut
    matched_on: MatchedOn
    match: str
    possible: bool = False
    person: IncidentPersonOut | None = None
    query_person: IncidentPersonOut | None = None
    matches: list[HistoryMatch] = []


class HistoryPage(Wire):
    server_time: AwareDatetime
    #: The start of the window searched (server time minus the policy's ``history_years``, or
    #: the ``years`` asked for); linked incidents are listed whatever their age.
    since: AwareDatetime
    #: Most recent first, at most 200.
    incidents: list[HistoryEntry]
    #: More incidents matched than were sent.
    truncated: bool = False
    #: ``GET /incidents/{id}/history``: the incident asked about (never in ``incidents``).
    incident_id: int | None = None


class IncidentImport(IncidentCreate):
    """One line of ``dispatchdesk import incidents FILE.jsonl``: an incident as created on the
    wire, with the reference, times and rationale it had in the system it comes from."""

    #: Kept as given (unique).
    ref: Annotated[str, Field(min_length=1, max_length=40)]
    created_at: AwareDatetime
    #: Null: still open (it joins the live queue).
    closed_at: AwareDatetime | None = None
    #: The closing rationale; required with ``closed_at``.
    rationale: str | None = Field(default=None, max_length=2000)
    #: When the first unit arrived, if one did.
    attended_at: AwareDatetime | None = None
