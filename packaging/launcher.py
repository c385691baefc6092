"""Entry script PyInstaller freezes: the same ``dispatchdesk`` command as the installed wheel."""

import sys

from dispatchdesk.app.cli import main

if __name__ == "__main__":
    sys.exit(main())
