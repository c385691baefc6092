"""``/schemes``, ``/orders`` and ``/warnings`` (supervisors change schemes and orders)."""

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from dispatchdesk.domain.roles import Right, Role
from dispatchdesk.domain.warnings import (
    Person,
    Place,
    ReviewState,
)
from dispatchdesk.protocol import IDEMPOTENCY_HEADER
from dispatchdesk.protocol.warnings import (
    OrderCreate,
    OrderOut,
    OrderPatch,
    SchemeCreate,
    SchemeEnd,
    SchemeExtend,
    SchemeOut,
    SchemeReviewRequest,
    SchemeVictimContact,
    SchemeVictimInformed,
    WarningAudit,
    WarningsPage,
)
from dispatchdesk.server.auth import User
from dispatchdesk.server.errors import (
    Forbidden,
    Invalid,
    PreconditionRequired,
)
from dispatchdesk.server.features.warnings.service import WarningsDesk
from dispatchdesk.server.http_common import (
    Require,
    api_router,
    command_response,
    error,
    idem_for,
    parse_if_match,
)
from dispatchdesk.server.openapi import OPTIONAL_KEY

key_header = Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER)]
match_header = Annotated[str | None, Header(alias="If-Match")]
tags: list[str | Any] = ["warnings"]
#: What a command on schemes, orders and warnings may be refused with, besides what every
#: route documents (dispatchdesk.server.openapi).
RULE_ERRORS = {
    **error(403, "Only a supervisor changes schemes and orders"),
    **error(409, "A rule is broken: the detail says which and what to do instead"),
}


def supervisor(user: User) -> None:
    """403 unless ``user`` is a supervisor: only they change schemes and orders."""
    if user.role is not Role.SUPERVISOR:
        raise Forbidden(
            f"Your role ({user.role.label}) cannot change special schemes or "
            "protective orders: it needs the supervisor role."
        )


def router(desk: WarningsDesk, require: Require) -> APIRouter:
    r = api_router()
    _scheme_routes(r, desk, require)
    _scheme_decision_routes(r, desk, require)
    _order_routes(r, desk, require)
    _warning_routes(r, desk, require)
    for route in r.routes:  # every command documents the refusals of a rule
        if isinstance(route, APIRoute) and (route.methods or set()) & {"POST", "PATCH"}:
            route.responses = {**RULE_ERRORS, **route.responses}
    return r


def _scheme_routes(r: APIRouter, desk: WarningsDesk, require: Require) -> None:
    """Adding and reading schemes."""
    viewer = Annotated[User, Depends(require(Right.VIEW))]

    @r.post(
        "/schemes",
        status_code=201,
        response_model=SchemeOut,
        tags=tags,
        summary="Add a special scheme (supervisor; Idempotency-Key required)",
    )
    def create_scheme(
        request: Request, body: SchemeCreate, user: viewer, key: key_header = None
    ) -> JSONResponse:
        supervisor(user)
        return command_response(desk.create_scheme(user, body, idem_for(request, key, body)))

    @r.get(
        "/schemes",
        response_model=list[SchemeOut],
        tags=tags,
        summary="The live special schemes, optionally in one review state",
    )
    def list_schemes(_user: viewer, state: ReviewState | None = None) -> list[SchemeOut]:
        desk.sweep()
        return desk.list_schemes(state)

    @r.get(
        "/schemes/{scheme_id}",
        response_model=SchemeOut,
        tags=tags,
        summary="One live special scheme (404 once expired or ended)",
    )
    def get_scheme(scheme_id: int, _user: viewer) -> SchemeOut:
        desk.sweep()
        return desk.get_scheme(scheme_id)


def _scheme_decision_routes(r: APIRouter, desk: WarningsDesk, require: Require) -> None:
    """A scheme's review: extend, end, request a review, the victim contact log."""
    _scheme_review_routes(r, desk, require)
    _victim_contact_routes(r, desk, require)


def _scheme_review_routes(r: APIRouter, desk: WarningsDesk, require: Require) -> None:
    """Extend, end and request a review of a scheme."""
    viewer = Annotated[User, Depends(require(Right.VIEW))]

    @r.post(
        "/schemes/{scheme_id}/extend",
        response_model=SchemeOut,
        tags=tags,
        summary="Extend a scheme: at most six months from now (supervisor)",
    )
    def extend(
        request: Request,
        scheme_id: int,
        body: SchemeExtend,
        user: viewer,
        key: key_header = None,
        if_match: match_header = None,
    ) -> JSONResponse:
        supervisor(user)
        return command_response(
            desk.extend_scheme(
                user, scheme_id, body, idem_for(request, key, body), parse_if_match(if_match)
            )
        )

    @r.post(
        "/schemes/{scheme_id}/end",
        tags=tags,
        summary="End a scheme now; clients are told to remove it (supervisor). 409 "
        "unless the victim contact log has an entry since the review request, "
        "extension or creation, or an override_rationale is given",
    )
    def end(
        request: Request,
        scheme_id: int,
        body: SchemeEnd,
        user: viewer,
        key: key_header = None,
        if_match: match_header = None,
    ) -> JSONResponse:
        supervisor(user)
        return command_response(
            desk.end_scheme(
                user, scheme_id, body, idem_for(request, key, body), parse_if_match(if_match)
            )
        )

    @r.post(
        "/schemes/{scheme_id}/review-request",
        response_model=SchemeOut,
        tags=tags,
        summary="Request a first-stage review: second stage after 14 days with no "
        "decision, or halfway to expiry when sooner (supervisor)",
    )
    def review_request(
        request: Request,
        scheme_id: int,
        body: SchemeReviewRequest,
        user: viewer,
        key: key_header = None,
        if_match: match_header = None,
    ) -> JSONResponse:
        supervisor(user)
        return command_response(
            desk.request_review(
                user, scheme_id, body, idem_for(request, key, body), parse_if_match(if_match)
            )
        )


def _victim_contact_routes(r: APIRouter, desk: WarningsDesk, require: Require) -> None:
    """The scheme's victim contact log: informed, or a contact (or failed attempt)."""
    viewer = Annotated[User, Depends(require(Right.VIEW))]

    @r.post(
        "/schemes/{scheme_id}/victim-informed",
        response_model=SchemeOut,
        tags=tags,
        summary="Record that (and when) the victim was told: an INFORMED entry of the "
        "victim contact log (supervisor)",
    )
    def victim_informed(
        request: Request,
        scheme_id: int,
        body: SchemeVictimInformed,
        user: viewer,
        key: key_header = None,
        if_match: match_header = None,
    ) -> JSONResponse:
        supervisor(user)
        return command_response(
            desk.victim_informed(
                user, scheme_id, body, idem_for(request, key, body), parse_if_match(if_match)
            )
        )

    @r.post(
        "/schemes/{scheme_id}/victim-contact",
        response_model=SchemeOut,
        tags=tags,
        summary="Add to the victim contact log: INFORMED, or NO_CONTACT (a failed "
        "attempt), with when and a note (supervisor)",
    )
    def victim_contact(
        request: Request,
        scheme_id: int,
        body: SchemeVictimContact,
        user: viewer,
        key: key_header = None,
        if_match: match_header = None,
    ) -> JSONResponse:
        supervisor(user)
        return command_response(
            desk.victim_contact(
                user, scheme_id, body, idem_for(request, key, body), parse_if_match(if_match)
            )
        )


def _order_routes(r: APIRouter, desk: WarningsDesk, require: Require) -> None:
    """Adding, reading and updating protective orders."""
    viewer = Annotated[User, Depends(require(Right.VIEW))]

    @r.post(
        "/orders",
        status_code=201,
        response_model=OrderOut,
        tags=tags,
        summary="Add a protective order (supervisor; Idempotency-Key required)",
    )
    def create_order(
        request: Request, body: OrderCreate, user: viewer, key: key_header = None
    ) -> JSONResponse:
        supervisor(user)
        return command_response(desk.create_order(user, body, idem_for(request, key, body)))

    @r.get("/orders/{order_id}", response_model=OrderOut, tags=tags, summary="One protective order")
    def get_order(order_id: int, _user: viewer) -> OrderOut:
        return desk.get_order(order_id)

    @r.patch(
        "/orders/{order_id}",
        response_model=OrderOut,
        tags=tags,
        summary="Update a protective order (supervisor; If-Match required)",
    )
    def patch_order(
        request: Request,
        order_id: int,
        body: OrderPatch,
        user: viewer,
        key: key_header = None,
        if_match: match_header = None,
    ) -> JSONResponse:
        supervisor(user)
        if if_match is None or not if_match.strip():
            raise PreconditionRequired(
                "The If-Match header is required: send the version of the order you "
                "edited (for example If-Match: 3)."
            )
        v = parse_if_match(if_match)
        return command_response(
            desk.patch_order(user, order_id, body, v, idem_for(request, key, body, required=False))
        )


def _warning_routes(r: APIRouter, desk: WarningsDesk, require: Require) -> None:
    """Matching warnings, and the audit of warnings shown and acknowledged."""
    viewer = Annotated[User, Depends(require(Right.VIEW))]

    @r.get(
        "/warnings",
        response_model=WarningsPage,
        tags=tags,
        responses=error(404, "No such incident (incident_id)"),
        summary="Warnings matching a location and/or a person, most severe first",
    )
    def get_warnings(
        _user: viewer,
        uprn: Annotated[str | None, Query(max_length=12)] = None,
        parent_uprn: Annotated[str | None, Query(max_length=12)] = None,
        usrn: Annotated[str | None, Query(max_length=12)] = None,
        address: Annotated[str | None, Query(max_length=500)] = None,
        postcode: Annotated[str | None, Query(max_length=10)] = None,
        name: Annotated[str | None, Query(max_length=200)] = None,
        dob: date | None = None,
        incident_id: int | None = None,
    ) -> WarningsPage:
        desk.sweep()
        q = None
        if any((uprn, parent_uprn, usrn, address, postcode)):
            q = Place(
                uprn=uprn or None,
                parent_uprn=parent_uprn or None,
                usrn=usrn or None,
                address=address or None,
                postcode=postcode or None,
            )
        who = Person(name=name, dob=dob) if name and name.strip() else None
        if q is None and who is None and incident_id is None:
            raise Invalid(
                "Say what to match: a location (uprn, parent_uprn, usrn, address, "
                "postcode), a person (name, dob) or an incident_id."
            )
        return desk.warnings(q, who, incident_id)

    def audit_route(action: str) -> Callable[..., JSONResponse]:
        def route(
            request: Request,
            kind: Literal["scheme", "order"],
            entity_id: int,
            body: WarningAudit,
            user: viewer,
            key: key_header = None,
        ) -> JSONResponse:
            return command_response(
                desk.audit_warning(
                    user,
                    kind,
                    entity_id,
                    body,
                    action,
                    idem_for(request, key, body, required=False),
                )
            )

        return route

    r.add_api_route(
        "/warnings/{kind}/{entity_id}/shown",
        audit_route("warning_shown"),
        methods=["POST"],
        tags=tags,
        openapi_extra={OPTIONAL_KEY: True},
        summary="Audit: this warning was shown to me for an incident",
    )
    r.add_api_route(
        "/warnings/{kind}/{entity_id}/acknowledge",
        audit_route("warning_acknowledged"),
        methods=["POST"],
        tags=tags,
        openapi_extra={OPTIONAL_KEY: True},
        summary="Audit: I acknowledged this warning for an incident",
    )
