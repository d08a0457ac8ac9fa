"""The application factory: create_app(config) -> Flask, in named register_* steps."""

from __future__ import annotations

import logging
from datetime import date, datetime, time
from pathlib import Path

from flask import Flask, g, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter

from inspect_api.assessment.policy import load as load_assessment_policy
from inspect_api.auth.access import enforce_declared_roles
from inspect_api.checklists.loader import check_directory
from inspect_api.complaints.policy import load as load_complaints_policy
from inspect_api.config import Config
from inspect_api.core.clock import RunningClock, SystemClock, parse_anchor, parse_start
from inspect_api.core.http import UploadRequest, refuse_unstorable_text
from inspect_api.db import configure_engine, write_intent
from inspect_api.documents.policy import load as load_document_policy
from inspect_api.errors import Unprocessable, UnsupportedMediaType, register_error_handlers
from inspect_api.extensions import api, db, jwt, migrate
from inspect_api.notifications.channels import load_config as load_channels
from inspect_api.notifications.policy import load as load_notifications_policy
from inspect_api.rankings.policy import load as load_rankings_policy
from inspect_api.ratings.policy import load as load_ratings_policy
from inspect_api.review.policy import load as load_review_policy

MAX_ID = 2**31 - 1
MIGRATIONS = Path(__file__).parent / "migrations"
JSON_OR_UPLOAD = ("application/json", "multipart/form-data")


class IsoJSONProvider(DefaultJSONProvider):
    """Dates and instants as ISO 8601 in every JSON answer, also inside free-form fields (Flask's
    default writes HTTP dates, "Tue, 15 Dec 2026 00:00:00 GMT", which no schema here accepts back)."""

    @staticmethod
    def default(o):
        if isinstance(o, date | datetime | time):
            return o.isoformat()
        return DefaultJSONProvider.default(o)

    def loads(self, s, **kwargs):
        # Flask's get_json answers a ValueError with 400; a body nested too deep for the parser raised
        # RecursionError, a 500
        try:
            return super().loads(s, **kwargs)
        except RecursionError as exc:
            raise ValueError("JSON nested too deeply") from exc


class IdConverter(IntegerConverter):
    """`<int:...>` bounded to the database's integer range: bigger ids are a 404, not a 500."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def create_app(config: Config | None = None) -> Flask:
    config = config or Config()
    app = Flask(__name__, instance_path=config.INSPECT_INSTANCE_DIR)
    app.config.from_object(config)
    check_directory(app.config["INSPECT_CHECKLIST_DIR"])  # fail fast on an invalid template (files only)
    app.extensions["inspect_review_policy"] = load_review_policy(app.config["INSPECT_CHECKLIST_DIR"])
    app.extensions["inspect_document_policy"] = load_document_policy(app.config["INSPECT_CHECKLIST_DIR"])
    app.extensions["inspect_ratings_policy"] = load_ratings_policy(app.config["INSPECT_CHECKLIST_DIR"])
    app.extensions["inspect_complaints_policy"] = load_complaints_policy(app.config["INSPECT_CHECKLIST_DIR"])
    app.extensions["inspect_assessment_policy"] = load_assessment_policy(app.config["INSPECT_CHECKLIST_DIR"])
    app.extensions["inspect_rankings_policy"] = load_rankings_policy(app.config["INSPECT_CHECKLIST_DIR"])
    app.extensions["inspect_notifications_policy"] = load_notifications_policy(app.config["INSPECT_CHECKLIST_DIR"])
    app.extensions["inspect_channels"] = load_channels(app.config["INSPECT_CHANNELS_FILE"])
    app.url_map.converters["int"] = IdConverter
    if app.config["INSPECT_PROXY_HOPS"]:
        # behind nginx: the client address (login throttling) is the one the proxy saw
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["INSPECT_PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.request_class = UploadRequest  # multipart files spooled to scratch, hashed as they arrive
    app.json = IsoJSONProvider(app)
    app.json.ensure_ascii = False
    start = app.config.get("INSPECT_CLOCK_START")
    app.extensions["inspect_clock"] = (
        RunningClock(parse_start(start), anchor=parse_anchor(app.config.get("INSPECT_CLOCK_ANCHOR", "")))
        if start else SystemClock())
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_request_hooks(app)
    register_logging(app)
    register_commands(app)
    register_event_receivers()
    if app.config.get("INSPECT_BENCH_ECHO"):
        register_bench_echo(app)
    return app


def register_event_receivers() -> None:
    """Features above answer the domain events of features below (core/events.py): the lower one never
    imports them. Connecting twice is harmless (a receiver is kept once)."""
    from inspect_api.accountability import services as accountability
    from inspect_api.complaints import services as complaints
    from inspect_api.core import events
    from inspect_api.documents import services as documents
    from inspect_api.matters import services as matters
    from inspect_api.ratings import services as ratings
    from inspect_api.review import services as review
    from inspect_api.sampling import services as sampling

    # Deadlines stored on an assumed Monday–Friday week are counted again when a year is imported.
    for receiver in (review.on_calendar_imported, sampling.on_calendar_imported,
                     complaints.on_calendar_imported, ratings.on_calendar_imported, matters.on_calendar_imported):
        events.calendar_imported.connect(receiver, weak=False)
    # Confirmed findings, overdue rectifications and approved grades are facts for the escalation rules.
    events.finding_confirmed.connect(accountability.on_finding_confirmed, weak=False)
    events.rectifications_overdue.connect(accountability.on_rectifications_overdue, weak=False)
    events.grades_approved.connect(accountability.on_grades_approved, weak=False)
    # A visit fulfils a sampling assignment: sampling checks it and keeps the claim in step.
    events.visit_assignment_asked.connect(sampling.on_visit_assignment_asked, weak=False)
    events.visit_assignment_changed.connect(sampling.on_visit_assignment_changed, weak=False)
    # Escalation reads facts kept above it: overdue matters, the 末位 units of issued bulletins.
    events.escalation_facts_asked.connect(matters.on_escalation_facts_asked, weak=False)
    events.escalation_facts_asked.connect(documents.on_escalation_facts_asked, weak=False)
    # Accountability and assessment ask documents for the documents they send (referral, commendation).
    events.document_requested.connect(documents.on_document_requested, weak=False)
    events.document_summary_asked.connect(documents.on_document_summary_asked, weak=False)


def register_bench_echo(app: Flask) -> None:
    """A bare JSON echo, the baseline `scripts/bench` measures the real routes against (bench only)."""
    from flask import jsonify

    from inspect_api.auth.access import PUBLIC, roles

    @app.post("/api/v1/_bench/echo")
    @roles(PUBLIC)
    def bench_echo():
        return jsonify(request.get_json())


def register_extensions(app: Flask) -> None:
    import inspect_api.models  # noqa: F401  (every table on the metadata before anything uses it)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS), compare_type=True, render_as_batch=True)
    jwt.init_app(app)
    api.init_app(app)
    api.ma_plugin.converter.add_attribute_function(_nullable_nested_is_null_only)
    api.register_converter(IdConverter, lambda c: {"type": "integer", "minimum": 0, "maximum": MAX_ID})
    with app.app_context():
        configure_engine(db.engine)
    _register_jwt_callbacks()


def _register_jwt_callbacks() -> None:
    from inspect_api.errors import error_response

    def unauthorized(message="未登录或令牌无效 (missing or invalid token)", code="invalid_token"):
        return error_response(401, code, message)

    jwt.unauthorized_loader(lambda reason: unauthorized())
    jwt.invalid_token_loader(lambda reason: unauthorized())
    jwt.expired_token_loader(lambda header, payload: unauthorized("令牌已过期 (token expired)", "token_expired"))
    jwt.revoked_token_loader(lambda header, payload: unauthorized("登录已失效 (session ended)", "session_revoked"))
    jwt.needs_fresh_token_loader(lambda header, payload: unauthorized())
    jwt.token_verification_failed_loader(lambda header, payload: unauthorized())
    jwt.user_lookup_error_loader(lambda header, payload: unauthorized())


def _nullable_nested_is_null_only(self, field, ret, **kwargs) -> dict:
    """apispec describes a nullable nested schema (OpenAPI 3.0) as `anyOf: [{type: object, nullable},
    {$ref}]`, whose first branch admits any object, so `"gps": {}` would be valid by the description yet
    refused by the API. The null branch here admits null alone."""
    branches = ret.get("anyOf")
    if not branches or {"type": "object", "nullable": True} not in branches:
        return {}
    return {"anyOf": [b for b in branches if b != {"type": "object", "nullable": True}]
            + [{"type": "object", "nullable": True, "enum": [None]}]}


def register_docs_assets(app: Flask) -> None:
    """Swagger UI's scripts and styles for the docs page (/api/v1/docs), from the pinned package."""
    from flask import Blueprint as FlaskBlueprint
    from swagger_ui_bundle import swagger_ui_path

    app.register_blueprint(FlaskBlueprint("docs-assets", __name__, static_folder=str(swagger_ui_path),
                                          static_url_path="/api/v1/docs/assets"))


def register_blueprints(app: Flask) -> None:
    from inspect_api.accountability.routes import blp as accountability_blp
    from inspect_api.assessment.routes import blp as assessment_blp
    from inspect_api.auth.routes import blp as auth_blp
    from inspect_api.auth.routes import users_blp
    from inspect_api.checklists.routes import blp as checklists_blp
    from inspect_api.complaints.routes import blp as complaints_blp
    from inspect_api.complaints.routes import page_blp as complaint_page_blp
    from inspect_api.documents.routes import blp as documents_blp
    from inspect_api.matters.routes import blp as matters_blp
    from inspect_api.notifications.routes import admin_blp as notification_channels_blp
    from inspect_api.notifications.routes import blp as notifications_blp
    from inspect_api.org.routes import blp as org_blp
    from inspect_api.rankings.routes import blp as rankings_blp
    from inspect_api.ratings.routes import blp as ratings_blp
    from inspect_api.ratings.routes import page_blp as rating_page_blp
    from inspect_api.review.routes import blp as review_blp
    from inspect_api.sampling.routes import blp as sampling_blp
    from inspect_api.shopper.routes import blp as shopper_blp
    from inspect_api.stats.routes import blp as stats_blp
    from inspect_api.system.calendar_routes import blp as calendar_blp
    from inspect_api.system.routes import blp as core_blp
    from inspect_api.system.web_apps import console_blp as console_app_blp
    from inspect_api.system.web_apps import phone_blp as phone_app_blp
    from inspect_api.visits.routes import blp as visits_blp

    for blp in (core_blp, auth_blp, users_blp, org_blp, checklists_blp, visits_blp, shopper_blp,
                sampling_blp, notifications_blp, notification_channels_blp, calendar_blp, review_blp, stats_blp,
                documents_blp, accountability_blp, ratings_blp, rankings_blp, matters_blp):
        api.register_blueprint(blp, url_prefix=f"/api/v1{blp.url_prefix or ''}")
    api.register_blueprint(assessment_blp, url_prefix="/api/v1/assessment")
    register_docs_assets(app)
    app.register_blueprint(rating_page_blp)  # the public HTML rating page, /r/<window_key>
    api.register_blueprint(complaints_blp, url_prefix="/api/v1")
    app.register_blueprint(complaint_page_blp)  # the public complaint pages, /c/<window_key>, /complaints/…
    app.register_blueprint(phone_app_blp)  # the inspectors' phone app (built web/apps/phone), /m/
    app.register_blueprint(console_app_blp)  # the office console (built web/apps/console), /console/


def register_request_hooks(app: Flask) -> None:
    @app.before_request
    def _before():
        # A request never inherits a caller from an outer app context (tests push one for a whole test).
        g.pop("inspect_user", None)
        g.pop("inspect_session", None)
        # Authenticate in a short read transaction and end it before the body is read, so a phone
        # that uploads slowly (or hangs up halfway) holds no lock and no transaction meanwhile.
        write_intent.set(False)
        enforce_declared_roles(app)
        db.session.commit()
        write_intent.set(request.method not in ("GET", "HEAD", "OPTIONS"))
        has_body = (request.content_length or 0) > 0 or request.headers.get("Transfer-Encoding") == "chunked"
        if request.method in ("POST", "PUT", "PATCH") and has_body and request.mimetype not in JSON_OR_UPLOAD:
            raise UnsupportedMediaType(
                f"请求体须为 application/json 或 multipart/form-data, 收到 {request.mimetype or '无类型'}",
                {"content_type": request.mimetype},
            )
        view = getattr(app.view_functions.get(request.endpoint), "view_class", None)
        refuse_unstorable_text(request, per_item=getattr(view, "texts_checked_per_item", False))
        if request.method == "PATCH" and request.mimetype == "application/json" and has_body:
            body = request.get_json(silent=True)
            has_body = body != {}  # an empty object changes nothing, like no body at all
        if request.method == "PATCH" and not has_body:
            # A PATCH that names no field would still bump versions (and fail the client's next If-Match).
            raise Unprocessable("PATCH 请求体须至少包含一个要修改的字段 (empty PATCH: name at least one field)",
                                {"fields": {"_schema": ["at least one field to change"]}, "location": "json"},
                                code="empty_patch")

    @app.teardown_request
    def _rollback(exc):
        # One transaction per request: whatever a view did not commit is rolled back.
        try:
            db.session.rollback()
            db.session.expire_all()  # the next request in the same app context reads fresh rows
        except Exception:  # a dead connection must not mask the original answer
            logging.getLogger(__name__).exception("rollback failed")

    @app.after_request
    def _no_content(resp):
        # flask-smorest serialises a 204 view's None as `null`; a 204 has no body (RFC 9110 15.3.5)
        if resp.status_code == 204 and not resp.is_streamed:
            resp.set_data(b"")
            resp.headers.pop("Content-Type", None)
        return resp

    @app.after_request
    def _headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Cache-Control", "no-store")
        return resp


def route_of(req) -> str:
    """What a log may say about a request's address: its route template (`/r/<window_key>`), never the
    path with a window key or tracking number in it, nor the query string."""
    rule = getattr(req, "url_rule", None)
    return rule.rule if rule is not None else "<unmatched>"


def register_logging(app: Flask) -> None:
    """The product's own access log (gunicorn's is off: it would hold the client's address, user agent
    and every query string): method, route template, status and duration, nothing about the client.
    Errors are logged with the route template too, instead of Flask's request path."""
    import sys
    import time
    import types

    def log_exception(self, exc_info):
        self.logger.error("Exception on %s %s", request.method, route_of(request), exc_info=exc_info)

    app.log_exception = types.MethodType(log_exception, app)
    if not app.config.get("INSPECT_ACCESS_LOG"):
        return
    log = logging.getLogger("inspect_api.access")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False

    @app.before_request
    def _start_timer():
        g.inspect_started = time.perf_counter()

    @app.after_request
    def _access_line(resp):
        started = g.get("inspect_started")
        ms = (time.perf_counter() - started) * 1000 if started is not None else 0.0
        log.info("%s %s %s %.1fms", request.method, route_of(request), resp.status_code, ms)
        return resp


def register_commands(app: Flask) -> None:
    from inspect_api.cli import register

    register(app)
