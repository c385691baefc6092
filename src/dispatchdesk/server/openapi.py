"""The OpenAPI document, made to tell the truth about what every route answers.

FastAPI documents what each route declares; the server also answers, on every route, what
the layers around the routes refuse. :func:`install_openapi` adds those to the generated
document once:

- 422 on every operation (a path or query value the database cannot hold is refused before
  routing, see :mod:`dispatchdesk.server.guard`), with the one error body
  (:class:`~dispatchdesk.protocol.schemas.ErrorBody`) instead of FastAPI's own shape;
- 400 (unreadable) and 413 (too large) on every operation with a request body;
- 401 and 403 on every operation that needs a bearer token, 404 on every one with an id in
  its path;
- every integer bounded to a signed 64-bit integer;
- ``Idempotency-Key``: required on every ``POST`` command (a route whose key is optional says
  so with ``openapi_extra={OPTIONAL_KEY: True}``), described as what the server accepts, and
  400 when it is unreadable;
- ``If-Match``: required on every ``PATCH`` (428 without it), 400 when unreadable, 412 when
  stale.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from dispatchdesk.protocol import IDEMPOTENCY_HEADER
from dispatchdesk.protocol.base import MAX_INT

#: ``openapi_extra`` key of a POST route whose Idempotency-Key may be left out.
OPTIONAL_KEY = "x-idempotency-key-optional"

_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
_KEY_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[!-~]+$"}
_IF_MATCH_SCHEMA = {"type": "string", "pattern": '^(\\*|(W/)?"?[0-9]{1,18}"?)$'}


def _add(responses: dict[str, Any], status: int, text: str) -> None:
    responses.setdefault(str(status), {"description": text, "content": _ERROR})


def _headers(op: dict[str, Any], method: str) -> None:
    optional_key = op.pop(OPTIONAL_KEY, False)
    responses = op["responses"]
    for param in op.get("parameters", []):
        if param.get("in") != "header":
            continue
        if param["name"] == IDEMPOTENCY_HEADER:
            param["schema"] = dict(_KEY_SCHEMA)
            param["required"] = method == "post" and not optional_key
            _add(responses, 400, "Idempotency-Key missing or unreadable")
        elif param["name"] == "If-Match":
            param["schema"] = dict(_IF_MATCH_SCHEMA)
            _add(responses, 400, "If-Match unreadable: it is the version number, or *")
            _add(responses, 412, "Stale If-Match: the detail names the current version")
            if method == "patch":
                param["required"] = True
                _add(responses, 428, "If-Match missing")


def _bound_integers(node: Any) -> None:
    """Every integer in the document: at most a signed 64-bit integer (what the database
    holds; larger ones are refused with 422)."""
    if isinstance(node, dict):
        if node.get("type") == "integer":
            node.setdefault("maximum", MAX_INT)
            node.setdefault("minimum", -MAX_INT - 1)
        for value in node.values():
            _bound_integers(value)
    elif isinstance(node, list):
        for value in node:
            _bound_integers(value)


def complete(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` (FastAPI's document) with what every route answers besides its own."""
    _bound_integers(doc)
    for item in doc.get("paths", {}).values():
        for method, op in item.items():
            responses = op.setdefault("responses", {})
            if any(p.get("in") == "path" for p in op.get("parameters", [])):
                _add(responses, 404, "Nothing with that id (or it is no longer served)")
            if "422" in responses:
                responses["422"]["content"] = _ERROR
            _add(responses, 422, "A field, path or query value refused: the detail lists each")
            if "requestBody" in op:
                _add(responses, 400, "The request body cannot be read (not UTF-8 JSON)")
                _add(responses, 413, "The request body is larger than the server accepts")
            if op.get("security"):
                _add(responses, 401, "No valid bearer token")
                _add(responses, 403, "The role lacks the right")
            _headers(op, method)
    schemas = doc.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return doc


def install_openapi(app: FastAPI) -> None:
    """Serve :func:`complete` of FastAPI's document at ``/openapi.json``."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    summary=app.summary,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
