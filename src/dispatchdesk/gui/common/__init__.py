"""What every part of the desk's GUI shares: the table set-up (``tables``), theme and icons,
the one ticker per view, time formatting, the connection banner and message bar, alert sounds,
the shortcuts window, the compiled Qt resources (``resources``, generated ``resources_rc``), and
the settings and sign-in dialogs."""
