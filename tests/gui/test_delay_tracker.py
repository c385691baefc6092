"""DelayTracker gives exactly what domain.delay.summarise gives, through any change batches;
its owed count matches a plain count; the strip shows and activates the owed count."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import Qt

from dispatchdesk.domain.delay import summarise
from dispatchdesk.domain.grades import DEFAULT_POLICY, Grade
from dispatchdesk.domain.incident import IncidentStatus
from dispatchdesk.gui.queue.delay_strip import DelayStrip, owed_text
from dispatchdesk.gui.queue.delay_tracker import DelayTracker, OwedCount, count_owed
from tests.gui.factories import T0, make_incident

ids = st.integers(min_value=1, max_value=20)


@st.composite
def incidents(draw):
    created = T0 - timedelta(minutes=draw(st.integers(0, 3000)))
    grade = draw(st.sampled_from(list(Grade)))
    incident = make_incident(
        draw(ids),
        grade=grade,
        created_at=created,
        status=draw(st.sampled_from(list(IncidentStatus))),
    )
    if draw(st.booleans()):
        incident = incident.with_changes(
            attended_at=created + timedelta(minutes=draw(st.integers(0, 120)))
        )
    return incident


moments = st.integers(-3000, 3000).map(lambda s: T0 + timedelta(seconds=s * 7))


@settings(max_examples=150, deadline=None)
@given(
    initial=st.lists(incidents(), max_size=15),
    batches=st.lists(
        st.tuples(st.lists(incidents(), max_size=5), st.lists(ids, max_size=4)), max_size=6
    ),
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


@st.composite
def owed_incidents(draw):
    """Incidents that may be owed (with or without a unit) and escalated."""
    incident = make_incident(draw(ids), status=draw(st.sampled_from(list(IncidentStatus))))
    owed = draw(st.booleans())
    escalated = owed and incident.status is IncidentStatus.OPEN and draw(st.booleans())
    return incident.with_changes(owed=owed, escalated_at=T0 if escalated else None)


@settings(max_examples=100, deadline=None)
@given(
    initial=st.lists(owed_incidents(), max_size=15),
    batches=st.lists(
        st.tuples(st.lists(owed_incidents(), max_size=5), st.lists(ids, max_size=4)), max_size=6
    ),
)
def test_owed_count_follows_changes(initial, batches):
    tracker = DelayTracker()
    tracker.reset(initial, DEFAULT_POLICY)
    reference = {i.id: i for i in initial}
    assert tracker.owed() == count_owed(reference.values())
    for upserts, removed in batches:
        tracker.update(upserts, removed)
        kept = {i.id for i in upserts}
        for gone in removed:
            if gone not in kept:
                reference.pop(gone, None)
        reference.update({i.id: i for i in upserts})
        assert tracker.owed() == count_owed(reference.values())


def test_owed_count_words():
    incidents = [
        make_incident(1, owed=True, escalated_at=T0),  # no unit, escalated
        make_incident(2, owed=True),  # no unit yet
        make_incident(3, owed=True, status=IncidentStatus.ASSIGNED),  # a unit en route
        make_incident(4, owed=True, status=IncidentStatus.CLOSED),  # closed: not counted
        make_incident(5),  # not owed
    ]
    owed = count_owed(incidents)
    assert owed == OwedCount(total=3, no_unit=2, escalated=1)
    assert owed_text(owed) == "OWED 3 (2 no unit, 1 escalated)"
    assert owed_text(OwedCount()) == "OWED 0"


def test_strip_shows_owed_and_emits_when_activated(qtbot):
    strip = DelayStrip()
    qtbot.addWidget(strip)
    assert strip.texts()[-1] == "OWED 0"
    tracker = DelayTracker()
    tracker.reset([make_incident(1, owed=True), make_incident(2)], DEFAULT_POLICY)
    strip.show_owed(tracker.owed())
    assert strip.texts()[-1] == "OWED 1 (1 no unit, 0 escalated)"
    tracker.update([make_incident(1, owed=True, escalated_at=T0)], [])
    strip.show_owed(tracker.owed())
    assert strip.texts()[-1] == "OWED 1 (1 no unit, 1 escalated)"
    assert "OWED 1" in strip.owed_button.accessibleName()
    strip.refresh(
        [make_incident(1, owed=True, status=IncidentStatus.ASSIGNED)], T0, DEFAULT_POLICY
    )  # refresh() counts them too
    assert strip.texts()[-1] == "OWED 1 (0 no unit, 0 escalated)"
    strip.show()
    strip.owed_button.setFocus()
    qtbot.waitUntil(strip.owed_button.hasFocus)
    with qtbot.waitSignal(strip.owed_activated):
        qtbot.keyClick(strip.owed_button, Qt.Key.Key_Space)
    with qtbot.waitSignal(strip.owed_activated):
        qtbot.mouseClick(strip.owed_button, Qt.MouseButton.LeftButton)
