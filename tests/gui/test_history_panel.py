"""The history panel: its summary and lines (the Mr A case), the list model, the incident
panel's history on opening, offline "as of" and "nothing held", the form's history while
typing (never taking the keyboard), reading an entry (Enter) and linking it (Ctrl+L)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta

import pytest
import qasync
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from dispatchdesk.domain.commands import (
    CommandKind,
    CommandState,
    ConnectionInfo,
    ConnectionState,
    PendingCommand,
)
from dispatchdesk.domain.grades import DEFAULT_POLICY, Grade
from dispatchdesk.domain.history import IncidentLink, IncidentPerson, LinkRelation, PersonRole
from dispatchdesk.domain.incident import Caller, Incident, IncidentStatus
from dispatchdesk.domain.roles import Role
from dispatchdesk.domain.warnings import Person, Place
from dispatchdesk.gui.history.entries import (
    HistoryEntry,
    HistoryPicture,
    Match,
    MatchedOn,
    Party,
    entry_line,
    parties_callout,
    summary_line,
)
from dispatchdesk.gui.history.model import ENTRY_ROLE, HistoryModel
from dispatchdesk.gui.incident.detail_panel import IncidentDetailPanel
from dispatchdesk.gui.incident.new_incident import NewIncidentDialog
from dispatchdesk.protocol.convert import incident_to_wire
from dispatchdesk.protocol.history import HistoryEntry as WireEntry
from dispatchdesk.protocol.history import HistoryMatch, HistoryPage
from dispatchdesk.protocol.schemas import IncidentPersonModel
from dispatchdesk.sync.api import DraftLink, HistoryResult
from tests.gui.factories import T0, clock, make_incident

TZ = "Europe/London"
GARY = Party("Gary HOLLIS", date(1984, 3, 9))
SINCE = T0 - timedelta(days=round(6 * 365.25))


def years_ago(years: float) -> datetime:
    return T0 - timedelta(days=round(years * 365.25))


def past(
    iid: int,
    years: float,
    *,
    weapons: bool = False,
    type: str = "Domestic",
    persons: Sequence[IncidentPerson] = (),
) -> Incident:
    return make_incident(
        iid,
        created_at=years_ago(years),
        status=IncidentStatus.CLOSED,
        closed_at=years_ago(years) + timedelta(hours=3),
        rationale="Parties spoken to; suspect left before officers arrived",
        type=type,
        address="4 Mill Lane",
        weapons=weapons,
        persons=tuple(persons),
    )


def as_suspect(role: PersonRole = PersonRole.SUSPECT) -> IncidentPerson:
    return IncidentPerson("Gary HOLLIS", date(1984, 3, 9), role)


MARK = IncidentPerson("Mark HOLLIS", date(1986, 1, 2), PersonRole.VICTIM)
PAUL = IncidentPerson("Paul HOLLIS", None, PersonRole.VICTIM)


def mr_a() -> list[HistoryEntry]:
    """Three domestics where he was SUSPECT and a brother VICTIM (two with weapons), at
    another address; and one burglary at this address."""
    person = Match(MatchedOn.PERSON, "person", person=Party(*_p(as_suspect())), subject=GARY)
    return [
        HistoryEntry(past(101, 1.5, type="Burglary"), (Match(MatchedOn.LOCATION, "uprn"),)),
        HistoryEntry(past(102, 4.2, weapons=True, persons=[as_suspect(), MARK]), (person,)),
        HistoryEntry(past(103, 4.6, weapons=True, persons=[as_suspect(), PAUL]), (person,)),
        HistoryEntry(past(104, 4.9, persons=[as_suspect(), MARK]), (person,)),
    ]


def _p(p: IncidentPerson) -> tuple[str, date | None, PersonRole]:
    return (p.name, p.dob, p.role)


def picture(entries: Sequence[HistoryEntry], **kw: object) -> HistoryPicture:
    return HistoryPicture(tuple(entries), T0, SINCE, subjects=(GARY,), **kw)  # type: ignore[arg-type]


# --- words -----------------------------------------------------------------------------------


def test_summary_line_counts_place_people_weapons_and_domestics():
    assert summary_line(picture(mr_a())) == (
        "6 years: 1 incident at this address, 3 involving Gary HOLLIS (b. 1984) — "
        "2 with weapons, 3 domestic"
    )


def test_summary_says_plainly_when_nothing_was_found_and_when_cut_short():
    assert summary_line(picture([])) == (
        "6 years: nothing found at this address or involving Gary HOLLIS (b. 1984)."
    )
    only_place = picture(mr_a()[:1], truncated=True)
    assert summary_line(only_place) == (
        "6 years: 1 incident at this address, none involving Gary HOLLIS (b. 1984) — "
        "none with weapons (more than 1: the most recent 1 are listed)"
    )


def test_entry_line_names_the_role_there_the_other_parties_and_weapons():
    entry = mr_a()[1]
    line = entry_line(entry, TZ)
    assert line.startswith(f"{entry.incident.created_at:%d/%m/%Y}  CAD 102/23NOV26  Domestic  I")
    assert "Gary HOLLIS (b. 1984) was SUSPECT; victim Mark HOLLIS (b. 1986)" in line
    assert "informant" not in line  # a caller who only called is not a party
    assert line.endswith("— WEAPONS")
    assert parties_callout(entry) == ("Gary HOLLIS was SUSPECT; victim Mark HOLLIS (b. 1986)")
    assert "WEAPONS" not in entry_line(mr_a()[3], TZ)
    assert "at this address (same UPRN)" in entry_line(mr_a()[0], TZ)
    victim_called = HistoryEntry(
        past(105, 3, persons=[as_suspect()]).with_changes(
            caller=Caller(name="Jane HOLLIS", role=PersonRole.VICTIM)
        ),
        mr_a()[1].matches,
    )
    assert entry_line(victim_called, TZ).endswith("was SUSPECT; victim Jane HOLLIS")


def test_the_incident_panel_shows_roles_and_weapons(qtbot, loop, commands):
    panel = detail(qtbot, commands, FakeHistory())
    panel.show_incident(home(weapons=True))
    assert panel.persons.text() == "Gary HOLLIS (b. 9 Mar 1984) — SUSPECT"
    assert panel.fields["Caller"].text() == "Jane HOLLIS · 07700900111 · VICTIM"
    assert panel.weapons.isVisible() and "Weapons" in panel.weapons.text()
    panel.show_incident(make_incident(2))
    assert panel.weapons.isHidden()


def test_a_possible_match_says_so():
    weak = Match(
        MatchedOn.PERSON,
        "name",
        possible=True,
        person=Party("Gary HOLLIS", None, PersonRole.VICTIM),
        subject=GARY,
    )
    line = entry_line(HistoryEntry(past(9, 2), (weak,)), TZ)
    assert (
        "POSSIBLE MATCH: Gary HOLLIS was VICTIM (same name, date of birth missing on one side)"
        in line
    )
    block = Match(MatchedOn.LOCATION, "same_block", possible=True)
    assert "POSSIBLE MATCH: at this address (same block)" in entry_line(
        HistoryEntry(past(10, 2), (block,)), TZ
    )


def test_history_model_passes_the_model_tester(qtmodeltester):
    model = HistoryModel(TZ)
    model.set_entries(mr_a())
    qtmodeltester.check(model)
    assert model.rowCount() == 4
    index = model.index(1, 0)
    assert model.data(index, ENTRY_ROLE).id == 102
    assert model.data(index, Qt.ItemDataRole.FontRole).bold()  # weapons
    assert "victim Mark HOLLIS" in model.data(index, Qt.ItemDataRole.ToolTipRole)
    model.set_entries([])
    qtmodeltester.check(model)


# --- a fake engine ----------------------------------------------------------------------------


def page(entries: Sequence[HistoryEntry], incident_id: int | None = None) -> HistoryPage:
    """The entries as the server sends them."""
    wire = []
    for e in entries:
        m = e.matches[0]
        person = (
            None
            if m.person is None
            else IncidentPersonModel(name=m.person.name, dob=m.person.dob, role=m.person.role)
        )
        subject = (
            None
            if m.subject is None
            else IncidentPersonModel(name=m.subject.name, dob=m.subject.dob)
        )
        wire.append(
            WireEntry(
                incident=incident_to_wire(e.incident),
                matched_on=m.on.value,
                match=m.how,
                possible=m.possible,
                person=person,
                query_person=subject,
                matches=[
                    HistoryMatch(
                        matched_on=m.on.value,
                        match=m.how,
                        possible=m.possible,
                        person=person,
                        query_person=subject,
                    )
                ],
            )
        )
    return HistoryPage(
        server_time=T0, since=SINCE, incidents=wire, truncated=False, incident_id=incident_id
    )


class FakeHistory:
    """A HistorySource: records the questions, answers with :attr:`result` (when
    :attr:`gate` is set, only once it opens)."""

    def __init__(self, result: HistoryResult | None = None) -> None:
        self.asked: list[tuple[object, ...]] = []
        self.result = result or HistoryResult(pages=(page(mr_a()),), as_of=T0)
        self.gate: asyncio.Event | None = None

    async def _answer(self) -> HistoryResult:
        if self.gate is not None:
            await self.gate.wait()
        return self.result

    async def history(self, place: Place | None, persons: Sequence[Person]) -> HistoryResult:
        self.asked.append(("form", place, tuple(persons)))
        return await self._answer()

    async def incident_history(self, incident_id: int) -> HistoryResult:
        self.asked.append(("incident", incident_id))
        return await self._answer()


class Engine:
    """RecordingCommands with a history: what the panels find on the sync engine."""

    def __init__(self, commands, history: FakeHistory) -> None:
        self._commands = commands
        self.history = history.history
        self.incident_history = history.incident_history

    def __getattr__(self, name: str):
        return getattr(self._commands, name)


@pytest.fixture
def loop(qapp) -> Iterator[qasync.QEventLoop]:
    """The asyncio loop on Qt's, as in the app; qtbot.waitUntil turns it."""
    event_loop = qasync.QEventLoop(qapp, already_running=False)
    asyncio.set_event_loop(event_loop)
    yield event_loop
    event_loop.close()
    asyncio.set_event_loop(None)


def detail(qtbot, commands, source: FakeHistory, role: Role = Role.DISPATCHER):
    panel = IncidentDetailPanel(Engine(commands, source), role, clock().now)  # type: ignore[arg-type]
    qtbot.addWidget(panel)
    panel.resize(420, 900)
    panel.show()
    return panel


def home(**changes: object) -> Incident:
    return make_incident(
        7,
        caller=Caller(name="Jane HOLLIS", phone="07700900111", role=PersonRole.VICTIM),
        persons=(as_suspect(),),
        **changes,
    )


# --- the incident panel -----------------------------------------------------------------------


def test_opening_an_incident_shows_its_history(qtbot, loop, commands):
    source = FakeHistory()
    panel = detail(qtbot, commands, source)
    history = panel.history.panel
    panel.show_incident(home())
    qtbot.waitUntil(lambda: history.model.rowCount() == 4)
    assert source.asked == [("incident", 7)]
    assert history.summary.text().startswith("6 years: 1 incident at this address, ")
    assert "3 involving Gary HOLLIS (b. 1984)" in history.summary.text()
    assert "none involving Jane HOLLIS" in history.summary.text()
    assert history.status.text() == "Checked with the server at 09:00."
    assert history.status.property("role") == "note"
    panel.update_incident(home(version=2))  # a change to it: not asked again
    qtbot.wait(10)
    assert source.asked == [("incident", 7)]


def test_moving_through_the_queue_asks_only_where_the_selection_rests(qtbot, loop, commands):
    source = FakeHistory()
    panel = detail(qtbot, commands, source)
    for n in (1, 2, 3):
        panel.show_incident(make_incident(n))
    panel.show_incident(home())
    qtbot.waitUntil(lambda: panel.history.panel.model.rowCount() == 4)
    assert source.asked == [("incident", 7)]


def test_offline_the_last_answer_shows_as_of_its_time(qtbot, loop, commands):
    cached = HistoryResult(
        pages=(page(mr_a()),),
        as_of=datetime(2026, 11, 23, 14, 2, tzinfo=UTC),
        cached=True,
        problem="OFFLINE (Cannot reach the server): the last history this desk holds is shown.",
    )
    panel = detail(qtbot, commands, FakeHistory(cached))
    history = panel.history.panel
    panel.show_incident(home())
    qtbot.waitUntil(lambda: history.model.rowCount() == 4)
    assert history.status.text() == (
        "⚠ As of 14:02: OFFLINE (Cannot reach the server): the last history this desk holds "
        "is shown."
    )
    assert history.status.property("role") == "error"
    assert panel.history.loader.stale
    # An answer held from another day says its date too.
    older = HistoryResult(
        pages=cached.pages,
        as_of=datetime(2026, 11, 22, 14, 2, tzinfo=UTC),
        cached=True,
        problem=cached.problem,
    )
    panel.history.loader.show_result(older, panel.history.loader._question)
    assert history.status.text().startswith("⚠ As of 22/11/2026 14:02: OFFLINE")


def test_offline_with_nothing_held_it_says_so_plainly(qtbot, loop, commands):
    nothing = HistoryResult(
        cached=True,
        problem="OFFLINE (Cannot reach the server): no history is held on this desk for this "
        "incident. Check it when the server answers.",
    )
    source = FakeHistory(nothing)
    panel = detail(qtbot, commands, source)
    history = panel.history.panel
    panel.show_incident(home())
    qtbot.waitUntil(lambda: "no history is held" in history.status.text())
    assert history.model.rowCount() == 0 and history.summary.isHidden()
    # Back online: asked again, and the answer replaces the warning.
    source.result = HistoryResult(pages=(page(mr_a()),), as_of=T0)
    loader = panel.history.loader
    loader.on_connection(ConnectionInfo(ConnectionState.CONNECTING))
    qtbot.wait(20)
    assert len(source.asked) == 1, "not yet online: not asked again"
    loader.on_connection(ConnectionInfo(ConnectionState.ONLINE))
    qtbot.waitUntil(lambda: history.model.rowCount() == 4)
    assert history.status.text() == "Checked with the server at 09:00."
    assert not panel.history.loader.stale


def test_an_answer_for_an_incident_no_longer_shown_is_dropped(qtbot, loop, commands):
    source = FakeHistory()
    source.gate = asyncio.Event()
    panel = detail(qtbot, commands, source)
    panel.show_incident(home())
    qtbot.waitUntil(lambda: source.asked == [("incident", 7)])
    panel.show_incident(None)
    source.gate.set()
    qtbot.wait(50)
    assert panel.history.panel.model.rowCount() == 0


def test_enter_opens_the_entry_read_only_and_non_modal(qtbot, loop, commands):
    panel = detail(qtbot, commands, FakeHistory())
    history = panel.history.panel
    panel.show_incident(home())
    qtbot.waitUntil(lambda: history.model.rowCount() == 4)
    assert history.focus_list()
    qtbot.keyClick(history.list, Qt.Key.Key_Down)
    qtbot.keyClick(history.list, Qt.Key.Key_Return)
    viewer = history.viewer
    assert viewer is not None and viewer.isVisible() and not viewer.isModal()
    assert viewer.fields["Ref"].text() == "CAD 102/23NOV26"
    assert viewer.fields["People"].text() == (
        "SUSPECT Gary HOLLIS (b. 09/03/1984)\nVICTIM Mark HOLLIS (b. 02/01/1986)\n"
        "INFORMANT A Caller"
    )
    assert viewer.fields["Weapons"].text() == "mentioned or seen"
    assert "Parties spoken to" in viewer.fields["Rationale"].text()
    assert viewer.windowTitle() == "CAD 102/23NOV26 — past incident (read-only)"


def pending(command_id: str, state: CommandState, message: str | None = None) -> PendingCommand:
    return PendingCommand(command_id, CommandKind.LINK_INCIDENT, 7, "Link", T0, state, message)


def test_ctrl_l_links_the_entry_with_a_relation_and_a_reason(qtbot, loop, commands):
    panel = detail(qtbot, commands, FakeHistory())
    history = panel.history.panel
    panel.show_incident(home())
    qtbot.waitUntil(lambda: history.model.rowCount() == 4)
    history.focus_list()
    qtbot.keyClick(history.list, Qt.Key.Key_Down)
    qtbot.keyClick(history.list, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert history.link_box.isVisible()
    assert QApplication.focusWidget() is history.relation
    assert history.link_title.text() == "Link CAD 7/23NOV26 to CAD 102/23NOV26: this incident is…"
    qtbot.keyClick(history.relation, Qt.Key.Key_R)  # RELATED
    qtbot.keyClick(history.relation, Qt.Key.Key_Tab)
    qtbot.keyClick(history.link_reason, Qt.Key.Key_Return)  # no reason: refused here
    assert "The link reason is too short" in history.link_message.text()
    assert commands.calls == []
    qtbot.keyClicks(history.link_reason, "Same suspect, same knife, brothers again")
    qtbot.keyClick(history.link_reason, Qt.Key.Key_Return)
    name, (incident, other, relation, reason) = commands.calls[-1]
    assert name == "link_incident" and incident.id == 7 and other.id == 102
    assert relation is LinkRelation.RELATED
    assert reason == "Same suspect, same knife, brothers again"
    assert "queued; pending until the server confirms" in history.link_message.text()
    # The server refuses: said under the reason, which is kept to rework.
    panel.set_commands([pending("cmd-1", CommandState.FAILED, "Already linked the other way.")])
    assert history.link_message.text() == ("⚠ Refused by the server: Already linked the other way.")
    assert history.link_reason.text() == "Same suspect, same knife, brothers again"


def test_a_confirmed_link_is_listed_with_its_relation(qtbot, loop, commands):
    source = FakeHistory()
    panel = detail(qtbot, commands, source)
    history = panel.history.panel
    panel.show_incident(home())
    qtbot.waitUntil(lambda: history.model.rowCount() == 4)
    history.list.setCurrentIndex(history.model.index(1, 0))
    history.start_link()
    history.link_reason.setText("Same suspect, brothers again")
    history.submit_link()
    panel.set_commands([pending("cmd-1", CommandState.SENT)])
    link = IncidentLink(102, "CAD 102/23NOV26", LinkRelation.RELATED, "Same suspect", "cathy", T0)
    asked = len(source.asked)
    panel.update_incident(home(version=2, links=(link,)))
    panel.set_commands([])  # confirmed by the feed
    qtbot.waitUntil(lambda: len(source.asked) == asked + 1)  # the history lists links too
    assert history.link_box.isHidden() and history.link_reason.text() == ""
    assert history.links.text() == "Linked incidents:"
    assert [history.linked.list.item(r).text() for r in range(history.linked.list.count())] == [
        "CAD 102/23NOV26 — RELATED: Same suspect (cathy, 23/11/2026 09:00)"
    ]
    history.start_link()  # the same one again: said, not sent
    assert "already linked" in history.status.text()
    assert len(commands.calls) == 1


def test_a_closed_incident_is_not_linked_from_here(qtbot, loop, commands):
    panel = detail(qtbot, commands, FakeHistory())
    history = panel.history.panel
    panel.show_incident(home(status=IncidentStatus.CLOSED, closed_at=T0))
    qtbot.waitUntil(lambda: history.model.rowCount() == 4)
    history.list.setCurrentIndex(history.model.index(0, 0))
    assert not history.link_button.isEnabled()
    history.start_link()
    assert "is closed" in history.status.text() and history.link_box.isHidden()


# --- the new-incident form ----------------------------------------------------------------------


@pytest.fixture
def form(qtbot, loop):
    source = FakeHistory()
    dlg = NewIncidentDialog(history=source)  # type: ignore[arg-type]
    dlg.history.loader.timer.setInterval(30)
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.activateWindow()
    qtbot.waitExposed(dlg)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dlg.address)
    return dlg, source


def test_the_form_asks_once_typing_pauses_and_keeps_the_keyboard(qtbot, form):
    dlg, source = form
    panel = dlg.history.panel
    assert panel.isHidden(), "nothing typed: no panel"
    qtbot.keyClicks(dlg.address, "4 Mill Lane")
    qtbot.waitUntil(lambda: panel.model.rowCount() == 4)
    assert len(source.asked) == 1, "one question for the whole word, not one per key"
    kind, place, people = source.asked[0]
    assert kind == "form" and place.address == "4 Mill Lane" and people == ()
    assert QApplication.focusWidget() is dlg.address, "the panel never takes the keyboard"
    assert panel.isVisible()
    qtbot.keyClicks(dlg.address, ", Bow")  # still typing: the keyboard stays
    assert QApplication.focusWidget() is dlg.address


def test_a_person_typed_is_asked_about_with_the_date_of_birth(qtbot, form):
    dlg, source = form
    row = dlg.add_person()
    qtbot.keyClicks(row.name, "Gary HOLLIS")
    qtbot.keyClick(row.name, Qt.Key.Key_Tab)
    qtbot.keyClicks(row.dob, "09/03/1984")
    qtbot.waitUntil(lambda: any(a[2] for a in source.asked) and not dlg.history.loader.busy)
    assert source.asked[-1] == ("form", None, (Person("Gary HOLLIS", date(1984, 3, 9)),))
    assert "3 involving Gary HOLLIS (b. 1984)" in dlg.history.panel.summary.text()
    assert QApplication.focusWidget() is row.dob


def test_f3_goes_to_the_history_and_esc_comes_back(qtbot, form):
    dlg, _source = form
    panel = dlg.history.panel
    qtbot.keyClicks(dlg.address, "4 Mill Lane")
    qtbot.waitUntil(lambda: panel.model.rowCount() == 4)
    qtbot.keyClick(dlg.address, Qt.Key.Key_F3)
    assert QApplication.focusWidget() is panel.list
    assert panel.list.currentIndex().row() == 0
    qtbot.keyClick(panel.list, Qt.Key.Key_Escape)
    assert QApplication.focusWidget() is dlg.address
    assert dlg.isVisible() and dlg.confirm_label.isHidden(), "Esc there is not the form's Cancel"


def test_a_link_chosen_in_the_form_goes_with_the_draft(qtbot, form):
    """The new incident has no id yet: the link waits in the draft and is made once the
    server has given it one."""
    dlg, _source = form
    panel = dlg.history.panel
    qtbot.keyClicks(dlg.address, "4 Mill Lane")
    qtbot.waitUntil(lambda: panel.model.rowCount() == 4)
    qtbot.keyClick(dlg.address, Qt.Key.Key_F3)
    qtbot.keyClick(panel.list, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert panel.link_title.text() == (
        "Link the new incident to CAD 101/23NOV26 once it is created: this incident is…"
    )
    qtbot.keyClick(panel.relation, Qt.Key.Key_D)  # DUPLICATE
    qtbot.keyClick(panel.relation, Qt.Key.Key_Tab)
    qtbot.keyClicks(panel.link_reason, "Same burglary, reported again by the neighbour")
    qtbot.keyClick(panel.link_reason, Qt.Key.Key_Return)
    assert panel.link_box.isHidden()
    assert panel.links.text() == (
        "To link once the incident is created:\n"
        "CAD 101/23NOV26 — DUPLICATE: Same burglary, reported again by the neighbour"
    )
    qtbot.keyClick(panel.list, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert "already to be linked" in panel.status.text()
    dlg.postcode.setText("E3 2AA")
    dlg.borough.setEditText("Tower Hamlets")
    dlg.type.setEditText("Burglary")
    dlg.set_grade(Grade.SIGNIFICANT)
    dlg.summary.setPlainText("Shed broken into again")
    assert dlg.draft().links == (
        DraftLink(
            101,
            "CAD 101/23NOV26",
            LinkRelation.DUPLICATE,
            "Same burglary, reported again by the neighbour",
        ),
    )


def test_the_form_offline_says_nothing_can_be_checked(qtbot, form):
    dlg, source = form
    source.result = HistoryResult(
        problem="History cannot be checked now: the server cannot be reached, and nothing is "
        "held on this desk for a call not yet created. It is checked again when the server "
        "answers."
    )
    qtbot.keyClicks(dlg.address, "4 Mill Lane")
    panel = dlg.history.panel
    qtbot.waitUntil(lambda: "cannot be checked now" in panel.status.text())
    assert panel.status.property("role") == "error" and panel.model.rowCount() == 0


def test_roles_and_weapons_go_into_the_draft(qtbot, form):
    dlg, _source = form
    dlg.address.setText("12 High Street")
    dlg.postcode.setText("NW1 7AA")
    dlg.borough.setEditText("Camden")
    dlg.type.setEditText("Domestic")
    dlg.set_grade(Grade.SIGNIFICANT)
    dlg.summary.setPlainText("Husband threatening wife with a knife")
    dlg.weapons.setChecked(True)
    dlg.caller_name.setText("Jane HOLLIS")
    dlg.caller_role.setFocus()
    qtbot.keyClick(dlg.caller_role, Qt.Key.Key_V)  # the victim calls
    row = dlg.add_person()
    row.name.setText("Gary HOLLIS")
    row.role.setFocus()
    qtbot.keyClick(row.role, Qt.Key.Key_S)
    draft = dlg.draft()
    assert draft.weapons is True
    assert draft.caller.role is PersonRole.VICTIM
    assert draft.persons == (IncidentPerson("Gary HOLLIS", None, PersonRole.SUSPECT),)
    fresh = dlg.add_person()
    assert fresh.role.currentData() == "OTHER" and dlg.caller_role.count() == len(PersonRole)


def test_f3_in_the_queue_goes_to_the_incident_history(qtbot, loop, commands, settings, fake_clock):
    from tests.gui.factories import open_queue_window

    window = open_queue_window(qtbot, commands, settings, fake_clock, Role.CALL_HANDLER)
    window.relay.state.emit([home()], DEFAULT_POLICY)
    window.focus_queue()
    qtbot.waitUntil(lambda: window.detail.incident is not None)
    panel = window.detail.history.panel
    # No history source behind these commands: it says so, and F3 still goes there.
    qtbot.waitUntil(lambda: "cannot check history" in panel.status.text())
    qtbot.keyClick(window.table, Qt.Key.Key_F3)
    assert QApplication.focusWidget() is panel.list
    assert "histor&y" in window.act_history.text()
    qtbot.keyClick(panel.list, Qt.Key.Key_Escape)
    assert QApplication.focusWidget() is window.table
