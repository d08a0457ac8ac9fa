"""`inspect-api users create|disable|set-password`, and the production refusal of demo passwords."""

from __future__ import annotations

import pytest

from inspect_api.auth.models import User
from inspect_api.auth.passwords import verify_password
from inspect_api.config import DEMO_PASSWORD
from tests.helpers import make_unit, make_user


def run(app, *args, input=None):
    return app.test_cli_runner().invoke(args=["users", *args], input=input)


def test_create_disable_and_set_password(app, dbsession):
    result = run(app, "create", "first.admin", "--role", "admin", "--full-name", "首位管理员",
                 "--password", "a-strong-passphrase")
    assert result.exit_code == 0, result.output
    user = dbsession.query(User).filter_by(username="first.admin").one()
    assert user.role == "admin" and verify_password(user.password_hash, "a-strong-passphrase")

    assert run(app, "set-password", "first.admin", "--password", "another-passphrase").exit_code == 0
    dbsession.refresh(user)
    assert verify_password(user.password_hash, "another-passphrase")

    assert run(app, "disable", "first.admin").exit_code == 0
    dbsession.refresh(user)
    assert user.is_active is False


def test_bad_input_is_a_message_not_a_traceback(app, dbsession):
    unit = make_unit(code="CLI-U1")
    dup = run(app, "create", "dup.user", "--role", "office", "--full-name", "甲", "--password", "long-enough-1")
    assert dup.exit_code == 0
    again = run(app, "create", "dup.user", "--role", "office", "--full-name", "乙", "--password", "long-enough-1")
    assert again.exit_code == 1 and "已存在" in again.output and "Traceback" not in again.output
    no_unit = run(app, "create", "liaison.x", "--role", "unit_liaison", "--full-name", "丙",
                  "--password", "long-enough-1")
    assert no_unit.exit_code == 1 and "unit" in no_unit.output
    ok = run(app, "create", "liaison.y", "--role", "unit_liaison", "--full-name", "丁", "--unit", unit.code,
             "--password", "long-enough-1")
    assert ok.exit_code == 0, ok.output
    short = run(app, "create", "short.pw", "--role", "office", "--full-name", "戊", "--password", "short")
    assert short.exit_code == 1 and "8" in short.output
    assert run(app, "disable", "nobody-here").exit_code == 1
    assert run(app, "create", "x.y", "--role", "boss", "--full-name", "己", "--password", "long-enough-1").exit_code == 2


def test_production_refuses_to_start_while_a_demo_account_keeps_the_demo_password(app, dbsession):
    from inspect_api.demo import refuse_demo_passwords

    make_user("office", username="office1", password=DEMO_PASSWORD)
    with pytest.raises(SystemExit, match="office1"):
        refuse_demo_passwords(app)
    user = dbsession.query(User).filter_by(username="office1").one()
    from inspect_api.auth.services import set_password

    with app.test_request_context():
        set_password(user, "a-changed-passphrase")
    refuse_demo_passwords(app)  # no longer refused
