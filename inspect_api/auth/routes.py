"""Token endpoints (login, refresh, logout, me) and account administration for `admin`."""

from __future__ import annotations

import sqlalchemy as sa
from flask import request
from flask.views import MethodView

from inspect_api.auth import services
from inspect_api.auth.access import PUBLIC, current_session, current_user, refresh_session, roles
from inspect_api.auth.models import User
from inspect_api.auth.rules import ALL_ROLES
from inspect_api.auth.schemas import (
    ColleagueSchema,
    LoginSchema,
    PasswordChangeSchema,
    PasswordSetSchema,
    TokenSchema,
    UserCreateSchema,
    UserQuerySchema,
    UserSchema,
    UserUpdateSchema,
)
from inspect_api.core.blueprint import Blueprint
from inspect_api.core.schemas import paginate_select
from inspect_api.db import db

blp = Blueprint("auth", __name__, url_prefix="/auth", description="登录与令牌 Login and tokens")
users_blp = Blueprint("users", __name__, url_prefix="/users", description="账号管理 Accounts (admin)")

EVERYONE = tuple(r.value for r in ALL_ROLES)


def _finish(outcome):
    """Commit what the service recorded (failure counts too), then answer or raise."""
    db.session.commit()
    if outcome.error is not None:
        raise outcome.error
    return outcome.tokens


@blp.route("/token")
class Token(MethodView):
    @blp.arguments(LoginSchema)
    @blp.response(200, TokenSchema)
    @blp.alt_response(401, description="用户名或密码错误")
    @blp.alt_response(403, description="账号已停用")
    @blp.alt_response(429, description="失败次数过多: 稍后再试 (Retry-After)")
    @roles(PUBLIC)
    def post(self, body):
        """Log in: an access token (short-lived) and a refresh token

        Repeated failures are slowed, then locked for a while (429 with Retry-After), per user name
        and per client address; a device that logged in from its address before is counted apart, so
        strangers' failures do not lock it out.
        """
        return _finish(services.login(body["username"], body["password"], request.headers.get("User-Agent"),
                                      request.remote_addr))


@blp.route("/refresh")
class Refresh(MethodView):
    @blp.response(200, TokenSchema)
    @blp.alt_response(401, description="刷新令牌无效、已过期或被重复使用")
    @blp.doc(security=[{"bearerAuth": []}])
    @roles(PUBLIC)
    def post(self):
        """Rotate tokens: send the refresh token as `Authorization: Bearer`

        Each refresh token works once. The one before the newest is still accepted until the newest
        is used (a phone that lost the answer is not logged out); any older one ends the session.
        Sent again within INSPECT_REFRESH_GRACE_SECONDS (30 s) of its rotation, it answers that
        rotation again (the same refresh token `jti`) instead of rotating once more.
        """
        session, claims = refresh_session()
        return _finish(services.refresh(session, claims["jti"]))


@blp.route("/logout")
class Logout(MethodView):
    @blp.response(204)
    @roles(*EVERYONE)
    def post(self):
        """Log out: revoke this device's session (access and refresh tokens)"""
        services.logout(current_session())
        db.session.commit()


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, UserSchema)
    @roles(*EVERYONE)
    def get(self):
        """The calling account"""
        return current_user()


@blp.route("/inspectors")
class Inspectors(MethodView):
    @blp.response(200, ColleagueSchema(many=True))
    @roles("inspector", "office", "admin")
    def get(self):
        """Active inspectors (id and name), so a phone can make up an ad hoc team (检查组)"""
        return db.session.scalars(sa.select(User).where(User.role == "inspector", User.is_active.is_(True))
                                  .order_by(User.id)).all()


@blp.route("/me/password")
class MyPassword(MethodView):
    @blp.arguments(PasswordChangeSchema)
    @blp.response(204)
    @roles(*EVERYONE)
    def post(self, body):
        """Change my password (every session, this one included, is revoked)"""
        services.change_own_password(current_user(), body["old_password"], body["new_password"])
        db.session.commit()


@users_blp.route("")
class Users(MethodView):
    @users_blp.arguments(UserQuerySchema, location="query")
    @users_blp.response(200, UserSchema(many=True))
    @users_blp.paginate()
    @roles("admin")
    def get(self, args, pagination_parameters):
        """List accounts"""
        stmt = sa.select(User).order_by(User.id)
        if "role" in args:
            stmt = stmt.where(User.role == args["role"])
        if "unit_id" in args:
            stmt = stmt.where(User.unit_id == args["unit_id"])
        if "is_active" in args:
            stmt = stmt.where(User.is_active == args["is_active"])
        if args.get("q"):
            like = f"%{args['q']}%"
            stmt = stmt.where(sa.or_(User.username.ilike(like), User.full_name.ilike(like)))
        return paginate_select(stmt, pagination_parameters)

    @users_blp.arguments(UserCreateSchema)
    @users_blp.response(201, UserSchema)
    @users_blp.alt_response(409, description="用户名已存在")
    @roles("admin")
    def post(self, body):
        """Create an account"""
        user = services.create_user(actor=current_user(), **body)
        db.session.commit()
        return user


@users_blp.route("/<int:user_id>")
class UserById(MethodView):
    @users_blp.response(200, UserSchema)
    @roles("admin")
    def get(self, user_id):
        """One account"""
        return services.get_user(user_id)

    @users_blp.arguments(UserUpdateSchema)
    @users_blp.response(200, UserSchema)
    @roles("admin")
    def patch(self, body, user_id):
        """Change name, role, unit, phone, or disable/enable (disabling revokes every session)"""
        user = services.update_user(services.get_user(user_id), body, actor=current_user())
        db.session.commit()
        return user


@users_blp.route("/<int:user_id>/password")
class UserPassword(MethodView):
    @users_blp.arguments(PasswordSetSchema)
    @users_blp.response(204)
    @roles("admin")
    def post(self, body, user_id):
        """Set an account's password (its sessions are revoked)"""
        services.set_password(services.get_user(user_id), body["password"], actor=current_user())
        db.session.commit()
