"""History: what happened before at a location and to the people on an incident (five years
or more, from the server), shown in the new-incident form and the incident panel, with the
links between incidents."""
