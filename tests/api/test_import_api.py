"""POST /api/v1/org/imports/<kind>: admins upload CSV or XLSX; a bad file is a 422 listing each
row's errors with nothing imported; other roles get 403."""

from __future__ import annotations

import io

import openpyxl
import sqlalchemy as sa

from inspect_api.db import db
from inspect_api.org.models import Unit
from tests.helpers import headers_for

URL = "/api/v1/org/imports/units"
UNITS = "单位编码,单位名称,类型,上级单位编码,办公时间\nAPI-W,1号窗口,窗口,API,9:00-12:00\nAPI,示范县人民政府,县,,\n"


def upload(client, headers, data: bytes, name: str = "units.csv", url: str = URL):
    return client.post(url, headers=headers, data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def api_units() -> set[str]:
    return set(db.session.scalars(sa.select(Unit.code).where(Unit.code.like("API%"))))


def test_admin_imports_units_and_gets_the_report(client):
    admin = headers_for(client, "admin")
    resp = upload(client, admin, UNITS.encode())
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert {k: body[k] for k in ("kind", "rows", "created", "updated", "unchanged", "errors", "dry_run")} == {
        "kind": "units", "rows": 2, "created": 2, "updated": 0, "unchanged": 0, "errors": [], "dry_run": False}
    assert [(d["row"], d["key"], d["action"]) for d in body["rows_detail"]] == [(3, "API", "create"),
                                                                                (2, "API-W", "create")]
    assert body["rows_detail"][1]["changes"]["parent_code"] == {"before": None, "after": "API"}
    assert api_units() == {"API", "API-W"}
    again = upload(client, admin, UNITS.encode("gb18030"))
    assert again.status_code == 200 and again.get_json()["unchanged"] == 2


def test_admin_imports_xlsx(client):
    book = openpyxl.Workbook()
    for row in [["单位编码", "单位名称", "类型"], ["API", "示范县人民政府", "县"]]:
        book.active.append(row)
    buf = io.BytesIO()
    book.save(buf)
    resp = upload(client, headers_for(client, "admin"), buf.getvalue(), "单位.xlsx")
    assert resp.status_code == 200 and resp.get_json()["created"] == 1


def test_bad_file_is_422_with_row_errors_and_nothing_imported(client):
    data = (UNITS + "API-X,,部委,API-NONE,\n").encode()
    resp = upload(client, headers_for(client, "admin"), data)
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert error["code"] == "import_failed" and "未导入任何数据" in error["message"]
    assert error["details"]["rows"] == 3
    assert [(e["row"], e["column"]) for e in error["details"]["errors"]] == [
        (4, "单位名称"), (4, "类型"), (4, "上级单位编码")]
    assert all(e["reason"] for e in error["details"]["errors"])
    assert api_units() == set()


def test_a_file_that_is_not_a_table_is_422_with_a_file_level_error(client):
    resp = upload(client, headers_for(client, "admin"), b"\x89PNG\r\n\x1a\n\x00\x00\x00", "photo.png")
    assert resp.status_code == 422
    [error] = resp.get_json()["error"]["details"]["errors"]
    assert error["row"] == 0 and error["column"] is None and ".png" in error["reason"]


def test_office_may_not_import(client):
    resp = upload(client, headers_for(client, "office"), UNITS.encode())
    assert resp.status_code == 403
    assert api_units() == set()


def test_unknown_kind_is_422(client):
    resp = upload(client, headers_for(client, "admin"), UNITS.encode(), url="/api/v1/org/imports/visits")
    assert resp.status_code == 422


def test_dry_run_lists_the_changes_before_and_after_and_stores_nothing(client):
    admin = headers_for(client, "admin")
    assert upload(client, admin, UNITS.encode()).status_code == 200
    changed = UNITS.replace("1号窗口", "1号综合窗口") + "API-W2,2号窗口,窗口,API,\n"
    resp = upload(client, admin, changed.encode(), url=URL + "?dry_run=true")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["dry_run"] is True and (body["created"], body["updated"], body["unchanged"]) == (1, 1, 1)
    by_key = {d["key"]: d for d in body["rows_detail"]}
    assert by_key["API-W"]["action"] == "update"
    assert by_key["API-W"]["changes"] == {"name": {"before": "1号窗口", "after": "1号综合窗口"}}
    assert by_key["API"] == {"row": 3, "key": "API", "action": "unchanged", "changes": {}}
    assert by_key["API-W2"]["action"] == "create"
    db.session.expire_all()
    assert api_units() == {"API", "API-W"}
    assert db.session.scalar(sa.select(Unit.name).where(Unit.code == "API-W")) == "1号窗口"


STAFF = "工牌号,姓名,单位编码,岗位,窗口号\nAPI-0001,陈静,API-W,综合受理岗,1\n"


def test_a_badge_that_belongs_to_another_person_is_refused_unless_renaming_is_allowed(client):
    admin = headers_for(client, "admin")
    assert upload(client, admin, UNITS.encode()).status_code == 200
    staff_url = "/api/v1/org/imports/staff"
    assert upload(client, admin, STAFF.encode(), "staff.csv", staff_url).status_code == 200
    other = STAFF.replace("陈静", "刘洋")
    resp = upload(client, admin, other.encode(), "staff.csv", staff_url)
    assert resp.status_code == 422
    [error] = resp.get_json()["error"]["details"]["errors"]
    assert (error["row"], error["column"]) == (2, "姓名") and "陈静" in error["reason"]
    dry = upload(client, admin, other.encode(), "staff.csv", staff_url + "?dry_run=true&allow_rename=true")
    assert dry.status_code == 200
    assert dry.get_json()["rows_detail"][0]["changes"] == {"name": {"before": "陈静", "after": "刘洋"}}
    assert upload(client, admin, other.encode(), "staff.csv", staff_url + "?allow_rename=true").status_code == 200
    db.session.expire_all()
    from inspect_api.org.models import Staff
    assert db.session.scalar(sa.select(Staff.name).where(Staff.badge_no == "API-0001")) == "刘洋"
