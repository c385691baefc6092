"""The supervisors' picture of the shift: ``view`` (the dock, its per-grade charts and the
:class:`~dispatchdesk.gui.shift.view.ShiftDesk` that feeds it from the relay and the window's
tick) and ``charts`` (bar and step charts painted with QPainter)."""
