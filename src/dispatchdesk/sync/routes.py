"""Where each kind of command goes on the server, and what its reply confirms.

The outbox stores commands by kind; :data:`ROUTES` turns one into an HTTP request. A reply
that is an entity the change feed also carries (incident, unit, scheme) keeps the command SENT
until the feed has brought that entity at the returned version; other replies (a divert
review, a warning audit) finish the command at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from dispatchdesk.domain.commands import CommandKind
from dispatchdesk.protocol.schemas import DivertModel, IncidentOut, UnitOut
from dispatchdesk.protocol.warnings import SchemeOut


class AuditReply(BaseModel):
    """The reply to ``/warnings/{kind}/{id}/shown|acknowledge``."""

    kind: str
    id: int
    incident_id: int
    action: str
    by: str


class SchemeEnded(BaseModel):
    """The reply to ``/schemes/{id}/end`` (the scheme itself is no longer served)."""

    id: int


@dataclass(frozen=True)
class Route:
    method: str
    #: Formatted with the command's ``path_args`` (``unit_id``, ``incident_id``, ``id``, ...).
    path: str
    reply: type[BaseModel]
    #: The synced entity the reply is ("" when the feed will not confirm it).
    entity: str

    def url(self, args: dict[str, Any]) -> str:
        return self.path.format(**args)


ROUTES: dict[CommandKind, Route] = {
    CommandKind.CREATE_INCIDENT: Route("POST", "/incidents", IncidentOut, "incident"),
    CommandKind.UPDATE_INCIDENT: Route("PATCH", "/incidents/{incident_id}", IncidentOut,
                                       "incident"),
    CommandKind.CLOSE_INCIDENT: Route("POST", "/incidents/{incident_id}/close", IncidentOut,
                                      "incident"),
    CommandKind.ASSIGN_UNIT: Route("POST", "/units/{unit_id}/assign", UnitOut, "unit"),
    CommandKind.DIVERT_UNIT: Route("POST", "/units/{unit_id}/divert", UnitOut, "unit"),
    CommandKind.ARRIVE_UNIT: Route("POST", "/units/{unit_id}/arrive", UnitOut, "unit"),
    CommandKind.CLEAR_UNIT: Route("POST", "/units/{unit_id}/clear", UnitOut, "unit"),
    CommandKind.UNIT_STATUS: Route("POST", "/units/{unit_id}/status", UnitOut, "unit"),
    CommandKind.REVIEW_DIVERT: Route("POST", "/diverts/{id}/review", DivertModel, ""),
    CommandKind.EXTEND_SCHEME: Route("POST", "/schemes/{id}/extend", SchemeOut, "scheme"),
    CommandKind.END_SCHEME: Route("POST", "/schemes/{id}/end", SchemeEnded, ""),
    CommandKind.REQUEST_SCHEME_REVIEW: Route("POST", "/schemes/{id}/review-request", SchemeOut,
                                             "scheme"),
    CommandKind.SCHEME_VICTIM_INFORMED: Route("POST", "/schemes/{id}/victim-informed",
                                              SchemeOut, "scheme"),
    CommandKind.SCHEME_VICTIM_CONTACT: Route("POST", "/schemes/{id}/victim-contact",
                                             SchemeOut, "scheme"),
    CommandKind.WARNING_SHOWN: Route("POST", "/warnings/{kind}/{id}/shown", AuditReply, ""),
    CommandKind.WARNING_ACKNOWLEDGED: Route("POST", "/warnings/{kind}/{id}/acknowledge",
                                            AuditReply, ""),
}
