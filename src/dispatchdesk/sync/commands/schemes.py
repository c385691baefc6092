"""Special scheme commands (supervisors). Descriptions name the scheme by id only: an expired
scheme's text must not linger in the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dispatchdesk.domain.commands import CommandKind
from dispatchdesk.domain.warnings import VictimContactOutcome
from dispatchdesk.protocol.warnings import (
    SchemeEnd,
    SchemeExtend,
    SchemeOut,
    SchemeReviewRequest,
    SchemeVictimContact,
    SchemeVictimInformed,
)
from dispatchdesk.sync.commands import Enqueue, validated
from dispatchdesk.sync.outbox import Command


class SchemeCommands:
    """Mixed into :class:`~dispatchdesk.sync.engine.SyncEngine`, which sets ``_enqueue``."""

    _enqueue: Enqueue

    def extend_scheme(self, scheme: SchemeOut, expires_at: datetime, note: str | None) -> str:
        body, invalid = validated(SchemeExtend, "extension", expires_at=expires_at, note=note)
        return self._scheme_command(CommandKind.EXTEND_SCHEME, scheme, "Extend", body, invalid)

    def end_scheme(
        self, scheme: SchemeOut, reason: str, override_rationale: str | None = None
    ) -> str:
        extra = {} if override_rationale is None else {"override_rationale": override_rationale}
        body, invalid = validated(SchemeEnd, "end of scheme", reason=reason, **extra)
        return self._scheme_command(CommandKind.END_SCHEME, scheme, "End", body, invalid)

    def request_scheme_review(self, scheme: SchemeOut, note: str | None) -> str:
        body, invalid = validated(SchemeReviewRequest, "review request", note=note)
        return self._scheme_command(
            CommandKind.REQUEST_SCHEME_REVIEW, scheme, "Request review of", body, invalid
        )

    def scheme_victim_informed(self, scheme: SchemeOut, at: datetime | None) -> str:
        body, invalid = validated(SchemeVictimInformed, "victim informed", at=at)
        return self._scheme_command(
            CommandKind.SCHEME_VICTIM_INFORMED, scheme, "Victim informed for", body, invalid
        )

    def scheme_victim_contact(
        self,
        scheme: SchemeOut,
        outcome: VictimContactOutcome,
        at: datetime | None,
        note: str | None,
    ) -> str:
        body, invalid = validated(
            SchemeVictimContact, "victim contact", outcome=outcome, at=at, note=note
        )
        return self._scheme_command(
            CommandKind.SCHEME_VICTIM_CONTACT, scheme, "Victim contact for", body, invalid
        )

    def _scheme_command(
        self,
        kind: CommandKind,
        scheme: SchemeOut,
        verb: str,
        body: dict[str, Any],
        invalid: str | None,
    ) -> str:
        return self._enqueue(
            Command(
                kind,
                None,
                f"{verb} special scheme #{scheme.id}",
                body,
                scheme.version,
                invalid,
                path_args={"id": scheme.id},
            )
        )
