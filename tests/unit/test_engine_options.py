"""The database engine's options, by the kind of database."""

from inspect_api.config import Config


def test_a_server_s_connections_are_tested_on_checkout_and_a_sqlite_file_s_are_not(tmp_path):
    # a server's connection can go stale between requests (restarted, dropped by a firewall)
    server = Config({"INSPECT_DATABASE_URL": "postgresql+psycopg://inspect@db.example/inspect"})
    assert server.SQLALCHEMY_ENGINE_OPTIONS["pool_pre_ping"] is True
    # a file's cannot: the test would only cost every checkout a statement
    named = Config({"INSPECT_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    default = Config({"INSPECT_INSTANCE_DIR": str(tmp_path)})
    assert named.SQLALCHEMY_ENGINE_OPTIONS["pool_pre_ping"] is False
    assert default.SQLALCHEMY_DATABASE_URI.startswith("sqlite") and not default.SQLALCHEMY_ENGINE_OPTIONS["pool_pre_ping"]
