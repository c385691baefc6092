"""``GET /api/v1/health``: for load balancers in front of several API nodes. No sign-in, no
throttle; 200 once the database has answered, 503 with ``Retry-After`` when it has not within
:data:`~dispatchdesk.server.features.health.service.HEALTH_TIMEOUT` seconds."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from dispatchdesk.protocol import API_PREFIX
from dispatchdesk.protocol.base import Wire
from dispatchdesk.server.features.health.service import DatabaseState, Health

#: Seconds a balancer is asked to wait before asking an unavailable node again.
RETRY_AFTER = 2
_NO_STORE = {"Cache-Control": "no-store"}


class HealthOut(Wire):
    """``status``: "ok" or "unavailable"; ``database``: "ok", "timeout" (no answer in time)
    or "error" (it refused or failed; the node's log says how); ``seq``: the change log's
    head, when the database answered."""

    status: Literal["ok", "unavailable"]
    database: DatabaseState
    seq: int | None = None


def router(health: Health) -> APIRouter:
    r = APIRouter(prefix=API_PREFIX, tags=["health"])

    @r.get(
        "/health",
        response_model=HealthOut,
        summary="Whether this API node can reach its database (no sign-in; for load balancers)",
        description="200 after a round trip to the database (the change log's head, `seq`). "
        f"503 when the database does not answer within {health.timeout:g} s, or fails: take "
        "the node out of rotation and ask again after `Retry-After` seconds.",
        responses={
            503: {
                "model": HealthOut,
                "description": "The database did not answer in time, or failed",
                "headers": {
                    "Retry-After": {
                        "description": "Seconds to wait before asking again",
                        "schema": {"type": "integer"},
                    }
                },
            }
        },
    )
    async def get_health() -> JSONResponse:
        report = await health.check()
        if report.ok:
            body = HealthOut(status="ok", database="ok", seq=report.seq)
            return JSONResponse(body.model_dump(mode="json"), headers=_NO_STORE)
        down = HealthOut(status="unavailable", database=report.database)
        return JSONResponse(
            down.model_dump(mode="json", exclude_none=True),
            status_code=503,
            headers={**_NO_STORE, "Retry-After": str(RETRY_AFTER)},
        )

    return r
