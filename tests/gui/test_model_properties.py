"""Property test: any sequence of change batches leaves model and proxy consistent."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatchdesk.domain.grades import DEFAULT_POLICY, Grade
from dispatchdesk.domain.incident import IncidentStatus
from dispatchdesk.gui.queue.model import IncidentTableModel
from dispatchdesk.gui.queue.proxy import IncidentFilterProxy
from tests.gui.factories import T0, clock, make_incident, minutes

ids = st.integers(min_value=1, max_value=25)
incidents = st.builds(
    lambda i, g, s, m: make_incident(i, grade=g, status=s, created_at=T0 - minutes(m)),
    ids,
    st.sampled_from(list(Grade)),
    st.sampled_from(list(IncidentStatus)),
    st.integers(min_value=0, max_value=300),
)
batches = st.lists(
    st.tuples(st.lists(incidents, max_size=8), st.lists(ids, max_size=6)), max_size=12
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(initial=st.lists(incidents, max_size=10), batches=batches)
def test_batches_keep_model_and_proxy_consistent(qtmodeltester, initial, batches):
    model = IncidentTableModel(clock().now)
    proxy = IncidentFilterProxy(model)
    reference = {i.id: i for i in initial}
    model.set_incidents(list(reference.values()), DEFAULT_POLICY)
    for upserts, removed in batches:
        model.apply_changes(upserts, removed)
        upserted = {i.id for i in upserts}
        for gone in removed:
            if gone not in upserted:
                reference.pop(gone, None)
        reference.update({i.id: i for i in upserts})
        assert {i.id: i for i in model.incidents()} == reference
        assert len(model.incidents()) == len(reference)
        assert all(model.row_of(i.id) == r for r, i in enumerate(model.incidents()))
        shown = [proxy.incident_at(r) for r in range(proxy.rowCount())]
        assert len(shown) == sum(i.is_open for i in reference.values())
        keys = [i.urgency_key() for i in shown]
        assert keys == sorted(keys)
    qtmodeltester.check(model)
    qtmodeltester.check(proxy)
