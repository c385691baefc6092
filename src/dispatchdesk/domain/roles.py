"""Roles and the rights they carry. The server enforces these; the GUI only hides actions."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CALL_HANDLER = "call_handler"
    DISPATCHER = "dispatcher"
    SUPERVISOR = "supervisor"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Right(StrEnum):
    VIEW = "view"
    CREATE_INCIDENT = "create_incident"
    REGRADE = "regrade"
    EDIT_SUMMARY = "edit_summary"
    CHANGE_STATUS = "change_status"
    CLOSE_INCIDENT = "close_incident"
    VIEW_DELAY_STRIP = "view_delay_strip"
    #: Assign, divert, arrive, clear units and change their status.
    DISPATCH_UNITS = "dispatch_units"
    #: Add units to the fleet.
    MANAGE_UNITS = "manage_units"
    #: Mark DIVERT tag-list entries reviewed; close an owed incident.
    REVIEW_DIVERTS = "review_diverts"
    #: Extend, end and review special schemes; record that the victim was informed.
    MANAGE_SCHEMES = "manage_schemes"
    #: Read the history of a location, a person or an incident (every role: a call handler
    #: needs it while the caller is on the line).
    VIEW_HISTORY = "view_history"
    #: Link an incident to another (a duplicate call, a related one found in its history).
    LINK_INCIDENTS = "link_incidents"
    #: Remove a link: it hides what was known, so not the call handler's alone.
    UNLINK_INCIDENTS = "unlink_incidents"


RIGHTS: dict[Role, frozenset[Right]] = {
    Role.CALL_HANDLER: frozenset(
        {
            Right.VIEW,
            Right.CREATE_INCIDENT,
            Right.REGRADE,
            Right.EDIT_SUMMARY,
            Right.VIEW_HISTORY,
            Right.LINK_INCIDENTS,
        }
    ),
    Role.DISPATCHER: frozenset(
        {
            Right.VIEW,
            Right.CREATE_INCIDENT,
            Right.REGRADE,
            Right.EDIT_SUMMARY,
            Right.CHANGE_STATUS,
            Right.CLOSE_INCIDENT,
            Right.DISPATCH_UNITS,
            Right.VIEW_HISTORY,
            Right.LINK_INCIDENTS,
            Right.UNLINK_INCIDENTS,
        }
    ),
    Role.SUPERVISOR: frozenset(Right),
}


def has_right(role: Role, right: Right) -> bool:
    return right in RIGHTS[role]
