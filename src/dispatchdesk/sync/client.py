"""The HTTP client of sync contract v1 (``httpx.AsyncClient`` + Server-Sent Events).

Every reply's ``X-Server-Time`` re-anchors the :class:`ServerClock` with the request's monotonic
start and end, so countdowns run on the server's time. Errors are raised as the tree in
:mod:`dispatchdesk.sync.errors`; nothing from httpx or pydantic leaks out.

Several API nodes on one database: the client is given their URLs and talks to one at a time
(``server``). When that one stops answering (it cannot be reached, it does not answer in time,
or the connection breaks) a request is sent again to the next, in order, round the list, and
the client stays there. Safe because the nodes share the database: a command carries its
``Idempotency-Key`` (one a node applied before it died is replayed, not applied twice), a
bearer token is good on every node, and the feed resumes from its cursor. A broken event
stream moves on too; the feed reconnects to the next node after its backoff.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import httpx
from httpx_sse import SSEError, aconnect_sse
from pydantic import BaseModel, RootModel, ValidationError

from dispatchdesk.domain.clock import ServerClock
from dispatchdesk.domain.warnings import Person, Place
from dispatchdesk.protocol import API_PREFIX, IDEMPOTENCY_HEADER, SERVER_TIME_HEADER
from dispatchdesk.protocol.history import HistoryPage
from dispatchdesk.protocol.notices import NoticeForMe, NoticeReceipts
from dispatchdesk.protocol.schemas import (
    Change,
    ChangesPage,
    CloseRequest,
    DivertModel,
    IncidentCreate,
    IncidentOut,
    IncidentPatch,
    Snapshot,
    TokenRequest,
    TokenResponse,
    parse_time,
)
from dispatchdesk.sync.errors import (
    ConnectionLost,
    MalformedPayload,
    describe_validation_error,
    error_for,
)

M = TypeVar("M", bound=BaseModel)

log = logging.getLogger(__name__)


class _DivertList(RootModel[list[DivertModel]]):
    pass


class _NoticeList(RootModel[list[NoticeForMe]]):
    pass


DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
#: A connection that broke at once (closed or reset by the server, not a silence): the pool
#: has dropped it, and the request may be sent again on a new one.
_BROKE_AT_ONCE = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
#: Bodies at least this big are validated on a worker thread, not on the loop (GUI) thread.
LARGE_BODY = 256 * 1024


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """A keep-alive from the event stream (an SSE comment or a ``heartbeat`` event)."""

    text: str = ""


class ApiClient:
    """Talks to a server: ``base_url``, or the first of several API nodes that answers
    (``server`` is the one in use; see the module's docstring). ``transport`` is for tests
    (``httpx.ASGITransport``, ``MockTransport``).

    ``clock`` is updated from every response's ``X-Server-Time``. Call :meth:`aclose` when
    done (qasync has no async-generator finaliser: close explicitly).
    """

    def __init__(
        self,
        base_url: str | Sequence[str],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        clock: ServerClock | None = None,
        token: str | None = None,
    ) -> None:
        self.clock = clock if clock is not None else ServerClock()
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        if not urls:
            raise ValueError("no server URL given")
        #: The API nodes' URLs, in the order they are tried.
        self.servers: tuple[str, ...] = tuple(u.rstrip("/") for u in urls)
        self._nodes = [
            httpx.AsyncClient(
                base_url=url + API_PREFIX,
                transport=transport,
                timeout=timeout,
                headers={"Accept": "application/json"},
            )
            for url in self.servers
        ]
        self._current = 0
        self.token: str | None = None
        if token is not None:
            self.set_token(token)

    @property
    def server(self) -> str:
        """The URL of the API node in use."""
        return self.servers[self._current]

    @property
    def _http(self) -> httpx.AsyncClient:
        return self._nodes[self._current]

    def fail_over(self, failed: str | None = None) -> bool:
        """Move on to the next server (when ``failed``, only if it is still the one in use:
        two requests failing together move once). False when there is no other server."""
        if len(self.servers) < 2 or (failed is not None and failed != self.server):
            return False
        self._current = (self._current + 1) % len(self.servers)
        log.warning("server %s stopped answering; now using %s", failed, self.server)
        return True

    # --- session ---------------------------------------------------------------------------

    def set_token(self, token: str | None) -> None:
        self.token = token
        for node in self._nodes:
            if token is None:
                node.headers.pop("Authorization", None)
            else:
                node.headers["Authorization"] = f"Bearer {token}"

    async def sign_in(self, username: str, password: str) -> TokenResponse:
        """Get a bearer token; later requests carry it. Wrong password: :class:`Unauthorized`."""
        body = TokenRequest(username=username, password=password).model_dump(mode="json")
        response = await self._request("POST", "/auth/token", json=body)
        result = self._parse(response, TokenResponse, "sign-in reply")
        self.set_token(result.access_token)
        return result

    async def aclose(self) -> None:
        for node in self._nodes:
            await node.aclose()

    # --- sync ------------------------------------------------------------------------------

    async def snapshot(self) -> Snapshot:
        response = await self._request("GET", "/snapshot")
        return await self._parse_large(response, Snapshot, "snapshot")

    async def changes(self, since: int, limit: int = 1000) -> ChangesPage:
        """Changes after ``since``; :class:`Gone` when the log no longer reaches it."""
        response = await self._request("GET", "/changes", params={"since": since, "limit": limit})
        return await self._parse_large(response, ChangesPage, "page of changes")

    @property
    def request_timeout(self) -> float:
        """Seconds a request waits for its reply (the head of an event stream included)."""
        read = self._http.timeout.read
        return DEFAULT_TIMEOUT.read or 10.0 if read is None else read

    async def events(
        self,
        last_event_id: int | None,
        *,
        read_timeout: float | None = None,
        on_open: Callable[[], None] | None = None,
    ) -> AsyncGenerator[Change | Heartbeat, None]:
        """The live feed after ``last_event_id``: parsed :class:`Change` and :class:`Heartbeat`.

        ``read_timeout`` (seconds) ends the stream with :class:`ConnectionLost` when no byte
        arrives for that long; ``on_open`` is called once the reply's head has come (the
        stream is open). A malformed event raises :class:`MalformedPayload` (the events
        before it have been yielded; nothing after it is). Close with ``aclose()`` or by
        leaving an ``async with contextlib.aclosing(...)`` block.
        """
        headers = {}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        timeout = self._http.timeout
        if read_timeout is not None:
            timeout = httpx.Timeout(
                connect=timeout.connect,
                read=read_timeout,
                write=timeout.write,
                pool=timeout.pool,
            )
        server = self.server
        try:
            sent = self.clock.monotonic()
            async with aconnect_sse(
                self._http, "GET", "/events", headers=headers, timeout=timeout
            ) as source:
                response = source.response
                self._observe(response, sent)
                if response.is_error:
                    await response.aread()
                    self._raise_for_status(response)
                content_type = response.headers.get("content-type", "")
                if "text/event-stream" not in content_type:
                    raise MalformedPayload(
                        f"The event stream answered with content type {content_type!r}, "
                        "not text/event-stream."
                    )
                if on_open is not None:
                    on_open()
                async for item in _decode_sse(response.aiter_lines()):
                    yield item
        except httpx.TransportError as exc:
            self.fail_over(server)
            raise ConnectionLost(self._lost_message(exc, server)) from exc
        except SSEError as exc:
            raise MalformedPayload(f"The event stream is not valid: {exc}") from exc

    # --- commands --------------------------------------------------------------------------

    async def create_incident(
        self, body: IncidentCreate | Mapping[str, Any], *, idempotency_key: str
    ) -> IncidentOut:
        response = await self._request(
            "POST", "/incidents", json=_body(body), headers=_command_headers(idempotency_key)
        )
        return self._parse(response, IncidentOut, "incident")

    async def patch_incident(
        self,
        incident_id: int,
        body: IncidentPatch | Mapping[str, Any],
        *,
        idempotency_key: str,
        if_match: int,
    ) -> IncidentOut:
        response = await self._request(
            "PATCH",
            f"/incidents/{incident_id}",
            json=_body(body),
            headers=_command_headers(idempotency_key, if_match),
        )
        return self._parse(response, IncidentOut, "incident")

    async def close_incident(
        self,
        incident_id: int,
        body: CloseRequest | Mapping[str, Any],
        *,
        idempotency_key: str,
        if_match: int | None = None,
    ) -> IncidentOut:
        response = await self._request(
            "POST",
            f"/incidents/{incident_id}/close",
            json=_body(body),
            headers=_command_headers(idempotency_key, if_match),
        )
        return self._parse(response, IncidentOut, "incident")

    async def command(
        self,
        method: str,
        path: str,
        body: BaseModel | Mapping[str, Any],
        *,
        idempotency_key: str,
        if_match: int | None = None,
        reply: type[M],
        what: str,
    ) -> M:
        """Any command route: the body, its Idempotency-Key and If-Match; the reply parsed."""
        response = await self._request(
            method, path, json=_body(body), headers=_command_headers(idempotency_key, if_match)
        )
        return self._parse(response, reply, what)

    async def diverts(self, state: str = "all") -> list[DivertModel]:
        """The DIVERT tag list (``open`` or ``all``, history included)."""
        response = await self._request("GET", "/diverts", params={"state": state})
        return (await self._parse_large(response, _DivertList, "DIVERT tag list")).root

    async def my_notices(self) -> list[NoticeForMe]:
        """Live notices for this operator's role, with when this operator read each."""
        response = await self._request("GET", "/notices")
        return self._parse(response, _NoticeList, "list of notices").root

    async def notice_receipts(self, notice_id: int) -> NoticeReceipts:
        """Who has read a notice and who of its roles has not (supervisors)."""
        response = await self._request("GET", f"/notices/{notice_id}/receipts")
        return self._parse(response, NoticeReceipts, "notice receipts")

    async def history(
        self, *, place: Place | None = None, person: Person | None = None
    ) -> HistoryPage:
        """``GET /history``: earlier incidents at ``place`` and/or involving ``person``."""
        params: dict[str, str] = {}
        if place is not None:
            for key in ("uprn", "parent_uprn", "usrn", "address", "postcode"):
                value = getattr(place, key)
                if value:
                    params[key] = value
        if person is not None:
            params["name"] = person.name
            if person.dob is not None:
                params["dob"] = person.dob.isoformat()
        response = await self._request("GET", "/history", params=params)
        return await self._parse_large(response, HistoryPage, "history")

    async def incident_history(self, incident_id: int) -> HistoryPage:
        """``GET /incidents/{id}/history``: its location's and people's, and its links."""
        response = await self._request("GET", f"/incidents/{incident_id}/history")
        return await self._parse_large(response, HistoryPage, "history")

    async def get_incident(self, incident_id: int) -> IncidentOut:
        response = await self._request("GET", f"/incidents/{incident_id}")
        return self._parse(response, IncidentOut, "incident")

    # --- plumbing --------------------------------------------------------------------------

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request, sent again to each other server in turn while the one in use does
        not answer (every request is safe to repeat: reads, sign-in, idempotent commands).

        A kept-alive connection the server has just closed (its idle timeout, a restart)
        breaks at once: the request is sent again once on a new connection to the same server
        before that server counts as not answering."""
        tried = 0
        renewed = False
        while True:
            server = self.server
            sent = self.clock.monotonic()
            try:
                response = await self._http.request(method, path, **kwargs)
                break
            except httpx.TransportError as exc:
                if not renewed and isinstance(exc, _BROKE_AT_ONCE):
                    renewed = True
                    log.info("connection to %s broke (%r); sending again on a new one", server, exc)
                    continue
                tried += 1
                if not self.fail_over(server):
                    raise ConnectionLost(self._lost_message(exc, server)) from exc
                if tried >= len(self.servers):
                    raise ConnectionLost(self._lost_message(exc, ", ".join(self.servers))) from exc
        self._observe(response, sent)
        if response.is_error:
            self._raise_for_status(response)
        return response

    def _lost_message(self, exc: httpx.TransportError, tried: str) -> str:
        """What went wrong, naming the node(s) ``tried`` when there are several."""
        message = _transport_message(exc)
        if len(self.servers) > 1:
            message = f"{message.rstrip('.')} (tried {tried})."
        return message

    def _observe(self, response: httpx.Response, sent: float) -> None:
        received = self.clock.monotonic()
        stamp = response.headers.get(SERVER_TIME_HEADER)
        if not stamp:
            return
        try:
            when: datetime = parse_time(stamp)
        except ValueError:
            return  # a bad clock header must not break the sync; the clock keeps its anchor
        if when.tzinfo is None:
            return
        self.clock.observe(when, sent, received)

    @staticmethod
    def _raise_for_status(response: httpx.Response) -> None:
        detail: Any
        try:
            data = json.loads(response.content) if response.content else None
            detail = data.get("detail", data) if isinstance(data, dict) else data
        except ValueError:
            detail = response.text.strip()[:500] or None
        raise error_for(response.status_code, detail)

    @classmethod
    async def _parse_large(cls, response: httpx.Response, model: type[M], what: str) -> M:
        """Parse a big body (a 10k-incident snapshot) off the event loop's thread."""
        if len(response.content) < LARGE_BODY:
            return cls._parse(response, model, what)
        return await asyncio.to_thread(cls._parse, response, model, what)

    @staticmethod
    def _parse(response: httpx.Response, model: type[M], what: str) -> M:
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            if any(e.get("type") == "json_invalid" for e in exc.errors()):
                raise MalformedPayload(f"The server sent a {what} that is not valid JSON.") from exc
            raise MalformedPayload(describe_validation_error(what, exc)) from exc


def _body(body: BaseModel | Mapping[str, Any]) -> Any:
    if isinstance(body, BaseModel):
        return body.model_dump(mode="json", exclude_unset=True)
    return dict(body)


def _command_headers(key: str, if_match: int | None = None) -> dict[str, str]:
    headers = {IDEMPOTENCY_HEADER: key}
    if if_match is not None:
        headers["If-Match"] = str(if_match)
    return headers


def _transport_message(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "The server did not answer in time."
    if isinstance(exc, httpx.ConnectError):
        if _certificate_problem(exc):
            return (
                "The server's certificate is not trusted, so the desk will not connect. "
                "Ask IT to set ca_bundle to the force's CA certificate file, or check the "
                "server address."
            )
        return "Cannot reach the server."
    return f"The connection to the server broke ({type(exc).__name__})."


def _certificate_problem(exc: BaseException) -> bool:
    """Whether a connection failed because the server's certificate was not trusted."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(
            seen
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


async def _decode_sse(lines: AsyncIterator[str]) -> AsyncIterator[Change | Heartbeat]:
    """SSE framing (WHATWG): comments are heartbeats; ``change`` events are parsed."""
    event = ""
    data: list[str] = []
    last_id: str | None = None
    async for raw in lines:
        line = raw.rstrip("\r\n")
        if line == "":
            if data or event:
                item = _to_item(event or "message", "\n".join(data), last_id)
                if item is not None:
                    yield item
            event, data = "", []
            continue
        if line.startswith(":"):
            yield Heartbeat(line[1:].strip())
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
        elif name == "id":
            last_id = value
        # "retry" and unknown fields are ignored, as the SSE standard says.


def _to_item(event: str, data: str, last_id: str | None) -> Change | Heartbeat | None:
    if event in ("heartbeat", "ping"):
        return Heartbeat(data)
    if event not in ("change", "message"):
        return None  # an event type this client version does not know
    try:
        change = Change.model_validate_json(data)
    except ValidationError as exc:
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            raise MalformedPayload(
                f"The server sent a change event (id {last_id}) that is not valid JSON."
            ) from exc
        raise MalformedPayload(
            describe_validation_error(f"change event (id {last_id})", exc)
        ) from exc
    if last_id is not None and last_id.strip() != str(change.seq):
        raise MalformedPayload(
            f"The server sent a change event whose id ({last_id}) is not its seq ({change.seq})."
        )
    return change
