"""Login, throttling and lockout, refresh rotation and reuse, logout, disabled accounts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from inspect_api.auth import services as auth
from inspect_api.auth.models import LoginThrottle
from tests.helpers import PASSWORD, TEST_INSTANT, bearer, login, make_unit, make_user


@pytest.fixture()
def user(dbsession):
    return make_user("inspector", username="zhang.san")


def test_login_returns_tokens_and_the_account(client, user):
    body = login(client, "zhang.san")
    assert body["token_type"] == "Bearer" and body["expires_in"] == 15 * 60
    assert body["user"]["username"] == "zhang.san" and body["user"]["role"] == "inspector"
    assert "password" not in body["user"] and "password_hash" not in body["user"]
    me = client.get("/api/v1/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.get_json()["id"] == user.id


def test_user_name_is_case_insensitive(client, user):
    assert login(client, "Zhang.San")["user"]["id"] == user.id


@pytest.mark.parametrize("username,password", [("zhang.san", "wrong-password"), ("nobody", PASSWORD)])
def test_wrong_password_and_unknown_user_get_the_same_401(client, user, username, password):
    resp = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "invalid_credentials"


def test_repeated_failures_are_slowed_then_locked(app, client, user, clock):
    def attempt(password="wrong-password"):
        return client.post("/api/v1/auth/token", json={"username": "zhang.san", "password": password})

    for _ in range(3):
        assert attempt().status_code == 401
    slowed = attempt()
    assert slowed.status_code == 429
    assert slowed.get_json()["error"]["code"] == "login_throttled"
    assert int(slowed.headers["Retry-After"]) >= 1
    # even the right password is refused while the caller must wait
    assert attempt(PASSWORD).status_code == 429
    for _ in range(7):  # keep failing, waiting out each delay, until the lock (10 failures)
        clock.advance(seconds=61)
        assert attempt().status_code == 401
    locked = attempt(PASSWORD)
    assert locked.status_code == 429 and locked.get_json()["error"]["code"] == "login_locked"
    assert 14 * 60 <= int(locked.headers["Retry-After"]) <= 15 * 60
    clock.advance(minutes=15, seconds=1)
    assert attempt(PASSWORD).status_code == 200


def test_success_clears_the_failure_count(client, user, dbsession):
    for _ in range(2):
        client.post("/api/v1/auth/token", json={"username": "zhang.san", "password": "nope-nope"})
    assert dbsession.get(LoginThrottle, "zhang.san").failures == 2
    login(client, "zhang.san")
    assert dbsession.get(LoginThrottle, "zhang.san") is None


def test_unknown_names_are_throttled_too_so_lockout_reveals_nothing(client, dbsession):
    for _ in range(3):
        client.post("/api/v1/auth/token", json={"username": "ghost", "password": "nope-nope"})
    assert client.post("/api/v1/auth/token", json={"username": "ghost", "password": "x"}).status_code == 429


def test_disabled_account_cannot_log_in_and_its_tokens_stop_working(client, user, dbsession):
    tokens = login(client, "zhang.san")
    admin = make_user("admin")
    admin_tokens = login(client, admin.username)
    resp = client.patch(f"/api/v1/users/{user.id}", json={"is_active": False},
                        headers=bearer(admin_tokens["access_token"]))
    assert resp.status_code == 200 and resp.get_json()["is_active"] is False
    again = client.post("/api/v1/auth/token", json={"username": "zhang.san", "password": PASSWORD})
    assert again.status_code == 403 and again.get_json()["error"]["code"] == "account_disabled"
    assert client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"])).status_code == 401
    assert client.post("/api/v1/auth/refresh", headers=bearer(tokens["refresh_token"])).status_code == 401


def test_refresh_rotates_and_a_replayed_old_token_ends_the_session(client, user):
    first = login(client, "zhang.san")
    second = client.post("/api/v1/auth/refresh", headers=bearer(first["refresh_token"])).get_json()
    assert second["refresh_token"] != first["refresh_token"]
    third = client.post("/api/v1/auth/refresh", headers=bearer(second["refresh_token"])).get_json()
    # `first` is now two rotations old: a replay, so the whole session ends
    replay = client.post("/api/v1/auth/refresh", headers=bearer(first["refresh_token"]))
    assert replay.status_code == 401 and replay.get_json()["error"]["code"] == "refresh_token_reused"
    assert client.get("/api/v1/auth/me", headers=bearer(third["access_token"])).status_code == 401
    assert client.post("/api/v1/auth/refresh", headers=bearer(third["refresh_token"])).status_code == 401


def test_a_lost_refresh_answer_can_be_retried_once(client, user):
    first = login(client, "zhang.san")
    client.post("/api/v1/auth/refresh", headers=bearer(first["refresh_token"]))  # answer "lost"
    retry = client.post("/api/v1/auth/refresh", headers=bearer(first["refresh_token"]))
    assert retry.status_code == 200
    me = client.get("/api/v1/auth/me", headers=bearer(retry.get_json()["access_token"]))
    assert me.status_code == 200


def test_access_token_is_not_a_refresh_token(client, user):
    tokens = login(client, "zhang.san")
    assert client.post("/api/v1/auth/refresh", headers=bearer(tokens["access_token"])).status_code == 401


def test_logout_revokes_access_and_refresh_tokens_of_that_device_only(client, user):
    phone = login(client, "zhang.san")
    tablet = login(client, "zhang.san")
    assert client.post("/api/v1/auth/logout", headers=bearer(phone["access_token"])).status_code == 204
    assert client.get("/api/v1/auth/me", headers=bearer(phone["access_token"])).status_code == 401
    assert client.post("/api/v1/auth/refresh", headers=bearer(phone["refresh_token"])).status_code == 401
    assert client.get("/api/v1/auth/me", headers=bearer(tablet["access_token"])).status_code == 200


def test_expired_access_token_is_refused(app, client, user):
    from flask_jwt_extended import create_access_token

    with app.test_request_context():
        token = create_access_token(identity=str(user.id), additional_claims={"sid": "x"},
                                    expires_delta=timedelta(seconds=-1))
    resp = client.get("/api/v1/auth/me", headers=bearer(token))
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "token_expired"


def test_a_verified_access_token_is_not_verified_again_until_it_expires(app, client, user, monkeypatch):
    """The claims of a token that passed are remembered by the token itself: the phone's next request
    with it skips the signature check; one that has expired since is checked again, and refused."""
    import time

    from flask_jwt_extended import create_access_token, decode_token

    from inspect_api.auth import access
    from inspect_api.core.clock import wall_timestamp

    calls = []
    real = access.verify_jwt_in_request
    monkeypatch.setattr(access, "verify_jwt_in_request", lambda **kw: calls.append(kw) or real(**kw))
    token = login(client, "zhang.san")["access_token"]
    for _ in range(3):
        assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 200
    assert len(calls) == 1
    # the same token with one character of its signature changed is another key: verified, refused
    forged = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    resp = client.get("/api/v1/auth/me", headers=bearer(forged))
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "invalid_token"
    assert len(calls) == 2
    # a refresh token is never taken from what an access token left
    assert client.post("/api/v1/auth/refresh", headers=bearer(token)).status_code == 401
    # a token remembered while valid is refused once its exp has passed
    with app.test_request_context():
        claims = decode_token(token)  # the same login session, a token of a few seconds
        short = create_access_token(identity=claims["sub"], additional_claims={"sid": claims["sid"]},
                                    expires_delta=timedelta(seconds=5))  # exp is whole seconds: 4–5 s on
        exp = decode_token(short)["exp"]
    assert client.get("/api/v1/auth/me", headers=bearer(short)).status_code == 200  # room for a slow machine
    time.sleep(max(0.0, exp - wall_timestamp()) + 0.2)  # until its exp has passed on the wall clock
    stale = client.get("/api/v1/auth/me", headers=bearer(short))
    assert stale.status_code == 401 and stale.get_json()["error"]["code"] == "token_expired"


def test_tokens_age_on_the_applications_clock(app, client, user, clock, monkeypatch):
    """On a server running on a chosen clock, two days on that clock (a phone offline over a weekend):
    the access token has expired though the wall clock barely moved, the refresh token still rotates;
    past the refresh lifetime (30 days) the session is over and the password is needed."""
    monkeypatch.setitem(app.config, "INSPECT_CLOCK_START", TEST_INSTANT.isoformat())
    tokens = login(client, "zhang.san")
    clock.advance(minutes=14, seconds=59)
    assert client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"])).status_code == 200
    clock.advance(days=2)
    stale = client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
    assert stale.status_code == 401 and stale.get_json()["error"]["code"] == "token_expired"
    fresh = client.post("/api/v1/auth/refresh", headers=bearer(tokens["refresh_token"]))
    assert fresh.status_code == 200
    assert client.get("/api/v1/auth/me", headers=bearer(fresh.get_json()["access_token"])).status_code == 200
    clock.advance(days=30, seconds=1)
    lost = client.post("/api/v1/auth/refresh", headers=bearer(fresh.get_json()["refresh_token"]))
    assert lost.status_code == 401 and lost.get_json()["error"]["code"] == "session_revoked"


def test_without_a_chosen_clock_the_wall_clock_alone_ages_access_tokens(client, user, clock):
    """The unit tests move the clock object itself and may keep a token across simulated days."""
    tokens = login(client, "zhang.san")
    clock.advance(days=2)
    assert client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"])).status_code == 200


def test_forged_token_is_refused(client, user):
    resp = client.get("/api/v1/auth/me", headers=bearer("eyJhbGciOiJIUzI1NiJ9.e30.bm90LWEtc2lnbmF0dXJl"))
    assert resp.status_code == 401


def test_change_own_password_revokes_sessions(client, user):
    tokens = login(client, "zhang.san")
    wrong = client.post("/api/v1/auth/me/password", json={"old_password": "nope", "new_password": "new-pass-123"},
                        headers=bearer(tokens["access_token"]))
    assert wrong.status_code == 422
    ok = client.post("/api/v1/auth/me/password",
                     json={"old_password": PASSWORD, "new_password": "new-pass-123"},
                     headers=bearer(tokens["access_token"]))
    assert ok.status_code == 204
    assert client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"])).status_code == 401
    assert login(client, "zhang.san", "new-pass-123")["user"]["id"] == user.id


def test_admin_manages_accounts(client, dbsession):
    admin = make_user("admin")
    h = bearer(login(client, admin.username)["access_token"])
    unit = make_unit()
    created = client.post("/api/v1/users", json={"username": "li.si", "password": "pass-word-9",
                                                 "full_name": "李四", "role": "unit_liaison",
                                                 "unit_id": unit.id}, headers=h)
    assert created.status_code == 201, created.get_json()
    dup = client.post("/api/v1/users", json={"username": "LI.SI", "password": "pass-word-9",
                                             "full_name": "李四", "role": "office"}, headers=h)
    assert dup.status_code == 409
    no_unit = client.post("/api/v1/users", json={"username": "wang.wu", "password": "pass-word-9",
                                                 "full_name": "王五", "role": "unit_liaison"}, headers=h)
    assert no_unit.status_code == 422 and "unit_id" in no_unit.get_json()["error"]["details"]["fields"]
    listed = client.get("/api/v1/users?role=unit_liaison", headers=h).get_json()
    assert [u["username"] for u in listed] == ["li.si"]
    uid = created.get_json()["id"]
    assert client.post(f"/api/v1/users/{uid}/password", json={"password": "another-pass-1"},
                       headers=h).status_code == 204
    assert login(client, "li.si", "another-pass-1")["user"]["role"] == "unit_liaison"
    # an admin cannot lock themself out
    assert client.patch(f"/api/v1/users/{admin.id}", json={"is_active": False}, headers=h).status_code == 409


def test_role_change_ends_existing_sessions(client, user):
    tokens = login(client, "zhang.san")
    auth.update_user(user, {"role": "leader"})
    assert client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"])).status_code == 401


def test_two_refreshes_in_flight_answer_the_same_rotation_and_the_phone_stays_logged_in(client, user, clock):
    first = login(client, "zhang.san")
    a = client.post("/api/v1/auth/refresh", headers=bearer(first["refresh_token"])).get_json()
    clock.advance(seconds=5)  # the second copy of the same refresh, answered a moment later
    b = client.post("/api/v1/auth/refresh", headers=bearer(first["refresh_token"]))
    assert b.status_code == 200
    from flask_jwt_extended import decode_token

    assert decode_token(b.get_json()["refresh_token"])["jti"] == decode_token(a["refresh_token"])["jti"]
    # the phone keeps the first answer: its token works, and so does the session
    c = client.post("/api/v1/auth/refresh", headers=bearer(a["refresh_token"]))
    assert c.status_code == 200
    assert client.get("/api/v1/auth/me", headers=bearer(c.get_json()["access_token"])).status_code == 200


def test_a_reuse_after_the_grace_window_rotates_and_the_older_token_then_ends_the_session(client, user, clock):
    first = login(client, "zhang.san")
    a = client.post("/api/v1/auth/refresh", headers=bearer(first["refresh_token"])).get_json()
    clock.advance(seconds=31)  # past INSPECT_REFRESH_GRACE_SECONDS: a lost answer, rotated anew
    b = client.post("/api/v1/auth/refresh", headers=bearer(first["refresh_token"])).get_json()
    assert b["refresh_token"] != a["refresh_token"]
    clock.advance(seconds=31)
    client.post("/api/v1/auth/refresh", headers=bearer(b["refresh_token"]))
    replay = client.post("/api/v1/auth/refresh", headers=bearer(a["refresh_token"]))
    assert replay.status_code == 401 and replay.get_json()["error"]["code"] == "refresh_token_reused"


HOME, STRANGER = {"REMOTE_ADDR": "198.51.100.7"}, {"REMOTE_ADDR": "203.0.113.66"}


def _try(client, where, password="wrong-password", username="zhang.san"):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password}, environ_base=where)


def test_strangers_failures_lock_the_name_but_not_the_users_own_device(client, user, clock):
    phone = client.post("/api/v1/auth/token", json={"username": "zhang.san", "password": PASSWORD},
                        environ_base=HOME).get_json()  # the phone's usual address
    for i in range(10):  # strangers guessing from many addresses until the name is locked
        clock.advance(seconds=61)
        _try(client, {"REMOTE_ADDR": f"203.0.113.{i + 1}"})
    locked = _try(client, STRANGER, PASSWORD)
    assert locked.status_code == 429 and locked.get_json()["error"]["code"] == "login_locked"
    # the user's own phone: its refresh token keeps working, and a login from its usual address too
    assert client.post("/api/v1/auth/refresh", headers=bearer(phone["refresh_token"])).status_code == 200
    assert _try(client, HOME, PASSWORD).status_code == 200


def test_one_address_guessing_many_names_is_slowed_then_locked(client, app, clock):
    for i in range(app.config["INSPECT_LOGIN_ADDRESS_SLOW_AFTER"]):
        assert _try(client, STRANGER, username=f"victim{i}").status_code == 401
    slowed = _try(client, STRANGER, username="someone-new")
    assert slowed.status_code == 429 and slowed.get_json()["error"]["code"] == "login_throttled"
    assert _try(client, HOME, username="someone-new").status_code == 401  # other addresses unaffected


def test_the_users_own_typos_at_home_are_still_throttled(client, user, clock):
    _try(client, HOME, PASSWORD)
    for _ in range(3):
        assert _try(client, HOME).status_code == 401
    assert _try(client, HOME).status_code == 429
