"""Settings, read from the environment when a config object is built (never at import).

Every setting a deployment may change is listed in README.md's configuration table.
"""

from __future__ import annotations

import os
import re
import secrets
from datetime import timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO_PASSWORD = "inspect-demo"


def _int(env: dict, name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:  # a typo in the environment must stop the start, loudly
        raise RuntimeError(f"{name} must be a whole number, got {raw!r}") from exc


def _secret_key(env: dict, instance: Path, production: bool) -> str:
    key = env.get("INSPECT_SECRET_KEY")
    if key:
        return key
    if production:
        raise RuntimeError("INSPECT_SECRET_KEY must be set in production")
    # Development: one random key per instance folder, kept so tokens survive restarts.
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


class Config:
    """Built from a mapping (the process environment by default)."""

    def __init__(self, env: dict | None = None, **overrides):
        env = dict(os.environ if env is None else env)
        self.INSPECT_ENV = env.get("INSPECT_ENV", "development")
        production = self.INSPECT_ENV == "production"
        instance = Path(env.get("INSPECT_INSTANCE_DIR", PROJECT_ROOT / "instance")).resolve()
        self.INSPECT_INSTANCE_DIR = str(instance)
        self.SQLALCHEMY_DATABASE_URI = env.get("INSPECT_DATABASE_URL") or f"sqlite:///{instance / 'inspect.db'}"
        # A server's connection can go stale (restarted, dropped by a firewall): test it on checkout. A
        # SQLite file's cannot, and the test would cost every checkout a statement.
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": not self.SQLALCHEMY_DATABASE_URI.startswith("sqlite")}
        self.INSPECT_STORAGE = env.get("INSPECT_STORAGE", "local")
        self.INSPECT_STORAGE_DIR = env.get("INSPECT_STORAGE_DIR", str(instance / "evidence"))
        self.INSPECT_S3_BUCKET = env.get("INSPECT_S3_BUCKET", "")
        self.INSPECT_S3_ENDPOINT_URL = env.get("INSPECT_S3_ENDPOINT_URL", "")
        self.INSPECT_S3_PREFIX = env.get("INSPECT_S3_PREFIX", "")
        if self.INSPECT_STORAGE not in ("local", "s3"):
            raise RuntimeError(f"INSPECT_STORAGE must be local or s3, got {self.INSPECT_STORAGE!r}")
        if self.INSPECT_STORAGE == "s3" and not self.INSPECT_S3_BUCKET:
            raise RuntimeError("INSPECT_STORAGE=s3 needs INSPECT_S3_BUCKET")
        # Photos: a pixel budget (decompression bombs are refused), the display and thumbnail sizes.
        self.INSPECT_MAX_IMAGE_PIXELS = _int(env, "INSPECT_MAX_IMAGE_PIXELS", 50_000_000)
        self.INSPECT_DISPLAY_MAX_PX = _int(env, "INSPECT_DISPLAY_MAX_PX", 2048)
        self.INSPECT_THUMBNAIL_PX = _int(env, "INSPECT_THUMBNAIL_PX", 320)
        self.INSPECT_CJK_FONT = env.get("INSPECT_CJK_FONT", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
        # Documents: the render worker's child process limits, and where resized photo copies are kept.
        self.INSPECT_RENDER_MEMORY_MB = _int(env, "INSPECT_RENDER_MEMORY_MB", 3072)
        self.INSPECT_RENDER_TIMEOUT_S = _int(env, "INSPECT_RENDER_TIMEOUT_S", 600)
        # queue workers (document renders, photo copies) yield the CPU to requests: nice(2) increment
        self.INSPECT_WORKER_NICE = _int(env, "INSPECT_WORKER_NICE", 10)
        self.INSPECT_RENDER_ASSET_DIR = env.get("INSPECT_RENDER_ASSET_DIR", str(instance / "render-assets"))
        # Where the public reaches the rating pages (printed in QR codes); default: the host of the request.
        self.INSPECT_PUBLIC_BASE_URL = env.get("INSPECT_PUBLIC_BASE_URL", "")
        # The app's access log on stderr: method, route template, status, duration; never an address,
        # a user agent or a query string (gunicorn's own access log is off, see gunicorn_conf.py).
        self.INSPECT_ACCESS_LOG = env.get("INSPECT_ACCESS_LOG", "1").lower() in ("1", "true", "yes")
        # Mail (optional): with INSPECT_SMTP_HOST set, the scheduler mails new notifications to users
        # who have an address; without it, notifications stay in the app only.
        self.INSPECT_SMTP_HOST = env.get("INSPECT_SMTP_HOST", "")
        self.INSPECT_SMTP_PORT = _int(env, "INSPECT_SMTP_PORT", 25)
        self.INSPECT_SMTP_USER = env.get("INSPECT_SMTP_USER", "")
        self.INSPECT_SMTP_PASSWORD = env.get("INSPECT_SMTP_PASSWORD", "")
        self.INSPECT_SMTP_STARTTLS = env.get("INSPECT_SMTP_STARTTLS", "0").lower() in ("1", "true", "yes")
        self.INSPECT_MAIL_FROM = env.get("INSPECT_MAIL_FROM", "inspect-api@localhost")
        # Channels outside the app (企业微信 / 钉钉 robots, an SMS gateway): a YAML file with their URLs and
        # keys, kept out of the database and the API; absent: no such channels.
        self.INSPECT_CHANNELS_FILE = env.get("INSPECT_CHANNELS_FILE", str(instance / "channels.yaml"))
        self.INSPECT_OUTBOX_TIMEOUT_S = _int(env, "INSPECT_OUTBOX_TIMEOUT_S", 10)  # per robot/SMS/mail request
        # The built phone app (web/apps/phone/dist), served at /m/.
        self.INSPECT_PHONE_DIST = env.get("INSPECT_PHONE_DIST", str(PROJECT_ROOT / "web" / "apps" / "phone" / "dist"))
        # The built office console (web/apps/console/dist), served at /console/.
        self.INSPECT_CONSOLE_DIST = env.get("INSPECT_CONSOLE_DIST",
                                            str(PROJECT_ROOT / "web" / "apps" / "console" / "dist"))
        self.INSPECT_CHECKLIST_DIR = env.get("INSPECT_CHECKLIST_DIR", str(PROJECT_ROOT / "checklists"))
        self.SECRET_KEY = _secret_key(env, instance, production)
        self.JWT_SECRET_KEY = self.SECRET_KEY
        self.JWT_ACCESS_TOKEN_EXPIRES = timedelta(minutes=_int(env, "INSPECT_ACCESS_TOKEN_MINUTES", 15))
        self.JWT_REFRESH_TOKEN_EXPIRES = timedelta(days=_int(env, "INSPECT_REFRESH_TOKEN_DAYS", 30))
        # The same refresh token sent again this soon after it was rotated (two refreshes in flight)
        # answers the rotation already made instead of rotating again.
        self.INSPECT_REFRESH_GRACE_SECONDS = _int(env, "INSPECT_REFRESH_GRACE_SECONDS", 30)
        # How long a process trusts its last check that a login session is open (logout, a password
        # change, a disabled account end it); 0 reads the session on every request. Revocations made in
        # the same process apply at once; made in another (gunicorn worker, CLI), within this bound.
        self.INSPECT_SESSION_CHECK_SECONDS = _int(env, "INSPECT_SESSION_CHECK_SECONDS", 5)
        self.JWT_TOKEN_LOCATION = ["headers"]
        self.JWT_ERROR_MESSAGE_KEY = "message"
        self.MAX_CONTENT_LENGTH = _int(env, "INSPECT_MAX_UPLOAD_MB", 25) * 1024 * 1024
        self.MAX_FORM_MEMORY_SIZE = 1024 * 1024
        # Login throttling: slowed after LOGIN_SLOW_AFTER failures, locked after LOGIN_LOCK_AFTER.
        self.INSPECT_LOGIN_SLOW_AFTER = _int(env, "INSPECT_LOGIN_SLOW_AFTER", 3)
        self.INSPECT_LOGIN_LOCK_AFTER = _int(env, "INSPECT_LOGIN_LOCK_AFTER", 10)
        self.INSPECT_LOGIN_LOCK_MINUTES = _int(env, "INSPECT_LOGIN_LOCK_MINUTES", 15)
        # Per client address, across all names; and how long an address stays an account's usual one.
        self.INSPECT_LOGIN_ADDRESS_SLOW_AFTER = _int(env, "INSPECT_LOGIN_ADDRESS_SLOW_AFTER", 20)
        self.INSPECT_LOGIN_ADDRESS_LOCK_AFTER = _int(env, "INSPECT_LOGIN_ADDRESS_LOCK_AFTER", 100)
        self.INSPECT_LOGIN_KNOWN_ADDRESS_DAYS = _int(env, "INSPECT_LOGIN_KNOWN_ADDRESS_DAYS", 90)
        # Reverse proxies in front of the app whose X-Forwarded-For is trusted (nginx: 1).
        self.INSPECT_PROXY_HOPS = _int(env, "INSPECT_PROXY_HOPS", 0)
        # Argon2id cost; the defaults are argon2-cffi's RFC 9106 low-memory profile (64 MiB, t=3).
        self.INSPECT_ARGON2_MEMORY_KIB = _int(env, "INSPECT_ARGON2_MEMORY_KIB", 65536)
        self.INSPECT_ARGON2_TIME_COST = _int(env, "INSPECT_ARGON2_TIME_COST", 3)
        self.INSPECT_PAGE_SIZE_MAX = _int(env, "INSPECT_PAGE_SIZE_MAX", 500)
        # A visit, answer or finding dated more than this many minutes after the server's now is refused.
        self.INSPECT_MAX_FUTURE_MINUTES = _int(env, "INSPECT_MAX_FUTURE_MINUTES", 10)
        # Photo files no evidence row names (a refused or crashed upload) are removed once this old.
        self.INSPECT_ORPHAN_GRACE_HOURS = _int(env, "INSPECT_ORPHAN_GRACE_HOURS", 24)
        # What a badge number (工牌号) must look like in an import; the default is the demo county's QC-0001.
        self.INSPECT_BADGE_PATTERN = env.get("INSPECT_BADGE_PATTERN") or r"^[A-Z]{1,8}-[0-9]{4}$"
        try:
            re.compile(self.INSPECT_BADGE_PATTERN)
        except re.error as exc:
            raise RuntimeError(f"INSPECT_BADGE_PATTERN is not a regular expression: {exc}") from exc
        # OpenAPI (flask-smorest)
        self.API_TITLE = "inspect_api 效能督查"
        self.API_VERSION = "v1"
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/api/v1"
        self.OPENAPI_JSON_PATH = "openapi.json"
        # The docs page: Swagger UI from the pinned swagger-ui-bundle-v2 package, served by the app itself
        # (deployments on an intranet reach no CDN); no validator badge, which would call swagger.io.
        self.OPENAPI_SWAGGER_UI_PATH = "docs"
        self.OPENAPI_SWAGGER_UI_URL = "/api/v1/docs/assets/"
        self.OPENAPI_SWAGGER_UI_CONFIG = {"validatorUrl": None, "docExpansion": "none", "deepLinking": True,
                                          "defaultModelsExpandDepth": 0, "displayRequestDuration": True}
        self.API_SPEC_OPTIONS = {
            "components": {
                "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
            },
            "info": {
                "description": (
                    "效能督查系统后端 API. Every endpoint lists the roles it allows; errors are "
                    '`{"error": {"code", "message", "details"}}`.'
                )
            },
        }
        self.INSPECT_BENCH_ECHO = env.get("INSPECT_BENCH_ECHO") == "1"  # scripts/bench's baseline route
        # A chosen starting instant for the clock (ISO 8601 with offset), from which it runs on: for tests
        # and demos that must behave the same on any date. Refused in production.
        self.INSPECT_CLOCK_START = env.get("INSPECT_CLOCK_START", "")
        self.INSPECT_CLOCK_ANCHOR = env.get("INSPECT_CLOCK_ANCHOR", "")
        if self.INSPECT_CLOCK_START and production:
            raise RuntimeError("INSPECT_CLOCK_START is for tests and demos; it cannot be set in production")
        self.TESTING = False
        self.PROPAGATE_EXCEPTIONS = False
        for key, value in overrides.items():
            setattr(self, key, value)

    @property
    def is_production(self) -> bool:
        return self.INSPECT_ENV == "production"


def make_test_config(database_url: str, instance_dir: str, **overrides) -> Config:
    """Settings for the test suite: cheap password hashing, a throwaway instance folder."""
    env = {
        "INSPECT_ENV": "test",
        "INSPECT_DATABASE_URL": database_url,
        "INSPECT_INSTANCE_DIR": instance_dir,
        "INSPECT_SECRET_KEY": "test-secret-key-not-for-production-0123456789",
        "INSPECT_ARGON2_MEMORY_KIB": "1024",
        "INSPECT_ARGON2_TIME_COST": "1",
        "INSPECT_ACCESS_LOG": "0",
    }
    return Config(env, TESTING=True, **overrides)
