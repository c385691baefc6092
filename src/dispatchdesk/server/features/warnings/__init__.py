"""Special schemes, protective orders and the warnings they raise: tables, rows to wire,
writes shared with the bulk import, the scheme sweep, the service and its routes."""
