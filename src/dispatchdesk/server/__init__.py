"""Reference backend of Dispatch Desk: FastAPI over SQLite or PostgreSQL, sync contract v1.

Never imports Qt; imports only ``domain`` and ``protocol`` from the product.
"""

from dispatchdesk.server.app import create_app
from dispatchdesk.server.embedded import EmbeddedServer, serve
from dispatchdesk.server.settings import ServerSettings
from dispatchdesk.server.users import add_user

__all__ = ["EmbeddedServer", "ServerSettings", "add_user", "create_app", "serve"]
