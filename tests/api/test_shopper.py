"""Mystery-shopper audits end to end: scenario, recorded visit, findings the rules raise, comparison."""

from __future__ import annotations

import csv
import io

import pytest

from inspect_api.org import services as org
from tests.api.conftest import new_id
from tests.helpers import headers_for, make_unit


@pytest.fixture()
def shop(client, field):
    """A service item with four required materials, and an office account."""
    item = org.create_service_item({
        "code": "SI-GT-01", "name": "个体工商户变更登记", "unit_id": field.unit.id, "statutory_limit_days": 15,
        "committed_limit_days": 3, "on_the_spot": False,
        "materials": [{"code": "M1", "name": "变更登记申请书"}, {"code": "M2", "name": "经营者身份证明"},
                      {"code": "M3", "name": "营业执照正副本"}, {"code": "M4", "name": "经营场所使用证明"}]})
    office = headers_for(client, "office")
    resp = client.post("/api/v1/shopper/scenarios", headers=office, json={
        "code": "GT-CHANGE-1", "title": "个体户变更经营场所", "service_item_id": item.id,
        "persona": "个体工商户, 经营场所搬迁后办理变更", "ask": "我搬了店面, 营业执照要怎么改?",
        "materials_brought": ["M1"]})
    assert resp.status_code == 201, resp.get_json()
    return {"item": item, "office": office, "scenario": resp.get_json()}


def shopper_visit(field, scenario_id, **record):
    body = field.visit(mode="mystery_shopper", checklist={"code": "mystery_shopper", "version": 2},
                       started_at="2026-09-30T09:30:00+08:00", ended_at="2026-09-30T10:00:00+08:00",
                       responses=[{"item_code": "A1", "answer": "yes"}, {"item_code": "F1", "answer": "yes"}])
    body["shopper"] = {"scenario_id": scenario_id, "queue_minutes": 12, "wait_minutes": 20,
                       "first_receiver_badge": "QC-0301", "materials_told": ["M2", "M3", "M4"],
                       "attitude": "warm", "receipt_given": True, **record}
    return body


def test_scenario_shows_what_a_correct_answer_is(client, shop):
    exp = shop["scenario"]["expectations"]
    assert [m["code"] for m in exp["materials_missing"]] == ["M2", "M3", "M4"]
    assert exp["committed_limit_days"] == 3 and exp["receipt_expected"] is True


def test_scenario_with_unknown_material_is_refused(client, shop):
    resp = client.post("/api/v1/shopper/scenarios", headers=shop["office"], json={
        "code": "X2", "title": "错误情景", "service_item_id": shop["item"].id, "persona": "群众", "ask": "问",
        "materials_brought": ["M9"]})
    assert resp.status_code == 422 and resp.get_json()["error"]["details"]["fields"]["materials_brought"] == ["M9"]


def test_a_perfect_window_raises_nothing(client, field, shop):
    resp = client.put(f"/api/v1/visits/{new_id()}", headers=field.ha,
                      json=shopper_visit(field, shop["scenario"]["id"], promised_date="2026-10-09"))
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["findings"] == []
    assert body["shopper"]["completeness"] == 1.0 and body["shopper"]["score"] == 100


def test_recorded_visit_raises_the_findings_the_rules_call_for(client, field, shop):
    vid = new_id()
    # told only M2 of the three missing, asked for something not on the list, cold, no receipt,
    # and promised a date beyond 3 working days (National Day lies between: 10-09 is the limit)
    body = shopper_visit(field, shop["scenario"]["id"], materials_told=["M2"], materials_told_other=["户口本原件"],
                         attitude="cold", receipt_given=False, promised_date="2026-10-12")
    resp = client.put(f"/api/v1/visits/{vid}", headers=field.ha, json=body)
    assert resp.status_code == 201, resp.get_json()
    v = resp.get_json()
    found = {f["category"]: f for f in v["findings"] if f["source"] == "shopper"}
    assert set(found) == {"incomplete_notice", "poor_attitude", "no_receipt", "overdue"}
    assert found["incomplete_notice"]["severity"] == "severe"  # 2 of 3 untold: share above 0.5
    assert "营业执照正副本" in found["incomplete_notice"]["description"]
    assert found["poor_attitude"]["severity"] == "minor"
    assert found["incomplete_notice"]["staff_id"] == field.staff.id  # the first receiver, by badge
    rec = v["shopper"]
    assert rec["completeness"] == pytest.approx(1 / 3)
    assert rec["invented_requirements"] == ["户口本原件"]
    assert [(m["code"], m["told"]) for m in rec["materials_missing"]] == [("M2", True), ("M3", False), ("M4", False)]
    # the same record again changes nothing; a corrected one replaces the findings
    assert client.put(f"/api/v1/visits/{vid}", headers=field.ha, json=body).get_json()["version"] == 1
    fixed = shopper_visit(field, shop["scenario"]["id"], promised_date="2026-10-09")
    again = client.put(f"/api/v1/visits/{vid}", headers={**field.ha, "If-Match": '"v1"'}, json=fixed).get_json()
    assert again["findings"] == [] and again["version"] == 2


def test_sent_away_from_a_unit_that_handles_the_matter_is_shirking(client, field, shop):
    body = shopper_visit(field, shop["scenario"]["id"], sent_elsewhere=True, sent_to="去二楼综合窗口问问")
    found = [f["category"] for f in client.put(f"/api/v1/visits/{new_id()}", headers=field.ha,
                                               json=body).get_json()["findings"]]
    assert found == ["shirking"]


def test_sent_away_from_a_unit_that_does_not_handle_it_is_no_finding(client, field, shop):
    other = make_unit(name="县档案馆")
    body = shopper_visit(field, shop["scenario"]["id"], sent_elsewhere=True, sent_to="县市场监管局窗口")
    body.update(unit_id=other.id, staff_id=None)
    resp = client.put(f"/api/v1/visits/{new_id()}", headers=field.ha, json=body)
    assert resp.status_code == 201 and resp.get_json()["findings"] == []


def test_record_is_required_on_the_scored_template_and_refused_elsewhere(client, field, shop):
    body = shopper_visit(field, shop["scenario"]["id"])
    no_record = {**body, "shopper": None}
    resp = client.put(f"/api/v1/visits/{new_id()}", headers=field.ha, json=no_record)
    assert resp.status_code == 422 and "shopper" in resp.get_json()["error"]["details"]["fields"]
    covert = {**field.visit(), "shopper": body["shopper"]}
    assert client.put(f"/api/v1/visits/{new_id()}", headers=field.ha, json=covert).status_code == 422
    bad_code = shopper_visit(field, shop["scenario"]["id"], materials_told=["M7"])
    assert client.put(f"/api/v1/visits/{new_id()}", headers=field.ha, json=bad_code).status_code == 422


def test_comparison_per_unit_and_window_as_json_and_csv(client, field, shop):
    sid = shop["scenario"]["id"]
    for record in ({"materials_told": ["M2"]}, {}):  # one poor run, one perfect run, same window
        vid = new_id()
        client.put(f"/api/v1/visits/{vid}", headers=field.ha,
                   json=shopper_visit(field, sid, promised_date="2026-10-09", **record))
        assert client.post(f"/api/v1/visits/{vid}/submit", headers=field.ha).status_code == 200
    draft = new_id()  # drafts do not count
    client.put(f"/api/v1/visits/{draft}", headers=field.ha, json=shopper_visit(field, sid, materials_told=[]))
    leader = headers_for(client, "leader")
    rows = client.get(f"/api/v1/shopper/comparison?scenario_id={sid}&by=unit", headers=leader).get_json()
    assert len(rows) == 1
    row = rows[0]
    assert row["unit_id"] == field.unit.id and row["runs"] == 2 and row["rank"] == 1
    assert row["avg_completeness"] == pytest.approx((1 / 3 + 1) / 2)
    assert row["complete_notice_rate"] == pytest.approx(0.5)
    assert row["findings_by_category"] == {"incomplete_notice": 1}
    by_window = client.get(f"/api/v1/shopper/comparison?scenario_id={sid}&by=window", headers=leader).get_json()
    assert [r["window_no"] for r in by_window] == ["3"]
    resp = client.get(f"/api/v1/shopper/comparison?scenario_id={sid}&by=service_item&format=csv", headers=leader)
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert table[0][0] == "排名" and "一次性告知完整率" in table[0]
    assert table[1][table[0].index("服务事项")] == "个体工商户变更登记"


def test_units_never_see_scenarios_shoppers_or_comparisons(client, field, shop):
    liaison = headers_for(client, "unit_liaison", field.unit)
    vid = new_id()
    client.put(f"/api/v1/visits/{vid}", headers=field.ha, json=shopper_visit(field, shop["scenario"]["id"]))
    for path in ("/api/v1/shopper/scenarios", f"/api/v1/shopper/scenarios/{shop['scenario']['id']}",
                 "/api/v1/shopper/comparison", f"/api/v1/visits/{vid}", "/api/v1/visits"):
        assert client.get(path, headers=liaison).status_code == 403, path
    # nothing in a finding names the shopper
    v = client.get(f"/api/v1/visits/{vid}", headers=field.ha).get_json()
    for finding in v["findings"]:
        assert not {"created_by", "team", "inspector", "user_id"} & set(finding)


def test_promised_date_comes_back_as_iso_8601_and_can_be_sent_back(client, field, shop):
    vid = new_id()
    body = shopper_visit(field, shop["scenario"]["id"], promised_date="2026-10-09")
    v = client.put(f"/api/v1/visits/{vid}", headers=field.ha, json=body).get_json()
    assert v["shopper"]["promised_date"] == "2026-10-09"
    body["shopper"]["promised_date"] = v["shopper"]["promised_date"]
    assert client.put(f"/api/v1/visits/{vid}", headers=field.ha, json=body).status_code == 200


def test_an_invented_requirement_is_a_finding_on_the_current_template(client, field, shop):
    body = shopper_visit(field, shop["scenario"]["id"], promised_date="2026-10-09",
                         materials_told_other=["户口本原件", "无犯罪记录证明"])
    body["checklist"] = {"code": "mystery_shopper", "version": 3}
    resp = client.put(f"/api/v1/visits/{new_id()}", headers=field.ha, json=body)
    assert resp.status_code == 201, resp.get_json()
    [extra] = resp.get_json()["findings"]
    assert (extra["category"], extra["severity"], extra["points"], extra["source"]) == (
        "extra_requirement", "serious", 5, "shopper")
    assert "户口本原件" in extra["description"] and "无犯罪记录证明" in extra["description"]
    assert extra["staff_id"] == field.staff.id
    assert resp.get_json()["shopper"]["score"] == 95


# --- a county as it is: hall windows staffed by departments, township windows, items accepted at several ----

@pytest.fixture()
def county_hall(client, field):
    """市场监管局 and 人社局 staff windows of the county hall; a township 便民服务中心 has its own window.
    个体户设立登记 (市场监管局's item) is accepted at hall windows 1 and 3 and at the township window."""
    county = field.unit.parent
    scjg = make_unit(parent=county, name="县市场监督管理局", kind="department")
    rsj = make_unit(parent=county, name="县人力资源和社会保障局", kind="department")
    hall = make_unit(parent=field.unit, name="办事大厅", kind="hall")
    w1, w2, w3, w4 = (make_unit(parent=hall, name=f"{n}号窗口", kind="window") for n in (1, 2, 3, 4))
    for window, staffing in ((w1, scjg), (w2, rsj), (w3, scjg), (w4, rsj)):
        org.update_unit(window, {"staffing_unit_id": staffing.id})
    town = make_unit(parent=county, name="青石镇人民政府", kind="other")
    town_centre = make_unit(parent=town, name="青石镇便民服务中心", kind="hall")
    tw1 = make_unit(parent=town_centre, name="1号窗口（综合）", kind="window")
    item = org.create_service_item({
        "code": "SI-GT-SL", "name": "个体工商户设立登记", "unit_id": scjg.id, "statutory_limit_days": 15,
        "committed_limit_days": 3, "materials": [{"code": "M1", "name": "设立登记申请书"},
                                                 {"code": "M2", "name": "经营者身份证明"}],
        "accepting_window_ids": [w1.id, w3.id, tw1.id]})
    office = headers_for(client, "office")
    scenario = client.post("/api/v1/shopper/scenarios", headers=office, json={
        "code": "GT-SETUP-1", "title": "办理个体户设立", "service_item_id": item.id, "persona": "准备开店的群众",
        "ask": "我想开个小吃店, 营业执照在哪办?", "materials_brought": ["M1"]}).get_json()
    return {"w1": w1, "w2": w2, "w3": w3, "w4": w4, "tw1": tw1, "scjg": scjg, "item": item,
            "scenario": scenario["id"]}


def shop_at(client, field, unit, scenario_id, **record):
    body = shopper_visit(field, scenario_id, promised_date="2026-10-09", materials_told=["M2"],
                         first_receiver_badge=None, first_receiver_window="1", **record)
    body["unit_id"], body["staff_id"], body["window_no"] = unit.id, None, None
    resp = client.put(f"/api/v1/visits/{new_id()}", headers=field.ha, json=body)
    assert resp.status_code == 201, resp.get_json()
    return {f["category"] for f in resp.get_json()["findings"]}


def test_a_hall_window_that_accepts_the_item_and_sends_the_shopper_away_is_shirking(client, field, county_hall):
    # window 3 sits in the hall's tree, not 市场监管局's; the registry says it accepts the item
    sent_away = {"sent_elsewhere": True, "sent_to": "去1号窗口", "sent_to_unit_id": county_hall["w1"].id}
    assert shop_at(client, field, county_hall["w3"], county_hall["scenario"], **sent_away) == {"shirking"}
    assert shop_at(client, field, county_hall["tw1"], county_hall["scenario"], **sent_away) == {"shirking"}


def test_a_correct_referral_is_no_finding_and_owes_no_receipt(client, field, county_hall):
    referral = {"sent_elsewhere": True, "sent_to": "请到1号窗口办理", "sent_to_unit_id": county_hall["w1"].id,
                "receipt_given": False}
    assert shop_at(client, field, county_hall["w2"], county_hall["scenario"], **referral) == set()


def test_a_referral_to_a_window_that_does_not_accept_the_item_is_shirking(client, field, county_hall):
    wrong = {"sent_elsewhere": True, "sent_to": "去4号窗口问问", "sent_to_unit_id": county_hall["w4"].id,
             "receipt_given": False}
    assert shop_at(client, field, county_hall["w2"], county_hall["scenario"], **wrong) == {"shirking"}


def test_a_window_handling_the_item_on_the_spot_is_clean_and_the_department_is_not_a_window(client, field,
                                                                                            county_hall):
    assert shop_at(client, field, county_hall["w1"], county_hall["scenario"], done_on_spot=True) == set()
    resp = client.patch(f"/api/v1/org/service-items/{county_hall['item'].id}", headers=headers_for(client, "admin"),
                        json={"accepting_window_ids": [county_hall["scjg"].id]})
    assert resp.status_code == 422 and "accepting_window_ids" in resp.get_json()["error"]["details"]["fields"]


def test_a_patch_whose_scenario_changed_after_its_if_match_check_is_refused_with_412(client, shop, monkeypatch):
    """Two PATCHes with the same If-Match: the second one's check passed before the first one's write
    landed. Its write must not overwrite the first (the row is locked and versioned)."""
    import sqlalchemy as sa

    from inspect_api.db import db
    from inspect_api.shopper import routes as shopper_routes
    from inspect_api.shopper.models import Scenario

    sid = shop["scenario"]["id"]
    real = shopper_routes.if_match_version

    def other_patch_lands_meanwhile():
        wanted = real()
        db.session.execute(sa.update(Scenario.__table__).where(Scenario.__table__.c.id == sid)
                           .values(notes="另一人的修改", version=Scenario.__table__.c.version + 1))
        return wanted

    monkeypatch.setattr(shopper_routes, "if_match_version", other_patch_lands_meanwhile)
    resp = client.patch(f"/api/v1/shopper/scenarios/{sid}", headers={**shop["office"], "If-Match": '"v1"'},
                        json={"notes": "我的修改"})
    monkeypatch.setattr(shopper_routes, "if_match_version", real)
    assert resp.status_code == 412, resp.get_json()
    assert resp.get_json()["error"]["code"] == "precondition_failed"
    # the refused request rolled back (here with the simulated other write, made in its transaction)
    now = client.get(f"/api/v1/shopper/scenarios/{sid}", headers=shop["office"]).get_json()
    assert now["notes"] != "我的修改" and now["version"] == 1


def test_renaming_a_scenario_to_a_taken_code_is_409_and_changes_nothing(client, shop):
    other = client.post("/api/v1/shopper/scenarios", headers=shop["office"], json={
        "code": "GT-CHANGE-2", "title": "个体户变更经营者", "service_item_id": shop["item"].id,
        "persona": "个体工商户", "ask": "经营者换人了怎么办?", "materials_brought": []}).get_json()
    resp = client.patch(f"/api/v1/shopper/scenarios/{other['id']}", json={"code": "GT-CHANGE-1", "notes": "改"},
                        headers={**shop["office"], "If-Match": '"v1"'})
    assert resp.status_code == 409, resp.get_json()
    assert resp.get_json()["error"]["details"]["fields"] == {"code": ["already exists"]}
    after = client.get(f"/api/v1/shopper/scenarios/{other['id']}", headers=shop["office"]).get_json()
    assert (after["code"], after["notes"], after["version"]) == ("GT-CHANGE-2", other["notes"], 1)


def test_two_creates_that_both_passed_the_code_check_meet_at_the_index_as_a_409(client, shop, monkeypatch):
    """The check and the insert are two statements: a second create that looked before the first
    committed reaches the unique index. Simulated by skipping the check; the answer is a 409 and
    nothing is kept, not a 500."""
    from inspect_api.shopper import services as shopper_services

    monkeypatch.setattr(shopper_services, "_code_free", lambda *a, **k: None)
    resp = client.post("/api/v1/shopper/scenarios", headers=shop["office"], json={
        "code": "GT-CHANGE-1", "title": "同编码的另一个情景", "service_item_id": shop["item"].id,
        "persona": "个体工商户", "ask": "再问一次", "materials_brought": []})
    assert resp.status_code == 409, resp.get_json()
    assert resp.get_json()["error"]["code"] == "conflict" and "uq_" not in resp.get_data(as_text=True)
    titles = [s["title"] for s in client.get("/api/v1/shopper/scenarios", headers=shop["office"]).get_json()]
    assert "同编码的另一个情景" not in titles
