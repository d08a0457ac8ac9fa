"""My notifications: list (paginated, unread first if asked) and mark as read."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields

from inspect_api.auth.access import current_user, roles
from inspect_api.auth.rules import ALL_ROLES
from inspect_api.core.blueprint import Blueprint
from inspect_api.core.schemas import BaseSchema, paginate_select
from inspect_api.db import db
from inspect_api.notifications import services

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


@blp.route("")
class Notifications(MethodView):
    @blp.arguments(NotificationQuerySchema, location="query")
    @blp.response(200, NotificationSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=200)
    @roles(*EVERYONE)
    def get(self, args, pagination_parameters):
        """My notifications, newest first (`unread=true` for unread only)"""
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
