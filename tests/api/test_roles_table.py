"""Every endpoint × every role: the declared roles match the table below, and the server behaves so.

Changing who may call an endpoint means changing this table on purpose.
"""

from __future__ import annotations

import re

import pytest

from inspect_api.auth.access import PUBLIC, declared_roles
from tests.helpers import ROLES, headers_for, make_unit

ALL = set(ROLES)
ED = {"admin", "office"}

# "METHOD /path" (url rule as Flask writes it) -> roles allowed
EXPECTED: dict[str, set[str]] = {
    "GET /api/v1/health": {PUBLIC},
    "POST /api/v1/auth/token": {PUBLIC},
    "POST /api/v1/auth/refresh": {PUBLIC},
    "POST /api/v1/auth/logout": ALL,
    "GET /api/v1/auth/me": ALL,
    "GET /api/v1/auth/inspectors": {"inspector", "office", "admin"},
    "POST /api/v1/auth/me/password": ALL,
    "GET /api/v1/users": {"admin"},
    "POST /api/v1/users": {"admin"},
    "GET /api/v1/users/<int:user_id>": {"admin"},
    "PATCH /api/v1/users/<int:user_id>": {"admin"},
    "POST /api/v1/users/<int:user_id>/password": {"admin"},
    "GET /api/v1/org/delta": ALL,
    "POST /api/v1/org/imports/<string:kind>": {"admin"},
    "GET /api/v1/checklists": ALL,
    "GET /api/v1/checklists/<string:code>": ALL,
    "GET /api/v1/checklists/<string:code>/versions": ALL,
    "GET /api/v1/checklists/<string:code>/versions/<int:version>": ALL,
    "POST /api/v1/checklists/validate": {"admin"},
    "GET /api/v1/visits": {"inspector", "office", "admin", "leader"},
    "GET /api/v1/visits/<uuid:visit_id>": {"inspector", "office", "admin", "leader"},
    "PUT /api/v1/visits/<uuid:visit_id>": {"inspector"},
    "POST /api/v1/visits/<uuid:visit_id>/submit": {"inspector"},
    "POST /api/v1/visits/<uuid:visit_id>/evidence": {"inspector"},
    "POST /api/v1/sync": {"inspector"},
    "GET /api/v1/evidence/<uuid:evidence_id>/<string:variant>": {"inspector", "office", "admin", "unit_liaison"},
    "GET /api/v1/shopper/scenarios": {"office", "admin", "inspector", "leader"},
    "POST /api/v1/shopper/scenarios": ED,
    "GET /api/v1/shopper/scenarios/<int:scenario_id>": {"office", "admin", "inspector", "leader"},
    "PATCH /api/v1/shopper/scenarios/<int:scenario_id>": ED,
    "GET /api/v1/shopper/comparison": {"office", "admin", "leader"},
    "GET /api/v1/sampling/plans": ED,
    "POST /api/v1/sampling/plans": ED,
    "GET /api/v1/sampling/plans/<int:plan_id>": ED,
    "PATCH /api/v1/sampling/plans/<int:plan_id>": ED,
    "POST /api/v1/sampling/plans/<int:plan_id>/commit": ED,
    "POST /api/v1/sampling/plans/<int:plan_id>/draw": ED,
    "POST /api/v1/sampling/plans/<int:plan_id>/reveal": ED,
    "GET /api/v1/sampling/plans/<int:plan_id>/verify": ED,
    "GET /api/v1/sampling/plans/<int:plan_id>/publication": ALL,
    "POST /api/v1/sampling/conflicts": ED,
    "GET /api/v1/sampling/conflicts": ED,
    "DELETE /api/v1/sampling/conflicts/<int:user_id>/<int:unit_id>": ED,
    "GET /api/v1/me/assignments": {"inspector"},
    "GET /api/v1/me/notifications": ALL,
    "GET /api/v1/admin/notifications/channels": {"admin"},
    "GET /api/v1/admin/notifications/routes": {"admin"},
    "POST /api/v1/admin/notifications/routes": {"admin"},
    "DELETE /api/v1/admin/notifications/routes/<int:route_id>": {"admin"},
    "GET /api/v1/admin/notifications/outbox": {"admin"},
    "POST /api/v1/admin/notifications/outbox/<int:message_id>/resend": {"admin"},
    "GET /api/v1/calendar/years": ALL,
    "POST /api/v1/calendar/import": {"admin"},
    "GET /api/v1/calendar/deadline": ALL,
    "GET /api/v1/review/findings": ED,
    "POST /api/v1/review/findings/<uuid:finding_id>/decision": ED,
    "POST /api/v1/review/decisions": ED,
    "GET /api/v1/review/findings/<uuid:finding_id>/history": ED,
    "GET /api/v1/unit/findings": {"unit_liaison"},
    "GET /api/v1/unit/findings/<uuid:finding_id>": {"unit_liaison"},
    "POST /api/v1/unit/findings/<uuid:finding_id>/appeals": {"unit_liaison"},
    "POST /api/v1/unit/findings/<uuid:finding_id>/reports": {"unit_liaison"},
    "GET /api/v1/review/appeals": ED,
    "POST /api/v1/review/appeals/<int:appeal_id>/decision": ED,
    "GET /api/v1/review/reports": ED,
    "POST /api/v1/review/reports/<int:report_id>/decision": ED,
    "GET /api/v1/attachments/<uuid:attachment_id>": ED | {"unit_liaison"},
    "GET /api/v1/documents": ED | {"leader"},
    "POST /api/v1/documents": ED,
    "GET /api/v1/documents/<int:doc_id>": ED | {"leader", "unit_liaison"},
    "PATCH /api/v1/documents/<int:doc_id>": ED,
    "POST /api/v1/documents/<int:doc_id>/approve": ED,
    "POST /api/v1/documents/<int:doc_id>/return": ED,
    "POST /api/v1/documents/<int:doc_id>/issue": ED,
    "POST /api/v1/documents/<int:doc_id>/render": ED,
    "GET /api/v1/documents/render-jobs/<int:job_id>": ED,
    "GET /api/v1/documents/<int:doc_id>/pdf": ED | {"leader", "unit_liaison"},
    "GET /api/v1/documents/<int:doc_id>/data.csv": ED | {"leader"},
    "GET /api/v1/documents/<int:doc_id>/data.xlsx": ED | {"leader"},
    "GET /api/v1/documents/<int:doc_id>/draft.docx": ED,
    "GET /api/v1/unit/documents": {"unit_liaison"},
    "GET /api/v1/accountability/policy": ED | {"leader"},
    "PUT /api/v1/accountability/policy": {"admin"},
    "POST /api/v1/accountability/policy/validate": {"admin"},
    "POST /api/v1/accountability/run": ED,
    "GET /api/v1/accountability/proposals": ED,
    "POST /api/v1/accountability/proposals/<int:proposal_id>/dismiss": ED,
    "GET /api/v1/accountability/cases": ED,
    "POST /api/v1/accountability/cases": ED,
    "GET /api/v1/accountability/cases/<int:case_id>": ED,
    "POST /api/v1/accountability/cases/<int:case_id>/approve": ED,
    "POST /api/v1/accountability/cases/<int:case_id>/send": ED,
    "POST /api/v1/accountability/cases/<int:case_id>/outcome": ED,
    "POST /api/v1/accountability/cases/<int:case_id>/close": ED,
    "GET /api/v1/accountability/history/<string:subject_type>/<int:subject_id>": ED | {"leader"},
    "POST /api/v1/me/notifications/<int:notification_id>/read": ALL,
    "GET /api/v1/stats/summary": {"leader", "office", "admin", "unit_liaison"},
    "GET /api/v1/stats/trend": {"leader", "office", "admin", "unit_liaison"},
    "GET /api/v1/stats/units": {"leader", "office", "admin", "unit_liaison"},
    "GET /r/<window_key>": {PUBLIC},
    # the inspectors' phone app (static files; the app itself logs in through the API)
    "GET /m": {PUBLIC},
    "GET /m/": {PUBLIC},
    "GET /m/<path:path>": {PUBLIC},
    "GET /console": {PUBLIC},
    "GET /console/": {PUBLIC},
    "GET /console/<path:path>": {PUBLIC},
    "POST /api/v1/public/ratings": {PUBLIC},
    "GET /api/v1/ratings/qr/<int:unit_id>/<string:window_no>.png": ED,
    "GET /api/v1/ratings/qr/<int:unit_id>.pdf": ED,
    "GET /api/v1/ratings/follow-ups": ED | {"leader"},
    "POST /api/v1/ratings/import": ED,
    "GET /api/v1/ratings": ED | {"leader", "unit_liaison"},
    "GET /api/v1/ratings/summary": ED | {"leader", "unit_liaison"},
    "GET /api/v1/unit/rating-follow-ups": {"unit_liaison"},
    "POST /api/v1/unit/rating-follow-ups/<int:follow_up_id>/close": {"unit_liaison"},
    "GET /api/v1/rankings/units": ED | {"leader", "unit_liaison"},
    "GET /api/v1/rankings/units.csv": ED | {"leader", "unit_liaison"},
    "GET /api/v1/rankings/units/summary": ED | {"leader", "unit_liaison"},
    "GET /api/v1/rankings/staff": ED | {"leader"},
    "GET /api/v1/rankings/staff.csv": ED | {"leader"},
    "GET /api/v1/rankings/staff/summary": ED | {"leader"},
}
for _entity in ("units", "staff", "service-items"):
    EXPECTED.update({
        f"GET /api/v1/org/{_entity}": ALL,
        f"POST /api/v1/org/{_entity}": ED,
        f"GET /api/v1/org/{_entity}/<int:obj_id>": ALL,
        f"PATCH /api/v1/org/{_entity}/<int:obj_id>": ED,
        f"POST /api/v1/org/{_entity}/<int:obj_id>/active": ED,
        f"GET /api/v1/org/{_entity}/<int:obj_id>/history": ED,
    })


# 年度考评 (annual assessment): recipients' contact data for the office only; a liaison reads its own
# units' approved grades.
EXPECTED.update({
    "POST /api/v1/assessment/recipients/import": ED,
    "GET /api/v1/assessment/recipients": ED,
    "GET /api/v1/assessment/survey-draws": ED | {"leader"},
    "POST /api/v1/assessment/survey-draws": ED,
    "GET /api/v1/assessment/survey-draws/<int:draw_id>": ED | {"leader"},
    "POST /api/v1/assessment/survey-draws/<int:draw_id>/commit": ED,
    "POST /api/v1/assessment/survey-draws/<int:draw_id>/draw": ED,
    "GET /api/v1/assessment/survey-draws/<int:draw_id>/verify": ED | {"leader"},
    "POST /api/v1/assessment/survey-draws/<int:draw_id>/reveal": ED,
    "GET /api/v1/assessment/survey-draws/<int:draw_id>/publication": ED | {"leader"},
    "GET /api/v1/assessment/survey-draws/<int:draw_id>/recipients": ED,
    "POST /api/v1/assessment/survey-draws/<int:draw_id>/responses": ED,
    "GET /api/v1/assessment/grade-runs": ED | {"leader"},
    "POST /api/v1/assessment/grade-runs": ED,
    "GET /api/v1/assessment/grade-runs/<int:run_id>": ED | {"leader"},
    "POST /api/v1/assessment/grade-runs/<int:run_id>/approve": ED,
    "POST /api/v1/assessment/grade-runs/<int:run_id>/commendation": ED,
    "GET /api/v1/assessment/grades": ED | {"leader"},
    "GET /api/v1/assessment/units/<int:unit_id>/grades": ED | {"leader", "unit_liaison"},
})

# 投诉举报 (complaints): public pages and form, the office handles them (it alone sees who complained),
# the unit investigates what was forwarded to it.
EXPECTED.update({
    "GET /c/<window_key>": {PUBLIC},
    "GET /complaints/new": {PUBLIC},
    "GET /complaints/status": {PUBLIC},
    "POST /complaints/status": {PUBLIC},
    "POST /api/v1/public/complaints/status": {PUBLIC},
    "POST /api/v1/public/complaints": {PUBLIC},
    "GET /api/v1/public/complaints/<string:tracking_no>": {PUBLIC},
    "GET /api/v1/complaints": ED,
    "POST /api/v1/complaints": ED,
    "GET /api/v1/complaints/<int:complaint_id>": ED,
    "POST /api/v1/complaints/<int:complaint_id>/assign": ED,
    "POST /api/v1/complaints/<int:complaint_id>/forward": ED,
    "POST /api/v1/complaints/<int:complaint_id>/investigation": ED,
    "POST /api/v1/complaints/<int:complaint_id>/answer": ED,
    "POST /api/v1/complaints/<int:complaint_id>/close": ED,
    "GET /api/v1/unit/complaints": {"unit_liaison"},
    "GET /api/v1/unit/complaints/<int:complaint_id>": {"unit_liaison"},
    "POST /api/v1/unit/complaints/<int:complaint_id>/report": {"unit_liaison"},
    # 督查督办: the office acts, leaders read, liaisons only through /unit/matters
    "GET /api/v1/matters": ED | {"leader"},
    "POST /api/v1/matters": ED,
    "GET /api/v1/matters/<int:matter_id>": ED | {"leader"},
    "POST /api/v1/matters/<int:matter_id>/return": ED,
    "POST /api/v1/matters/<int:matter_id>/close": ED,
    "GET /api/v1/matters/extensions": ED,
    "POST /api/v1/matters/extensions/<int:extension_id>/decision": ED,
    "GET /api/v1/matters/stats": ED | {"leader"},
    "GET /api/v1/matters/stats.csv": ED | {"leader"},
    "GET /api/v1/matters/stats.xlsx": ED | {"leader"},
    "GET /api/v1/matters/attachments/<uuid:attachment_id>": ED | {"leader", "unit_liaison"},
    "GET /api/v1/unit/matters": {"unit_liaison"},
    "GET /api/v1/unit/matters/<int:matter_id>": {"unit_liaison"},
    "POST /api/v1/unit/matters/<int:matter_id>/reports": {"unit_liaison"},
    "POST /api/v1/unit/matters/<int:matter_id>/extensions": {"unit_liaison"},
})


def _endpoints(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(("api-docs.", "docs-assets.", "static")):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, rule


def _key(method, rule) -> str:
    return f"{method} {rule.rule}"


def _url(rule) -> str:
    url = re.sub(r"<uuid:[a-z_]+>", "00000000-0000-4000-8000-000000000001", rule.rule)
    return re.sub(r"<(?:int:)?[a-z_]+>", "1", re.sub(r"<string:[a-z_]+>", "x", url))


def test_every_endpoint_declares_roles_and_matches_the_table(app):
    declared = {}
    for method, rule in _endpoints(app):
        roles = declared_roles(app.view_functions[rule.endpoint], method)
        assert roles is not None, f"{_key(method, rule)} declares no roles"
        declared[_key(method, rule)] = set(roles)
    expected = EXPECTED
    missing = set(declared) - set(expected)
    extra = set(expected) - set(declared)
    assert not extra, f"table lists endpoints that do not exist: {sorted(extra)}"
    assert not missing, f"endpoints missing from the table (add them on purpose): {sorted(missing)}"
    for key, roles in declared.items():
        assert roles == expected[key], f"{key}: declared {sorted(roles)}, table says {sorted(expected[key])}"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_let_in_or_refused_as_the_table_says(app, client, role):
    unit = make_unit()
    headers = headers_for(client, role, unit if role == "unit_liaison" else None)
    wrong = []
    for method, rule in _endpoints(app):
        if rule.rule == "/api/v1/auth/logout":
            continue  # would end this very session; covered in test_auth
        allowed = declared_roles(app.view_functions[rule.endpoint], method)
        resp = client.open(_url(rule), method=method, json={}, headers=headers)
        status = resp.status_code
        assert status != 500, f"{method} {rule.rule} as {role}: 500"
        if PUBLIC in allowed:
            continue
        if role in allowed and status in (401, 403):
            wrong.append(f"{method} {rule.rule}: {role} refused with {status}")
        if role not in allowed and status != 403:
            wrong.append(f"{method} {rule.rule}: {role} should get 403, got {status}")
        if status == 403:
            assert resp.get_json()["error"]["code"] == "forbidden"
    assert not wrong, "\n".join(wrong)


def test_without_a_token_every_closed_endpoint_answers_401(app, client):
    for method, rule in _endpoints(app):
        allowed = declared_roles(app.view_functions[rule.endpoint], method)
        if PUBLIC in allowed:
            continue
        resp = client.open(_url(rule), method=method, json={})
        assert resp.status_code == 401, f"{method} {rule.rule}: {resp.status_code}"
        assert resp.get_json()["error"]["code"] in {"invalid_token", "unauthorized"}
