"""The WSGI entry point for gunicorn: `inspect_api.wsgi:app`.

A production configuration refuses to start while a demo account still has the demo password.
"""

from inspect_api.app import create_app
from inspect_api.config import DEMO_PASSWORD, Config

DEMO_USERNAMES = ("admin", "office1", "office2", "inspector1", "inspector2", "inspector3", "inspector4",
                  "liaison1", "leader1")


def _refuse_demo_passwords(app) -> None:
    from inspect_api.auth.services import accounts_with_demo_password

    with app.app_context():
        weak = accounts_with_demo_password(DEMO_USERNAMES, DEMO_PASSWORD)
    if weak:
        raise SystemExit(
            f"refusing to start in production: accounts still use the demo password: {', '.join(weak)}; "
            "change them with `inspect-api users set-password NAME`"
        )


config = Config()
app = create_app(config)
if config.is_production:
    _refuse_demo_passwords(app)
