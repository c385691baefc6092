"""The sync contract's reads, pure of HTTP: the snapshot (incidents, units, and the warnings'
part) and the pages of the change log."""

from __future__ import annotations

from dataclasses import replace

import sqlalchemy as sa

from dispatchdesk.domain.incident import IncidentStatus
from dispatchdesk.protocol.convert import policy_to_wire
from dispatchdesk.protocol.schemas import ChangesPage, DivertModel, Snapshot
from dispatchdesk.server import changelog
from dispatchdesk.server.db import incident_tasks, incidents, owed, read_tx, units
from dispatchdesk.server.errors import BadRequest, Gone
from dispatchdesk.server.features.history.links import links_of
from dispatchdesk.server.features.incidents.records import F, divert_out, divert_rows, incident_out
from dispatchdesk.server.features.tasks.records import task_lists
from dispatchdesk.server.features.units.records import unit_out
from dispatchdesk.server.runner import CommandRunner


class Sync:
    """Snapshot and change pages over one :class:`CommandRunner`."""

    def __init__(self, runner: CommandRunner) -> None:
        self.runner = runner

    def snapshot(self) -> Snapshot:
        """Live incidents (open, and closed today) and the fleet, at the log's head; the
        warnings feature adds its part (``WarningsDesk.extend_snapshot``)."""
        now = self.runner.now()
        since = self.runner.start_of_local_day(now)
        with read_tx(self.runner.engine) as conn:
            head = changelog.read_head(conn)
            live = sa.or_(
                incidents.c.status != IncidentStatus.CLOSED.value,
                incidents.c.closed_at >= since,
            )
            rows = conn.execute(sa.select(incidents).where(live).order_by(incidents.c.id)).all()
            tags: dict[int, list[DivertModel]] = {}
            for r in divert_rows(
                conn, sa.or_(F.c.status != IncidentStatus.CLOSED.value, F.c.closed_at >= since)
            ):
                tags.setdefault(r.from_incident_id, []).append(divert_out(r))
            owed_rows = {r.incident_id: r for r in conn.execute(sa.select(owed)).all()}
            tasks = task_lists(
                conn, incident_tasks.c.incident_id.in_(sa.select(incidents.c.id).where(live))
            )
            fleet = conn.execute(sa.select(units).order_by(units.c.id)).all()
            links = links_of(conn, (r.id for r in rows))
        settings = self.runner.settings
        policy = policy_to_wire(
            replace(settings.policy, reference=settings.reference_lists, tasks=settings.task_policy)
        )
        return Snapshot(
            cursor=head.seq,
            server_time=now,
            policy=policy.model_copy(update={"history_years": settings.history_years}),
            incidents=[
                incident_out(
                    r,
                    tags.get(r.id),
                    owed_rows.get(r.id),
                    links.get(r.id),
                    task_list=tasks.get(r.id),
                )
                for r in rows
            ],
            units=[unit_out(u) for u in fleet],
        )

    def changes(self, since: int, limit: int) -> ChangesPage:
        with read_tx(self.runner.engine) as conn:
            try:
                page, head, more = changelog.read_changes(conn, since, limit, now=self.runner.now())
            except changelog.LogGone as gone:
                raise Gone(str(gone)) from gone
        if since > head.seq:
            raise Gone(
                f"Cursor {since} is ahead of this server's change log, which ends at "
                f"{head.seq}. Take a new snapshot from /snapshot.",
            )
        cursor = page[-1].seq if page else since
        return ChangesPage(changes=page, cursor=cursor, more=more)

    def resume_point(self, since: int | None, last_event_id: str | None) -> int:
        """Where an event stream starts: after ``Last-Event-ID`` (which wins) or ``since``, or
        at the log's head; 400 for an unreadable id, 410 outside the retained log."""
        start = since
        if last_event_id is not None and last_event_id.strip():
            text = last_event_id.strip()
            if not (text.isascii() and text.isdigit() and len(text) <= 18):
                raise BadRequest(
                    f"Last-Event-ID must be a change seq number, not {last_event_id[:40]!r}."
                )
            start = int(text)
        head = self.runner.head()
        if start is None:
            start = head.seq
        if start < head.floor:
            raise Gone(
                f"Changes after {start} are no longer kept (the log starts after "
                f"{head.floor}). Take a new snapshot from /snapshot and resume from its cursor."
            )
        if start > head.seq:
            raise Gone(
                f"Resume point {start} is ahead of this server's change log, which ends at "
                f"{head.seq}. Take a new snapshot from /snapshot."
            )
        return start
