"""Keep modules the desk never uses out of its process (imported first by ``dispatchdesk.sync``).

httpx imports its command-line client (``httpx._main``: click, rich and pygments, some 7 MB)
whenever those are installed, as they are beside the server's tools. The desk only makes
requests: marking the module absent before httpx is first imported makes httpx fall back to
its stub ``httpx.main`` (which says to install ``httpx[cli]``), and nothing else changes.
"""

from __future__ import annotations

import sys

if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
