"""The tables history is searched with, and links between incidents (on
:data:`dispatchdesk.server.db.metadata`).

``incident_places`` and ``incident_people`` are search keys derived from each incident's
location, caller and persons when it is stored (they never change after: a location and the
people named are not edited), so a lookup reads a few index entries instead of parsing
millions of JSON documents. ``created_at`` is copied in so the window and the most recent
first are read from the same index.
"""

import sqlalchemy as sa

from dispatchdesk.server.db import UTCDateTime, metadata

#: One row per incident: its location's identifiers and its address split as the warnings'
#: matcher splits it (:func:`~dispatchdesk.domain.addresses.address_parts`).
incident_places = sa.Table(
    "incident_places",
    metadata,
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), primary_key=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("uprn", sa.String(12)),
    sa.Column("parent_uprn", sa.String(12)),
    sa.Column("usrn", sa.String(12)),
    #: House number ("10a") or name; null when the address has none.
    sa.Column("house", sa.String(100)),
    #: The street proper, spelt out ("acre lane"), and the same reversed: a street one typo
    #: away shares the first half or the last half of it, which an index finds by prefix.
    sa.Column("street", sa.String(200)),
    sa.Column("street_rev", sa.String(200)),
    #: The full postcode, upper case without spaces ("SW25SA"), when readable.
    sa.Column("postcode", sa.String(8)),
    sa.Index("ix_incident_places_uprn", "uprn", "created_at"),
    sa.Index("ix_incident_places_parent_uprn", "parent_uprn", "created_at"),
    sa.Index("ix_incident_places_usrn", "usrn", "house"),
    sa.Index("ix_incident_places_postcode", "postcode", "house"),
    sa.Index(
        "ix_incident_places_street",
        "house",
        "street",
        postgresql_ops={"street": "text_pattern_ops"},
    ),
    sa.Index(
        "ix_incident_places_street_rev",
        "house",
        "street_rev",
        postgresql_ops={"street_rev": "text_pattern_ops"},
    ),
)

#: One row per person on an incident, the caller included (``caller`` true).
incident_people = sa.Table(
    "incident_people",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False, index=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    #: :func:`~dispatchdesk.domain.warnings.normalise_name`: case, punctuation and word order
    #: aside ("gary hollis").
    sa.Column("name_norm", sa.String(200), nullable=False),
    sa.Column("dob", sa.Date),
    sa.Column("role", sa.String(12), nullable=False),
    sa.Column("caller", sa.Boolean, nullable=False, server_default=sa.false()),
    #: Same name (with this date of birth, or none): the window's most recent first.
    sa.Index("ix_incident_people_name", "name_norm", "dob", "created_at"),
    #: Same date of birth: the near-identical names.
    sa.Index("ix_incident_people_dob", "dob", "name_norm"),
)

#: Links between incidents: one row each way (``relation`` as seen from ``incident_id``).
incident_links = sa.Table(
    "incident_links",
    metadata,
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), primary_key=True),
    sa.Column("other_id", sa.Integer, sa.ForeignKey("incidents.id"), primary_key=True),
    sa.Column("relation", sa.String(10), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("by", sa.String(100), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
)

#: One row: every incident with an id up to ``checked_through`` has its search keys (the
#: start-up backfill looks only above it, so a large database is not scanned at every start).
history_keys_state = sa.Table(
    "history_keys_state",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("checked_through", sa.BigInteger, nullable=False),
)
