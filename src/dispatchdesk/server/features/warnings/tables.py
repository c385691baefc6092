"""The tables of special schemes, their victim contact logs and protective orders (on
:data:`dispatchdesk.server.db.metadata`)."""

import sqlalchemy as sa

from dispatchdesk.server.db import (
    UTCDateTime,
    metadata,
)

schemes = sa.Table(
    "schemes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("location", sa.JSON, nullable=False),
    sa.Column("uprn", sa.String(12), index=True),
    sa.Column("parent_uprn", sa.String(12), index=True),
    sa.Column("usrn", sa.String(12), index=True),
    sa.Column("category", sa.String(30), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("officer_in_case", sa.String(200), nullable=False),
    sa.Column("starts_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False, index=True),
    sa.Column("extended_at", UTCDateTime()),
    sa.Column("review_requested_at", UTCDateTime()),
    sa.Column("escalated_at", UTCDateTime()),
    #: When a first-stage review with no decision goes to second stage: set with
    #: ``review_requested_at``, cleared by the escalation, a decision or the removal, so the
    #: sweep finds the due ones by index.
    sa.Column("escalation_due_at", UTCDateTime(), index=True),
    sa.Column("victim_informed_at", UTCDateTime()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    #: Set when the scheme expired or was ended; from then on it is never served.
    sa.Column("removed_at", UTCDateTime(), index=True),
    sa.Column("removed_reason", sa.Text),
    #: The sweep's look-ups of live schemes by expiry (removed_at alone matches every live one).
    sa.Index("ix_schemes_live_expiry", "removed_at", "expires_at"),
)

#: The victim contact log of each scheme: told (INFORMED) or a failed attempt (NO_CONTACT).
scheme_victim_contacts = sa.Table(
    "scheme_victim_contacts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("scheme_id", sa.Integer, sa.ForeignKey("schemes.id"), nullable=False, index=True),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("note", sa.Text),
    #: When the contact or attempt happened (never after the time it was recorded).
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("recorded_at", UTCDateTime(), nullable=False),
    sa.Column("username", sa.String(100), nullable=False),
    #: The notice given with the new scheme: it never counts as notice of the removal.
    sa.Column("outset", sa.Boolean, nullable=False, server_default=sa.false()),
)

protective_orders = sa.Table(
    "protective_orders",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("order_type", sa.String(30), nullable=False),
    sa.Column("subject", sa.JSON, nullable=False),
    sa.Column("protected_persons", sa.JSON, nullable=False),
    sa.Column("locations", sa.JSON, nullable=False),
    sa.Column("conditions", sa.Text, nullable=False),
    sa.Column("issued_on", sa.Date, nullable=False),
    sa.Column("expires_on", sa.Date),
    sa.Column("source_ref", sa.String(100), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

#: Seconds between sweeps while the app runs (a scheme leaves within this of its expiry
