"""Notifications outside the app: routes per user and unit set by an admin, an outbox queued with the
notification and drained by the scheduler, against a real HTTP server on loopback playing the 企业微信
and 钉钉 robot APIs and an SMS gateway (JSON shape and 钉钉 signature checked; success, an error code, a
500 or no answer)."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from inspect_api.db import db
from inspect_api.notifications import channels
from inspect_api.notifications.models import OutboxMessage
from inspect_api.notifications.outbox import drain
from tests.api.conftest import decide
from tests.helpers import headers_for, make_user
from tests.robots import RobotServer

B = "/api/v1/admin/notifications"


@pytest.fixture()
def robots(app):
    with RobotServer() as server:
        before = app.extensions["inspect_channels"], app.config["INSPECT_OUTBOX_TIMEOUT_S"]
        app.extensions["inspect_channels"] = channels.parse_config(server.channels_yaml(), "test channels")
        app.config["INSPECT_OUTBOX_TIMEOUT_S"] = 1
        server.hang_seconds = 2.5
        yield server
        app.extensions["inspect_channels"], app.config["INSPECT_OUTBOX_TIMEOUT_S"] = before


def route(client, admin, **body):
    return client.post(f"{B}/routes", headers=admin, json=body)


def test_admins_see_robot_names_but_never_their_urls_or_keys(client, robots):
    admin = headers_for(client, "admin")
    resp = client.get(f"{B}/channels", headers=admin)
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert {r["name"] for r in resp.get_json()["robots"]} == {"hall-group", "office-ding"}
    for secret in ("WECOM-KEY-123", "DING-TOKEN-9", robots.secret, str(robots.port)):
        assert secret not in body
    assert resp.get_json()["sms"] is True
    for role in ("office", "inspector", "unit_liaison", "leader"):
        assert client.get(f"{B}/channels", headers=headers_for(client, role)).status_code == 403


def test_routes_refuse_secret_kinds_for_units_unknown_robots_and_duplicates(client, field, robots):
    admin = headers_for(client, "admin")
    unit = field.unit.id
    leak = route(client, admin, scope="unit", scope_id=unit, channel="wecom", target="hall-group",
                 kinds=["assignment.released"])
    assert leak.status_code == 422 and "assignment.released" in leak.get_json()["error"]["message"]
    assert route(client, admin, scope="unit", scope_id=unit, channel="wecom", target="nobody",
                 kinds=["*"]).status_code == 422
    assert route(client, admin, scope="unit", scope_id=unit, channel="dingtalk", target="hall-group",
                 kinds=["*"]).status_code == 422  # hall-group is a 企业微信 robot
    assert route(client, admin, scope="unit", scope_id=unit, channel="sms", target="12ab",
                 kinds=["*"]).status_code == 422
    assert route(client, admin, scope="unit", scope_id=10**6, channel="wecom", target="hall-group",
                 kinds=["*"]).status_code == 422
    assert route(client, admin, scope="unit", scope_id=unit, channel="wecom", target="hall-group",
                 kinds=["no.such.kind"]).status_code == 422
    made = route(client, admin, scope="unit", scope_id=unit, channel="wecom", target="hall-group", kinds=["*"])
    assert made.status_code == 201 and made.get_json()["channel_label"] == "企业微信群机器人"
    assert route(client, admin, scope="unit", scope_id=unit, channel="wecom", target="hall-group",
                 kinds=["*"]).status_code == 409
    assert [r["id"] for r in client.get(f"{B}/routes", headers=admin).get_json()] == [made.get_json()["id"]]
    assert client.delete(f"{B}/routes/{made.get_json()['id']}", headers=admin).status_code == 204
    assert client.get(f"{B}/routes", headers=admin).get_json() == []


def test_a_confirmed_finding_reaches_the_units_robot_once_and_names_no_inspector(client, field, submitted,
                                                                                  robots, caplog):
    admin = headers_for(client, "admin")
    # two liaisons of the unit: one message in the unit's group, not two
    headers_for(client, "unit_liaison", field.unit)
    headers_for(client, "unit_liaison", field.unit)
    assert route(client, admin, scope="unit", scope_id=field.unit.id, channel="wecom", target="hall-group",
                 kinds=["finding.confirmed"]).status_code == 201
    assert decide(client, headers_for(client, "office"), submitted["attitude"], "confirm").status_code == 200
    caplog.set_level(logging.DEBUG)
    assert drain()["sent"] == 1
    assert drain() == {"sent": 0, "retry": 0, "failed": 0, "uncertain": 0}  # twice is once
    [req] = robots.requests
    assert req["path"] == "/wecom/send" and req["query"] == {"key": "WECOM-KEY-123"} and req["shape_ok"]
    text = req["body"]["text"]["content"]
    assert text.startswith("【效能督查·问题已确认】")
    for inspector in (field.a, field.b):
        assert inspector.full_name not in text and inspector.username not in text
    assert "WECOM-KEY-123" not in caplog.text


def test_dingtalk_messages_are_signed_and_sms_fills_the_gateway_template(client, field, robots):
    from inspect_api.notifications.services import notify

    admin = headers_for(client, "admin")
    office = make_user("office")
    assert route(client, admin, scope="user", scope_id=office.id, channel="dingtalk", target="office-ding",
                 kinds=["*"]).status_code == 201
    assert route(client, admin, scope="user", scope_id=office.id, channel="sms", target="+8613800000000",
                 kinds=["complaint.received"]).status_code == 201
    notify(office.id, "complaint.received", "收到投诉 TS2026-000001", "群众反映“窗口无人”", {}, "t:1")
    notify(office.id, "document.drafted", "已起草11月督查通报", None, {}, "t:2")  # not an SMS kind
    assert drain()["sent"] == 3
    ding = [r for r in robots.requests if r["path"] == "/dingtalk/send"]
    sms = [r for r in robots.requests if r["path"] == "/sms"]
    assert len(ding) == 2 and all(r["sign_ok"] and r["shape_ok"] for r in ding)
    assert ding[0]["query"]["access_token"] == "DING-TOKEN-9"
    assert sms == [{**sms[0], "body": {"phone": "+8613800000000", "text": "【效能督查】收到投诉 TS2026-000001。请登录系统查看详情。"}}]


def test_failures_are_retried_with_backoff_and_given_up_after_the_limit(client, field, robots, clock):
    from inspect_api.notifications.services import notify

    admin = headers_for(client, "admin")
    office = make_user("office")
    route(client, admin, scope="user", scope_id=office.id, channel="wecom", target="hall-group", kinds=["*"])
    robots.script = ["errcode", "500", "hang"]  # an error code, a server error, no answer; then success
    notify(office.id, "document.drafted", "已起草11月督查通报", None, {}, "t:retry")
    assert drain() == {"sent": 0, "retry": 1, "failed": 0, "uncertain": 0}
    msg = db.session.scalar(sa.select(OutboxMessage))
    assert (msg.attempts, msg.status, msg.last_error) == (1, "pending", "errcode 310000: keywords not in content")
    assert drain()["retry"] == 0  # not yet due
    clock.advance(seconds=60)
    assert drain()["retry"] == 1 and msg.last_error == "HTTP 500"
    clock.advance(seconds=300)
    assert drain()["retry"] == 1 and "timed out" in msg.last_error
    clock.advance(seconds=900)
    assert drain()["sent"] == 1 and (msg.status, msg.attempts) == ("sent", 4)
    assert len(robots.requests) == 4

    robots.script = ["500"] * 10
    notify(office.id, "document.drafted", "已起草12月督查通报", None, {}, "t:give-up")
    for _ in range(6):
        drain()
        clock.advance(hours=4)
    failed = client.get(f"{B}/outbox?status=failed", headers=admin).get_json()
    assert [(m["status_label"], m["attempts"]) for m in failed] == [("发送失败", 6)]
    assert "已起草12月督查通报" in failed[0]["text"]
    again = client.post(f"{B}/outbox/{failed[0]['id']}/resend", headers=admin)
    assert again.status_code == 200 and again.get_json()["status"] == "pending"
    assert client.post(f"{B}/outbox/{failed[0]['id']}/resend", headers=admin).status_code == 409


def test_unit_liaisons_hear_two_working_days_before_a_rectification_is_due(client, field, submitted, clock):
    from datetime import UTC, datetime

    from inspect_api.review.services import remind_due_rectifications

    liaison = headers_for(client, "unit_liaison", field.unit)
    decide(client, headers_for(client, "office"), submitted["attitude"], "confirm")  # due Monday 30 Nov
    clock.at = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)  # Wednesday: three working days before
    assert remind_due_rectifications() == 0
    clock.at = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # Thursday: Friday and Monday remain
    assert remind_due_rectifications() == 1 and remind_due_rectifications() == 0
    notes = client.get("/api/v1/me/notifications", headers=liaison).get_json()
    assert [n["title"] for n in notes if n["kind"] == "rectification.due_soon"] == ["整改即将到期"]


def test_every_kind_the_code_notifies_is_in_the_notifications_policy(app):
    import re

    from inspect_api.config import PROJECT_ROOT

    policy = app.extensions["inspect_notifications_policy"]
    found = set()
    for path in (PROJECT_ROOT / "inspect_api").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'notify\([^,]+,\s*"([a-z_]+(?:\.[a-z_]+)*)"', text))
        found |= set(re.findall(r'_tell_office\(\s*"([a-z_.]+)"', text))
        for prefix, values in (("appeal", ("upheld", "rejected")), ("rectification", ("accepted", "returned"))):
            if f'notify(user_id, f"{prefix}.{{new_status}}"' in text:
                found |= {f"{prefix}.{v}" for v in values}
    assert len(found) > 15 and sorted(found - set(policy.kinds)) == []
