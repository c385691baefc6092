"""Operational notice commands: a read receipt (everyone; kept locally at once, so the banner
goes at once and stays gone offline) and posting a notice (supervisors)."""

from __future__ import annotations

from dispatchdesk.domain.commands import CommandKind
from dispatchdesk.protocol.notices import NoticeCreate, NoticeOut
from dispatchdesk.sync.commands import Enqueue, validated
from dispatchdesk.sync.context import SyncContext
from dispatchdesk.sync.outbox import Command


class NoticeCommands:
    """Mixed into :class:`~dispatchdesk.sync.engine.SyncEngine`, which sets ``_ctx`` and
    ``_enqueue``."""

    _ctx: SyncContext
    _enqueue: Enqueue

    def read_notice(self, notice: NoticeOut) -> None:
        ctx = self._ctx
        if notice.id in ctx.entities.notice_reads:
            return  # the first read is the receipt; the server keeps only that one too
        at = ctx.clock.now()
        ctx.entities.notice_reads[notice.id] = at
        ctx.emit_notices()
        ctx.spawn(ctx.worker.call(ctx.store.add_notice_reads, {notice.id: at}))
        self._enqueue(
            Command(
                CommandKind.NOTICE_READ,
                None,
                f"Notice #{notice.id} read: {notice.title[:60]}",
                {},
                None,
                path_args={"id": notice.id},
            )
        )

    def post_notice(self, notice: NoticeCreate) -> str:
        body, invalid = validated(NoticeCreate, "notice", **notice.model_dump(exclude_unset=False))
        return self._enqueue(
            Command(
                CommandKind.POST_NOTICE,
                None,
                f"Post notice: {notice.title[:60]}",
                body,
                None,
                invalid,
            )
        )
