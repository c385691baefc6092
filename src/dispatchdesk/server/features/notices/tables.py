"""The tables of notices and their read receipts (on :data:`dispatchdesk.server.db.metadata`)."""

import sqlalchemy as sa

from dispatchdesk.server.db import UTCDateTime, metadata

notices = sa.Table(
    "notices",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    #: The roles it is for, comma-separated role values.
    sa.Column("roles", sa.String(200), nullable=False),
    sa.Column("requires_ack", sa.Boolean, nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False, index=True),
    sa.Column("created_by", sa.String(100), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

#: One row per user who has read a notice: the first read is kept.
notice_receipts = sa.Table(
    "notice_receipts",
    metadata,
    sa.Column(
        "notice_id",
        sa.Integer,
        sa.ForeignKey("notices.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("username", sa.String(100), primary_key=True),
    sa.Column("role", sa.String(30), nullable=False),
    sa.Column("read_at", UTCDateTime(), nullable=False),
)
