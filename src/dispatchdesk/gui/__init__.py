"""Qt widgets GUI of Dispatch Desk, one subpackage per feature.

* :mod:`~dispatchdesk.gui.relay`: the sync engine's listener as Qt signals (the one hop from
  the engine to the widgets);
* :mod:`~dispatchdesk.gui.queue`: the queue window and the incident queue;
* :mod:`~dispatchdesk.gui.incident`: one incident's panel, the new-incident form, the incident
  commands;
* :mod:`~dispatchdesk.gui.dispatch`: units board, assign, DIVERT tags, escalations;
* :mod:`~dispatchdesk.gui.warnings`: warning flags, panel, special schemes;
* :mod:`~dispatchdesk.gui.shift`: the supervisors' shift picture (charts of the day so far);
* :mod:`~dispatchdesk.gui.common`: tables, theme, icons, ticker, banner, message bar, sounds,
  shortcuts, resources, the settings and sign-in dialogs;
* :mod:`~dispatchdesk.gui.forms`: generated from ``ui/*.ui`` (never edited by hand).

Only this package and ``app/`` import Qt. It talks to the sync engine only through
:mod:`dispatchdesk.sync.api` (``DeskListener`` in, ``DeskCommands`` out).
"""
