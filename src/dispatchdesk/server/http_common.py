"""What every command route shares: the Idempotency-Key and If-Match headers, read the same
way everywhere, with the same messages."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from dispatchdesk.protocol import IDEMPOTENCY_HEADER
from dispatchdesk.server.service import CommandResult, Idem, ServiceError, request_hash

MAX_KEY_LENGTH = 200


def parse_if_match(value: str | None) -> int | None:
    """The version in an ``If-Match`` header (``3``, ``"3"`` or ``W/"3"``), or None."""
    if value is None:
        return None
    text = value.strip().removeprefix("W/").strip('"')
    try:
        return int(text)
    except ValueError:
        raise ServiceError(
            400, f"If-Match must be the version number you edited (for example If-Match: 3), "
            f"not {value!r}."
        ) from None


def check_key(key: str | None, required: bool) -> str | None:
    """The Idempotency-Key, stripped; 400 when it is required and missing, or too long."""
    if key is None or not key.strip():
        if required:
            raise ServiceError(
                400, f"The {IDEMPOTENCY_HEADER} header is required: send a new unique value "
                "(for example a UUID) with each command, and the same one when you resend it."
            )
        return None
    if len(key) > MAX_KEY_LENGTH:
        raise ServiceError(
            400, f"The {IDEMPOTENCY_HEADER} header is longer than {MAX_KEY_LENGTH} characters.")
    return key.strip()


def idem_for(request: Request, key: str | None, body: Any, *, required: bool = True) -> Idem:
    """The idempotency facts of this request: its key, method and path, and a hash of the body
    (so a key reused for a different request is refused)."""
    method_path = f"{request.method} {request.url.path}"
    data = body.model_dump(mode="json", exclude_unset=True) if body is not None else {}
    return Idem(check_key(key, required), method_path, request_hash(method_path, data))


def command_response(result: CommandResult) -> JSONResponse:
    """A command's result with its ETag (the new version) and, for a replay, a header saying
    so."""
    headers = {}
    if "version" in result.body:
        headers["ETag"] = f'"{result.body["version"]}"'
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(result.body, status_code=result.status_code, headers=headers)
