"""``python -m dispatchdesk.app`` runs the command line."""

import sys

from dispatchdesk.app.cli import main

sys.exit(main())
