"""Downgrades with a second pair of eyes: a call handler's or dispatcher's downgrade is held as
a request (``pending_downgrade``) until a supervisor approves or rejects it."""
