"""Schemas of the auth and users endpoints."""

from __future__ import annotations

from marshmallow import fields, validate

from inspect_api.auth.rules import ALL_ROLES
from inspect_api.core.schemas import ID_RANGE, BaseSchema

ROLE_FIELD = fields.String(validate=validate.OneOf([r.value for r in ALL_ROLES]))


class LoginSchema(BaseSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=256))


class UserSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    username = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{3,64}$"))
    full_name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    role = fields.String(required=True, validate=validate.OneOf([r.value for r in ALL_ROLES]))
    unit_id = fields.Integer(allow_none=True, load_default=None, validate=ID_RANGE)
    phone = fields.String(allow_none=True, validate=validate.Length(max=32), load_default=None)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254), load_default=None,
                         metadata={"description": "optional: notifications are also mailed when SMTP is set up"})
    is_active = fields.Boolean(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class UserCreateSchema(UserSchema):
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=256))


class UserUpdateSchema(BaseSchema):
    full_name = fields.String(validate=validate.Length(min=1, max=64))
    role = fields.String(validate=validate.OneOf([r.value for r in ALL_ROLES]))
    unit_id = fields.Integer(allow_none=True, validate=ID_RANGE)
    phone = fields.String(allow_none=True, validate=validate.Length(max=32))
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    is_active = fields.Boolean()


class UserQuerySchema(BaseSchema):
    role = fields.String(validate=validate.OneOf([r.value for r in ALL_ROLES]))
    unit_id = fields.Integer(validate=ID_RANGE)
    q = fields.String(validate=validate.Length(max=64), metadata={"description": "user name or name contains"})
    is_active = fields.Boolean()


class PasswordSetSchema(BaseSchema):
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=256))


class PasswordChangeSchema(BaseSchema):
    old_password = fields.String(required=True, load_only=True)
    new_password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=256))


class TokenSchema(BaseSchema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String(required=True)
    expires_in = fields.Integer(required=True, metadata={"description": "access token lifetime, seconds"})
    user = fields.Nested(UserSchema)


class ColleagueSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    username = fields.String(dump_only=True)
    full_name = fields.String(dump_only=True)
