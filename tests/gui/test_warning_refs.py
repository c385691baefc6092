"""The desk reads the index's warnings (``IndexedWarning``) as it reads the server's
(``WarningOut``): the same acknowledgement refs and the same words on the panel, the
assign window and the flags; the flags column never unpacks a scheme or order."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from typing import Any

import pytest

from dispatchdesk.cache import packed as packed_module
from dispatchdesk.cache.warning_index import WarningIndex
from dispatchdesk.domain.incident import Incident
from dispatchdesk.domain.warnings import DEFAULT_WARNING_POLICY, Person, Place, WarningRef
from dispatchdesk.gui.warnings import flags, texts
from dispatchdesk.gui.warnings.flags import IncidentWarnings
from tests.cache.test_warning_index import NOW, NOWS, random_order, random_query, random_scheme
from tests.gui.factories import make_incident


def index_and_warnings() -> tuple[WarningIndex, list[Any]]:
    rng = random.Random(21)
    index = WarningIndex()
    index.replace(
        [random_scheme(rng, i) for i in range(1, 60)],
        [random_order(rng, i) for i in range(1, 60)],
    )
    found: list[Any] = []
    for _ in range(150):
        place, people = random_query(rng)
        found += index.lookup(place, people, rng.choice(NOWS))
    assert {w.kind for w in found} == {"scheme", "order"}
    return index, found


def no_unpacking(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(packed: Any) -> Any:
        raise AssertionError("a scheme or order was unpacked")

    monkeypatch.setattr(packed_module, "unpack", refuse)


def test_refs_read_without_unpacking_are_the_wire_warnings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, found = index_and_warnings()
    wired = [dataclasses.replace(w).as_wire() for w in found]  # unpacked: copies, not these
    no_unpacking(monkeypatch)
    for w, theirs in zip(found, wired, strict=True):
        entity = theirs.scheme or theirs.order
        assert entity is not None
        expected = WarningRef(theirs.kind, entity.id)
        assert flags.warning_ref(w) == texts.warning_ref(w) == expected
        assert flags.warning_ref(theirs) == texts.warning_ref(theirs) == expected
        assert texts.why_matched(w) == texts.why_matched(theirs)


def test_the_panels_words_are_the_wire_warnings() -> None:
    _, found = index_and_warnings()
    policy = DEFAULT_WARNING_POLICY
    for w in found:
        theirs = w.as_wire()
        assert texts.what_it_is(w) == texts.what_it_is(theirs)
        assert texts.expiry_line(w, NOW, policy) == texts.expiry_line(theirs, NOW, policy)
        assert texts.detail_lines(w, policy) == texts.detail_lines(theirs, policy)


class Source:
    def __init__(self, incidents: Sequence[Incident]) -> None:
        self._incidents = {i.id: i for i in incidents}

    def incidents(self) -> Sequence[Incident]:
        return list(self._incidents.values())

    def incident(self, incident_id: int) -> Incident | None:
        return self._incidents.get(incident_id)


def test_the_flags_column_never_unpacks(qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    index, _ = index_and_warnings()
    rng = random.Random(22)
    incidents = []
    for n in range(1, 80):
        place, people = random_query(rng)
        place = place or Place(address="1 Nowhere Lane")
        incidents.append(
            make_incident(
                n,
                address=place.address or "1 Nowhere Lane",
                postcode=place.postcode or "",
                persons=tuple(Person(p.name, p.dob) for p in people),
            )
        )
    warnings = IncidentWarnings(lambda: NOW, Source(incidents))
    no_unpacking(monkeypatch)
    warnings.set_data(index, frozenset())
    qtbot.waitUntil(lambda: not warnings.busy)
    assert warnings.flagged > 5
    for incident in incidents:
        expected = [(flags.warning_ref(w), w.severity) for w in index.for_incident(incident, NOW)]
        got = [(m.ref, m.severity) for m in warnings.marks(incident.id)]
        assert got == expected
