"""Per-feature command builders: each turns an operator's action into an outbox command.

A builder validates the body against the wire model (an invalid one is stored FAILED with the
reason, never sent), words the outbox's description, and hands the command to ``enqueue``.
One module per feature: incidents, units (and divert reviews), schemes, warning audits; each
builder is a mixin of :class:`~dispatchdesk.sync.engine.SyncEngine` (a new feature's commands:
a builder here, its routes in ``sync/routes.py``, and the builder in the engine's bases).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from pydantic_core import to_jsonable_python

from dispatchdesk.protocol.base import StrictWire
from dispatchdesk.sync.outbox import Command

#: Stores a command (durably, on a task) and returns its id at once.
Enqueue = Callable[[Command], str]


def validated(
    model: type[StrictWire], what: str, **fields: Any
) -> tuple[dict[str, Any], str | None]:
    """The JSON body, and a readable reason when it is not valid (then the raw fields)."""
    try:
        body = model(**fields)
    except ValidationError as exc:
        messages = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" if e["loc"] else e["msg"]
            for e in exc.errors()
        )
        raw: dict[str, Any] = to_jsonable_python({k: v for k, v in fields.items() if v is not None})
        return raw, f"The {what} is not valid: {messages}."
    data: dict[str, Any] = body.model_dump(mode="json", exclude_unset=True)
    return data, None
