"""Operational notices on the desk: only those for the operator's role are listed; one that must
be acknowledged stays as a banner until it is, without ever taking the keyboard from a call;
Ctrl+Shift+N reads it and Ctrl+Enter acknowledges; an expired notice goes by server time; and a
supervisor posts one through a non-modal form that says what is wrong and loses nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from dispatchdesk.domain.grades import DEFAULT_POLICY
from dispatchdesk.domain.roles import Role
from dispatchdesk.gui.notices.model import NoticesModel
from dispatchdesk.gui.notices.texts import banner_text, rows_for
from dispatchdesk.protocol.notices import NoticeCreate, NoticeOut, NoticeReceipt, NoticeReceipts
from tests.gui.factories import T0, open_queue_window


def notice(n: int = 1, **over: Any) -> NoticeOut:
    data: dict[str, Any] = {
        "id": n,
        "version": 1,
        "title": f"Notice {n}: contact the informant",
        "body": "Every domestic incident: contact the informant, anonymous callers included.",
        "roles": [Role.CALL_HANDLER, Role.DISPATCHER],
        "requires_ack": True,
        "expires_at": T0 + timedelta(days=1),
        "created_by": "sue",
        "created_at": T0 - timedelta(minutes=n),
    }
    data.update(over)
    return NoticeOut(**data)


def test_rows_are_those_for_the_role_newest_first_and_live() -> None:
    notices = [
        notice(1),
        notice(2, roles=[Role.DISPATCHER]),
        notice(3, expires_at=T0 - timedelta(seconds=1)),
        notice(4, created_at=T0),
    ]
    handler = rows_for(notices, {}, Role.CALL_HANDLER, T0)
    assert [r.notice.id for r in handler] == [4, 1]
    supervisor = rows_for(notices, {}, Role.SUPERVISOR, T0)
    assert [r.notice.id for r in supervisor] == [4, 1, 2]
    # listed for a supervisor to follow, but not theirs to acknowledge
    assert not any(r.needs_ack for r in supervisor)
    assert banner_text(supervisor, "UTC") == ""
    read = rows_for(notices, {4: T0}, Role.CALL_HANDLER, T0)
    assert "Notice 1" in banner_text(read, "Europe/London")
    assert "+1 more" in banner_text(handler, "Europe/London")
    assert banner_text(rows_for(notices, {1: T0, 4: T0}, Role.CALL_HANDLER, T0), "UTC") == ""


def test_the_model_passes_the_model_tester(qtmodeltester) -> None:
    model = NoticesModel()
    model.set_rows(rows_for([notice(1), notice(2)], {2: T0}, Role.CALL_HANDLER, T0), "UTC")
    qtmodeltester.check(model)
    assert model.data(model.index(0, 0)) == "ACKNOWLEDGE"
    assert model.data(model.index(1, 0)) == "Acknowledged"


def test_a_notice_to_acknowledge_stays_as_a_banner_and_never_takes_the_keyboard(
    qtbot, commands, settings, fake_clock
) -> None:
    window = open_queue_window(qtbot, commands, settings, fake_clock, Role.CALL_HANDLER)
    window.relay.on_state([], DEFAULT_POLICY)
    window.search.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.search)
    qtbot.keyClicks(window.search, "Acac")
    window.relay.on_notices([notice(1)], {})
    assert window.notices.banner.isVisible()
    assert "NOTICE from sue" in window.notices.banner.text()
    assert window.notices.dock.isVisible()  # brought into sight at sign-in ...
    assert QApplication.focusWidget() is window.search  # ... but the typing stays put
    qtbot.keyClicks(window.search, "ia")
    assert window.search.text() == "Acacia"
    # the operator reads it when the call allows
    qtbot.keyClick(
        window,
        Qt.Key.Key_N,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    view = window.notices.view
    qtbot.waitUntil(lambda: QApplication.focusWidget() is view.table)
    assert view.selected() is not None and view.selected().notice.id == 1
    assert "contact the informant" in view.text.toPlainText()
    qtbot.keyClick(view.table, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert commands.names() == ["read_notice"]
    # the engine records the read at once and says so: the banner goes
    window.relay.on_notices([notice(1)], {1: T0})
    assert not window.notices.banner.isVisible()
    assert not view.read_button.isEnabled()
    assert "Acknowledged by you" in view.text.toPlainText()


def test_notices_for_other_roles_are_not_shown(qtbot, commands, settings, fake_clock) -> None:
    window = open_queue_window(qtbot, commands, settings, fake_clock, Role.CALL_HANDLER)
    window.relay.on_notices([notice(1, roles=[Role.DISPATCHER])], {})
    assert window.notices.model.rowCount() == 0
    assert not window.notices.banner.isVisible()
    assert "No operational notices" in window.notices.view.text.toPlainText()


def test_an_expired_notice_goes_on_the_tick(qtbot, commands, settings, fake_clock) -> None:
    window = open_queue_window(qtbot, commands, settings, fake_clock, Role.DISPATCHER)
    window.relay.on_notices([notice(1, expires_at=T0 + timedelta(minutes=5))], {})
    assert window.notices.model.rowCount() == 1 and window.notices.banner.isVisible()
    fake_clock.advance(timedelta(minutes=5))
    window.ticker.tick()
    assert window.notices.model.rowCount() == 0
    assert not window.notices.banner.isVisible()


def test_a_notice_that_needs_no_acknowledgement_is_listed_without_a_banner(
    qtbot, commands, settings, fake_clock
) -> None:
    window = open_queue_window(qtbot, commands, settings, fake_clock, Role.DISPATCHER)
    window.relay.on_notices([notice(1, requires_ack=False)], {})
    assert not window.notices.banner.isVisible()
    window.notices.show()
    assert window.notices.view.read_button.text() == "&Mark read"
    window.notices.view.read_button.click()
    assert commands.names() == ["read_notice"]


def test_only_supervisors_post_and_the_form_says_what_is_wrong(
    qtbot, commands, settings, fake_clock
) -> None:
    handler = open_queue_window(qtbot, commands, settings, fake_clock, Role.CALL_HANDLER)
    assert not handler.act_post_notice.isVisible()
    assert not handler.notices.view.post_button.isVisibleTo(handler.notices.view)
    window = open_queue_window(qtbot, commands, settings, fake_clock, Role.SUPERVISOR)
    window.act_post_notice.trigger()
    form = window.notices.composer
    assert form is not None and form.isVisible() and not form.isModal()
    for box in form.roles.values():
        box.setChecked(False)
    form.post_button.click()
    assert form.isVisible() and "Title: write something" in form.error.text()
    assert "For: choose at least one role" in form.error.text()
    assert commands.names() == []
    qtbot.keyClicks(form.title, "Radio channel change")
    form.body.setPlainText("From 22:00 use channel 4.")
    form.roles[Role.DISPATCHER].setChecked(True)
    form.post_button.click()
    assert commands.names() == ["post_notice"]
    posted = commands.calls[0][1][0]
    assert isinstance(posted, NoticeCreate)
    assert posted.roles == [Role.DISPATCHER] and posted.requires_ack
    assert posted.expires_at == T0 + timedelta(days=7)
    assert not form.isVisible() and form.title.text() == ""


def test_receipts_list_who_has_not_read(qtbot, commands, settings, fake_clock) -> None:
    window = open_queue_window(qtbot, commands, settings, fake_clock, Role.SUPERVISOR)
    n = notice(1)
    window.relay.on_notices([n], {})
    view = window.notices.view
    window.notices.show()
    assert not window.notices.banner.isVisible() and not view.read_button.isEnabled()
    assert "Not addressed to your role" in view.text.toPlainText()
    assert view.receipts_button.isVisibleTo(view)
    view.show_receipt_list(
        NoticeReceipts(
            notice=n,
            read=[NoticeReceipt(username="cathy", role=Role.CALL_HANDLER, read_at=T0)],
            not_read=[NoticeReceipt(username="dan", role=Role.DISPATCHER)],
        )
    )
    text = view.receipts.toPlainText()
    assert "Read by 1; NOT read by 1." in text
    assert "dan (Dispatcher)" in text.split("Read:")[0]
