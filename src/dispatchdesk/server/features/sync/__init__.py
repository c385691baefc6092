"""The sync contract: snapshot, change pages and the SSE event stream."""
