"""The audit log, as supervisors read it."""
