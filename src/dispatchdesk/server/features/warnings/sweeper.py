"""The scheme sweep: expiry, automatic first-stage review requests and escalation to second
stage; run by a thread while the app runs and before each read that serves schemes."""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from dispatchdesk.domain.roles import Role
from dispatchdesk.domain.warnings import (
    WarningPolicy,
    scheme_escalation_due,
)
from dispatchdesk.server import changelog
from dispatchdesk.server.auth import User
from dispatchdesk.server.db import (
    audit_row,
    read_tx,
    write_tx,
)
from dispatchdesk.server.features.warnings.records import (
    in_days,
    removal_notice,
    scheme_changed,
    scheme_name,
)
from dispatchdesk.server.features.warnings.tables import schemes
from dispatchdesk.server.features.warnings.writes import remove_scheme
from dispatchdesk.server.runner import CommandRunner

log = logging.getLogger(__name__)

#: The user name audit rows of the server's own actions (expiry, escalation) carry.
SYSTEM_USER = User("system", Role.SUPERVISOR)

#: Seconds between sweeps while the app runs (a scheme leaves within this of its expiry
#: minute at worst; every snapshot, change page and warnings query sweeps first as well).
SWEEP_SECONDS = 15.0


@dataclass
class Sweeping:
    """A running sweep thread; :meth:`stop` ends it."""

    thread: threading.Thread
    stop_event: threading.Event

    def stop(self) -> None:
        self.stop_event.set()


class SchemeSweeper:
    """Sweeps the schemes of one :class:`CommandRunner` under one warning policy."""

    def __init__(self, runner: CommandRunner, policy: WarningPolicy) -> None:
        self.runner = runner
        self.policy = policy
        self._sweep_lock = threading.Lock()
        self._backfilled = False

    @property
    def _retention(self) -> int:
        return self.runner.settings.change_retention

    def sweep(self) -> int:
        """Remove expired schemes, request the first-stage review of schemes entering their
        review window and escalate first-stage reviews with no decision; how many changed."""
        now = self.runner.now()
        due_expired = sa.and_(schemes.c.removed_at.is_(None), schemes.c.expires_at <= now)
        due_review = sa.and_(
            schemes.c.removed_at.is_(None),
            schemes.c.expires_at > now,
            schemes.c.review_requested_at.is_(None),
            schemes.c.expires_at <= now + self.policy.review_window,
        )
        pending = sa.and_(
            schemes.c.removed_at.is_(None),
            schemes.c.expires_at > now,
            schemes.c.escalated_at.is_(None),
            schemes.c.review_requested_at.is_not(None),
        )
        due_escalate = sa.and_(pending, schemes.c.escalation_due_at <= now)
        if not self._backfilled:
            self._backfill_escalation_due(pending)
        # one indexed look-up each (escalation_due_at is set only while a review awaits)
        quick = (due_expired, due_review, schemes.c.escalation_due_at <= now)
        with read_tx(self.runner.engine) as conn:
            any_due = any(
                conn.execute(sa.select(schemes.c.id).where(due).limit(1)).first() is not None
                for due in quick
            )
        if not any_due:
            return 0
        with self._sweep_lock, write_tx(self.runner.engine) as conn:
            changelog.lock_head(conn)
            expired = self._expire(conn, now, due_expired)
            stale = self._escalate(conn, now, due_escalate)
            entering = self._request_reviews(conn, now, due_review)
        self.runner.notify()
        return expired + stale + entering

    def _expire(self, conn: Connection, now: datetime, due: Any) -> int:
        """Remove the expired schemes (``due``), audited with whether the victim was told."""
        expired = conn.execute(sa.select(schemes).where(due)).all()
        for row in expired:
            told = removal_notice(conn, row)
            remove_scheme(conn, int(row.id), now, self._retention, "expired")
            victim = (
                ""
                if told is not None
                else "; the victim was not told of its removal and no failed attempt is recorded"
            )
            audit_row(
                conn,
                now,
                SYSTEM_USER.username,
                "expire_scheme",
                "scheme",
                int(row.id),
                f"{scheme_name(row.id, row.category)} expired with no review decision"
                f"{victim}: no longer served anywhere",
            )
        return len(expired)

    def _escalate(self, conn: Connection, now: datetime, due: Any) -> int:
        """Escalate to second stage the first-stage reviews with no decision in time."""
        return self._advance(
            conn,
            now,
            due,
            "escalate_scheme_review",
            lambda row: {"escalated_at": now, "escalation_due_at": None},
            lambda row: (
                "no decision on the first-stage review requested "
                f"{row.review_requested_at.isoformat()}: escalated to second stage "
                f"before its expiry {row.expires_at.isoformat()}"
            ),
        )

    def _request_reviews(self, conn: Connection, now: datetime, due: Any) -> int:
        """Request the first-stage review of the schemes entering their review window."""
        return self._advance(
            conn,
            now,
            due,
            "request_scheme_review",
            lambda row: {
                "review_requested_at": now,
                "escalated_at": None,
                "escalation_due_at": scheme_escalation_due(row.expires_at, now, self.policy),
            },
            lambda row: (
                "first-stage review requested automatically: it expires "
                f"{row.expires_at.isoformat()}, within the "
                f"{in_days(self.policy.review_window)} review window"
            ),
        )

    def _advance(
        self,
        conn: Connection,
        now: datetime,
        due: Any,
        action: str,
        values: Callable[[Row[Any]], dict[str, Any]],
        detail: Callable[[Row[Any]], str],
    ) -> int:
        """Move every scheme ``due`` on a step of its review (``values``): a new version, a
        change for every desk and an audit row saying why (``detail``)."""
        rows = conn.execute(sa.select(schemes).where(due)).all()
        for row in rows:
            conn.execute(
                schemes.update()
                .where(schemes.c.id == row.id)
                .values(**values(row), version=row.version + 1, updated_at=now)
            )
            scheme_changed(conn, row.id, now, self._retention, self.policy)
            audit_row(
                conn,
                now,
                SYSTEM_USER.username,
                action,
                "scheme",
                row.id,
                f"{scheme_name(row.id, row.category)} v{row.version + 1}: {detail(row)}",
            )
        return len(rows)

    def _backfill_escalation_due(self, pending: Any) -> None:
        """Reviews requested before ``escalation_due_at`` was stored get it (once)."""
        legacy = sa.and_(pending, schemes.c.escalation_due_at.is_(None))
        with read_tx(self.runner.engine) as conn:
            found = conn.execute(sa.select(schemes.c.id).where(legacy).limit(1)).first()
        if found is None:
            self._backfilled = True
            return
        with self._sweep_lock, write_tx(self.runner.engine) as conn:
            for row in conn.execute(sa.select(schemes).where(legacy)).all():
                conn.execute(
                    schemes.update()
                    .where(schemes.c.id == row.id)
                    .values(
                        escalation_due_at=scheme_escalation_due(
                            row.expires_at, row.review_requested_at, self.policy
                        ),
                    )
                )
        self._backfilled = True

    def start(self, seconds: float | None = None) -> Sweeping:
        """A daemon thread that sweeps every ``seconds`` and wakes the streams when the log
        head moved (a bulk import from another process, for example)."""
        stop = threading.Event()
        if seconds is None:
            seconds = min(SWEEP_SECONDS, self.runner.settings.sweep_seconds)

        def run() -> None:
            last: int | None = None
            while not stop.wait(seconds):
                try:
                    self.sweep()
                    seq = self.runner.head().seq
                    if last is not None and seq != last:
                        self.runner.notify()
                    last = seq
                except Exception:  # keep sweeping after a database hiccup
                    log.warning("scheme sweep failed", exc_info=True)

        thread = threading.Thread(target=run, name="dispatchdesk-scheme-sweep", daemon=True)
        thread.start()
        return Sweeping(thread, stop)
