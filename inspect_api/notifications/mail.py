"""Optional e-mail for notifications: a scheduler job mails what the app already shows in-app.

Off unless INSPECT_SMTP_HOST is set. Each notification is mailed at most once and marked in the same
step (`emailed_at`, `email_status`), so a second run sends nothing new; a temporary SMTP failure leaves
it for the next run, and one that stays unsent for MAX_AGE is given up (`expired`), so switching mail on
later does not flood people with old news.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
from datetime import timedelta
from email.message import EmailMessage

import sqlalchemy as sa
from flask import current_app

from inspect_api.core import clock
from inspect_api.db import db
from inspect_api.notifications.models import Notification

log = logging.getLogger(__name__)
MAX_AGE = timedelta(days=2)
BATCH = 200


def _message(n: Notification, to: str, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = f"[效能督查] {n.title}"
    msg["From"] = sender
    msg["To"] = to
    msg["Message-ID"] = f"<notification-{n.id}@inspect-api>"
    msg.set_content(f"{n.title}\n\n{n.body or ''}\n\n请登录效能督查系统查看详情。此邮件由系统自动发送, 请勿回复。\n")
    return msg


def send_pending_email() -> dict:
    """Scheduler job: mail unsent notifications. Returns counts by outcome."""
    from inspect_api.auth.models import User

    cfg = current_app.config
    counts = {"sent": 0, "no_address": 0, "expired": 0, "refused": 0, "deferred": 0}
    if not cfg["INSPECT_SMTP_HOST"]:
        return counts
    now = clock.now()
    rows = db.session.execute(
        sa.select(Notification, User.email).join(User, User.id == Notification.user_id)
        .where(Notification.emailed_at.is_(None)).order_by(Notification.id).limit(BATCH)).all()
    if not rows:
        return counts
    smtp = None
    try:
        for n, address in rows:
            if n.created_at < now - MAX_AGE:
                status = "expired"
            elif not address:
                status = "no_address"
            else:
                try:
                    if smtp is None:
                        smtp = smtplib.SMTP(cfg["INSPECT_SMTP_HOST"], cfg["INSPECT_SMTP_PORT"], timeout=30)
                        if cfg["INSPECT_SMTP_STARTTLS"]:
                            smtp.starttls()
                        if cfg["INSPECT_SMTP_USER"]:
                            smtp.login(cfg["INSPECT_SMTP_USER"], cfg["INSPECT_SMTP_PASSWORD"])
                    smtp.send_message(_message(n, address, cfg["INSPECT_MAIL_FROM"]))
                    status = "sent"
                except smtplib.SMTPRecipientsRefused:
                    status = "refused"
                except (smtplib.SMTPException, OSError) as exc:
                    log.warning("mail deferred: %s", exc)
                    counts["deferred"] += len(rows) - sum(counts.values())
                    break  # the server is away: try again on the next run
            n.emailed_at, n.email_status = clock.now(), status
            counts[status] += 1
            db.session.commit()  # marked as soon as it is sent: a crash later does not send it twice
    finally:
        if smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.quit()
    return counts
