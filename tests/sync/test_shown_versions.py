"""ShownVersions (the incident versions last shown, held as their differences from the feed's)
answers exactly what the two full maps it replaced answered, whatever the feed, the commands'
replies, removals and snapshots do, in any order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dispatchdesk.sync.context import ShownVersions

ids = st.integers(min_value=1, max_value=6)
versions = st.integers(min_value=1, max_value=8)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("feed"), ids, versions),
        st.tuples(st.just("reply"), ids, versions),
        st.tuples(st.just("forget"), ids, st.just(0)),
        st.tuples(st.just("snapshot"), st.lists(st.tuples(ids, versions), max_size=6)),
    ),
    max_size=40,
)


class TwoMaps:
    """What the feed and the outbox did with a full map of shown versions beside the feed's."""

    def __init__(self) -> None:
        self.feed: dict[int, int] = {}
        self.shown: dict[int, int] = {}

    def feed_brought(self, incident_id: int, version: int) -> bool:
        self.feed[incident_id] = version
        if version >= self.shown.get(incident_id, -1):
            self.shown[incident_id] = version
            return True
        return False

    def reply(self, incident_id: int, version: int) -> bool:
        if version > self.shown.get(incident_id, -1):
            self.shown[incident_id] = version
            return True
        return False

    def forget(self, incident_id: int) -> None:
        self.feed.pop(incident_id, None)
        self.shown.pop(incident_id, None)

    def snapshot(self, rows: dict[int, int]) -> None:
        self.feed, self.shown = dict(rows), dict(rows)


@given(steps)
def test_the_same_answers_as_two_full_maps(plan: list[tuple[object, ...]]) -> None:
    reference = TwoMaps()
    feed: dict[str, dict[int, int]] = {"incident": {}}
    shown = ShownVersions(lambda: feed["incident"])
    for step in plan:
        if step[0] == "feed":
            _, incident_id, version = step
            assert isinstance(incident_id, int) and isinstance(version, int)
            assert shown.feed_brought(incident_id, version) == reference.feed_brought(
                incident_id, version
            )
        elif step[0] == "reply":  # as Outbox._show_reply does
            _, incident_id, version = step
            assert isinstance(incident_id, int) and isinstance(version, int)
            newer = version > shown.get(incident_id, -1)
            if newer:
                shown[incident_id] = version
            assert newer == reference.reply(incident_id, version)
        elif step[0] == "forget":
            assert isinstance(step[1], int)
            shown.forget(step[1])
            reference.forget(step[1])
        else:
            rows = dict(step[1])  # type: ignore[call-overload]
            feed["incident"] = dict(rows)  # replaced whole, as a snapshot does
            shown.reset()
            reference.snapshot(rows)
        assert feed["incident"] == reference.feed
        for incident_id in range(1, 7):
            assert shown.get(incident_id, -1) == reference.shown.get(incident_id, -1)
        assert len(shown) == sum(reference.feed.get(i) != v for i, v in reference.shown.items()), (
            "only the differences are held"
        )
