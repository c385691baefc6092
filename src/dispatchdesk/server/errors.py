"""The refusals a feature service raises, pure of HTTP.

A service says *why* it refuses (the thing is not there, a rule is broken, the client's copy is
stale, a field is wrong, ...) with one of these, carrying a sentence a control-room person can
act on (or, for :class:`Invalid`, FastAPI's list of field errors). :data:`STATUS` is the one
table from a refusal to its HTTP status; the app's exception handler
(:func:`dispatchdesk.server.http_common.install_error_handler`) and the refusal audit of the
command runner both read it.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refused command or query, with a sentence (or field-error list) saying what to do."""

    #: Extra response headers (``Retry-After`` of a 429).
    headers: dict[str, str] | None = None

    def __init__(self, detail: Any) -> None:
        super().__init__(str(detail))
        self.detail = detail

    @property
    def status_code(self) -> int:
        """The HTTP status this refusal is answered with (see :data:`STATUS`)."""
        return next(STATUS[t] for t in type(self).__mro__ if t in STATUS)


class BadRequest(DomainError):
    """A header or parameter the server cannot read (If-Match, Idempotency-Key, ...)."""


class Unauthorized(DomainError):
    """No session, or one the server no longer accepts."""


class Forbidden(DomainError):
    """The user's role may not do this."""


class NotFound(DomainError):
    """The thing named does not exist (or is no longer served)."""


class Conflict(DomainError):
    """A rule is broken: the sentence says which and what to do instead."""


class Gone(DomainError):
    """What was asked for (a cursor, a resume point) is no longer kept."""


class Stale(DomainError):
    """The version the client edited is not the current one (If-Match)."""


class Invalid(DomainError):
    """A field is wrong: a sentence, or FastAPI's list of ``{loc, msg, type}`` field errors."""


class PreconditionRequired(DomainError):
    """A header the command needs (If-Match) was not sent."""


class TooManyAttempts(DomainError):
    """Too many sign-in attempts: wait ``retry_after`` seconds (sent as ``Retry-After``)."""

    def __init__(self, detail: Any, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


#: The one mapping from a refusal to its HTTP status.
STATUS: dict[type[DomainError], int] = {
    BadRequest: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Gone: 410,
    Stale: 412,
    Invalid: 422,
    PreconditionRequired: 428,
    TooManyAttempts: 429,
}

#: Refusals by a rule that the runner audits (so a supervisor sees refused closes and stale
#: edits too).
AUDITED = (Conflict, Stale, Invalid)
