"""Issue 15 item 6: alert sounds for a new breach of a grade I incident (found on the window's
one ticker), a new critical warning and a new escalation; each event once; muted per
operator."""

from __future__ import annotations

from datetime import timedelta

from dispatchdesk.cache.warning_index import WarningIndex
from dispatchdesk.domain.grades import DEFAULT_POLICY, Grade
from dispatchdesk.domain.incident import IncidentStatus
from dispatchdesk.domain.roles import Role
from dispatchdesk.domain.warnings import WarningRef
from dispatchdesk.gui.common.settings_dialog import SettingsDialog, sounds_enabled
from dispatchdesk.gui.common.sounds import AlertSounds
from dispatchdesk.gui.queue.alerts import BreachWatch
from tests.gui.factories import T0, make_incident, minutes
from tests.gui.test_escalations import escalated
from tests.gui.test_operations import flat, order_expiring_tomorrow

I_DEADLINE = DEFAULT_POLICY.deadline(Grade.IMMEDIATE, T0)
assert I_DEADLINE is not None


def test_breach_watch_gives_each_new_breach_once():
    watch = BreachWatch()
    late = make_incident(1, created_at=T0 - timedelta(hours=2))  # breached before the start
    waiting = make_incident(2)
    significant = make_incident(3, grade=Grade.SIGNIFICANT)
    watch.reset([late, waiting, significant], T0)
    assert watch.due(T0) == []  # already red when the desk started: not announced
    assert watch.due(I_DEADLINE) == []  # not yet: breached once past the deadline
    assert watch.due(I_DEADLINE + timedelta(seconds=1)) == [2]
    assert watch.due(I_DEADLINE + minutes(5)) == []  # never again
    watch.reset([late, waiting, significant], I_DEADLINE + minutes(6))  # a snapshot
    assert watch.due(I_DEADLINE + minutes(7)) == []
    # Attended in time: nothing. Regraded to I later: its own deadline, its own breach.
    attended = make_incident(4, created_at=T0 + minutes(1))
    watch.update([attended], [])
    watch.update(
        [attended.with_changes(attended_at=T0 + minutes(3), status=IncidentStatus.AT_SCENE)], []
    )
    regraded = make_incident(3, created_at=T0 + minutes(30))
    watch.update([regraded], [])
    assert watch.due(T0 + minutes(60)) == [3]
    # A snapshot that brings a breach the ticker had not seen announces it (not the first).
    watch.reset([make_incident(5, created_at=T0)], T0 + minutes(60))
    assert watch.due(T0 + minutes(60)) == [5]


def window_with_sounds(
    qtbot, commands, settings, fake_clock, role=Role.SUPERVISOR, username="jsmith"
):
    from dispatchdesk.gui.queue.window import QueueWindow

    window = QueueWindow(commands, role, fake_clock.now, username, settings)
    qtbot.addWidget(window)
    played: list[str] = []
    window.sounds.play = played.append  # type: ignore[method-assign,assignment]
    return window, played


def test_breach_of_a_grade_i_incident_sounds_once_on_the_tick(
    qtbot, commands, settings, fake_clock
):
    window, played = window_with_sounds(qtbot, commands, settings, fake_clock)
    window.relay.on_state(
        [make_incident(1), make_incident(2, grade=Grade.SIGNIFICANT)], DEFAULT_POLICY
    )
    window.ticker.tick()
    assert played == []
    fake_clock.advance(I_DEADLINE - T0 + timedelta(seconds=1))
    window.ticker.tick()
    assert played == ["breach"]
    fake_clock.advance(minutes(1))
    window.ticker.tick()
    window.relay.on_changes([make_incident(1, summary="more words")], [])  # same breach
    window.ticker.tick()
    assert played == ["breach"]


def test_new_critical_warning_sounds_once(qtbot, commands, settings, fake_clock):
    window, played = window_with_sounds(qtbot, commands, settings, fake_clock)
    window.relay.on_state(
        [make_incident(1, location=flat(2), grade=Grade.SIGNIFICANT)], DEFAULT_POLICY
    )
    window.relay.on_warnings(WarningIndex(), frozenset())
    qtbot.waitUntil(lambda: not window.incident_warnings.busy)
    window.ticker.tick()  # the first full pass is done: from now on, new ones sound
    assert window.critical_warnings.armed
    index = WarningIndex()
    index.replace([], [order_expiring_tomorrow()])  # a new order, critical, at flat 2
    window.relay.on_warnings(index, frozenset())
    qtbot.waitUntil(lambda: not window.incident_warnings.busy)
    assert played == ["breach"]
    index.replace([], [order_expiring_tomorrow()])  # the same again: silent
    window.relay.on_warnings(index, frozenset())
    qtbot.waitUntil(lambda: not window.incident_warnings.busy)
    window.warning_desk.show_warnings(window.model.incident(1))  # showing it: silent
    assert played == ["breach"]
    # Another incident at the flat: a new event. Acknowledged: never.
    window.relay.on_changes([make_incident(2, location=flat(2), grade=Grade.SIGNIFICANT)], [])
    assert played == ["breach", "breach"]
    window.relay.on_warnings(index, frozenset({(3, WarningRef("order", 8))}))
    window.relay.on_changes([make_incident(3, location=flat(2), grade=Grade.SIGNIFICANT)], [])
    assert window.incident_warnings.marks(3)[0].acknowledged
    assert played == ["breach", "breach"]


def test_warnings_there_at_start_are_not_announced(qtbot, commands, settings, fake_clock):
    window, played = window_with_sounds(qtbot, commands, settings, fake_clock)
    window.relay.on_state(
        [make_incident(1, location=flat(2), grade=Grade.SIGNIFICANT)], DEFAULT_POLICY
    )
    index = WarningIndex()
    index.replace([], [order_expiring_tomorrow()])
    window.relay.on_warnings(index, frozenset())
    qtbot.waitUntil(lambda: not window.incident_warnings.busy)
    window.ticker.tick()
    assert played == [] and window.critical_warnings.armed


def test_new_escalation_sounds_once(qtbot, commands, settings, fake_clock):
    window, _played = window_with_sounds(qtbot, commands, settings, fake_clock)
    heard: list[str] = []
    window.dispatch.escalations._sounds = type("S", (), {"play": lambda _s, n: heard.append(n)})()
    window.relay.on_state([make_incident(1)], DEFAULT_POLICY)
    window.relay.on_changes([escalated(1)], [])
    window.relay.on_changes([escalated(1, summary="again")], [])
    window.relay.on_state([escalated(1)], DEFAULT_POLICY)  # a snapshot after a reconnect
    assert heard == ["new-immediate"]


def test_muted_per_operator(qtbot, commands, settings, fake_clock):
    sounds = AlertSounds(enabled=True)
    dialog = SettingsDialog(settings, sounds=sounds, operator="jsmith")
    qtbot.addWidget(dialog)
    assert dialog.ui.sounds.isChecked()
    dialog.ui.sounds.setChecked(False)
    dialog.save()
    assert sounds.enabled is False
    assert not sounds_enabled(settings, "jsmith") and sounds_enabled(settings, "amy")
    muted, _ = window_with_sounds(qtbot, commands, settings, fake_clock, username="jsmith")
    other, _ = window_with_sounds(qtbot, commands, settings, fake_clock, username="amy")
    assert muted.sounds.enabled is False and other.sounds.enabled is True
    assert AlertSounds(enabled=False).play("breach") is False  # muted: nothing is started
