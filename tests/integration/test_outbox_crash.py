"""The outbox when the sender dies: a message queued but not yet sent is sent once after a restart; a
message whose sender was killed while the robot held its request is never sent a second time by
itself (it becomes `uncertain` for an admin). A real `inspect-api notifications drain` process,
SIGKILLed, on a database of its own, against a real HTTP server playing the robot."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from inspect_api.app import create_app
from inspect_api.config import PROJECT_ROOT, make_test_config
from inspect_api.core.clock import FrozenClock
from inspect_api.db import db
from tests.helpers import TEST_INSTANT
from tests.robots import RobotServer
from tests.system.server import server_database_url

BIN = Path(sys.executable).parent


@pytest.fixture()
def robots():
    with RobotServer() as server:
        server.hang_seconds = 30  # holds the request until the test kills the sender
        yield server


@pytest.fixture()
def outbox_app(tmp_path, robots):
    from flask_migrate import upgrade

    url = server_database_url(os.environ.get("INSPECT_TEST_DATABASE_URL"), tmp_path)
    (tmp_path / "channels.yaml").write_text(robots.channels_yaml(), encoding="utf-8")
    app = create_app(make_test_config(url, str(tmp_path / "instance"),
                                      INSPECT_CHANNELS_FILE=str(tmp_path / "channels.yaml")))
    app.config["INSPECT_CHANNELS_FILE"] = str(tmp_path / "channels.yaml")
    from inspect_api.notifications.channels import load_config

    app.extensions["inspect_channels"] = load_config(str(tmp_path / "channels.yaml"))
    app.extensions["inspect_clock"] = FrozenClock(TEST_INSTANT)
    with app.app_context():
        upgrade()
    env = {**os.environ, "INSPECT_ENV": "test", "INSPECT_DATABASE_URL": url,
           "INSPECT_INSTANCE_DIR": str(tmp_path / "instance"), "INSPECT_SECRET_KEY": "outbox-test-secret-0123456789",
           "INSPECT_CHANNELS_FILE": str(tmp_path / "channels.yaml"), "INSPECT_OUTBOX_TIMEOUT_S": "20",
           "INSPECT_CLOCK_START": TEST_INSTANT.isoformat()}
    yield app, env
    with app.app_context():
        db.engine.dispose()


def _queue(app, title: str) -> None:
    from inspect_api.auth import services as auth
    from inspect_api.notifications.models import ChannelRoute
    from inspect_api.notifications.services import notify

    with app.app_context():
        user = db.session.scalar(sa.select(auth.User).where(auth.User.username == "office1")) or auth.create_user(
            username="office1", password="x" * 12, full_name="效能办", role="office", check_password=False)
        if db.session.scalar(sa.select(ChannelRoute)) is None:
            db.session.add(ChannelRoute(scope="user", scope_id=user.id, channel="wecom", target="hall-group",
                                        kinds=["*"], created_at=TEST_INSTANT))
            db.session.flush()
        notify(user.id, "document.drafted", title, None, {}, f"crash:{title}")
        db.session.commit()
        db.session.remove()


def _statuses(app) -> list[tuple[str, str]]:
    from inspect_api.notifications.models import OutboxMessage

    with app.app_context():
        rows = db.session.execute(sa.select(OutboxMessage.text, OutboxMessage.status).order_by(OutboxMessage.id)).all()
        db.session.remove()
        return [(text.splitlines()[0], status) for text, status in rows]


def test_a_sender_killed_mid_request_never_sends_twice_and_queued_messages_survive(outbox_app, robots):
    app, env = outbox_app
    _queue(app, "第一条")
    robots.script = ["hang"]
    sender = subprocess.Popen([str(BIN / "inspect-api"), "notifications", "drain"], env=env, cwd=PROJECT_ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert robots.received.wait(60), "the sender never reached the robot"
        _queue(app, "第二条")  # queued while the first is in flight (no lock is held meanwhile)
        assert sender.poll() is None, "the sender should still wait for the robot"
    finally:
        os.killpg(sender.pid, signal.SIGKILL)
        sender.wait(30)
    assert _statuses(app) == [("【效能督查·公文已起草】第一条", "sending"), ("【效能督查·公文已起草】第二条", "pending")]

    from inspect_api.notifications.outbox import drain

    with app.app_context():  # the restarted sender, before and after the dead one's claim lapses
        assert drain() == {"sent": 1, "retry": 0, "failed": 0, "uncertain": 0}
        app.extensions["inspect_clock"].advance(seconds=20 * 3 + 61)
        assert drain() == {"sent": 0, "retry": 0, "failed": 0, "uncertain": 1}
        assert drain() == {"sent": 0, "retry": 0, "failed": 0, "uncertain": 0}
        db.session.remove()
    assert _statuses(app) == [("【效能督查·公文已起草】第一条", "uncertain"), ("【效能督查·公文已起草】第二条", "sent")]
    texts = [r["body"]["text"]["content"].splitlines()[0] for r in robots.requests]
    assert sorted(texts) == ["【效能督查·公文已起草】第一条", "【效能督查·公文已起草】第二条"]  # each once
