"""Reading the audit log, pure of HTTP (supervisors only)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from dispatchdesk.domain.roles import Role
from dispatchdesk.server.auth import User
from dispatchdesk.server.db import audit, read_tx
from dispatchdesk.server.errors import Forbidden
from dispatchdesk.server.features.warnings.writes import redact_audit_rows
from dispatchdesk.server.runner import CommandRunner


class AuditLog:
    """The audit rows as served over one :class:`CommandRunner`."""

    def __init__(self, runner: CommandRunner) -> None:
        self.runner = runner

    def recent(
        self, user: User, limit: int, before: int | None = None, entity: str | None = None
    ) -> list[dict[str, Any]]:
        """The latest ``limit`` rows (with an id below ``before``, about ``entity``, when
        given), newest first, as served (old scheme rows redacted); 403 unless ``user`` is a
        supervisor."""
        if user.role is not Role.SUPERVISOR:
            raise Forbidden(
                f"Your role ({user.role.label}) cannot read the audit log: it needs the "
                "supervisor role."
            )
        with read_tx(self.runner.engine) as conn:
            query = sa.select(audit).order_by(audit.c.id.desc()).limit(limit)
            if before is not None:
                query = query.where(audit.c.id < before)
            if entity is not None:
                query = query.where(audit.c.entity == entity)
            rows = conn.execute(query).all()
        return redact_audit_rows([dict(r._mapping) for r in rows])
