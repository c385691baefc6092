"""Incidents: create, edit (regrade, status, summary, appointment), close, read."""
