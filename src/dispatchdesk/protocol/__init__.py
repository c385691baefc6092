"""Wire schemas (pydantic v2) shared by the client and the reference server. Version 1.

Everything under ``/api/v1`` speaks these shapes. Conversions to and from the domain
dataclasses live in :mod:`dispatchdesk.protocol.convert`.
"""

PROTOCOL_VERSION = 1
API_PREFIX = "/api/v1"
#: Response header carrying the server's clock on every reply (ISO 8601, UTC).
SERVER_TIME_HEADER = "X-Server-Time"
IDEMPOTENCY_HEADER = "Idempotency-Key"
