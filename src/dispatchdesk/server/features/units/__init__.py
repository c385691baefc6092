"""Units and dispatch: the fleet, assign, divert, arrive, clear, status; the DIVERT tag list
and the escalation of owed incidents."""
