"""Client-side sync: the HTTP/SSE client, the outbox, and the engine that keeps the cache and
the screen in step with the server. No Qt here: the GUI listens through
:class:`dispatchdesk.sync.api.DeskListener`.
"""
