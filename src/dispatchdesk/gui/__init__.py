"""Qt widgets GUI of Dispatch Desk: models, views, dialogs and the queue window.

Only this package and ``app/`` import Qt. It talks to the sync engine only through
:mod:`dispatchdesk.sync.api` (``DeskListener`` in, ``DeskCommands`` out).
"""
