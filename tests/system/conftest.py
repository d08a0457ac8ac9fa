"""A live gunicorn server on its own database, for the tests in this folder."""

from __future__ import annotations

import os

import pytest

from tests.system.server import LiveServer, server_database_url


@pytest.fixture()
def live_server(tmp_path):
    url = server_database_url(os.environ.get("INSPECT_TEST_DATABASE_URL"), tmp_path)
    server = LiveServer(url, tmp_path / "instance")
    server.prepare()
    server.start()
    yield server
    server.stop()
