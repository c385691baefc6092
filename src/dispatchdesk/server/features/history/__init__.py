"""History: earlier incidents at a location and involving the same people (the search
tables, the lookups, links between incidents, the bulk load of past incidents)."""
