"""Simulated London: the incident feed for the simulator and the demo, and fleet loading.

- ``scenario``: everything random about a shift, from one seed (calls, attendance times,
  units, divert reasons, rationales); ``london``: boroughs, streets, addresses.
- ``lifecycle``: the pure planner of an incident's life (assign, arrive, close, divert, a
  spell COMMITTED); ``lives``: runs its decisions through an executor.
- ``simulator``: the executor over HTTP (``dispatchdesk simulate``, the demo's live feed).
- ``seeding``: the demo's fresh database (fleet, history played in-process at virtual times,
  restart); ``markers``: its special schemes and protective orders.
- ``fleet``: loading a fleet from CSV (``dispatchdesk units import``).
"""
