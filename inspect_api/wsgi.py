"""The WSGI entry point for gunicorn: `inspect_api.wsgi:app`.

A production configuration refuses to start while a demo account still has the demo password.
"""

from inspect_api.app import create_app
from inspect_api.config import Config

config = Config()
app = create_app(config)
if config.is_production:
    from inspect_api.demo import refuse_demo_passwords

    refuse_demo_passwords(app)
