"""A window's findings at the window and rolled up to the department that staffs it (进驻部门负责), in
the statistics, the rankings and the bulletin, on a county as it is: the county hall's windows staffed
by departments, a township 便民服务中心 with a window of its own (no staffing department)."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from inspect_api.org import services as org
from tests.api.conftest import decide, new_id
from tests.helpers import headers_for, make_unit

COLD = [{"item_code": "E1", "answer": "cold"}]  # 服务态度生冷: one finding per visit
NOV = "from=2026-11-01&to=2026-11-30"


def _visit(client, field, unit, office) -> None:
    body = field.visit(unit_id=unit.id, staff_id=None, window_no=None, responses=COLD)
    vid = new_id()
    resp = client.put(f"/api/v1/visits/{vid}", json=body, headers=field.ha)
    assert resp.status_code == 201, resp.get_json()
    submitted = client.post(f"/api/v1/visits/{vid}/submit", headers=field.ha).get_json()
    for finding in submitted["findings"]:
        assert decide(client, office, finding["id"], "confirm").status_code == 200


@pytest.fixture()
def county(client, field):
    """县政务服务中心 (field.unit) with its 办事大厅: windows 1 and 3 staffed by 市场监管局, 2 and 4 by 人社局;
    青石镇便民服务中心 with one window and no staffing department. Visits in November: window 1 twice,
    windows 2, 3 and the township window once each; window 4 is visited and clean."""
    c = field.unit.parent
    scjg = make_unit(parent=c, name="县市场监督管理局", kind="department", code="SCJG")
    rsj = make_unit(parent=c, name="县人力资源和社会保障局", kind="department", code="RSJ")
    hall = make_unit(parent=field.unit, name="办事大厅", kind="hall", code="DT")
    w1, w2, w3, w4 = (make_unit(parent=hall, name=f"{n}号窗口", kind="window", code=f"DT-W{n}") for n in (1, 2, 3, 4))
    for window, staffing in ((w1, scjg), (w2, rsj), (w3, scjg), (w4, rsj)):
        org.update_unit(window, {"staffing_unit_id": staffing.id})
    town = make_unit(parent=c, name="青石镇人民政府", kind="other", code="QS")
    centre = make_unit(parent=town, name="青石镇便民服务中心", kind="hall", code="QS-C")
    tw1 = make_unit(parent=centre, name="青石镇1号窗口（综合）", kind="window", code="QS-W1")
    office = headers_for(client, "office")
    for unit in (w1, w1, w2, w3, tw1):
        _visit(client, field, unit, office)
    clean = client.put(f"/api/v1/visits/{(vid := new_id())}", headers=field.ha, json=field.visit(
        unit_id=w4.id, staff_id=None, window_no=None, responses=[{"item_code": "A2", "answer": "yes"}]))
    assert clean.status_code == 201 and client.post(f"/api/v1/visits/{vid}/submit", headers=field.ha).status_code == 200
    return {"office": office, "scjg": scjg, "rsj": rsj, "hall": hall, "w1": w1, "w2": w2, "w3": w3, "w4": w4,
            "tw1": tw1}


def test_statistics_report_window_findings_at_the_window_and_rolled_up_to_the_staffing_department(client, county):
    body = client.get(f"/api/v1/stats/summary?{NOV}", headers=county["office"]).get_json()
    per_attitude = body["current"]["confirmed"]["points"] // 5  # the same points for each cold answer
    assert body["current"]["confirmed"]["total"] == 5  # unchanged: every finding counted once, at its window
    rollup = body["by_staffing_unit"]
    assert "进驻部门负责" in rollup["basis"]
    depts = {d["name"]: d for d in rollup["departments"]}
    assert set(depts) == {"县市场监督管理局", "县人力资源和社会保障局"}
    scjg = depts["县市场监督管理局"]
    assert (scjg["findings"], scjg["confirmed"], scjg["points"]) == (3, 3, 3 * per_attitude)
    assert scjg["label"].startswith("进驻部门负责")
    assert [(w["name"], w["confirmed"], w["label"]) for w in scjg["windows"]] == [
        ("1号窗口", 2, "窗口 / at the window"), ("3号窗口", 1, "窗口 / at the window")]
    rsj = depts["县人力资源和社会保障局"]
    assert (rsj["confirmed"], [w["name"] for w in rsj["windows"]]) == (1, ["2号窗口"])  # window 4: nothing found
    assert rollup["departments"][0]["name"] == "县市场监督管理局"  # most points first
    # the township window has no staffing department: at the window only, and said so
    unstaffed = rollup["unstaffed_windows"]
    assert (unstaffed["confirmed"], [w["name"] for w in unstaffed["windows"]]) == (1, ["青石镇1号窗口（综合）"])
    assert "只计入窗口本身" in unstaffed["label"]

    # the per-unit rows still count each window on its own; the departments' own rows have nothing
    rows = {r["name"]: r for r in client.get(f"/api/v1/stats/units?{NOV}&page_size=100",
                                             headers=county["office"]).get_json()}
    assert rows["1号窗口"]["confirmed"] == 2 and rows["3号窗口"]["confirmed"] == 1
    assert "县市场监督管理局" not in rows or rows["县市场监督管理局"]["confirmed"] == 0

    # a subtree: only the township, so no department row
    town = client.get(f"/api/v1/stats/summary?{NOV}&under={county['tw1'].parent_id}",
                      headers=county["office"]).get_json()["by_staffing_unit"]
    assert town["departments"] == [] and town["unstaffed_windows"]["confirmed"] == 1


def test_a_staffing_departments_liaison_sees_only_windows_in_its_own_subtree(client, county):
    from tests.helpers import make_user

    liaison = make_user("unit_liaison", unit=county["hall"])
    from tests.helpers import bearer, login
    headers = bearer(login(client, liaison.username)["access_token"])
    body = client.get(f"/api/v1/stats/summary?{NOV}", headers=headers).get_json()["by_staffing_unit"]
    # the hall's liaison sees its windows rolled up to their departments, not the township's window
    assert {d["name"]: d["confirmed"] for d in body["departments"]} == {"县市场监督管理局": 3, "县人力资源和社会保障局": 1}
    assert body["unstaffed_windows"]["windows"] == []


def test_rankings_rank_a_staffed_window_with_its_department_on_request(client, county):
    plain = {r["name"]: r for r in client.get("/api/v1/rankings/units?period=2026-11&page_size=500",
                                              headers=county["office"]).get_json()}
    assert plain["1号窗口"]["findings"] == 2 and plain["1号窗口"]["basis"] == "unit"
    assert plain["1号窗口"]["staffed_windows"] == [] and plain["县市场监督管理局"]["status"] == "no_data"

    resp = client.get("/api/v1/rankings/units?period=2026-11&rollup=staffing&page_size=500", headers=county["office"])
    assert resp.status_code == 200, resp.get_json()
    rows = {r["name"]: r for r in resp.get_json()}
    assert not {"1号窗口", "2号窗口", "3号窗口", "4号窗口"} & set(rows)  # ranked with their departments
    scjg = rows["县市场监督管理局"]
    assert (scjg["basis"], scjg["status"], scjg["findings"]) == ("staffing", "ranked", 3)
    assert scjg["visits"] == 3 and "进驻部门负责" in scjg["basis_label"]
    assert scjg["deduction"] == plain["1号窗口"]["deduction"] + plain["3号窗口"]["deduction"]
    assert [(w["name"], w["findings"], w["visits"]) for w in scjg["staffed_windows"]] == [
        ("1号窗口", 2, 2), ("3号窗口", 1, 1)]
    rsj = rows["县人力资源和社会保障局"]
    assert (rsj["findings"], rsj["visits"]) == (1, 2)  # window 4's clean visit counts too
    # the township window stays on its own, at the same figures as without the roll-up
    town = rows["青石镇1号窗口（综合）"]
    assert (town["basis"], town["findings"], town["score"]) == ("unit", 1, plain["青石镇1号窗口（综合）"]["score"])

    summary = client.get("/api/v1/rankings/units/summary?period=2026-11&rollup=staffing",
                         headers=county["office"]).get_json()
    assert summary["rollup"] == "staffing" and "进驻部门负责" in summary["rollup_basis"]
    assert "进驻部门负责" in summary["method"]
    assert client.get("/api/v1/rankings/units/summary?period=2026-11", headers=county["office"]).get_json()[
        "rollup"] is None

    text = client.get("/api/v1/rankings/units.csv?period=2026-11&rollup=staffing",
                      headers=county["office"]).data.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][-2:] == ["口径", "进驻窗口"]
    [scjg_line] = [line for line in table if line[2] == "县市场监督管理局"]
    assert scjg_line[-1] == "1号窗口、3号窗口"
    plain_csv = client.get("/api/v1/rankings/units.csv?period=2026-11", headers=county["office"]).data
    assert "口径" not in plain_csv.decode("utf-8-sig").splitlines()[0]  # the plain export is as it was

    bad = client.get("/api/v1/rankings/units?period=2026-11&rollup=subtree", headers=county["office"])
    assert bad.status_code == 422 and "rollup" in bad.get_json()["error"]["details"]["fields"]


def test_the_bulletin_adds_the_roll_up_by_staffing_department_labelled(client, county):
    from inspect_api.documents import context as ctxmod
    from inspect_api.documents import services as documents
    from inspect_api.documents.render import render_html, validate_context

    doc = client.post("/api/v1/documents", headers=county["office"], json={
        "kind": "bulletin", "selection": {"period_start": "2026-11-01", "period_end": "2026-11-30"}}).get_json()
    ctx = ctxmod.build(documents.get(doc["id"]), documents.policy(), today=date(2026, 12, 1))
    validate_context(ctx)
    assert ctx["summary"]["confirmed"] == 5  # the total as before: each finding once
    assert [(d["unit_name"], d["windows"], d["confirmed"], d["label"]) for d in ctx["by_staffing_unit"]] == [
        ("县市场监督管理局", ["1号窗口", "3号窗口"], 3, "进驻部门负责"),
        ("县人力资源和社会保障局", ["2号窗口"], 1, "进驻部门负责")]
    html = "".join(render_html(ctx).split())
    assert "按进驻部门汇总（进驻部门负责）：县市场监督管理局进驻的1号窗口、3号窗口经确认问题3个" in html
    assert "上述问题已计入各窗口" in html
    table = client.get(f"/api/v1/documents/{doc['id']}/data.csv?table=staffing", headers=county["office"])
    assert table.status_code == 200
    assert list(csv.reader(io.StringIO(table.data.decode("utf-8-sig"))))[:2] == [
        ["进驻部门", "口径", "进驻窗口", "确认问题数", "扣分"],
        ["县市场监督管理局", "进驻部门负责", "1号窗口、3号窗口", "3", str(ctx["by_staffing_unit"][0]["points"])]]
    # a context frozen before the roll-up still renders
    old = {k: v for k, v in ctx.items() if k != "by_staffing_unit"}
    assert "按进驻部门汇总" not in "".join(render_html(old).split())
