"""The schema the migrations build is exactly the schema the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from inspect_api.db import db


def test_models_and_migrations_agree(app, dbsession):
    with app.app_context():
        conn = dbsession.connection()
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, db.metadata)
    assert diff == [], f"models and migrations differ; add an Alembic revision: {diff}"


def test_migrations_have_one_head(app):
    from alembic.script import ScriptDirectory
    from flask_migrate import Config

    with app.app_context():
        cfg = Config()
        cfg.set_main_option("script_location", app.extensions["migrate"].directory)
        heads = ScriptDirectory.from_config(cfg).get_heads()
    assert len(heads) == 1, f"several migration heads: {heads}"
