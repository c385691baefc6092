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

from dispatchdesk.cache.entities import INCIDENT, NOTICE, SCHEME, UNIT, SyncedEntity
from dispatchdesk.domain.commands import CommandKind
from dispatchdesk.protocol.notices import NoticeReadReply
from dispatchdesk.protocol.schemas import DivertModel


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
    #: The synced entity the reply is (None when the feed will not confirm it).
    entity: SyncedEntity[Any, Any] | None = None

    def url(self, args: dict[str, Any]) -> str:
        return self.path.format(**args)

    @property
    def entity_name(self) -> str:
        """As ``OutboxEntry.result_entity`` records it ("" when nothing confirms it)."""
        return self.entity.name if self.entity is not None else ""


def _confirmed(method: str, path: str, entity: SyncedEntity[Any, Any]) -> Route:
    """A route whose reply is ``entity`` at a version the feed will bring."""
    return Route(method, path, entity.wire, entity)


ROUTES: dict[CommandKind, Route] = {
    CommandKind.CREATE_INCIDENT: _confirmed("POST", "/incidents", INCIDENT),
    CommandKind.UPDATE_INCIDENT: _confirmed("PATCH", "/incidents/{incident_id}", INCIDENT),
    CommandKind.CLOSE_INCIDENT: _confirmed("POST", "/incidents/{incident_id}/close", INCIDENT),
    CommandKind.TASK_DONE: _confirmed(
        "POST", "/incidents/{incident_id}/tasks/{task_id}/done", INCIDENT
    ),
    CommandKind.TASK_NOT_DONE: _confirmed(
        "POST", "/incidents/{incident_id}/tasks/{task_id}/not-done", INCIDENT
    ),
    CommandKind.ASSIGN_UNIT: _confirmed("POST", "/units/{unit_id}/assign", UNIT),
    CommandKind.DIVERT_UNIT: _confirmed("POST", "/units/{unit_id}/divert", UNIT),
    CommandKind.ARRIVE_UNIT: _confirmed("POST", "/units/{unit_id}/arrive", UNIT),
    CommandKind.CLEAR_UNIT: _confirmed("POST", "/units/{unit_id}/clear", UNIT),
    CommandKind.UNIT_STATUS: _confirmed("POST", "/units/{unit_id}/status", UNIT),
    CommandKind.REVIEW_DIVERT: Route("POST", "/diverts/{id}/review", DivertModel),
    CommandKind.EXTEND_SCHEME: _confirmed("POST", "/schemes/{id}/extend", SCHEME),
    CommandKind.END_SCHEME: Route("POST", "/schemes/{id}/end", SchemeEnded),
    CommandKind.REQUEST_SCHEME_REVIEW: _confirmed("POST", "/schemes/{id}/review-request", SCHEME),
    CommandKind.SCHEME_VICTIM_INFORMED: _confirmed("POST", "/schemes/{id}/victim-informed", SCHEME),
    CommandKind.SCHEME_VICTIM_CONTACT: _confirmed("POST", "/schemes/{id}/victim-contact", SCHEME),
    CommandKind.APPROVE_DOWNGRADE: _confirmed(
        "POST", "/incidents/{incident_id}/downgrade/approve", INCIDENT
    ),
    CommandKind.REJECT_DOWNGRADE: _confirmed(
        "POST", "/incidents/{incident_id}/downgrade/reject", INCIDENT
    ),
    CommandKind.WARNING_SHOWN: Route("POST", "/warnings/{kind}/{id}/shown", AuditReply),
    CommandKind.WARNING_ACKNOWLEDGED: Route(
        "POST", "/warnings/{kind}/{id}/acknowledge", AuditReply
    ),
    CommandKind.POST_NOTICE: _confirmed("POST", "/notices", NOTICE),
    CommandKind.NOTICE_READ: Route("POST", "/notices/{id}/read", NoticeReadReply),
    CommandKind.LINK_INCIDENT: _confirmed("POST", "/incidents/{incident_id}/links", INCIDENT),
    CommandKind.UNLINK_INCIDENT: _confirmed(
        "POST", "/incidents/{incident_id}/links/{other_id}/remove", INCIDENT
    ),
}
