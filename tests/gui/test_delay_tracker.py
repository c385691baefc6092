"""DelayTracker gives exactly what domain.delay.summarise gives, through any change batches."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatchdesk.domain.delay import summarise
from dispatchdesk.domain.grades import DEFAULT_POLICY, Grade
from dispatchdesk.domain.incident import IncidentStatus
from dispatchdesk.gui.delay_tracker import DelayTracker
from tests.gui.factories import T0, make_incident

ids = st.integers(min_value=1, max_value=20)


@st.composite
def incidents(draw):
    created = T0 - timedelta(minutes=draw(st.integers(0, 3000)))
    grade = draw(st.sampled_from(list(Grade)))
    incident = make_incident(
        draw(ids), grade=grade, created_at=created,
        status=draw(st.sampled_from(list(IncidentStatus))),
    )
    if draw(st.booleans()):
        incident = incident.with_changes(
            attended_at=created + timedelta(minutes=draw(st.integers(0, 120))))
    return incident


moments = st.integers(-3000, 3000).map(lambda s: T0 + timedelta(seconds=s * 7))


@settings(max_examples=150, deadline=None)
@given(
    initial=st.lists(incidents(), max_size=15),
    batches=st.lists(st.tuples(st.lists(incidents(), max_size=5), st.lists(ids, max_size=4)),
                     max_size=6),
    nows=st.lists(moments, min_size=1, max_size=4),
)
def test_tracker_matches_summarise(initial, batches, nows):
    tracker = DelayTracker()
    reference = {i.id: i for i in initial}
    tracker.reset(initial, DEFAULT_POLICY)  # duplicates included: the last of an id wins
    for upserts, removed in batches:
        tracker.update(upserts, removed)
        kept = {i.id for i in upserts}
        for gone in removed:
            if gone not in kept:
                reference.pop(gone, None)
        reference.update({i.id: i for i in upserts})
        for now in nows:
            assert tracker.summary(now) == summarise(reference.values(), now, DEFAULT_POLICY)
