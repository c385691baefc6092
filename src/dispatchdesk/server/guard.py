"""What the server refuses before any route runs (pure ASGI, so before sign-in too).

- A request body over ``max_body_bytes``: 413, from its ``Content-Length`` before reading a
  byte, or as soon as a streamed (chunked) body passes the limit, so a huge body is never held
  in memory.
- A path or query value the database cannot store or compare: a NUL character, or a whole
  number beyond a signed 64-bit integer: 422 (SQLite and PostgreSQL would fail on them).

Bodies are checked field by field by the wire models (:mod:`dispatchdesk.protocol.base`).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The largest integer a database column holds (signed 64-bit).
MAX_INT = 2**63 - 1
_WHOLE = re.compile(r"^[+-]?[0-9]+$")


class BodyTooLarge(Exception):
    """Raised to the app when a streamed body passes the limit (the 413 is already sent)."""


def _json(
    status: int, detail: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> list[Message]:
    body = json.dumps({"detail": detail}).encode()
    return [
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        },
        {"type": "http.response.body", "body": body},
    ]


def too_large_text(limit: int) -> str:
    return (
        f"The request body is larger than this server accepts ({limit:,} bytes). Send less at once."
    )


def unstorable(value: str) -> str | None:
    """Why a path or query value cannot be used, or None when it can."""
    if "\x00" in value:
        return "must not contain NUL characters"
    text = value.strip()
    if _WHOLE.match(text) and abs(int(text)) > MAX_INT:
        return f"is a whole number beyond {MAX_INT}"
    return None


def url_problems(scope: Scope) -> list[dict[str, Any]]:
    """FastAPI-shaped field errors for the path segments and query values of ``scope``."""
    problems: list[dict[str, Any]] = []
    path = unquote(scope.get("raw_path", b"").decode("latin-1")) or scope.get("path", "")
    for segment in path.split("/"):
        if why := unstorable(segment):
            problems.append(
                {"loc": ["path"], "msg": f"A path segment {why}.", "type": "value_error"}
            )
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        for where, text in (("name", name), ("value", value)):
            if why := unstorable(text):
                problems.append(
                    {
                        "loc": ["query", name[:100] if where == "value" else "?"],
                        "msg": f"A query {where} {why}.",
                        "type": "value_error",
                    }
                )
    return problems


class GuardMiddleware:
    """413 for an oversized body, 422 for unstorable path or query values."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.limit = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if problems := url_problems(scope):
            for message in _json(422, problems):
                await send(message)
            return
        length = _content_length(scope)
        if length is not None and length > self.limit:
            await self._refuse(send)
            return
        await self._limited(scope, receive, send)

    async def _refuse(self, send: Send) -> None:
        for message in _json(413, too_large_text(self.limit), [(b"connection", b"close")]):
            await send(message)

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        seen = 0
        refused = False
        started = False

        async def counted() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    refused = True
                    if not started:
                        await self._refuse(send)
                    raise BodyTooLarge()
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 went out instead
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, sending)
        except Exception:
            # The app may fail in its own way on the cut-off body (a disconnect, a parse
            # error): the 413 already answered it.
            if not refused:
                raise


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
