"""What can go wrong talking to the server, as one exception tree (in the style of httpx)::

    DeskError
    ├── ApiError(status, detail)        the server answered with an error status
    │   ├── InvalidRequest      400, 422  the body or headers were refused; ``fields`` lists
    │   │                                 FastAPI's per-field messages, readable
    │   ├── Unauthorized        401   no valid token: sign in again
    │   ├── Forbidden           403   the role lacks the right
    │   ├── NotFound            404
    │   ├── Conflict            409   a rule was broken (the message says which)
    │   ├── Gone                410   the change log no longer reaches the cursor: snapshot
    │   ├── PreconditionFailed  412   stale If-Match: someone changed the entity first
    │   └── ServerError         5xx
    ├── ConnectionLost                  transport error or timeout: nothing, or an unknown
    │                                   part, reached the server; safe to resend (idempotent)
    └── MalformedPayload                the server's JSON or its shape was invalid

Every message is a sentence an operator can read.
"""

from __future__ import annotations

from typing import Any


class DeskError(Exception):
    """Base of every error the sync client raises."""


class ApiError(DeskError):
    """The server answered with an error status. ``detail`` is its ``detail`` (often text)."""

    def __init__(self, status: int, detail: Any, message: str | None = None) -> None:
        self.status = status
        self.detail = detail
        self.message = message or _detail_text(detail) or f"The server answered {status}."
        super().__init__(self.message)


class InvalidRequest(ApiError):
    """400 or 422: the request was refused as invalid; ``fields`` holds per-field messages."""

    def __init__(self, status: int, detail: Any) -> None:
        self.fields = validation_messages(detail)
        message = "; ".join(self.fields) if self.fields else None
        super().__init__(status, detail, message)


class Unauthorized(ApiError):
    """401: no valid token."""


class Forbidden(ApiError):
    """403: the signed-in role does not have the right."""


class NotFound(ApiError):
    """404."""


class Conflict(ApiError):
    """409: a rule was broken; the message says what to do."""


class Gone(ApiError):
    """410: the cursor is older than the server's retained change log."""


class PreconditionFailed(ApiError):
    """412: ``If-Match`` was stale."""


class ServerError(ApiError):
    """5xx."""


class ConnectionLost(DeskError):
    """The server could not be reached, or the connection broke or timed out."""


class MalformedPayload(DeskError):
    """The server sent something that is not valid JSON or not the expected shape."""


_BY_STATUS: dict[int, type[ApiError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    412: PreconditionFailed,
}


def error_for(status: int, detail: Any) -> ApiError:
    """The exception for an error response."""
    if status in (400, 422):
        return InvalidRequest(status, detail)
    if status >= 500:
        return ServerError(status, detail)
    return _BY_STATUS.get(status, ApiError)(status, detail)


def validation_messages(detail: Any) -> list[str]:
    """FastAPI/pydantic's ``detail`` list as ``"location.address: Field required"`` lines."""
    if isinstance(detail, str):
        return [detail]
    if not isinstance(detail, list):
        return []
    out: list[str] = []
    for item in detail:
        if isinstance(item, dict):
            loc = [str(p) for p in item.get("loc", []) if p not in ("body", "query", "header")]
            msg = str(item.get("msg", "invalid"))
            # a refused rationale's sentence names what it refuses: no field name before it
            named = loc and item.get("type") != "rationale_refused"
            out.append(f"{'.'.join(loc)}: {msg}" if named else msg)
        else:
            out.append(str(item))
    return out


def _detail_text(detail: Any) -> str | None:
    if detail is None:
        return None
    if isinstance(detail, str):
        return detail
    messages = validation_messages(detail)
    return "; ".join(messages) if messages else str(detail)


def describe_validation_error(what: str, exc: Any) -> str:
    """A pydantic ``ValidationError`` as one readable sentence about ``what``."""
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
    more = exc.error_count() - len(parts)
    suffix = f" (and {more} more)" if more > 0 else ""
    return f"The server sent an invalid {what}: {'; '.join(parts)}{suffix}."
