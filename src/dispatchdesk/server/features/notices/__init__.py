"""Operational notices: supervisors' messages to the operators of some roles, with receipts."""
