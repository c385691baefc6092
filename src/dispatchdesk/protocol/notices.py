"""Wire schemas of operational notices: a supervisor's message to every operator of some roles,
synced to every desk, with read receipts kept per user."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, Field, field_validator

from dispatchdesk.domain.roles import Role
from dispatchdesk.protocol.base import StrictWire, Wire


class NoticeCreate(StrictWire):
    """``POST /notices`` (supervisor)."""

    title: Annotated[str, Field(min_length=1, max_length=200)]
    body: Annotated[str, Field(min_length=1, max_length=5000)]
    #: The roles whose operators must read it (at least one).
    roles: Annotated[list[Role], Field(min_length=1, max_length=len(Role))]
    #: The notice stays as a banner on every desk until the operator acknowledges it.
    requires_ack: bool = False
    expires_at: AwareDatetime

    @field_validator("roles")
    @classmethod
    def _distinct(cls, value: list[Role]) -> list[Role]:
        if len(set(value)) != len(value):
            raise ValueError("name each role once")
        return value


class NoticeOut(Wire):
    """A notice as the change feed, the snapshot and ``POST /notices`` carry it."""

    id: int
    version: int
    title: str
    body: str
    roles: list[Role]
    requires_ack: bool
    expires_at: AwareDatetime
    created_by: str
    created_at: AwareDatetime


class NoticeReceipt(Wire):
    """One operator's read receipt (``read_at`` is None in ``not_read``)."""

    username: str
    role: Role
    read_at: AwareDatetime | None = None


class NoticeReadReply(Wire):
    """The reply to ``POST /notices/{id}/read``: the receipt, first read kept."""

    notice_id: int
    username: str
    read_at: AwareDatetime


class NoticeReceipts(Wire):
    """``GET /notices/{id}/receipts``: who has read it, and who of its roles has not."""

    notice: NoticeOut
    read: list[NoticeReceipt]
    not_read: list[NoticeReceipt]


class NoticeForMe(Wire):
    """One entry of ``GET /notices``: a live notice for the caller's role, and when the caller
    read it (None: not yet)."""

    notice: NoticeOut
    read_at: AwareDatetime | None = None
