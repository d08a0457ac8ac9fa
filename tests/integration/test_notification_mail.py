"""Notification mail against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import email
import socket
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller

from inspect_api.db import db
from inspect_api.notifications.mail import send_pending_email
from inspect_api.notifications.models import Notification
from inspect_api.notifications.services import notify
from tests.helpers import make_user


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@refused.example"):
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=default_policy)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def smtp(app):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(INSPECT_SMTP_HOST="127.0.0.1", INSPECT_SMTP_PORT=controller.port,
                      INSPECT_MAIL_FROM="xiaoneng@qingchuan.example")
    yield inbox
    controller.stop()
    app.config["INSPECT_SMTP_HOST"] = ""


def test_notifications_are_mailed_once_to_users_with_an_address(dbsession, smtp, clock):
    with_mail = make_user("unit_liaison")
    with_mail.email = "liaison@qingchuan.example"
    refused = make_user("office")
    refused.email = "nobody@refused.example"
    without = make_user("office")
    for user in (with_mail, refused, without):
        notify(user.id, "finding.confirmed", "本单位有一项问题经效能办确认", "3号窗口未佩戴工牌", {},
               f"t:{user.id}")
    db.session.commit()
    assert send_pending_email() == {"sent": 1, "no_address": 1, "expired": 0, "refused": 1, "deferred": 0}
    [(to, msg)] = smtp.messages
    assert to == ["liaison@qingchuan.example"]
    assert msg["Subject"] == "[效能督查] 本单位有一项问题经效能办确认"
    assert "3号窗口未佩戴工牌" in msg.get_content()
    # a second run sends nothing
    assert send_pending_email()["sent"] == 0 and len(smtp.messages) == 1
    statuses = sorted(n.email_status for n in db.session.query(Notification))
    assert statuses == ["no_address", "refused", "sent"]


def test_old_notifications_are_not_mailed_when_mail_is_switched_on_later(app, dbsession, clock):
    user = make_user("office")
    user.email = "office@qingchuan.example"
    notify(user.id, "x", "旧通知", None, {}, "old")
    db.session.commit()
    assert send_pending_email()["sent"] == 0  # mail off: nothing happens, nothing is marked
    assert db.session.query(Notification).one().emailed_at is None
    clock.advance(days=3)
    app.config.update(INSPECT_SMTP_HOST="127.0.0.1", INSPECT_SMTP_PORT=free_port())  # nobody listens there
    try:
        assert send_pending_email()["expired"] == 1
    finally:
        app.config["INSPECT_SMTP_HOST"] = ""


def test_a_server_that_is_away_defers_the_mail(app, dbsession, clock):
    user = make_user("office")
    user.email = "office@qingchuan.example"
    notify(user.id, "x", "新通知", None, {}, "new")
    db.session.commit()
    app.config.update(INSPECT_SMTP_HOST="127.0.0.1", INSPECT_SMTP_PORT=free_port())
    try:
        assert send_pending_email()["deferred"] == 1
    finally:
        app.config["INSPECT_SMTP_HOST"] = ""
    assert db.session.query(Notification).one().emailed_at is None  # tried again next time
