"""Sending units: the units board (``units_model``, ``units_proxy``, ``units_board``), the
assign window (``assign_dialog``) and dropping a unit on a queue row (``unit_drop``), the DIVERT
tag list (``divert_model``, ``divert_proxy``, ``divert_csv``, ``divert_list``), the supervisors'
escalations, and ``docks``: :class:`~dispatchdesk.gui.dispatch.docks.Dispatch`, which puts them
in the queue window and joins them to the queue."""
