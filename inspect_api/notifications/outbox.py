"""The outbox: messages to channels outside the app, queued with the notification that causes them (one
transaction, so none is lost if the process dies before sending) and sent by the scheduler.

Each message is claimed (status `sending`, committed) before its request leaves, and marked after the
answer, so a second scheduler or a rerun never sends it twice. A message whose sender died while its
request was out becomes `uncertain` once the claim has lapsed: the robot may have posted it, so it is
not sent again by itself (an admin may resend it). A failure or a non-success answer is retried with
the policy's backoff and marked `failed` after `max_attempts`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from inspect_api.core import clock
from inspect_api.db import db
from inspect_api.errors import Conflict, NotFound, Unprocessable
from inspect_api.notifications import channels, rules
from inspect_api.notifications.models import ChannelRoute, OutboxMessage

log = logging.getLogger(__name__)
BATCH = 100


def policy() -> rules.MessagePolicy:
    return current_app.extensions["inspect_notifications_policy"]


def channels_config() -> channels.ChannelsConfig:
    return current_app.extensions["inspect_channels"]


def _insert(values: dict) -> bool:
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(OutboxMessage.__table__)
    return db.session.execute(insert.values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
                              .returning(OutboxMessage.__table__.c.id)).scalar_one_or_none() is not None


def enqueue(notification_id: int, user_id: int, kind: str, title: str, body: str | None, subject: dict) -> int:
    """Queue the messages the routes ask for, in the caller's transaction. A unit's route gets one
    message however many of its liaisons are told of the same thing. Returns how many were queued."""
    from inspect_api.auth.models import User

    pol = policy()
    if kind not in pol.kinds:
        return 0
    user = db.session.get(User, user_id)
    scope = sa.and_(ChannelRoute.scope == "user", ChannelRoute.scope_id == user_id)
    if user is not None and user.role == "unit_liaison" and user.unit_id is not None:
        scope = sa.or_(scope, sa.and_(ChannelRoute.scope == "unit", ChannelRoute.scope_id == user.unit_id))
    routes = db.session.scalars(sa.select(ChannelRoute).where(scope)).all()
    now, queued = clock.now(), 0
    for route in routes:
        if not rules.route_matches(pol, route.scope, route.kinds, kind):
            continue
        if route.scope == "user":
            key = f"n{notification_id}:r{route.id}"
        else:  # the same news to several liaisons of one unit is one message in the unit's channel
            digest = hashlib.sha256(json.dumps([kind, title, body, subject], sort_keys=True, ensure_ascii=False,
                                               default=str).encode()).hexdigest()[:32]
            key = f"unit:r{route.id}:{digest}"
        queued += _insert({"dedupe_key": key, "notification_id": notification_id, "route_id": route.id,
                           "channel": route.channel, "target": route.target, "kind": kind,
                           "text": rules.message_text(pol, route.channel, kind, title, body), "status": "pending",
                           "attempts": 0, "next_attempt_at": now, "created_at": now})
    return queued


def _timeout() -> int:
    return current_app.config["INSPECT_OUTBOX_TIMEOUT_S"]


def _lease() -> timedelta:
    """How long a claim may last before its sender is taken for dead."""
    return timedelta(seconds=_timeout() * 3 + 60)


def drain(limit: int = BATCH) -> dict:
    """Scheduler job: send what is due. Commits after each claim and each answer (a crash loses at most
    the answer of one message, which then becomes `uncertain`, never a second copy)."""
    counts = {"sent": 0, "retry": 0, "failed": 0, "uncertain": 0}
    now = clock.now()
    stuck = db.session.execute(
        sa.update(OutboxMessage).where(OutboxMessage.status == "sending", OutboxMessage.claimed_at < now - _lease())
        .values(status="uncertain", last_error="发送进程在等待应答时中断，对方可能已收到 (sender died mid-request)")
        .returning(OutboxMessage.id)).scalars().all()
    counts["uncertain"] = len(stuck)
    db.session.commit()
    due = db.session.scalars(
        sa.select(OutboxMessage.id).where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)).all()
    pol, cfg, app_cfg = policy(), channels_config(), current_app.config
    for message_id in due:
        # claim it, read what to send, commit: no transaction (and, on SQLite, no writer lock) is held
        # while the request is out
        claimed = db.session.execute(
            sa.update(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.status == "pending")
            .values(status="sending", claimed_at=clock.now(), attempts=OutboxMessage.attempts + 1)
            .returning(OutboxMessage.channel, OutboxMessage.target, OutboxMessage.text, OutboxMessage.attempts)
        ).one_or_none()
        db.session.commit()
        if claimed is None:  # another sender took it
            continue
        channel, target, text, attempts = claimed
        result = channels.deliver(channel, target, text, config=cfg, app_config=app_cfg,
                                  subject=rules.render(pol.email_subject, title=text.splitlines()[0], label="",
                                                       body=""),
                                  timeout=_timeout(), timestamp_ms=int(clock.now().timestamp() * 1000))
        if result.ok:
            values = {"status": "sent", "sent_at": clock.now(), "last_error": None}
            counts["sent"] += 1
        else:
            wait = rules.backoff(pol, attempts)
            values = {"last_error": result.detail[:500]}
            if wait is None:
                values["status"] = "failed"
                counts["failed"] += 1
                log.warning("outbox message %s (%s to %s) failed for good: %s", message_id, channel,
                            _masked(channel, target), result.detail)
            else:
                values |= {"status": "pending", "next_attempt_at": clock.now() + timedelta(seconds=wait)}
                counts["retry"] += 1
        db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values))
        db.session.commit()
    return counts


def _masked(channel: str, target: str) -> str:
    """A destination fit for a log line: robots by name, phone numbers and addresses shortened."""
    if channel in rules.ROBOT_CHANNELS:
        return target
    return target[:3] + "…" if len(target) > 3 else "…"


def resend(message_id: int) -> OutboxMessage:
    msg = db.session.get(OutboxMessage, message_id)
    if msg is None:
        raise NotFound("消息不存在 (no such message)")
    if msg.status not in ("failed", "uncertain"):
        raise Conflict(f"只能重发发送失败或状态不明的消息 (status {msg.status})", {"status": msg.status},
                       code="not_resendable")
    msg.status, msg.attempts, msg.next_attempt_at, msg.claimed_at = "pending", 0, clock.now(), None
    return msg


# --- routes (admin) ----------------------------------------------------------------------------------


def create_route(data: dict, actor) -> ChannelRoute:
    from inspect_api.auth.models import User
    from inspect_api.org.models import Unit

    try:
        rules.check_route(policy(), data["scope"], data["channel"], data["kinds"])
    except rules.RuleError as exc:
        raise Unprocessable(str(exc), {"fields": {"kinds": [str(exc)]}}) from exc
    owner = db.session.get(User if data["scope"] == "user" else Unit, data["scope_id"])
    if owner is None:
        raise Unprocessable("对象不存在 (unknown user or unit)", {"fields": {"scope_id": ["unknown"]}})
    if data["channel"] in rules.ROBOT_CHANNELS:
        robot = channels_config().robots.get(data["target"])
        if robot is None or robot.type != data["channel"]:
            names = sorted(n for n, r in channels_config().robots.items() if r.type == data["channel"])
            raise Unprocessable("渠道配置文件中没有这个机器人 (no such robot in the channels file)",
                                {"fields": {"target": [f"configured {data['channel']} robots: {names}"]}})
    exists = db.session.scalar(sa.select(ChannelRoute).where(
        ChannelRoute.scope == data["scope"], ChannelRoute.scope_id == data["scope_id"],
        ChannelRoute.channel == data["channel"], ChannelRoute.target == data["target"]))
    if exists is not None:
        raise Conflict("同一对象的同一渠道已设置 (route exists)", {"id": exists.id}, code="route_exists")
    route = ChannelRoute(scope=data["scope"], scope_id=data["scope_id"], channel=data["channel"],
                         target=data["target"], kinds=sorted(set(data["kinds"])), created_at=clock.now(),
                         created_by=actor.id)
    db.session.add(route)
    db.session.flush()
    return route


def delete_route(route_id: int) -> None:
    route = db.session.get(ChannelRoute, route_id)
    if route is None:
        raise NotFound("渠道设置不存在 (no such route)")
    db.session.delete(route)
    db.session.flush()
