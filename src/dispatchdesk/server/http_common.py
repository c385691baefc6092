"""What every feature's routes share: the Idempotency-Key and If-Match headers, read the same
way everywhere, with the same messages; the sign-in dependency (:func:`requirer`); the
OpenAPI error responses; and the one place a service's refusal becomes an HTTP answer
(:func:`install_error_handler`)."""

import json
import logging
import re
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError

from dispatchdesk.protocol import API_PREFIX, IDEMPOTENCY_HEADER
from dispatchdesk.protocol.schemas import ErrorBody
from dispatchdesk.server.errors import (
    BadRequest,
    DomainError,
    Unauthorized,
)
from dispatchdesk.server.runner import CommandResult, Idem, request_hash
from dispatchdesk.server.signed_in import Require as Require
from dispatchdesk.server.signed_in import SignedInRoute as SignedInRoute
from dispatchdesk.server.signed_in import requirer as requirer


def api_router(**options: Any) -> APIRouter:
    """A feature's router: under the API prefix, its routes checking the sign-in in the same
    worker-thread call as their own work (:class:`SignedInRoute`), so none can forget to."""
    return APIRouter(prefix=API_PREFIX, route_class=SignedInRoute, **options)


log = logging.getLogger(__name__)

MAX_KEY_LENGTH = 200
#: A value sent back in a field error is cut to this many characters (so a huge body is never
#: echoed); a message (which may quote a short value) to :data:`MAX_MESSAGE`.
MAX_ECHO = 100
MAX_MESSAGE = 500

#: The answer to any request while the database cannot be reached.
DATABASE_UNAVAILABLE = (
    "The server cannot reach its database just now (it may be restarting or failing over). "
    "Try again in a few seconds: a command sent again with the same Idempotency-Key is "
    "recorded once."
)

log = logging.getLogger(__name__)


def install_error_handler(app: FastAPI) -> None:
    """Answer every refusal a service raises with its status
    (:data:`~dispatchdesk.server.errors.STATUS`) and ``{"detail": ...}``."""

    @app.exception_handler(DomainError)
    async def _refused(_request: Request, exc: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
        if exc.headers:
            headers = {**(headers or {}), **exc.headers}
        detail = encodable(exc.detail)
        if isinstance(detail, list):
            detail = [field_error(e) if isinstance(e, dict) else e for e in detail]
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(DataError)
    async def _out_of_range(_request: Request, exc: DataError) -> JSONResponse:
        # A value the schema allows but a column cannot hold: on PostgreSQL an id or version
        # beyond 2,147,483,647 (32-bit columns). Nothing was written (the transaction rolled
        # back).
        log.info("refused a value the database cannot hold: %s", exc.orig)
        return JSONResponse(
            {
                "detail": "A number or text in the request is outside what the server can "
                "store (ids and versions are at most 2,147,483,647). Check the values sent."
            },
            status_code=422,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": [field_error(e) for e in exc.errors()]}, status_code=422)

    @app.exception_handler(OperationalError)
    async def _database_unavailable(_request: Request, exc: OperationalError) -> JSONResponse:
        # The database is down, failing over or refusing connections: 503, which desks retry
        # (a command with the same Idempotency-Key, so it is recorded once either way).
        log.warning("database unavailable: %s", str(exc.orig or exc).splitlines()[0])
        return JSONResponse(
            {"detail": DATABASE_UNAVAILABLE}, status_code=503, headers={"Retry-After": "2"}
        )


def encodable(value: Any) -> Any:
    """``value`` with every string made encodable as UTF-8 (a lone surrogate becomes ``?``)
    and anything else JSON cannot carry as its text."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, dict):
        return {str(encodable(str(k))): encodable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encodable(v) for v in value]
    return encodable(str(value))


def _short(value: Any) -> Any:
    """``value`` when its JSON text is at most :data:`MAX_ECHO` characters, else cut."""
    value = encodable(value)
    if isinstance(value, str):
        return value if len(value) <= MAX_ECHO else value[:MAX_ECHO] + "…"
    if isinstance(value, bool | int | float) or value is None:
        return value
    text = json.dumps(value, ensure_ascii=False)
    return value if len(text) <= MAX_ECHO else text[:MAX_ECHO] + "…"


def field_error(error: dict[str, Any]) -> dict[str, Any]:
    """One field error as answered: ``loc``, ``msg``, ``type``, and ``input``/``ctx`` only cut
    to :data:`MAX_ECHO` characters (so a reply never echoes a large body, and always
    encodes)."""
    out: dict[str, Any] = {
        "loc": [_short(p) for p in error.get("loc", ())],
        "msg": encodable(str(error.get("msg", "")))[:MAX_MESSAGE],
        "type": encodable(error.get("type", "value_error")),
    }
    if "input" in error:
        out["input"] = _short(error["input"])
    if isinstance(error.get("ctx"), dict):
        out["ctx"] = {str(k): _short_fields(v) for k, v in error["ctx"].items()}
    return out


def _short_fields(value: Any) -> Any:
    """A ``ctx`` value the server put there (what a rationale copies: incident, kind, date)
    keeps its shape, each of its values cut like any echo; anything else is cut whole."""
    if isinstance(value, dict) and len(value) <= 10:
        return {str(k): _short(v) for k, v in value.items()}
    return _short(value)


def error(
    status: int, text: str, headers: dict[str, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """An error response of a route, for the OpenAPI document (``headers``: name to
    description, each an integer)."""
    out: dict[str, Any] = {"model": ErrorBody, "description": text}
    if headers:
        out["headers"] = {
            name: {"description": about, "schema": {"type": "integer"}}
            for name, about in headers.items()
        }
    return {status: out}


VALIDATION_ERROR = error(422, "A field, path or query value refused: the detail lists each")


AUTH_ERRORS = {**error(401, "No valid bearer token"), **error(403, "The role lacks the right")}


_VERSION = re.compile(r"^[0-9]{1,18}$")


def parse_if_match(value: str | None) -> int | None:
    """The version in an ``If-Match`` header (``3``, ``"3"`` or ``W/"3"``), or None: when
    none is sent, and for ``*`` (any version, RFC 9110). 400 for anything else (``1_0``,
    ``-1``, ``3, 4``, a number beyond what a version can reach)."""
    if value is None or value.strip() == "*":
        return None
    text = value.strip().removeprefix("W/").strip('"')
    if not _VERSION.match(text):
        raise BadRequest(
            "If-Match must be the version number you edited (for example If-Match: 3) or *, "
            f"not {value[:40]!r}."
        )
    return int(text)


def check_key(key: str | None, required: bool) -> str | None:
    """The Idempotency-Key, stripped; 400 when it is required and missing, or too long."""
    if key is None or not key.strip():
        if required:
            raise BadRequest(
                f"The {IDEMPOTENCY_HEADER} header is required: send a new unique value "
                "(for example a UUID) with each command, and the same one when you resend it."
            )
        return None
    if len(key) > MAX_KEY_LENGTH:
        raise BadRequest(
            f"The {IDEMPOTENCY_HEADER} header is longer than {MAX_KEY_LENGTH} characters."
        )
    return key.strip()


def idem_for(request: Request, key: str | None, body: Any, *, required: bool = True) -> Idem:
    """The idempotency facts of this request: its key, method and path, and a hash of the body
    (so a key reused for a different request is refused)."""
    method_path = f"{request.method} {request.url.path}"
    data = body.model_dump(mode="json", exclude_unset=True) if body is not None else {}
    return Idem(check_key(key, required), method_path, request_hash(method_path, data))


class EncodedJSON(JSONResponse):
    """A JSON response whose content is its bytes already."""

    def render(self, content: Any) -> bytes:
        return bytes(content)


def command_response(result: CommandResult) -> JSONResponse:
    """A command's result with its ETag (the new version) and, for a replay, a header saying
    so. A new result is sent from the JSON the runner has already (:func:`reply_bytes`) when
    it is the very bytes encoding the body would give; a replay is encoded again (a stored
    result may have been rewritten since, such as the 410 of a removed scheme)."""
    headers = {}
    if "version" in result.body:
        headers["ETag"] = f'"{result.body["version"]}"'
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    elif (content := reply_bytes(result.body_json)) is not None:
        return EncodedJSON(content, status_code=result.status_code, headers=headers)
    return JSONResponse(result.body, status_code=result.status_code, headers=headers)


def reply_bytes(body_json: str | None) -> bytes | None:
    """``body_json`` (the runner's compact JSON, ASCII escaped) as the bytes
    :class:`JSONResponse` would send for the same value, or None when they could differ: a
    ``\\u`` escape (JSONResponse sends the character itself), or a NaN or an infinity (which
    it refuses)."""
    if body_json is None or "\\u" in body_json or "NaN" in body_json or "Infinity" in body_json:
        return None
    return body_json.encode()
