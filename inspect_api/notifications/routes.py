"""My notifications: list (paginated, unread first if asked) and mark as read; for admins, the channels
outside the app (routes per user and unit) and the outbox."""

from __future__ import annotations

import hashlib
import re

import sqlalchemy as sa
from flask import request
from flask.views import MethodView
from marshmallow import ValidationError, fields, validate, validates_schema

from inspect_api.auth.access import current_user, roles
from inspect_api.auth.rules import ALL_ROLES
from inspect_api.core.blueprint import Blueprint
from inspect_api.core.http import revalidated
from inspect_api.core.schemas import BaseSchema, paginate_select
from inspect_api.db import db
from inspect_api.notifications import outbox, services
from inspect_api.notifications.models import ChannelRoute, OutboxMessage
from inspect_api.notifications.rules import CHANNEL_LABELS, CHANNELS, SCOPES

blp = Blueprint("notifications", __name__, url_prefix="/me/notifications", description="通知 Notifications")
EVERYONE = tuple(r.value for r in ALL_ROLES)


class NotificationSchema(BaseSchema):
    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    body = fields.String(allow_none=True)
    subject = fields.Dict()
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class NotificationQuerySchema(BaseSchema):
    unread = fields.Boolean(load_default=False)


def _list_tag() -> str:
    """The ETag of the caller's list as this query asks for it (`services.fingerprint`)."""
    user = current_user()
    key = "\x1f".join(map(str, (user.id, request.query_string.decode("latin-1"), *services.fingerprint(user))))
    return "notes-" + hashlib.blake2b(key.encode(), digest_size=9).hexdigest()


@blp.route("")
class Notifications(MethodView):
    @revalidated(_list_tag)
    @blp.arguments(NotificationQuerySchema, location="query")
    @blp.response(200, NotificationSchema(many=True))
    @blp.alt_response(304, description="If-None-Match 与当前 ETag 相同: 没有新通知, 也没有已读变化 (not modified)",
                      success=True)
    @blp.paginate(page_size=50, max_page_size=200)
    @roles(*EVERYONE)
    def get(self, args, pagination_parameters):
        """My notifications, newest first (`unread=true` for unread only)

        Polling: send the answer's ETag back as `If-None-Match`; while no notification has been added
        or marked read since, the answer is a bodiless 304 (one indexed count, no list). Browsers do
        this by themselves (`Cache-Control: private, no-cache`).
        """
        return paginate_select(services.for_user(current_user(), args["unread"]), pagination_parameters)


@blp.route("/<int:notification_id>/read")
class Read(MethodView):
    @blp.response(200, NotificationSchema)
    @roles(*EVERYONE)
    def post(self, notification_id):
        """Mark one of my notifications as read"""
        n = services.mark_read(current_user(), notification_id)
        db.session.commit()
        return n


# --- channels outside the app (admin) ------------------------------------------------------------------

admin_blp = Blueprint("notification_channels", __name__, url_prefix="/admin/notifications",
                      description="通知渠道 Channels outside the app (企业微信, 钉钉, SMS, mail) and the outbox")
OUTBOX_LABELS = {"pending": "待发送", "sending": "发送中", "sent": "已发送", "failed": "发送失败",
                 "uncertain": "状态不明"}


class RobotSchema(BaseSchema):
    name = fields.String()
    type = fields.String()
    type_label = fields.String()
    signed = fields.Boolean(metadata={"description": "钉钉: a signing secret is configured"})


class KindSchema(BaseSchema):
    kind = fields.String()
    label = fields.String()
    unit_allowed = fields.Boolean(metadata={"description": "may go to a unit's channel"})


class ChannelsSchema(BaseSchema):
    robots = fields.List(fields.Nested(RobotSchema))
    sms = fields.Boolean(metadata={"description": "an SMS gateway is configured"})
    kinds = fields.List(fields.Nested(KindSchema))


class RouteSchema(BaseSchema):
    id = fields.Integer()
    scope = fields.String()
    scope_id = fields.Integer()
    channel = fields.String()
    channel_label = fields.Function(lambda r: CHANNEL_LABELS[r.channel])
    target = fields.String()
    kinds = fields.List(fields.String())
    created_at = fields.DateTime()


class RouteCreateSchema(BaseSchema):
    scope = fields.String(required=True, validate=validate.OneOf(SCOPES),
                          metadata={"description": "user 个人 | unit 单位（发给单位联络员的通知）"})
    scope_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    target = fields.String(required=True, validate=validate.Length(min=1, max=255), metadata={
        "description": "wecom/dingtalk: a robot's name in the channels file; sms: a phone number; email: an address"})
    kinds = fields.List(fields.String(validate=validate.Length(min=1, max=64)), required=True,
                        validate=validate.Length(min=1, max=100), metadata={"description": 'kinds, or ["*"] for all'})

    @validates_schema
    def _target(self, data, **kwargs):
        target = data.get("target", "").strip()
        if data.get("channel") == "sms" and not re.fullmatch(r"\+?\d{5,20}", target):
            raise ValidationError("手机号码格式不正确 (digits, optionally with +)", "target")
        if data.get("channel") == "email" and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", target):
            raise ValidationError("邮箱地址格式不正确", "target")
        data["target"] = target


class OutboxSchema(BaseSchema):
    id = fields.Integer()
    channel = fields.String()
    target = fields.String()
    kind = fields.String()
    text = fields.String()
    status = fields.String()
    status_label = fields.Function(lambda m: OUTBOX_LABELS[m.status])
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()


class OutboxQuerySchema(BaseSchema):
    status = fields.String(validate=validate.OneOf(tuple(OUTBOX_LABELS)))


@admin_blp.route("/channels")
class Channels(MethodView):
    @admin_blp.response(200, ChannelsSchema)
    @roles("admin")
    def get(self):
        """The configured robots (names only: URLs and keys stay in the channels file), whether SMS is
        set up, and the notification kinds a route may name"""
        pol = outbox.policy()
        return {**outbox.channels_config().public(),
                "kinds": [{"kind": k, "label": v.label, "unit_allowed": v.unit_allowed} for k, v in pol.kinds.items()]}


@admin_blp.route("/routes")
class Routes(MethodView):
    @admin_blp.response(200, RouteSchema(many=True))
    @admin_blp.paginate(page_size=100, max_page_size=500)
    @roles("admin")
    def get(self, pagination_parameters):
        """Who gets which kinds where (per user and per unit)"""
        return paginate_select(sa.select(ChannelRoute).order_by(ChannelRoute.id), pagination_parameters)

    @admin_blp.arguments(RouteCreateSchema)
    @admin_blp.response(201, RouteSchema)
    @roles("admin")
    def post(self, data):
        """Send these kinds to a user's or a unit's channel too. A unit's route cannot name the kinds that
        only go to inspectors (assignments stay secret)"""
        route = outbox.create_route(data, current_user())
        db.session.commit()
        return route


@admin_blp.route("/routes/<int:route_id>")
class RouteById(MethodView):
    @admin_blp.response(204)
    @roles("admin")
    def delete(self, route_id):
        """Stop sending to this channel (messages already queued stay in the outbox)"""
        outbox.delete_route(route_id)
        db.session.commit()


@admin_blp.route("/outbox")
class Outbox(MethodView):
    @admin_blp.arguments(OutboxQuerySchema, location="query")
    @admin_blp.response(200, OutboxSchema(many=True))
    @admin_blp.paginate(page_size=50, max_page_size=500)
    @roles("admin")
    def get(self, args, pagination_parameters):
        """Messages to channels outside the app, newest first (`status=failed|uncertain` for those that
        need an admin)"""
        stmt = sa.select(OutboxMessage).order_by(OutboxMessage.id.desc())
        if args.get("status"):
            stmt = stmt.where(OutboxMessage.status == args["status"])
        return paginate_select(stmt, pagination_parameters)


@admin_blp.route("/outbox/<int:message_id>/resend")
class Resend(MethodView):
    @admin_blp.response(200, OutboxSchema)
    @roles("admin")
    def post(self, message_id):
        """Queue a failed or uncertain message again (an uncertain one may then reach its channel twice)"""
        msg = outbox.resend(message_id)
        db.session.commit()
        return msg
