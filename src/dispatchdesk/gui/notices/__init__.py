"""Operational notices on the desk: the list and its reading pane, the banner of notices that
must be acknowledged, and the supervisors' form to post one."""
