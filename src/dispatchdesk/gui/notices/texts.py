"""Which notices an operator is asked to read, and the words the banner and list use (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from dispatchdesk.domain.roles import Role
from dispatchdesk.gui.common.timefmt import local
from dispatchdesk.protocol.notices import NoticeOut


@dataclass(frozen=True, slots=True)
class NoticeRow:
    """A notice as this operator sees it: when they read it (None: not yet)."""

    notice: NoticeOut
    read_at: datetime | None
    #: It is for this operator's role (a supervisor also sees those for other roles).
    addressed: bool = True

    @property
    def unread(self) -> bool:
        return self.addressed and self.read_at is None

    @property
    def needs_ack(self) -> bool:
        """It must be acknowledged and has not been: the banner shows it."""
        return self.notice.requires_ack and self.unread


def rows_for(
    notices: Iterable[NoticeOut], reads: Mapping[int, datetime], role: Role, now: datetime
) -> list[NoticeRow]:
    """The live notices addressed to ``role`` (a supervisor sees every one), newest first."""
    shown = [
        NoticeRow(n, reads.get(n.id), role in n.roles)
        for n in notices
        if n.expires_at > now and (role is Role.SUPERVISOR or role in n.roles)
    ]
    shown.sort(key=lambda r: (r.notice.created_at, r.notice.id), reverse=True)
    return shown


def state_text(row: NoticeRow) -> str:
    if not row.addressed:
        return "For others"
    if row.needs_ack:
        return "ACKNOWLEDGE"
    if row.unread:
        return "Unread"
    return "Acknowledged" if row.notice.requires_ack else "Read"


def roles_text(roles: Sequence[Role]) -> str:
    return ", ".join(f"{r.label}s" for r in roles)


def banner_text(rows: Sequence[NoticeRow], tz: str) -> str:
    """The banner's words for the notices still to acknowledge ("" when none)."""
    pending = [r for r in rows if r.needs_ack]
    if not pending:
        return ""
    first = pending[-1].notice  # the oldest first: it has waited longest
    when = local(first.created_at, tz, "%H:%M")
    text = f"NOTICE from {first.created_by} at {when}: {first.title}"
    if len(pending) > 1:
        text += f" (+{len(pending) - 1} more to acknowledge)"
    return text + " — Ctrl+Shift+N to read and acknowledge"


def detail_text(row: NoticeRow, tz: str) -> str:
    """The reading pane's header lines for a notice."""
    n = row.notice
    lines = [
        f"From {n.created_by} at {local(n.created_at, tz, '%d %b %H:%M')}, "
        f"to {roles_text(n.roles)}; expires {local(n.expires_at, tz, '%d %b %H:%M')}.",
    ]
    if not row.addressed:
        lines.append("Not addressed to your role: listed so that you can follow who reads it.")
    elif row.read_at is not None:
        verb = "Acknowledged" if n.requires_ack else "Read"
        lines.append(f"{verb} by you at {local(row.read_at, tz, '%d %b %H:%M')}.")
    elif n.requires_ack:
        lines.append("You must acknowledge this notice (Ctrl+Enter).")
    return "\n".join(lines)
