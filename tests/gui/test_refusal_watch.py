"""RefusalWatch: a form's command followed until confirmed (no call) or refused (one call);
a held command stays followed (the Commands panel may still send it)."""

from __future__ import annotations

from dataclasses import replace

from dispatchdesk.domain.commands import CommandKind, CommandState, PendingCommand
from dispatchdesk.gui.common.refusals import RefusalWatch
from tests.gui.factories import T0


def command(command_id: str, state: CommandState, message: str | None = None) -> PendingCommand:
    return PendingCommand(
        id=command_id,
        kind=CommandKind.REVIEW_DIVERT,
        incident_id=None,
        description="Review",
        created_at=T0,
        state=state,
        message=message,
    )


def test_confirmed_refused_and_held() -> None:
    said: list[str] = []
    watch = RefusalWatch()
    watch.watch("a", said.append)
    watch.watch("b", said.append)
    watch.watch("c", said.append)
    watch.follow([])  # an outbox report from before the commands were stored: nothing gone
    assert len(watch) == 3
    a, b, c = (command(i, CommandState.QUEUED) for i in "abc")
    watch.follow([a, b, c])
    watch.follow([replace(b, state=CommandState.FAILED, message="Too short."), c])
    assert said == ["Refused by the server: Too short."]  # a confirmed: no call
    assert len(watch) == 1
    watch.follow([replace(c, state=CommandState.HELD, message="Not sent within 10 min")])
    assert len(watch) == 1 and said == ["Refused by the server: Too short."]
    watch.follow([replace(c, state=CommandState.FAILED)])
    assert said[-1] == "Refused by the server: no reason given" and len(watch) == 0
