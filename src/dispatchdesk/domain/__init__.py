"""Domain rules of Dispatch Desk: pure Python, no I/O, no Qt.

Everything here is deterministic given an injected :class:`~dispatchdesk.domain.clock.Clock`.
"""
