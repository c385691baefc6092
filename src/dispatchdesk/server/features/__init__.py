"""The server's features, one package each: ``service.py`` (commands and queries, pure of HTTP,
raising the typed refusals of :mod:`dispatchdesk.server.errors`, every command run by the
:class:`~dispatchdesk.server.runner.CommandRunner`) and ``routes.py`` (its ``APIRouter``).

A new endpoint goes in the ``routes.py`` of its feature; a new feature is a new package here
whose router :func:`dispatchdesk.server.app.create_app` includes.
"""
