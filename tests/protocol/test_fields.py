"""Every domain dataclass with a wire model has the same fields as it; each deliberate
difference is listed here with its reason (a new field on one side fails this test until it
is added to the other, or listed)."""

from __future__ import annotations

import dataclasses
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from dispatchdesk.cache.entities import ENTITIES
from dispatchdesk.domain.grades import GradePolicy
from dispatchdesk.domain.history import IncidentLink, IncidentPerson
from dispatchdesk.domain.incident import Caller, Divert, Incident, Location
from dispatchdesk.domain.unit import Unit
from dispatchdesk.domain.warnings import Person, Place, WarningPolicy
from dispatchdesk.protocol.schemas import (
    CallerModel,
    Change,
    DivertModel,
    IncidentOut,
    IncidentPersonModel,
    LinkOut,
    LocationModel,
    PolicyModel,
    UnitOut,
)
from dispatchdesk.protocol.warnings import PersonModel, PlaceModel, WarningPolicyModel

#: (domain dataclass, wire model, {field only in the domain: reason},
#:  {field only on the wire: reason}, {domain field: (wire field, reason)} for renamings).
PAIRS: list[
    tuple[type[Any], type[BaseModel], dict[str, str], dict[str, str], dict[str, tuple[str, str]]]
] = [
    (Location, LocationModel, {}, {}, {}),
    (Caller, CallerModel, {}, {}, {}),
    (Divert, DivertModel, {}, {}, {}),
    (Incident, IncidentOut, {}, {}, {}),
    (Unit, UnitOut, {}, {}, {}),
    (Person, PersonModel, {}, {}, {}),
    (IncidentPerson, IncidentPersonModel, {}, {}, {}),
    (IncidentLink, LinkOut, {}, {}, {}),
    (Place, PlaceModel, {}, {}, {}),
    (
        GradePolicy,
        PolicyModel,
        {
            "reference": "the wire sends the lists flat (boroughs, incident_types); the domain "
            "keeps them together as ReferenceLists, validated once"
        },
        {
            "boroughs": "the domain's reference.boroughs",
            "incident_types": "the domain's reference.incident_types",
            "history_years": "server policy for history lookups, which the server runs; the "
            "desk reads it from the snapshot's policy for its summary line",
            "warnings": "the warning policy travels in the grade policy's message but is its "
            "own domain object (WarningPolicy), kept apart by the engine",
        },
        {},
    ),
    (
        WarningPolicy,
        WarningPolicyModel,
        {},
        {},
        {
            "review_window": ("review_window_seconds", "JSON has no duration: whole seconds"),
            "escalate_after": ("escalate_after_seconds", "JSON has no duration: whole seconds"),
        },
    ),
]


@pytest.mark.parametrize(
    "domain, wire, domain_only, wire_only, renamed", PAIRS, ids=[p[0].__name__ for p in PAIRS]
)
def test_domain_and_wire_have_the_same_fields(
    domain: type[Any],
    wire: type[BaseModel],
    domain_only: dict[str, str],
    wire_only: dict[str, str],
    renamed: dict[str, tuple[str, str]],
) -> None:
    domain_fields = {f.name for f in dataclasses.fields(domain)}
    wire_fields = set(wire.model_fields)
    # Every listed difference is real (a stale entry fails too).
    assert set(domain_only) <= domain_fields - wire_fields
    assert set(wire_only) <= wire_fields - domain_fields
    assert all(d in domain_fields and w in wire_fields for d, (w, _) in renamed.items())
    mapped = {renamed[f][0] if f in renamed else f for f in domain_fields - set(domain_only)}
    assert mapped == wire_fields - set(wire_only)


def test_every_synced_entity_has_a_descriptor() -> None:
    """``Change.entity`` names exactly the entities described in cache/entities.py."""
    names = get_args(Change.model_fields["entity"].annotation)
    assert set(names) == set(ENTITIES)
    for name, entity in ENTITIES.items():
        assert entity.name == name
        assert entity.table.name == entity.plural
