"""Commands sent from a form that closes once it has sent them (the DIVERT review, the
withdrawal reason, the end of a scheme), followed until the server confirms or refuses them:
a refusal calls the form back once, with the server's sentence, to open again where the
operator typed, with the text they typed and the sentence beside it.

The detail panel and the assign window keep their own followers (their forms stay open).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dispatchdesk.domain.commands import CommandState, PendingCommand

#: Called with the server's sentence (or why it was held).
OnRefused = Callable[[str], None]


@dataclass
class _Watched:
    on_refused: OnRefused
    #: Listed by the outbox at least once: only then does its absence mean "confirmed".
    seen: bool = False


class RefusalWatch:
    """The commands a form sent, each until it is confirmed or refused."""

    def __init__(self) -> None:
        self._watched: dict[str, _Watched] = {}

    def watch(
        self, command_id: str, on_refused: OnRefused, pending: Sequence[PendingCommand] = ()
    ) -> None:
        """Follow ``command_id``; ``pending``: the outbox as last reported, if known (the
        command may already be listed)."""
        self._watched[command_id] = _Watched(on_refused, any(c.id == command_id for c in pending))

    def follow(self, commands: Sequence[PendingCommand]) -> None:
        """The outbox's unconfirmed commands, as the relay reports them."""
        by_id = {c.id: c for c in commands}
        for command_id, watched in list(self._watched.items()):
            command = by_id.get(command_id)
            if command is None:
                if watched.seen:
                    del self._watched[command_id]  # confirmed (or discarded)
                continue
            watched.seen = True
            # A held command is the Commands panel's to send or discard: still followed.
            if command.state is CommandState.FAILED:
                del self._watched[command_id]
                watched.on_refused(f"Refused by the server: {command.message or 'no reason given'}")

    def __len__(self) -> int:
        return len(self._watched)
