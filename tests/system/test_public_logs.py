"""The public's requests leave no trace of who made them: after ratings, a complaint and its status
lookups (every way, the refused old ones too) against a real gunicorn, the server's log files hold no
client address, no user agent, no query code and no tracking number."""

from __future__ import annotations

import re
import time
import uuid

import pytest
import sqlalchemy as sa

from inspect_api.ratings import rules
from tests.system.workload import multipart

pytestmark = pytest.mark.slow

FORWARDED = "203.0.113.77"  # a client address as a proxy would pass it on


def _token(html: bytes) -> str:
    return re.search(rb'name="token" value="([^"]+)"', html).group(1).decode()


def test_the_server_log_holds_no_address_user_agent_or_query_code(live_server):
    agent = f"RaterPhone/{uuid.uuid4().hex}"
    public = {"User-Agent": agent, "X-Forwarded-For": FORWARDED, "X-Real-IP": FORWARDED}
    with live_server.engine().connect() as conn:
        unit_id = conn.execute(sa.text("SELECT id FROM units WHERE is_active ORDER BY id LIMIT 1")).scalar()
    key = rules.window_key(live_server.env["INSPECT_SECRET_KEY"], unit_id, "3")

    rating_page = live_server.request("GET", f"/r/{key}", headers=public)
    complaint_page = live_server.request("GET", f"/c/{key}", headers=public)
    assert rating_page[0] == complaint_page[0] == 200
    time.sleep(5.2)  # the policies' minimum time on a page before submitting
    status, _, _ = live_server.request("POST", "/api/v1/public/ratings", {
        "window_key": key, "token": _token(rating_page[1]), "score": 2, "reasons": ["attitude"],
        "comment": "态度冷淡"}, public)
    assert status == 201
    status, filed, _ = live_server.request("POST", "/api/v1/public/complaints", {
        "window_key": key, "token": _token(complaint_page[1]), "content": "窗口工作人员上班时间玩手机游戏"}, public)
    assert status == 201, filed
    number, code = filed["tracking_no"], filed["query_code"]

    lookups = [
        live_server.request("POST", "/api/v1/public/complaints/status", {"tracking_no": number, "code": code}, public),
        live_server.request("GET", f"/api/v1/public/complaints/{number}", headers={**public, "X-Query-Code": code}),
        live_server.request("GET", f"/api/v1/public/complaints/{number}?code={code}", headers=public),
        live_server.request("GET", f"/complaints/status?tracking_no={number}&code={code}", headers=public),
    ]
    form, ctype = multipart({"tracking_no": number, "code": code}, "unused", "a.txt", b"", "text/plain")
    lookups.append(live_server.request("POST", "/complaints/status", form, {**public, "Content-Type": ctype}))
    assert [s for s, _, _ in lookups] == [200, 200, 400, 303, 200]
    assert lookups[0][1]["tracking_no"] == number and number in lookups[4][1].decode()
    assert code not in lookups[3][2]["Location"]
    live_server.stop()  # flush and close every log

    logs = {p.name: p.read_text(errors="replace") for p in live_server.instance.rglob("*.log")}
    text = "\n".join(logs.values())
    assert "POST /api/v1/public/ratings 201" in text  # the app's own access log is on
    assert "GET /api/v1/public/complaints/<string:tracking_no> 200" in text
    for secret in (agent, "RaterPhone", FORWARDED, code, number):
        assert secret not in text, (secret, logs)
    # the client's own address (127.0.0.1) only where gunicorn says what it listens on
    assert all("Listening at" in line for line in text.splitlines() if "127.0.0.1" in line)
