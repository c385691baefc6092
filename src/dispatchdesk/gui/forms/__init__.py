"""Forms generated from ``ui/*.ui`` by ``pyside6-uic`` (``packaging/gen_assets.py``): do not edit.

Each ``ui_<name>.Ui_<Class>`` builds the widgets of one form with ``setupUi(widget)``; the
behaviour lives in the ``gui`` module that uses it (``common.signin``,
``incident.detail_panel``, ``common.settings_dialog``).
"""
