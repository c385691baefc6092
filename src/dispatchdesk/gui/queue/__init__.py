"""The queue window and the incident queue it shows.

``window``: :class:`~dispatchdesk.gui.queue.window.QueueWindow` (layout, docks, actions,
selection, theme, settings), which connects itself and its parts to the app's relay;
``model``/``proxy``: the incident table model and its filter; ``filter_bar``: grade, status,
borough and search filters; ``commands_panel``: the unsent commands dock; ``delay_strip`` and
``delay_tracker``: the supervisors' delay summary and owed count.
"""
