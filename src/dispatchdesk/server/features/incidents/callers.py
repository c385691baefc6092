"""The caller as stored: anonymity only at the caller's request, recorded with who and when.

``caller.anonymous`` is refused without ``caller.anonymity_requested`` before this is reached
(:func:`dispatchdesk.server.reference.checked_incident`); no other command changes the caller,
so anonymity is set only here. Whatever a client sends as ``anonymity_recorded_by``/``_at`` is
replaced by the server's own record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dispatchdesk.protocol.schemas import CallerModel
from dispatchdesk.server.auth import User


def recorded_caller(caller: CallerModel, user: User, now: datetime) -> dict[str, Any]:
    """The caller's JSON to store: the anonymity record is the server's (``user``, ``now``)."""
    anonymous = caller.anonymous and caller.anonymity_requested
    stored = caller.model_copy(
        update={
            "anonymity_recorded_by": user.username if anonymous else None,
            "anonymity_recorded_at": now if anonymous else None,
        }
    )
    data: dict[str, Any] = stored.model_dump(mode="json")
    return data
