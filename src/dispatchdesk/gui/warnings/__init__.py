"""Warnings: the flags computed per incident (``flags``), their words (``texts``, Qt-free),
the warning panel (``panel``), the supervisors' special schemes (``scheme_rows``,
``schemes_model``, ``schemes_view``), and ``desk``:
:class:`~dispatchdesk.gui.warnings.desk.WarningDesk`, which keeps them in step with the engine's
warning index in the queue window."""
