"""A phone polls its notifications: the list carries an ETag, and the same ETag sent back answers a
bodiless 304 until a notification is added or marked read; the tag is the caller's own and the
query's own."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from inspect_api.db import db
from inspect_api.notifications.services import notify
from tests.helpers import bearer, login, make_user

N = "/api/v1/me/notifications"


@pytest.fixture()
def inspector(client):
    user = make_user("inspector")
    for i in range(3):
        notify(user.id, "finding.returned", f"问题被退回 {i}", "请补拍", {"visit_id": f"v{i}"}, f"poll:{user.id}:{i}")
    db.session.commit()
    return user, bearer(login(client, user.username)["access_token"])


def _poll(client, headers, query="", tag=None):
    return client.get(f"{N}{query}", headers={**headers, **({"If-None-Match": tag} if tag else {})})


def test_the_same_list_again_is_a_bodiless_304_with_its_tag(client, inspector):
    _, h = inspector
    first = _poll(client, h, "?unread=true")
    assert first.status_code == 200 and len(first.get_json()) == 3
    tag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, no-cache"
    assert "Authorization" in first.headers["Vary"]
    again = _poll(client, h, "?unread=true", tag)
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == tag and again.headers["Cache-Control"] == "private, no-cache"
    # weak comparison, and a list of tags, as browsers and proxies send them
    assert _poll(client, h, "?unread=true", f'"x", W/{tag}').status_code == 304


def test_a_304_reads_one_count_and_not_the_list(client, inspector, app):
    _, h = inspector
    tag = _poll(client, h, "?unread=true").headers["ETag"]
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "notifications" in statement:
            seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert _poll(client, h, "?unread=true", tag).status_code == 304
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert len(seen) == 1 and "count(" in seen[0].lower() and "LIMIT" not in seen[0].upper()


def test_a_new_notification_or_one_marked_read_changes_every_list_s_tag(client, inspector):
    user, h = inspector
    tags = {q: _poll(client, h, q).headers["ETag"] for q in ("", "?unread=true")}
    notify(user.id, "visit.assigned", "新的检查任务", None, {}, f"poll:{user.id}:new")
    db.session.commit()
    for q, tag in tags.items():
        resp = _poll(client, h, q, tag)
        assert resp.status_code == 200 and len(resp.get_json()) == 4 and resp.headers["ETag"] != tag
        tags[q] = resp.headers["ETag"]
    newest = _poll(client, h).get_json()[0]
    assert client.post(f"{N}/{newest['id']}/read", headers=h).status_code == 200
    unread = _poll(client, h, "?unread=true", tags["?unread=true"])
    assert unread.status_code == 200 and newest["id"] not in [n["id"] for n in unread.get_json()]
    every = _poll(client, h, "", tags[""])
    assert every.status_code == 200 and every.get_json()[0]["read_at"] is not None
    # marking it read again changes nothing: the tags stay
    assert client.post(f"{N}/{newest['id']}/read", headers=h).status_code == 200
    assert _poll(client, h, "", every.headers["ETag"]).status_code == 304


def test_a_tag_is_the_query_s_and_the_caller_s_own(client, inspector):
    _, h = inspector
    tag = _poll(client, h, "?unread=true").headers["ETag"]
    assert _poll(client, h, "", tag).status_code == 200
    assert _poll(client, h, "?unread=true&page_size=1", tag).status_code == 200
    other = make_user("inspector")
    db.session.commit()
    theirs = _poll(client, bearer(login(client, other.username)["access_token"]), "?unread=true", tag)
    assert theirs.status_code == 200 and theirs.get_json() == []


def test_a_star_or_a_bad_query_is_never_answered_304(client, inspector):
    _, h = inspector
    assert _poll(client, h, "?unread=true", "*").status_code == 200
    bad = _poll(client, h, "?unread=perhaps", "*")
    assert bad.status_code == 422 and bad.get_json()["error"]["details"]["fields"]["unread"]
    assert _poll(client, h, "?unread=true").status_code == 200
    assert client.get(N, headers={"If-None-Match": "*"}).status_code == 401
