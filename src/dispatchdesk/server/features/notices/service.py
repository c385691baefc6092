"""Operational notices, pure of HTTP.

A supervisor posts a notice (title, body, the roles it is for, whether it must be
acknowledged, when it expires); it is a synced entity, so every desk has it within a second and
keeps it offline. Reading is per user: ``read`` records a receipt (the first read is kept, so a
desk that sends its read again after a lost reply changes nothing), and ``receipts`` tells a
supervisor who of the notice's roles has read it and who has not, so guidance reaches staff who
work only the odd shift. Receipts are not in the change feed: they are one operator's, and every
desk keeps its own operator's reads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from dispatchdesk.domain.roles import Right, Role, has_right
from dispatchdesk.protocol.notices import (
    NoticeCreate,
    NoticeOut,
    NoticeReadReply,
    NoticeReceipt,
    NoticeReceipts,
)
from dispatchdesk.server.auth import User
from dispatchdesk.server.db import read_tx, users
from dispatchdesk.server.errors import Forbidden, Invalid, NotFound
from dispatchdesk.server.features.notices.tables import notice_receipts, notices
from dispatchdesk.server.runner import CommandResult, CommandRunner, Idem

ENTITY = "notice"


def notice_out(row: Row[Any]) -> NoticeOut:
    return NoticeOut(
        id=row.id,
        version=row.version,
        title=row.title,
        body=row.body,
        roles=[Role(r) for r in row.roles.split(",")],
        requires_ack=bool(row.requires_ack),
        expires_at=row.expires_at,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def is_for(notice: NoticeOut, role: Role) -> bool:
    """Whether an operator of ``role`` is asked to read ``notice``."""
    return role in notice.roles


def supervisor(user: User, doing: str) -> None:
    """403 unless ``user`` may post notices (supervisors)."""
    if not has_right(user.role, Right.POST_NOTICES):
        raise Forbidden(
            f"Your role ({user.role.label}) cannot {doing}: it needs the supervisor role."
        )


class Notices:
    """Posting notices, read receipts, and the notices' part of the snapshot."""

    def __init__(self, runner: CommandRunner) -> None:
        self.runner = runner

    def create(self, user: User, body: NoticeCreate, idem: Idem) -> CommandResult:
        supervisor(user, "post an operational notice")

        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            if body.expires_at <= now:
                raise Invalid(
                    [
                        {
                            "loc": ["body", "expires_at"],
                            "msg": "A notice must expire in the future: give a later expiry.",
                            "type": "value_error",
                        }
                    ]
                )
            notice_id = int(
                conn.execute(
                    notices.insert()
                    .values(
                        version=1,
                        title=body.title,
                        body=body.body,
                        roles=",".join(r.value for r in body.roles),
                        requires_ack=body.requires_ack,
                        expires_at=body.expires_at,
                        created_by=user.username,
                        created_at=now,
                    )
                    .returning(notices.c.id)
                ).scalar_one()
            )
            out = self._get(conn, notice_id)
            data = out.model_dump(mode="json")
            self.runner.emit(conn, now, ENTITY, notice_id, data)
            roles = ", ".join(r.label for r in out.roles)
            self.runner.write_audit(
                conn,
                now,
                user.username,
                "create_notice",
                ENTITY,
                notice_id,
                f"{out.title!r} for {roles}",
            )
            return 201, data

        return self.runner.run(user, idem, apply, "create_notice", None, ENTITY)

    def read(self, user: User, notice_id: int, idem: Idem) -> CommandResult:
        """Record that ``user`` has read (and so acknowledged) the notice; the first read is
        kept. Reads of an expired notice are recorded too (a desk may send one after coming
        back online)."""

        def apply(conn: Connection, now: datetime) -> tuple[int, dict[str, Any]]:
            notice = self._get(conn, notice_id)
            if not is_for(notice, user.role) and user.role is not Role.SUPERVISOR:
                raise Forbidden(
                    f"Notice {notice_id} is not addressed to your role ({user.role.label})."
                )
            first = conn.execute(
                sa.select(notice_receipts.c.read_at).where(
                    notice_receipts.c.notice_id == notice_id,
                    notice_receipts.c.username == user.username,
                )
            ).scalar()
            if first is None:
                first = now
                conn.execute(
                    notice_receipts.insert().values(
                        notice_id=notice_id,
                        username=user.username,
                        role=user.role.value,
                        read_at=now,
                    )
                )
                self.runner.write_audit(
                    conn, now, user.username, "notice_read", ENTITY, notice_id, notice.title
                )
            reply = NoticeReadReply(notice_id=notice_id, username=user.username, read_at=first)
            return 200, reply.model_dump(mode="json")

        return self.runner.run(user, idem, apply, "notice_read", notice_id, ENTITY)

    def receipts(self, user: User, notice_id: int) -> NoticeReceipts:
        """Who has read the notice, oldest read first, and which users of its roles have not."""
        supervisor(user, "see who has read a notice")
        with read_tx(self.runner.engine) as conn:
            notice = self._get(conn, notice_id)
            read = [
                NoticeReceipt(username=r.username, role=Role(r.role), read_at=r.read_at)
                for r in conn.execute(
                    sa.select(notice_receipts)
                    .where(notice_receipts.c.notice_id == notice_id)
                    .order_by(notice_receipts.c.read_at, notice_receipts.c.username)
                )
            ]
            have = {r.username for r in read}
            audience = conn.execute(
                sa.select(users.c.username, users.c.role)
                .where(users.c.role.in_([r.value for r in notice.roles]))
                .order_by(users.c.username)
            ).all()
        not_read = [
            NoticeReceipt(username=u.username, role=Role(u.role))
            for u in audience
            if u.username not in have
        ]
        return NoticeReceipts(notice=notice, read=read, not_read=not_read)

    def live(self, now: datetime) -> list[NoticeOut]:
        """Notices not yet expired by ``now``, oldest first (the snapshot's part)."""
        with read_tx(self.runner.engine) as conn:
            rows = conn.execute(
                sa.select(notices).where(notices.c.expires_at > now).order_by(notices.c.id)
            ).all()
        return [notice_out(r) for r in rows]

    def read_by(self, user: User) -> dict[int, datetime]:
        """The live notices ``user`` has read, with when: a desk learns reads made at another
        position."""
        now = self.runner.now()
        with read_tx(self.runner.engine) as conn:
            rows = conn.execute(
                sa.select(notice_receipts.c.notice_id, notice_receipts.c.read_at)
                .join(notices, notices.c.id == notice_receipts.c.notice_id)
                .where(notice_receipts.c.username == user.username, notices.c.expires_at > now)
            ).all()
        return {int(r.notice_id): r.read_at for r in rows}

    @staticmethod
    def _get(conn: Connection, notice_id: int) -> NoticeOut:
        row = conn.execute(sa.select(notices).where(notices.c.id == notice_id)).first()
        if row is None:
            raise NotFound(f"There is no notice {notice_id}.")
        return notice_out(row)
