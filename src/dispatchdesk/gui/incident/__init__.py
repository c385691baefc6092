"""One incident: the detail panel (facts, regrade, status, summary, close), the new-incident
form (``new_incident``, with its building blocks in ``form_widgets`` and its warning pane in
``form_warnings``; its checks are Qt-free in :mod:`dispatchdesk.domain.forms`), and
``commands``: the queue window's incident commands (Ctrl+N, regrade, summary, close)."""
